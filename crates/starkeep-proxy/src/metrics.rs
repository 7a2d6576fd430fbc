//! The proxy's Prometheus metrics: their names, descriptions, and the helpers that bump them.
//! The recorder and the `/metrics` endpoint are the binary's (`--metrics-listen`).
//!
//! - `starkeep_proxy_connections` (gauge): client sessions open now;
//! - `starkeep_proxy_logins_total{outcome}`: `ok`, `denied` (error 1045), `throttled`;
//! - `starkeep_proxy_statements_total{route, rule}`: `COM_QUERY` statements by where they went
//!   and the rule that decided (names as `starkeep proxy explain` prints them);
//! - `starkeep_proxy_backend_errors_total{node}`: backends that could not be reached, refused a
//!   session, or failed mid-answer, by kind (`row_primary`, `row_replica`, `column`);
//! - `starkeep_proxy_fallbacks_total{from}`: reads sent to the row store because a replica or
//!   column node failed before executing them;
//! - `starkeep_proxy_decision_cache_hits_total`, `…_misses_total`: cost decisions served from
//!   the cache, and those that needed an `EXPLAIN`.

use starkeep_routing::{CacheStats, Decision};

use crate::state::NodeKind;

pub const CONNECTIONS: &str = "starkeep_proxy_connections";
pub const LOGINS: &str = "starkeep_proxy_logins_total";
pub const STATEMENTS: &str = "starkeep_proxy_statements_total";
pub const BACKEND_ERRORS: &str = "starkeep_proxy_backend_errors_total";
pub const FALLBACKS: &str = "starkeep_proxy_fallbacks_total";
pub const CACHE_HITS: &str = "starkeep_proxy_decision_cache_hits_total";
pub const CACHE_MISSES: &str = "starkeep_proxy_decision_cache_misses_total";

/// Describes the metrics to the installed recorder.
pub fn describe() {
    metrics::describe_gauge!(CONNECTIONS, "Client sessions open now");
    metrics::describe_counter!(LOGINS, "Client logins by outcome");
    metrics::describe_counter!(STATEMENTS, "Statements by route and deciding rule");
    metrics::describe_counter!(BACKEND_ERRORS, "Backend failures by node kind");
    metrics::describe_counter!(
        FALLBACKS,
        "Reads sent to the row store because their node failed before executing them"
    );
    metrics::describe_counter!(CACHE_HITS, "Cost decisions served from the decision cache");
    metrics::describe_counter!(CACHE_MISSES, "Cost decisions that needed an EXPLAIN");
}

/// Counts an open session while it lives.
pub struct OpenConnection;

impl OpenConnection {
    pub fn open() -> Self {
        metrics::gauge!(CONNECTIONS).increment(1.0);
        OpenConnection
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::gauge!(CONNECTIONS).decrement(1.0);
    }
}

pub fn statement(decision: &Decision) {
    metrics::counter!(STATEMENTS, "route" => decision.route.as_str(), "rule" => decision.rule.as_str())
        .increment(1);
}

pub fn backend_error(kind: NodeKind) {
    metrics::counter!(BACKEND_ERRORS, "node" => kind.as_str()).increment(1);
}

pub fn fallback(from: NodeKind) {
    metrics::counter!(FALLBACKS, "from" => from.as_str()).increment(1);
}

/// Publishes the router's cache counters.
pub fn cache(stats: CacheStats) {
    metrics::counter!(CACHE_HITS).absolute(stats.hits);
    metrics::counter!(CACHE_MISSES).absolute(stats.misses);
}
