//! The decision: [`Router`] applies the routing rules, in order, to an [`Analysis`] and the
//! [`Facts`] of the moment, and keeps two caches shared by every connection of a proxy: analyses
//! by fingerprint (so a repeated statement is not parsed again) and cost estimates by current
//! database and fingerprint, for a bounded time (so a repeated statement costs no `EXPLAIN`).
//! The rules themselves are documented once, in the crate doc (lib.rs).

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::analysis::{
    analyze_scanned, fingerprint_scan, Analysis, Hint, RowReason, TableRef, MAX_CACHED_FINGERPRINT,
};
use crate::column_tables::ColumnTables;
use crate::explain::Estimate;
use crate::session::SessionRouting;

/// Where a statement goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// The TaurusDB source: every statement may run there.
    RowPrimary,
    /// A row read replica (the proxy picks one by weight).
    RowReplica,
    /// The column store (StarRocks; the proxy picks a node by weight).
    Column,
}

impl Route {
    /// A stable name, used in metric labels, the debug log and `starkeep proxy explain`.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::RowPrimary => "row_primary",
            Route::RowReplica => "row_replica",
            Route::Column => "column",
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a statement went where it went: the rule that decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Account sync is off for the instance: everything to the row primary.
    SyncOff,
    /// The client's account was not mirrored to the column store: row store only.
    NotMirrored,
    /// Rule 1: the statement itself must run on the row primary.
    Pinned(RowReason),
    /// Rule 1: an explicit transaction is open, or autocommit is off.
    Transaction,
    /// Rule 2: a hint chose the route.
    Hint(Hint),
    /// Rule 2: `/*FORCE_SLAVE*/` with no row replica up.
    NoReplica,
    /// Rule 3: the read reads no table (`SELECT 1`, `SELECT @@version`).
    NoTables,
    /// Rule 3: this table is not in the column store (or was created by the session as a
    /// temporary table, which hides it).
    TableNotInColumn(TableRef),
    /// Rule 5: the column store is down (or just failed this statement).
    ColumnDown,
    /// Rule 4: the estimate is above the threshold.
    CostAbove,
    /// Rule 4: the estimate is at or below the threshold.
    CostBelow,
    /// Rule 4: the row store's plan could not be read.
    NoEstimate,
}

impl Rule {
    /// A stable name, used in metric labels, the debug log and `starkeep proxy explain`
    /// (without the table of [`Rule::TableNotInColumn`]; `Display` adds it).
    pub fn as_str(&self) -> &'static str {
        match self {
            Rule::SyncOff => "sync_off",
            Rule::NotMirrored => "not_mirrored",
            Rule::Pinned(reason) => match reason {
                RowReason::Write => "pinned_write",
                RowReason::Ddl => "pinned_ddl",
                RowReason::Dcl => "pinned_dcl",
                RowReason::LockingRead => "pinned_locking_read",
                RowReason::UserVariable => "pinned_user_variable",
                RowReason::TemporaryTable => "pinned_temporary_table",
                RowReason::StoredRoutine => "pinned_stored_routine",
                RowReason::LoadData => "pinned_load_data",
                RowReason::PreparedStatement => "pinned_prepared_statement",
                RowReason::MultiStatement => "pinned_multi_statement",
                RowReason::SessionFunction => "pinned_session_function",
                RowReason::SessionControl => "pinned_session_control",
                RowReason::NotAQuery => "pinned_not_a_query",
                RowReason::ExecutableComment => "pinned_executable_comment",
                RowReason::Unparsed => "pinned_unparsed",
            },
            Rule::Transaction => "transaction",
            Rule::Hint(hint) => match hint {
                Hint::Column => "hint_force_column",
                Hint::RowPrimary => "hint_force_row",
                Hint::RowReplica => "hint_force_slave",
            },
            Rule::NoReplica => "no_replica",
            Rule::NoTables => "no_tables",
            Rule::TableNotInColumn(_) => "table_not_in_column",
            Rule::ColumnDown => "column_down",
            Rule::CostAbove => "cost_above",
            Rule::CostBelow => "cost_below",
            Rule::NoEstimate => "no_estimate",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::TableNotInColumn(table) => write!(f, "table_not_in_column({table})"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// A routing decision: where, why, and the estimate of rows read when cost decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Where the statement goes.
    pub route: Route,
    /// The rule that decided.
    pub rule: Rule,
    /// Estimated rows read, when rule 4 decided.
    pub estimate: Option<f64>,
}

impl Decision {
    fn new(route: Route, rule: Rule) -> Decision {
        Decision {
            route,
            rule,
            estimate: None,
        }
    }

    /// The decision when the column store fails a read before it began executing it (rule 5):
    /// the same read on the row store, the estimate kept.
    pub fn column_failed(&self, replica_up: bool) -> Decision {
        Decision {
            route: row_read(replica_up),
            rule: Rule::ColumnDown,
            estimate: self.estimate,
        }
    }
}

/// What the proxy knows at the moment it routes a statement.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// Whether account sync (row/column distribution) is on for the instance.
    pub sync_on: bool,
    /// Whether the client's account is mirrored to the column store.
    pub account_mirrored: bool,
    /// The client connection's routing state.
    pub session: &'a SessionRouting,
    /// The tables the column store has.
    pub column_tables: &'a ColumnTables,
    /// Whether a column node is up.
    pub column_up: bool,
    /// Whether a row read replica is up.
    pub replica_up: bool,
}

/// The outcome of [`Router::decide`].
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The rules decided without the row store's plan.
    Decided(Decision),
    /// Cost decides and no estimate is cached: run [`crate::explain_statement`] on the row
    /// store and pass its JSON to [`Router::decide_by_explain`].
    NeedsEstimate,
}

/// Counters of the estimate cache (the decision cache of rule 4) and the analysis cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Rule-4 decisions served from a cached estimate.
    pub hits: u64,
    /// Rule-4 decisions that needed an `EXPLAIN`.
    pub misses: u64,
    /// Analyses served from the analysis cache.
    pub analysis_hits: u64,
    /// Analyses that parsed the statement.
    pub analysis_misses: u64,
}

/// The routing rules and their caches; one per proxy, shared by its connections.
#[derive(Debug)]
pub struct Router {
    threshold_rows: f64,
    ttl: Duration,
    estimates: Sharded<Estimate>,
    analyses: Sharded<Arc<Analysis>>,
    hits: AtomicU64,
    misses: AtomicU64,
    analysis_hits: AtomicU64,
    analysis_misses: AtomicU64,
}

impl Router {
    /// A router that sends reads estimated above `threshold_rows` rows to the column store and
    /// keeps up to `cache_capacity` estimates for `cache_ttl` each (and as many analyses).
    pub fn new(threshold_rows: f64, cache_ttl: Duration, cache_capacity: usize) -> Router {
        Router {
            threshold_rows,
            ttl: cache_ttl,
            estimates: Sharded::new(cache_capacity),
            analyses: Sharded::new(cache_capacity),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            analysis_hits: AtomicU64::new(0),
            analysis_misses: AtomicU64::new(0),
        }
    }

    /// The threshold of rule 4, in estimated rows read.
    pub fn threshold_rows(&self) -> f64 {
        self.threshold_rows
    }

    /// [`crate::analyze`], served from the analysis cache when a text of the same fingerprint
    /// was analysed before (statements that change the session are never cached).
    pub fn analyze(&self, sql: &str) -> Arc<Analysis> {
        let scanned = fingerprint_scan(sql);
        if let Some(hit) = self.analyses.get(&scanned.fingerprint, None) {
            self.analysis_hits.fetch_add(1, Ordering::Relaxed);
            return hit;
        }
        self.analysis_misses.fetch_add(1, Ordering::Relaxed);
        let analysis = Arc::new(analyze_scanned(sql, scanned));
        if analysis.cacheable() {
            self.analyses
                .insert(analysis.fingerprint.clone(), Arc::clone(&analysis), None);
        }
        analysis
    }

    /// Applies the rules in order; see the crate doc.
    pub fn decide(&self, facts: &Facts<'_>, analysis: &Analysis) -> Step {
        self.decide_at(facts, analysis, Instant::now())
    }

    /// [`Router::decide`] at a given moment (for the cache's time to live).
    pub fn decide_at(&self, facts: &Facts<'_>, analysis: &Analysis, now: Instant) -> Step {
        if let Some(decision) = self.decide_by_rules(facts, analysis) {
            return Step::Decided(decision);
        }
        match self
            .estimates
            .get(&estimate_key(facts.session, analysis), Some(now))
        {
            Some(estimate) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Step::Decided(self.by_estimate(facts, Some(estimate)))
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                Step::NeedsEstimate
            }
        }
    }

    /// Rule 4 once the row store's plan is known: reads the estimate from `explain_json`,
    /// caches it for the statement's fingerprint in the session's database, and decides.
    pub fn decide_by_explain(
        &self,
        facts: &Facts<'_>,
        analysis: &Analysis,
        explain_json: &str,
    ) -> Decision {
        self.decide_by_explain_at(facts, analysis, explain_json, Instant::now())
    }

    /// [`Router::decide_by_explain`] at a given moment.
    pub fn decide_by_explain_at(
        &self,
        facts: &Facts<'_>,
        analysis: &Analysis,
        explain_json: &str,
        now: Instant,
    ) -> Decision {
        let estimate = Estimate::from_explain_json(explain_json);
        if let Some(estimate) =
            estimate.filter(|_| analysis.fingerprint.len() <= MAX_CACHED_FINGERPRINT)
        {
            self.estimates.insert(
                estimate_key(facts.session, analysis),
                estimate,
                Some(now + self.ttl),
            );
        }
        self.by_estimate(facts, estimate)
    }

    /// Counters of both caches.
    pub fn cache_stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            analysis_hits: self.analysis_hits.load(Ordering::Relaxed),
            analysis_misses: self.analysis_misses.load(Ordering::Relaxed),
        }
    }

    /// Rules 0–3 and 5 (everything but cost); `None` when cost decides.
    fn decide_by_rules(&self, facts: &Facts<'_>, analysis: &Analysis) -> Option<Decision> {
        use Route::*;
        if !facts.sync_on {
            return Some(Decision::new(RowPrimary, Rule::SyncOff));
        }
        if !facts.account_mirrored {
            return Some(Decision::new(RowPrimary, Rule::NotMirrored));
        }
        if let Some(reason) = analysis.pinned {
            return Some(Decision::new(RowPrimary, Rule::Pinned(reason)));
        }
        if facts.session.in_transaction() {
            return Some(Decision::new(RowPrimary, Rule::Transaction));
        }
        // Unqualified names take the current database; resolved without allocating.
        let current = facts.session.database();
        if analysis
            .tables
            .iter()
            .map(|t| resolve(t, current))
            .any(|(db, name)| facts.session.has_temporary_table(db, name))
        {
            return Some(Decision::new(
                RowPrimary,
                Rule::Pinned(RowReason::TemporaryTable),
            ));
        }
        match analysis.hint {
            Some(Hint::Column) if facts.column_up => {
                return Some(Decision::new(Column, Rule::Hint(Hint::Column)))
            }
            Some(Hint::Column) => {
                return Some(Decision::new(row_read(facts.replica_up), Rule::ColumnDown))
            }
            Some(Hint::RowPrimary) => {
                return Some(Decision::new(RowPrimary, Rule::Hint(Hint::RowPrimary)))
            }
            Some(Hint::RowReplica) if facts.replica_up => {
                return Some(Decision::new(RowReplica, Rule::Hint(Hint::RowReplica)))
            }
            Some(Hint::RowReplica) => return Some(Decision::new(RowPrimary, Rule::NoReplica)),
            None => {}
        }
        if analysis.tables.is_empty() {
            return Some(Decision::new(RowPrimary, Rule::NoTables));
        }
        let missing =
            analysis
                .tables
                .iter()
                .map(|t| resolve(t, current))
                .find(|(db, name)| match db {
                    Some(db) => !facts.column_tables.contains(db, name),
                    None => true,
                });
        if let Some((db, name)) = missing {
            let table = TableRef::new(db, name);
            return Some(Decision::new(
                row_read(facts.replica_up),
                Rule::TableNotInColumn(table),
            ));
        }
        if !facts.column_up {
            return Some(Decision::new(row_read(facts.replica_up), Rule::ColumnDown));
        }
        None
    }

    fn by_estimate(&self, facts: &Facts<'_>, estimate: Option<Estimate>) -> Decision {
        match estimate {
            Some(e) if e.rows > self.threshold_rows => Decision {
                route: Route::Column,
                rule: Rule::CostAbove,
                estimate: Some(e.rows),
            },
            Some(e) => Decision {
                route: row_read(facts.replica_up),
                rule: Rule::CostBelow,
                estimate: Some(e.rows),
            },
            None => Decision::new(row_read(facts.replica_up), Rule::NoEstimate),
        }
    }
}

/// A table's database (the current one if the statement left it out) and name.
fn resolve<'a>(table: &'a TableRef, current: Option<&'a str>) -> (Option<&'a str>, &'a str) {
    (table.database.as_deref().or(current), &table.name)
}

/// Where a read that stays on the row store goes: a replica if one is up, else the primary.
fn row_read(replica_up: bool) -> Route {
    if replica_up {
        Route::RowReplica
    } else {
        Route::RowPrimary
    }
}

/// The estimate cache's key: the session's database and the fingerprint (an unqualified
/// table name means a different table in another database).
fn estimate_key(session: &SessionRouting, analysis: &Analysis) -> String {
    let db = session.database().unwrap_or("");
    let mut key = String::with_capacity(db.len() + 1 + analysis.fingerprint.len());
    key.push_str(db);
    key.push('\0');
    key.push_str(&analysis.fingerprint);
    key
}

/// How many independently locked parts a cache has, so connections seldom wait on each other.
const SHARDS: usize = 16;

/// A bounded map split into locked shards; each shard forgets its oldest entry when full.
#[derive(Debug)]
struct Sharded<V> {
    shards: Vec<Mutex<Shard<V>>>,
}

#[derive(Debug)]
struct Shard<V> {
    capacity: usize,
    entries: HashMap<String, (V, Option<Instant>)>,
    order: VecDeque<String>,
}

impl<V: Clone> Sharded<V> {
    fn new(capacity: usize) -> Sharded<V> {
        let per_shard = capacity.div_ceil(SHARDS);
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    capacity: per_shard,
                    entries: HashMap::new(),
                    order: VecDeque::new(),
                })
            })
            .collect();
        Sharded { shards }
    }

    fn shard(&self, key: &str) -> &Mutex<Shard<V>> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        &self.shards[(hasher.finish() as usize) % SHARDS]
    }

    /// The value under `key`, unless it expired before `now` (entries without an expiry never
    /// expire; pass `None` for `now` when the map holds such entries only).
    fn get(&self, key: &str, now: Option<Instant>) -> Option<V> {
        let shard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        let (value, expires) = shard.entries.get(key)?;
        match (expires, now) {
            (Some(expires), Some(now)) if now >= *expires => None,
            _ => Some(value.clone()),
        }
    }

    fn insert(&self, key: String, value: V, expires: Option<Instant>) {
        let mut shard = self.shard(&key).lock().unwrap_or_else(|e| e.into_inner());
        if shard.capacity == 0 {
            return;
        }
        if shard
            .entries
            .insert(key.clone(), (value, expires))
            .is_none()
        {
            shard.order.push_back(key);
            while shard.entries.len() > shard.capacity {
                match shard.order.pop_front() {
                    Some(oldest) => {
                        shard.entries.remove(&oldest);
                    }
                    None => break,
                }
            }
        }
    }
}
