//! What one statement text is, from the text alone: [`analyze`] and the [`Analysis`] it answers
//! (why it must stay on the row primary, its routing hint, the tables a read reads, what it does
//! to the session, its fingerprint). Nothing here knows the session, the stores or the cost; that
//! is `router.rs`.
//!
//! The grammar is sqlparser's MySQL dialect, which parses what MySQL clients send for queries,
//! writes, DDL, `SET`, `USE`, `SHOW`, backticks and `FOR UPDATE`/`FOR SHARE`. What it cannot do is
//! done beside it, by hand: comments and hints, executable comments and multi-statements come
//! from the scan (`scan.rs`); transaction control (`BEGIN`, `COMMIT`, `XA …`) is read from the
//! leading words, because missing one would send a transaction's reads away from its snapshot;
//! `LOCK IN SHARE MODE` and MariaDB's sequence functions are looked for in the fingerprint. A
//! text sqlparser cannot parse is pinned to the row primary ([`RowReason::Unparsed`]): the safe
//! side, since the row primary runs everything.

use std::collections::HashSet;
use std::fmt;
use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_expressions, visit_relations, Expr, ObjectName, ObjectType, Query, SetExpr, Statement,
    Visit, Visitor,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use crate::scan::{scan, Scan};

/// Why a statement must run on the row primary whatever else holds (routing rule 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowReason {
    /// `INSERT`, `UPDATE`, `DELETE`, `REPLACE`, `TRUNCATE`, `SELECT … INTO`, sequence functions.
    Write,
    /// `CREATE`, `ALTER`, `DROP`, `RENAME`, `OPTIMIZE`, `ANALYZE` and other schema changes.
    Ddl,
    /// `GRANT`, `REVOKE`, `CREATE USER`, roles, passwords.
    Dcl,
    /// `SELECT … FOR UPDATE`, `FOR SHARE`, `LOCK IN SHARE MODE`.
    LockingRead,
    /// A user variable (`@x`) is set or read.
    UserVariable,
    /// A temporary table is created or dropped, or the read reads one the session created.
    TemporaryTable,
    /// `CALL` and creating or dropping procedures, functions, triggers and events.
    StoredRoutine,
    /// `LOAD DATA` / `LOAD XML`.
    LoadData,
    /// SQL-level `PREPARE` / `EXECUTE` / `DEALLOCATE` (the binary protocol's `COM_STMT_*`
    /// never reach [`analyze`]: the proxy keeps them on the row primary itself).
    PreparedStatement,
    /// More than one statement in one text.
    MultiStatement,
    /// Functions whose answer belongs to the connection: `LAST_INSERT_ID()`, `FOUND_ROWS()`,
    /// `ROW_COUNT()`, `CONNECTION_ID()`, named locks, and `SQL_CALC_FOUND_ROWS`.
    SessionFunction,
    /// Session and transaction control: `SET`, `USE`, `BEGIN`, `COMMIT`, `ROLLBACK`,
    /// `SAVEPOINT`, `XA …` (the proxy replays session settings on other backends itself).
    SessionControl,
    /// `SHOW`, `DESCRIBE`, `EXPLAIN`, `KILL`, `FLUSH`, `LOCK TABLES` and other statements that
    /// are not plain reads of tables.
    NotAQuery,
    /// A `/*! … */` or `/*M! … */` comment: code the server runs that the analysis cannot see.
    ExecutableComment,
    /// The text does not parse (or a quote or comment is left open).
    Unparsed,
}

impl RowReason {
    /// A stable name, used in metric labels, the debug log and `starkeep proxy explain`.
    pub fn as_str(self) -> &'static str {
        match self {
            RowReason::Write => "write",
            RowReason::Ddl => "ddl",
            RowReason::Dcl => "dcl",
            RowReason::LockingRead => "locking_read",
            RowReason::UserVariable => "user_variable",
            RowReason::TemporaryTable => "temporary_table",
            RowReason::StoredRoutine => "stored_routine",
            RowReason::LoadData => "load_data",
            RowReason::PreparedStatement => "prepared_statement",
            RowReason::MultiStatement => "multi_statement",
            RowReason::SessionFunction => "session_function",
            RowReason::SessionControl => "session_control",
            RowReason::NotAQuery => "not_a_query",
            RowReason::ExecutableComment => "executable_comment",
            RowReason::Unparsed => "unparsed",
        }
    }
}

impl fmt::Display for RowReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A routing hint written as a comment in the statement (routing rule 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hint {
    /// `/*FORCE_COLUMN*/`, or PolarDB's `/*FORCE_IMCI_NODES*/`.
    Column,
    /// `/*FORCE_ROW*/` or `/*FORCE_MASTER*/`.
    RowPrimary,
    /// `/*FORCE_SLAVE*/`: a row read replica where there is one.
    RowReplica,
}

impl Hint {
    /// The hint a comment's body names, if any: the body, trimmed, optionally after a `+`
    /// (optimizer-hint style), compared without regard to case.
    pub(crate) fn from_comment(body: &str) -> Option<Hint> {
        let name = body.trim();
        let name = name.strip_prefix('+').unwrap_or(name).trim();
        [
            ("FORCE_COLUMN", Hint::Column),
            ("FORCE_IMCI_NODES", Hint::Column),
            ("FORCE_ROW", Hint::RowPrimary),
            ("FORCE_MASTER", Hint::RowPrimary),
            ("FORCE_SLAVE", Hint::RowReplica),
        ]
        .into_iter()
        .find(|(spelling, _)| name.eq_ignore_ascii_case(spelling))
        .map(|(_, hint)| hint)
    }

    /// The canonical comment, as the fingerprint spells it.
    pub(crate) fn comment(self) -> &'static str {
        match self {
            Hint::Column => "/*FORCE_COLUMN*/",
            Hint::RowPrimary => "/*FORCE_ROW*/",
            Hint::RowReplica => "/*FORCE_SLAVE*/",
        }
    }

    /// A stable name, used in metric labels, the debug log and `starkeep proxy explain`.
    pub fn as_str(self) -> &'static str {
        match self {
            Hint::Column => "force_column",
            Hint::RowPrimary => "force_row",
            Hint::RowReplica => "force_slave",
        }
    }
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A table a statement names: its database if the statement qualifies it, and its name, both
/// unquoted (`` `db`.`t` `` gives `db` and `t`), in the case the statement wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableRef {
    /// The database named in the statement; `None` means the session's current database.
    pub database: Option<String>,
    /// The table's name.
    pub name: String,
}

impl TableRef {
    /// A table reference from its parts.
    pub fn new(database: Option<&str>, name: &str) -> TableRef {
        TableRef {
            database: database.map(str::to_owned),
            name: name.to_owned(),
        }
    }
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.database {
            Some(db) => write!(f, "{db}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// One setting a `SET` statement makes for the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionSetting {
    /// `SET autocommit = 0|1` (also `@@autocommit`, `@@session.autocommit`, `ON`/`OFF`).
    Autocommit(bool),
    /// `SET NAMES charset [COLLATE collation]`; `SET NAMES DEFAULT` gives `None` for both.
    Names {
        /// The character set, unquoted.
        charset: Option<String>,
        /// The collation, unquoted.
        collation: Option<String>,
    },
    /// `SET [SESSION|LOCAL] name = value` and `SET @@[session.]name = value`, for any other
    /// session variable: its name, lower-cased, and its value as SQL text.
    Variable {
        /// The variable's name without scope, lower-cased.
        name: String,
        /// The value as SQL text (a literal, a name, `DEFAULT` or an expression).
        value: String,
    },
}

/// What a statement does to the session, once it has succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SessionEffect {
    /// Nothing the routing keeps.
    #[default]
    None,
    /// `BEGIN`, `START TRANSACTION`, `XA START`/`XA BEGIN`.
    BeginTransaction,
    /// `COMMIT`, `ROLLBACK` (not to a savepoint), `XA COMMIT`/`XA ROLLBACK`, and the implicit
    /// commit of DDL and DCL.
    EndTransaction,
    /// `USE db`: the new current database.
    Use(String),
    /// `SET …` of session settings, in the statement's order.
    Set(Vec<SessionSetting>),
    /// `CREATE TEMPORARY TABLE`.
    CreateTemporaryTable(TableRef),
    /// `DROP TEMPORARY TABLE`.
    DropTemporaryTables(Vec<TableRef>),
}

/// What one statement text is, as far as routing needs to know.
///
/// Invariant: `pinned` is `None` exactly for plain reads (`SELECT`, `WITH … SELECT`, set
/// operations of them), the only statements that may leave the row primary; `tables` is filled
/// only for those.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// Rule 1: why this statement must run on the row primary, if it must.
    pub pinned: Option<RowReason>,
    /// Rule 2: the first routing hint in the statement's comments.
    pub hint: Option<Hint>,
    /// Rule 3: the tables a read reads, each once, in the order first named (CTE names and
    /// `DUAL` are not tables).
    pub tables: Vec<TableRef>,
    /// What the statement does to the session.
    pub session: SessionEffect,
    /// The normalised statement (literals as `?`, whitespace folded, plain comments dropped,
    /// hints kept): the key of the decision cache.
    pub fingerprint: String,
}

impl Analysis {
    /// Whether the same analysis holds for every text with this fingerprint, so it may be
    /// cached by fingerprint: true unless the statement changes the session (whose values are
    /// literals the fingerprint hides, as in `SET autocommit = 0`), or its fingerprint is longer
    /// than [`MAX_CACHED_FINGERPRINT`] (a bulk `INSERT` would fill the cache's memory).
    pub fn cacheable(&self) -> bool {
        self.session == SessionEffect::None && self.fingerprint.len() <= MAX_CACHED_FINGERPRINT
    }
}

/// Texts longer than this (bytes) are not parsed: they are classified by their leading words
/// alone (a bulk `INSERT` is a write without building its syntax tree) and a read that long
/// stays on the row primary as [`RowReason::Unparsed`].
pub const MAX_PARSED_LEN: usize = 64 * 1024;

/// Longest fingerprint (bytes) whose analysis and estimate the router caches.
pub const MAX_CACHED_FINGERPRINT: usize = 4 * 1024;

/// Analyses one COM_QUERY text. Never fails: what cannot be understood is pinned.
pub fn analyze(sql: &str) -> Analysis {
    let scanned = scan(sql);
    analyze_scanned(sql, scanned)
}

/// The scan of a text, for callers that look up a cache by fingerprint before parsing.
pub(crate) fn fingerprint_scan(sql: &str) -> Scan {
    scan(sql)
}

/// Analyses a text already scanned.
pub(crate) fn analyze_scanned(sql: &str, scanned: Scan) -> Analysis {
    let mut analysis = Analysis {
        pinned: None,
        hint: scanned.hint,
        tables: Vec::new(),
        session: SessionEffect::None,
        fingerprint: String::new(),
    };
    let lexical = if scanned.unterminated {
        Some(RowReason::Unparsed)
    } else if scanned.several_statements {
        Some(RowReason::MultiStatement)
    } else if scanned.executable_comment {
        Some(RowReason::ExecutableComment)
    } else {
        None
    };
    if let Some(reason) = lexical {
        analysis.pinned = Some(reason);
        analysis.fingerprint = scanned.fingerprint;
        return analysis;
    }
    let leading = scanned.leading_words(sql);
    if let Some(effect) = transaction_control(&leading) {
        analysis.pinned = Some(RowReason::SessionControl);
        analysis.session = effect;
        analysis.fingerprint = scanned.fingerprint;
        return analysis;
    }
    let parsed = if sql.len() <= MAX_PARSED_LEN {
        Parser::parse_sql(&MySqlDialect {}, sql).ok()
    } else {
        None
    };
    let statement = match parsed {
        Some(mut statements) if statements.len() == 1 => statements.remove(0),
        _ => {
            analysis.pinned = Some(unparsed_reason(&leading, &scanned.fingerprint));
            analysis.fingerprint = scanned.fingerprint;
            return analysis;
        }
    };
    classify(&statement, &leading, &mut analysis);
    if scanned.user_variable
        && analysis
            .pinned
            .is_none_or(|r| r == RowReason::SessionControl)
    {
        // `SET @x = 1` changes nothing the proxy replays: the variable lives on the row primary.
        analysis.pinned = Some(RowReason::UserVariable);
        analysis.session = SessionEffect::None;
    }
    if analysis.pinned.is_some() {
        analysis.tables.clear();
    }
    analysis.fingerprint = scanned.fingerprint;
    analysis
}

/// Transaction control from the leading words, by hand: `BEGIN [WORK]` (not MariaDB's
/// `BEGIN NOT ATOMIC` block), `START TRANSACTION …`,
/// `COMMIT …`, `ROLLBACK [WORK] [AND …]` (not `ROLLBACK … TO`), `XA START|BEGIN|COMMIT|ROLLBACK`.
fn transaction_control(leading: &[String]) -> Option<SessionEffect> {
    let words: Vec<&str> = leading.iter().map(String::as_str).collect();
    match words.as_slice() {
        // MariaDB's anonymous block `BEGIN NOT ATOMIC … END` starts no transaction.
        ["BEGIN", "NOT", "ATOMIC"] => Some(SessionEffect::None),
        ["BEGIN", ..] => Some(SessionEffect::BeginTransaction),
        ["START", "TRANSACTION", ..] => Some(SessionEffect::BeginTransaction),
        ["XA", "START" | "BEGIN", ..] => Some(SessionEffect::BeginTransaction),
        ["XA", "COMMIT" | "ROLLBACK", ..] => Some(SessionEffect::EndTransaction),
        ["XA", ..] => Some(SessionEffect::None),
        ["COMMIT", ..] => Some(SessionEffect::EndTransaction),
        ["ROLLBACK", "TO", ..] | ["ROLLBACK", "WORK", "TO"] => Some(SessionEffect::None),
        ["ROLLBACK", ..] => Some(SessionEffect::EndTransaction),
        ["SAVEPOINT", ..] | ["RELEASE", "SAVEPOINT", ..] => Some(SessionEffect::None),
        _ => None,
    }
}

/// The reason for a text sqlparser rejected, so a MySQL or MariaDB statement the dialect lacks
/// is still counted for what it is: by its leading words, and for `SELECT`s by the clauses
/// that make them locking reads or writes; else [`RowReason::Unparsed`]. Pinned either way.
fn unparsed_reason(leading: &[String], fingerprint: &str) -> RowReason {
    let words: Vec<&str> = leading.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["SELECT" | "WITH", ..] => {
            let upper = fingerprint.to_ascii_uppercase();
            if lock_in_share_mode(&upper) {
                RowReason::LockingRead
            } else if [" INTO OUTFILE ", " INTO DUMPFILE ", " INTO @"]
                .iter()
                .any(|c| upper.contains(c))
            {
                RowReason::Write
            } else {
                RowReason::Unparsed
            }
        }
        ["CREATE" | "ALTER" | "DROP" | "RENAME", "USER" | "ROLE", ..]
        | ["SET", "PASSWORD" | "ROLE", ..] => RowReason::Dcl,
        ["GRANT" | "REVOKE", ..] => RowReason::Dcl,
        ["INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "TRUNCATE", ..] => RowReason::Write,
        ["CREATE" | "ALTER" | "DROP" | "RENAME", ..] => RowReason::Ddl,
        ["CALL", ..] => RowReason::StoredRoutine,
        ["LOAD", ..] => RowReason::LoadData,
        ["PREPARE" | "EXECUTE" | "DEALLOCATE", ..] => RowReason::PreparedStatement,
        ["SET" | "USE", ..] => RowReason::SessionControl,
        ["SHOW" | "DESC" | "DESCRIBE" | "EXPLAIN" | "KILL" | "FLUSH" | "HANDLER" | "DO"
        | "CHECK" | "REPAIR" | "CHECKSUM" | "RESET" | "PURGE" | "INSTALL" | "UNINSTALL"
        | "HELP" | "BINLOG", ..] => RowReason::NotAQuery,
        _ => RowReason::Unparsed,
    }
}

/// Functions whose answer belongs to the connection that calls them (lower-case names).
const SESSION_FUNCTIONS: &[&str] = &[
    "last_insert_id",
    "found_rows",
    "row_count",
    "connection_id",
    "get_lock",
    "release_lock",
    "release_all_locks",
    "is_used_lock",
    "is_free_lock",
];

/// MariaDB's sequence functions, which advance a sequence: writes.
const SEQUENCE_FUNCTIONS: &[&str] = &["nextval", "setval", "lastval"];

/// Schemas that are the server's own catalog; reads of them stay on the row store.
pub(crate) const SYSTEM_SCHEMAS: &[&str] =
    &["information_schema", "mysql", "performance_schema", "sys"];

fn classify(statement: &Statement, leading: &[String], analysis: &mut Analysis) {
    use RowReason as R;
    let pinned = match statement {
        Statement::Query(query) => return classify_query(query, leading, analysis),
        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_)
        | Statement::Truncate(_)
        | Statement::Copy { .. } => R::Write,
        Statement::Load { .. } | Statement::LoadData { .. } => R::LoadData,
        Statement::CreateTable(create) if create.temporary => {
            if let Some(table) = table_ref(&create.name) {
                analysis.session = SessionEffect::CreateTemporaryTable(table);
            }
            R::TemporaryTable
        }
        Statement::Drop {
            object_type: ObjectType::Table,
            temporary: true,
            names,
            ..
        } => {
            analysis.session =
                SessionEffect::DropTemporaryTables(names.iter().filter_map(table_ref).collect());
            R::TemporaryTable
        }
        Statement::Call(_)
        | Statement::CreateProcedure { .. }
        | Statement::CreateFunction(_)
        | Statement::CreateTrigger(_)
        | Statement::DropProcedure { .. }
        | Statement::DropFunction(_)
        | Statement::DropTrigger(_) => {
            analysis.session = SessionEffect::EndTransaction;
            R::StoredRoutine
        }
        Statement::Grant(_)
        | Statement::Revoke(_)
        | Statement::CreateUser(_)
        | Statement::AlterUser(_)
        | Statement::CreateRole(_)
        | Statement::AlterRole { .. }
        | Statement::GrantRole(_)
        | Statement::RevokeRole(_) => {
            analysis.session = SessionEffect::EndTransaction;
            R::Dcl
        }
        Statement::Set(set) => {
            if let Some(settings) = session_settings(set) {
                analysis.session = SessionEffect::Set(settings);
            }
            if set_password(set) {
                R::Dcl
            } else {
                R::SessionControl
            }
        }
        Statement::Use(use_) => {
            if let Some(db) = use_database(use_) {
                analysis.session = SessionEffect::Use(db);
            }
            R::SessionControl
        }
        Statement::StartTransaction { .. } => {
            analysis.session = SessionEffect::BeginTransaction;
            R::SessionControl
        }
        Statement::Commit { .. }
        | Statement::Rollback {
            savepoint: None, ..
        } => {
            analysis.session = SessionEffect::EndTransaction;
            R::SessionControl
        }
        Statement::Rollback { .. }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. } => R::SessionControl,
        Statement::Prepare { .. } | Statement::Execute { .. } | Statement::Deallocate { .. } => {
            R::PreparedStatement
        }
        Statement::ShowFunctions { .. }
        | Statement::ShowVariable { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowCreate { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowCatalogs { .. }
        | Statement::ShowDatabases { .. }
        | Statement::ShowProcessList { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowCharset(_)
        | Statement::ShowObjects(_)
        | Statement::ShowTables { .. }
        | Statement::ShowViews { .. }
        | Statement::ShowCollation { .. }
        | Statement::ExplainTable { .. }
        | Statement::Explain { .. }
        | Statement::Kill { .. }
        | Statement::Flush { .. }
        | Statement::LockTables { .. }
        | Statement::UnlockTables
        | Statement::Lock(_) => R::NotAQuery,
        _ => {
            // Everything else changes the schema or the server: CREATE/ALTER/DROP of any
            // object, RENAME, OPTIMIZE, ANALYZE, COMMENT, sequences… MySQL commits first.
            analysis.session = SessionEffect::EndTransaction;
            R::Ddl
        }
    };
    analysis.pinned = Some(pinned);
}

fn classify_query(query: &Query, leading: &[String], analysis: &mut Analysis) {
    let pinned = if !query.locks.is_empty() {
        Some(RowReason::LockingRead)
    } else if selects_into(query) {
        Some(RowReason::Write)
    } else if leading.iter().any(|w| w == "SQL_CALC_FOUND_ROWS") {
        Some(RowReason::SessionFunction)
    } else {
        function_reason(query)
    };
    analysis.pinned = pinned;
    if pinned.is_none() {
        analysis.tables = read_tables(query);
    }
}

/// `LOCK IN SHARE MODE`, which sqlparser does not know, in an upper-cased fingerprint (where
/// strings are already `?` and spacing is single).
fn lock_in_share_mode(upper_fingerprint: &str) -> bool {
    upper_fingerprint.contains(" LOCK IN SHARE MODE")
}

/// `SELECT … INTO var|OUTFILE|DUMPFILE` anywhere in a query.
fn selects_into(query: &Query) -> bool {
    struct Into;
    impl Visitor for Into {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            if set_expr_into(&query.body) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    fn set_expr_into(body: &SetExpr) -> bool {
        match body {
            SetExpr::Select(select) => select.into.is_some(),
            SetExpr::SetOperation { left, right, .. } => {
                set_expr_into(left) || set_expr_into(right)
            }
            _ => false,
        }
    }
    query.visit(&mut Into).is_break()
}

/// Session-bound or sequence functions called anywhere in a query.
fn function_reason(query: &Query) -> Option<RowReason> {
    let mut reason = None;
    let _ = visit_expressions(query, |expr| {
        if let Expr::Function(function) = expr {
            let name = function
                .name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .map(|i| i.value.to_ascii_lowercase());
            if let Some(name) = name {
                if SESSION_FUNCTIONS.contains(&name.as_str()) {
                    reason = Some(RowReason::SessionFunction);
                    return ControlFlow::Break(());
                }
                if SEQUENCE_FUNCTIONS.contains(&name.as_str()) {
                    reason = Some(RowReason::Write);
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    reason
}

/// The tables a query reads, less its CTE names and `DUAL`.
fn read_tables(query: &Query) -> Vec<TableRef> {
    let mut ctes = HashSet::new();
    let _ = visit_relations_and_ctes(query, &mut ctes);
    let mut seen = HashSet::new();
    let mut tables = Vec::new();
    let _ = visit_relations(query, |name| {
        if let Some(table) = table_ref(name) {
            let cte = table.database.is_none() && ctes.contains(&table.name);
            let dual = table.database.is_none() && table.name.eq_ignore_ascii_case("dual");
            if !cte && !dual && seen.insert(table.clone()) {
                tables.push(table);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    tables
}

/// Collects the alias of every CTE in a query, at any depth.
fn visit_relations_and_ctes(query: &Query, ctes: &mut HashSet<String>) -> ControlFlow<()> {
    struct Ctes<'a>(&'a mut HashSet<String>);
    impl Visitor for Ctes<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            if let Some(with) = &query.with {
                for cte in &with.cte_tables {
                    self.0.insert(cte.alias.name.value.clone());
                }
            }
            ControlFlow::Continue(())
        }
    }
    query.visit(&mut Ctes(ctes))
}

/// `db.table` or `table` from an object name; longer names are not MySQL tables.
fn table_ref(name: &ObjectName) -> Option<TableRef> {
    let parts: Vec<&str> = name
        .0
        .iter()
        .map(|p| p.as_ident().map(|i| i.value.as_str()))
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [table] => Some(TableRef::new(None, table)),
        [db, table] => Some(TableRef::new(Some(db), table)),
        _ => None,
    }
}

fn use_database(use_: &sqlparser::ast::Use) -> Option<String> {
    use sqlparser::ast::Use;
    let name = match use_ {
        Use::Object(name) | Use::Database(name) | Use::Schema(name) => name,
        _ => return None,
    };
    match name.0.as_slice() {
        [part] => part.as_ident().map(|i| i.value.clone()),
        _ => None,
    }
}

fn set_password(set: &sqlparser::ast::Set) -> bool {
    // sqlparser has no SET PASSWORD in the MySQL dialect; a parsed `SET password = …` is an
    // assignment to a variable named `password`.
    session_settings(set).is_some_and(|s| {
        s.iter()
            .any(|v| matches!(v, SessionSetting::Variable { name, .. } if name == "password"))
    })
}

/// The session settings of a `SET`, or `None` when it sets anything global or persistent
/// (which is not session state) or is a form MySQL does not have.
fn session_settings(set: &sqlparser::ast::Set) -> Option<Vec<SessionSetting>> {
    use sqlparser::ast::{ContextModifier, Set};
    let mut settings = Vec::new();
    let mut assign =
        |scope: Option<ContextModifier>, variable: &ObjectName, value: &Expr| -> Option<()> {
            if matches!(scope, Some(ContextModifier::Global)) {
                return None;
            }
            let parts: Vec<String> = variable
                .0
                .iter()
                .map(|p| p.as_ident().map(|i| i.value.to_ascii_lowercase()))
                .collect::<Option<_>>()?;
            let mut parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            // `@@session.x`, `@@local.x`, `@@x` arrive as one identifier with the prefix.
            if let Some(first) = parts.first_mut() {
                *first = first.trim_start_matches("@@");
            }
            let name = match parts.as_slice() {
                ["global" | "persist" | "persist_only", ..] => return None,
                ["session" | "local", name] => *name,
                [name] => *name,
                _ => return None,
            };
            if name.starts_with('@') {
                return None;
            }
            let value_text = value.to_string();
            let setting = if name == "autocommit" {
                SessionSetting::Autocommit(parse_switch(&value_text)?)
            } else {
                SessionSetting::Variable {
                    name: name.to_owned(),
                    value: value_text,
                }
            };
            settings.push(setting);
            Some(())
        };
    match set {
        Set::SingleAssignment {
            scope,
            hivevar: false,
            variable,
            values,
        } if values.len() == 1 => {
            assign(*scope, variable, &values[0])?;
        }
        Set::MultipleAssignments { assignments } => {
            for a in assignments {
                assign(a.scope, &a.name, &a.value)?;
            }
        }
        Set::SetNames {
            charset_name,
            collation_name,
        } => settings.push(SessionSetting::Names {
            charset: Some(charset_name.value.clone()),
            collation: collation_name
                .as_ref()
                .map(|c| c.trim_matches(['\'', '"', '`']).to_owned()),
        }),
        Set::SetNamesDefault {} => settings.push(SessionSetting::Names {
            charset: None,
            collation: None,
        }),
        _ => return None,
    }
    Some(settings)
}

/// `0`/`1`/`ON`/`OFF`/`TRUE`/`FALSE`, as MySQL accepts for a boolean variable.
fn parse_switch(text: &str) -> Option<bool> {
    match text.trim_matches(['\'', '"']).to_ascii_lowercase().as_str() {
        "1" | "on" | "true" => Some(true),
        "0" | "off" | "false" => Some(false),
        _ => None,
    }
}
