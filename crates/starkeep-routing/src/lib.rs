//! Where one statement of a MySQL client goes: the row primary (TaurusDB), a row read replica,
//! or the column store (StarRocks). Pure: no I/O, no async; the proxy (`starkeep-proxy`) runs the
//! statements, lists the column store's tables, runs `EXPLAIN` and replays session state.
//!
//! # How a statement is routed
//!
//! The proxy calls [`Router::analyze`] on each COM_QUERY text (an [`Analysis`]: what the text
//! is, cached by fingerprint), then [`Router::decide`] with the [`Facts`] of the moment. The
//! rules apply in this order; the first that holds decides ([`Rule`] names it):
//!
//! 0. **Switch and account.** Account sync off for the instance: the row primary
//!    (`sync_off`). The client's account not mirrored to the column store: the row primary
//!    (`not_mirrored`).
//! 1. **Pinned to the row primary** (`pinned_*`, [`RowReason`]): writes (`INSERT`, `UPDATE`,
//!    `DELETE`, `REPLACE`, `TRUNCATE`, `SELECT … INTO`, MariaDB sequence functions), DDL,
//!    DCL, `SELECT … FOR UPDATE` / `FOR SHARE` / `LOCK IN SHARE MODE`, statements that set or
//!    read user variables (`@x`), temporary tables (created, dropped, or read after the session
//!    created one of that name), stored routines (`CALL`, `CREATE PROCEDURE` …), `LOAD DATA`,
//!    SQL `PREPARE`/`EXECUTE`, several statements in one text, connection-bound functions
//!    (`LAST_INSERT_ID()`, `FOUND_ROWS()`, `ROW_COUNT()`, `CONNECTION_ID()`, named locks,
//!    `SQL_CALC_FOUND_ROWS`), session and transaction control (`SET`, `USE`, `BEGIN`, …),
//!    statements that are not plain reads (`SHOW`, `EXPLAIN`, `KILL`, `LOCK TABLES` …),
//!    executable comments (`/*! … */`), and anything that does not parse. Then, anything
//!    inside an explicit transaction (`BEGIN`/`START TRANSACTION` until `COMMIT`/`ROLLBACK`/
//!    implicit commit, or while `autocommit=0`): the row primary (`transaction`). The binary
//!    protocol's prepared statements (`COM_STMT_*`) never reach this crate: the proxy sends them
//!    to the row primary itself.
//! 2. **Hints**, written as a comment anywhere in the statement, case-insensitive, optionally
//!    `/*+ … */`; the first hint in the text counts. `/*FORCE_COLUMN*/` (or PolarDB's
//!    `/*FORCE_IMCI_NODES*/`): the column store (`hint_force_column`), or the row store if the
//!    column store is down (`column_down`). `/*FORCE_ROW*/`, `/*FORCE_MASTER*/`: the row
//!    primary (`hint_force_row`). `/*FORCE_SLAVE*/`: a row replica (`hint_force_slave`), or the
//!    row primary when none is up (`no_replica`). A hint cannot move what rule 1 pins, and it
//!    outranks rules 3 and 4: a forced read of a table the column store lacks gets the column
//!    store's error.
//! 3. **Tables.** A read that reads no table (`SELECT 1`, `SELECT @@version`): the row primary
//!    (`no_tables`). A read goes on to cost only if every table it reads exists in the column
//!    store ([`ColumnTables`]) under the same database and name, compared exactly;
//!    unqualified names take the session's current database; system schemas are never in
//!    it. Else a row node (`table_not_in_column`). The column store down: a row node
//!    (`column_down`).
//! 4. **Cost.** The row store's estimate of rows read, from `EXPLAIN FORMAT=JSON`
//!    ([`explain_statement`], [`Estimate`]): above the threshold (`--column-threshold`,
//!    default 50,000 rows, as PolarDB's), the column store (`cost_above`); else a row node
//!    (`cost_below`). A plan that cannot be read: a row node (`no_estimate`). The estimate is
//!    cached per (current database, fingerprint) for the cache's time to live, so a repeated
//!    statement costs no extra round trip; [`Router::decide`] answers [`Step::NeedsEstimate`]
//!    only on a miss, and [`Router::decide_by_explain`] fills the cache.
//! 5. **Failure.** When the column store fails a read before executing it, the proxy sends it
//!    to the row store instead ([`Decision::column_failed`], `column_down`).
//!
//! "A row node" is a row replica when one is up, else the row primary.
//!
//! # Parsing
//!
//! sqlparser's MySQL dialect parses the statements (backticks, `SET NAMES`, `USE`, `SHOW`,
//! `FOR UPDATE`, `INSERT … ON DUPLICATE KEY UPDATE`, CTEs, MariaDB's common syntax); a
//! hand-written scan (`scan.rs`) does what a parser cannot: comments and hints, executable
//! comments, statement separators, and the fingerprint. See `analysis.rs` for where each fact
//! comes from.

mod analysis;
mod column_tables;
mod explain;
mod router;
mod scan;
mod session;

pub use analysis::{
    analyze, Analysis, Hint, RowReason, SessionEffect, SessionSetting, TableRef,
    MAX_CACHED_FINGERPRINT, MAX_PARSED_LEN,
};
pub use column_tables::ColumnTables;
pub use explain::{explain_statement, Estimate};
pub use router::{CacheStats, Decision, Facts, Route, Router, Rule, Step};
pub use session::SessionRouting;
