//! The routing rules, in order, through `Router`: each rule decides where it should and yields
//! where it should, with real statement texts, a session that lives through them, and plans a
//! real MariaDB 10.11 printed (tests/explain). Text analysis alone is tested in analysis.rs.

use std::time::{Duration, Instant};

use starkeep_routing::{
    ColumnTables, Decision, Facts, Hint, Route, Router, RowReason, Rule, SessionRouting, Step,
    TableRef,
};

const SMALL_PLAN: &str = include_str!("explain/mariadb_point.json"); // 1 row
const BIG_PLAN: &str = include_str!("explain/mariadb_bnl.json"); // 200,100 rows

/// One client connection against a router, with the instance's facts.
struct Client {
    router: Router,
    session: SessionRouting,
    columns: ColumnTables,
    sync_on: bool,
    mirrored: bool,
    column_up: bool,
    replica_up: bool,
}

impl Client {
    fn new() -> Client {
        Client {
            router: Router::new(50_000.0, Duration::from_secs(60), 1024),
            session: SessionRouting::new(Some("shop".into())),
            columns: [("shop", "orders"), ("shop", "items"), ("sales", "facts")]
                .into_iter()
                .collect(),
            sync_on: true,
            mirrored: true,
            column_up: true,
            replica_up: false,
        }
    }

    fn facts(&self) -> Facts<'_> {
        Facts {
            sync_on: self.sync_on,
            account_mirrored: self.mirrored,
            session: &self.session,
            column_tables: &self.columns,
            column_up: self.column_up,
            replica_up: self.replica_up,
        }
    }

    /// Routes a statement as the proxy would, answering an EXPLAIN with `plan`, then takes in
    /// its effect on the session (as if it succeeded).
    fn route_with(&mut self, sql: &str, plan: &str) -> Decision {
        let analysis = self.router.analyze(sql);
        let decision = match self.router.decide(&self.facts(), &analysis) {
            Step::Decided(d) => d,
            Step::NeedsEstimate => self
                .router
                .decide_by_explain(&self.facts(), &analysis, plan),
        };
        self.session.observe(&analysis);
        decision
    }

    /// Routes a statement; a plan request is a test failure.
    fn route(&mut self, sql: &str) -> Decision {
        let analysis = self.router.analyze(sql);
        let step = self.router.decide(&self.facts(), &analysis);
        self.session.observe(&analysis);
        match step {
            Step::Decided(d) => d,
            Step::NeedsEstimate => panic!("{sql} asked for a plan"),
        }
    }
}

fn is(decision: &Decision, route: Route, rule: Rule) {
    assert_eq!(
        (decision.route, &decision.rule),
        (route, &rule),
        "{decision:?}"
    );
}

#[test]
fn sync_off_sends_everything_to_the_row_primary() {
    let mut c = Client::new();
    c.sync_on = false;
    is(
        &c.route("/*FORCE_COLUMN*/ SELECT * FROM orders"),
        Route::RowPrimary,
        Rule::SyncOff,
    );
    is(
        &c.route("SELECT * FROM orders"),
        Route::RowPrimary,
        Rule::SyncOff,
    );
}

#[test]
fn unmirrored_accounts_stay_on_the_row_store() {
    let mut c = Client::new();
    c.mirrored = false;
    is(
        &c.route("/*FORCE_COLUMN*/ SELECT * FROM orders"),
        Route::RowPrimary,
        Rule::NotMirrored,
    );
}

#[test]
fn rule1_pins_outrank_hints() {
    let mut c = Client::new();
    for (sql, reason) in [
        ("/*FORCE_COLUMN*/ UPDATE orders SET a = 1", RowReason::Write),
        (
            "/*FORCE_COLUMN*/ SELECT * FROM orders WHERE id = 1 FOR UPDATE",
            RowReason::LockingRead,
        ),
        (
            "/*FORCE_COLUMN*/ SELECT * FROM orders WHERE id = @x",
            RowReason::UserVariable,
        ),
        (
            "/*FORCE_SLAVE*/ SELECT * FROM orders; SELECT 1",
            RowReason::MultiStatement,
        ),
        ("/*FORCE_COLUMN*/ CALL p()", RowReason::StoredRoutine),
    ] {
        is(&c.route(sql), Route::RowPrimary, Rule::Pinned(reason));
    }
}

#[test]
fn explicit_transactions_stay_on_the_row_primary() {
    let mut c = Client::new();
    is(
        &c.route("BEGIN"),
        Route::RowPrimary,
        Rule::Pinned(RowReason::SessionControl),
    );
    is(
        &c.route("/*FORCE_COLUMN*/ SELECT * FROM orders"),
        Route::RowPrimary,
        Rule::Transaction,
    );
    is(
        &c.route("SELECT COUNT(*) FROM orders"),
        Route::RowPrimary,
        Rule::Transaction,
    );
    c.route("COMMIT");
    is(
        &c.route("/*FORCE_COLUMN*/ SELECT * FROM orders"),
        Route::Column,
        Rule::Hint(Hint::Column),
    );

    c.route("START TRANSACTION READ ONLY");
    is(
        &c.route("SELECT * FROM orders"),
        Route::RowPrimary,
        Rule::Transaction,
    );
    c.route("ROLLBACK");
    c.route("START TRANSACTION");
    c.route("CREATE TABLE x (id INT)"); // DDL commits implicitly
    is(
        &c.route("/*FORCE_COLUMN*/ SELECT * FROM orders"),
        Route::Column,
        Rule::Hint(Hint::Column),
    );
}

#[test]
fn autocommit_off_is_a_transaction_until_turned_on() {
    let mut c = Client::new();
    c.route("SET autocommit = 0");
    is(
        &c.route("/*FORCE_COLUMN*/ SELECT * FROM orders"),
        Route::RowPrimary,
        Rule::Transaction,
    );
    c.route("COMMIT");
    is(
        &c.route("/*FORCE_COLUMN*/ SELECT * FROM orders"),
        Route::RowPrimary,
        Rule::Transaction,
    );
    c.route("SET autocommit = 1");
    is(
        &c.route("/*FORCE_COLUMN*/ SELECT * FROM orders"),
        Route::Column,
        Rule::Hint(Hint::Column),
    );
}

#[test]
fn reads_of_a_sessions_temporary_table_stay_on_the_row_primary() {
    let mut c = Client::new();
    is(
        &c.route("CREATE TEMPORARY TABLE orders (id INT)"),
        Route::RowPrimary,
        Rule::Pinned(RowReason::TemporaryTable),
    );
    is(
        &c.route("/*FORCE_COLUMN*/ SELECT * FROM shop.orders"),
        Route::RowPrimary,
        Rule::Pinned(RowReason::TemporaryTable),
    );
    c.route("DROP TEMPORARY TABLE orders");
    is(
        &c.route("/*FORCE_COLUMN*/ SELECT * FROM shop.orders"),
        Route::Column,
        Rule::Hint(Hint::Column),
    );
}

#[test]
fn hints() {
    let mut c = Client::new();
    is(
        &c.route("/*FORCE_IMCI_NODES*/ SELECT * FROM orders"),
        Route::Column,
        Rule::Hint(Hint::Column),
    );
    is(
        &c.route("/*FORCE_MASTER*/ SELECT * FROM orders"),
        Route::RowPrimary,
        Rule::Hint(Hint::RowPrimary),
    );
    is(
        &c.route("/*FORCE_ROW*/ SELECT SUM(a) FROM orders"),
        Route::RowPrimary,
        Rule::Hint(Hint::RowPrimary),
    );
    is(
        &c.route("/*FORCE_SLAVE*/ SELECT * FROM orders"),
        Route::RowPrimary,
        Rule::NoReplica,
    );
    c.replica_up = true;
    is(
        &c.route("/*FORCE_SLAVE*/ SELECT * FROM orders"),
        Route::RowReplica,
        Rule::Hint(Hint::RowReplica),
    );
    // A hint outranks the table rule: the column store answers (with its own error).
    is(
        &c.route("/*FORCE_COLUMN*/ SELECT * FROM only_in_row"),
        Route::Column,
        Rule::Hint(Hint::Column),
    );
    c.column_up = false;
    is(
        &c.route("/*FORCE_COLUMN*/ SELECT * FROM orders"),
        Route::RowReplica,
        Rule::ColumnDown,
    );
}

#[test]
fn rule3_every_table_must_be_in_the_column_store() {
    let mut c = Client::new();
    is(&c.route("SELECT 1"), Route::RowPrimary, Rule::NoTables);
    is(
        &c.route("SELECT @@version_comment LIMIT 1"),
        Route::RowPrimary,
        Rule::NoTables,
    );
    is(
        &c.route("SELECT * FROM orders o JOIN customers c ON c.id = o.customer"),
        Route::RowPrimary,
        Rule::TableNotInColumn(TableRef::new(Some("shop"), "customers")),
    );
    is(
        &c.route("SELECT * FROM Orders"),
        Route::RowPrimary,
        Rule::TableNotInColumn(TableRef::new(Some("shop"), "Orders")),
    );
    is(
        &c.route("SELECT * FROM information_schema.tables"),
        Route::RowPrimary,
        Rule::TableNotInColumn(TableRef::new(Some("information_schema"), "tables")),
    );
    // Unqualified names take the current database: `orders` is not in `sales`.
    c.route("USE sales");
    is(
        &c.route("SELECT * FROM orders"),
        Route::RowPrimary,
        Rule::TableNotInColumn(TableRef::new(Some("sales"), "orders")),
    );
    let d = c.route_with(
        "SELECT * FROM facts JOIN shop.items i ON i.id = facts.item",
        BIG_PLAN,
    );
    is(&d, Route::Column, Rule::CostAbove);
    // COM_INIT_DB changes the current database as USE does.
    c.session.set_database("shop");
    let d = c.route_with("SELECT COUNT(*) FROM orders", BIG_PLAN);
    is(&d, Route::Column, Rule::CostAbove);
    // No current database: an unqualified table cannot be found.
    let mut c = Client::new();
    c.session = SessionRouting::new(None);
    is(
        &c.route("SELECT * FROM orders"),
        Route::RowPrimary,
        Rule::TableNotInColumn(TableRef::new(None, "orders")),
    );
    // The column store down: a row node.
    let mut c = Client::new();
    c.column_up = false;
    is(
        &c.route("SELECT * FROM orders"),
        Route::RowPrimary,
        Rule::ColumnDown,
    );
}

#[test]
fn rule4_threshold_both_ways_and_the_cache() {
    let mut c = Client::new();
    let big = "SELECT o.* FROM orders o JOIN items i ON o.amount > i.id WHERE i.kind = 'x'";
    let d = c.route_with(big, BIG_PLAN);
    is(&d, Route::Column, Rule::CostAbove);
    assert_eq!(d.estimate, Some(200_100.0));
    let small = "SELECT * FROM orders WHERE id = 7";
    let d = c.route_with(small, SMALL_PLAN);
    is(&d, Route::RowPrimary, Rule::CostBelow);
    assert_eq!(d.estimate, Some(1.0));
    assert_eq!(
        (c.router.cache_stats().hits, c.router.cache_stats().misses),
        (0, 2)
    );

    // The same statements with other literals: decided from the cache, no plan asked for.
    let d = c.route("SELECT o.* FROM orders o JOIN items i ON o.amount > i.id WHERE i.kind = 'y'");
    is(&d, Route::Column, Rule::CostAbove);
    assert_eq!(d.estimate, Some(200_100.0));
    is(
        &c.route("SELECT * FROM orders WHERE id = 8"),
        Route::RowPrimary,
        Rule::CostBelow,
    );
    let stats = c.router.cache_stats();
    assert_eq!((stats.hits, stats.misses), (2, 2));
    assert!(stats.analysis_hits >= 2, "{stats:?}");

    // A replica up: small reads go there.
    c.replica_up = true;
    is(
        &c.route("SELECT * FROM orders WHERE id = 9"),
        Route::RowReplica,
        Rule::CostBelow,
    );
}

#[test]
fn rule4_cache_is_per_database_and_expires() {
    let mut c = Client::new();
    c.columns.insert("other", "orders");
    let at = Instant::now();
    let sql = "SELECT * FROM orders WHERE id = 7";
    let analysis = c.router.analyze(sql);
    assert_eq!(
        c.router.decide_at(&c.facts(), &analysis, at),
        Step::NeedsEstimate
    );
    c.router
        .decide_by_explain_at(&c.facts(), &analysis, SMALL_PLAN, at);
    assert!(matches!(
        c.router
            .decide_at(&c.facts(), &analysis, at + Duration::from_secs(59)),
        Step::Decided(_)
    ));
    assert_eq!(
        c.router
            .decide_at(&c.facts(), &analysis, at + Duration::from_secs(60)),
        Step::NeedsEstimate
    );
    c.route("USE other");
    assert_eq!(
        c.router.decide_at(&c.facts(), &analysis, at),
        Step::NeedsEstimate,
        "another database's orders"
    );
}

#[test]
fn an_unreadable_plan_keeps_the_read_on_the_row_store_and_is_not_cached() {
    let mut c = Client::new();
    let d = c.route_with("SELECT * FROM orders WHERE a = 1", "ERROR");
    is(&d, Route::RowPrimary, Rule::NoEstimate);
    let analysis = c.router.analyze("SELECT * FROM orders WHERE a = 2");
    assert_eq!(c.router.decide(&c.facts(), &analysis), Step::NeedsEstimate);
}

#[test]
fn rule5_column_failure_falls_back_to_the_row_store() {
    let mut c = Client::new();
    let d = c.route_with("SELECT SUM(x) FROM orders JOIN items ON true", BIG_PLAN);
    is(&d, Route::Column, Rule::CostAbove);
    let fallback = d.column_failed(false);
    is(&fallback, Route::RowPrimary, Rule::ColumnDown);
    assert_eq!(fallback.estimate, Some(200_100.0));
    is(&d.column_failed(true), Route::RowReplica, Rule::ColumnDown);
}

#[test]
fn session_state_follows_the_client() {
    let mut c = Client::new();
    c.route("SET NAMES utf8mb4 COLLATE utf8mb4_bin");
    c.route("SET sql_mode = 'ANSI', time_zone = '+00:00'");
    c.route("SET SESSION sql_mode = 'TRADITIONAL'");
    c.route("USE sales");
    assert_eq!(
        c.session.names(),
        Some((Some("utf8mb4"), Some("utf8mb4_bin")))
    );
    assert_eq!(
        c.session.variables().collect::<Vec<_>>(),
        [("sql_mode", "'TRADITIONAL'"), ("time_zone", "'+00:00'")]
    );
    assert_eq!(c.session.database(), Some("sales"));
    assert!(c.session.autocommit());
}

#[test]
fn stable_names() {
    assert_eq!(Route::Column.as_str(), "column");
    assert_eq!(
        Rule::Pinned(RowReason::LockingRead).as_str(),
        "pinned_locking_read"
    );
    assert_eq!(Rule::Hint(Hint::RowReplica).as_str(), "hint_force_slave");
    let missing = Rule::TableNotInColumn(TableRef::new(Some("shop"), "t"));
    assert_eq!(missing.as_str(), "table_not_in_column");
    assert_eq!(missing.to_string(), "table_not_in_column(shop.t)");
}

#[test]
fn long_statements_are_not_cached() {
    let mut c = Client::new();
    let sql = format!(
        "SELECT * FROM orders WHERE id IN ({})",
        vec!["7"; 2_000].join(", ")
    );
    assert!(sql.len() > starkeep_routing::MAX_CACHED_FINGERPRINT);
    is(
        &c.route_with(&sql, SMALL_PLAN),
        Route::RowPrimary,
        Rule::CostBelow,
    );
    let analysis = c.router.analyze(&sql);
    assert_eq!(c.router.decide(&c.facts(), &analysis), Step::NeedsEstimate);
    assert_eq!(c.router.cache_stats().analysis_hits, 0);
}
