//! `GET /metrics`: the process's counters in the Prometheus text format, and the layer that
//! counts HTTP requests. The counters themselves are bumped where things happen (account sync
//! counts its runs where it runs them); this module installs the recorder that keeps them and
//! renders them.
//!
//! Counters:
//! - `starkeep_http_requests_total{method, route, status}`: requests by matched route (the
//!   path template, `unmatched` for none) and status class (`2xx` … `5xx`);
//! - `starkeep_sync_runs_total{outcome}`: account-sync runs by outcome (`ok`, `partial`,
//!   `failed`, `abandoned`);
//! - `starkeep_sync_accounts_total{result}`: accounts per run, summed over runs (`created`,
//!   `updated`, `dropped`, `unchanged`, `skipped`, `conflicts`, `failed`).
//!
//! Like `/health`, `/metrics` needs no credential: it tells counts, never names or secrets.

use std::sync::OnceLock;

use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// HTTP requests by method, matched route and status class.
pub const HTTP_REQUESTS: &str = "starkeep_http_requests_total";

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder the counters go to (once; later calls answer the same
/// handle). A process that already has another recorder gets none, and `/metrics` says so.
pub fn install() -> Option<&'static PrometheusHandle> {
    if let Some(handle) = RECORDER.get() {
        return Some(handle);
    }
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        // Another thread won the race, or the embedding program has a recorder of its own.
        return RECORDER.get();
    }
    describe();
    let _ = RECORDER.set(handle);
    RECORDER.get()
}

fn describe() {
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by method, matched route and status class"
    );
    starkeep_sync::describe_sync_metrics();
}

/// The counters, in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    responses((
        status = 200,
        description = "Counters in the Prometheus text exposition format (version 0.0.4)",
        content_type = "text/plain",
        body = String
    ))
)]
pub async fn metrics() -> Response {
    let body = match RECORDER.get() {
        Some(handle) => handle.render(),
        None => "# no metrics recorder in this process\n".to_owned(),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Counts each request under its matched route and status class.
pub async fn count_requests(req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    let status = match response.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}
