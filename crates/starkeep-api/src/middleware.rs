//! The layers every request passes through, outermost first:
//!
//! 1. a request id (`X-Request-Id`: the client's, or a new UUID), echoed on the response;
//! 2. [`log_request`]: one log line per request — method, path, declared operation, status,
//!    latency, request id and error code; never a query string, header value or body; whatever
//!    is logged inside the request carries its request id;
//! 3. [`localize`]: error bodies re-rendered in the language of `X-Language`;
//! 4. panics caught and answered as `DBS.200500` ([`panic_response`]);
//! 5. [`time_limit`]: a request that takes longer than the limit answers `DBS.200504`.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use starkeep_domain::Language;
use tracing::Instrument;

use crate::error::{ApiError, ErrorCode};
use crate::operation::Operation;

/// The request id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Logs one line per request, with the operation its route declared (`-` for none: an unknown
/// route, a method the route does not take). Whatever is logged while the request is served
/// (a backend's own error text, say) carries its request id, in the `request` span.
pub async fn log_request(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let span = tracing::info_span!("request", %request_id);
    let response = next.run(req).instrument(span).await;
    let status = response.status().as_u16();
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    let operation = response
        .extensions()
        .get::<Operation>()
        .map_or("-", |op| op.name());
    let error_code = response
        .extensions()
        .get::<ApiError>()
        .map(|e| e.code.code())
        .unwrap_or("");
    if response.status().is_server_error() {
        tracing::warn!(target: "starkeep::access", %method, %path, operation, status, latency_ms, %request_id, error_code, "request");
    } else {
        tracing::info!(target: "starkeep::access", %method, %path, operation, status, latency_ms, %request_id, error_code, "request");
    }
    response
}

/// Re-renders error bodies in the caller's language.
pub async fn localize(req: Request, next: Next) -> Response {
    let lang = Language::from_header(
        req.headers()
            .get("x-language")
            .and_then(|v| v.to_str().ok()),
    );
    let response = next.run(req).await;
    if lang == Language::EnUs {
        return response;
    }
    match response.extensions().get::<ApiError>() {
        Some(err) => {
            let mut localized = err.to_response(lang);
            // Keep headers set by inner layers (Allow, Retry-After, ...).
            for (name, value) in response.headers() {
                if name != axum::http::header::CONTENT_LENGTH
                    && name != axum::http::header::CONTENT_TYPE
                {
                    localized.headers_mut().insert(name.clone(), value.clone());
                }
            }
            localized
        }
        None => response,
    }
}

/// Answers a panic in a handler as an internal error, without its message.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(ErrorCode::Internal).into_response()
}

/// Bounds the time one request may take.
pub async fn time_limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(ErrorCode::Timeout).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::{to_bytes, Body};
    use axum::http::{Request as HttpRequest, StatusCode};
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;
    use tower_http::catch_panic::CatchPanicLayer;

    use super::*;

    fn app() -> Router {
        Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route(
                "/panic",
                get(|| async {
                    if true {
                        panic!("boom with a secret");
                    }
                    "never"
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                Duration::from_millis(50),
                time_limit,
            ))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(axum::middleware::from_fn(localize))
    }

    async fn call(path: &str, lang: &str) -> (StatusCode, serde_json::Value) {
        let req = HttpRequest::get(path)
            .header("x-language", lang)
            .body(Body::empty())
            .unwrap();
        let resp = app().oneshot(req).await.unwrap();
        let status = resp.status();
        let body = to_bytes(resp.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn slow_requests_answer_a_timeout_code() {
        let start = Instant::now();
        let (status, body) = call("/slow", "en-us").await;
        assert!(start.elapsed() < Duration::from_secs(2));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error_code"], "DBS.200504");
        let (_, body) = call("/slow", "zh-cn").await;
        assert_eq!(body["error_msg"], "请求超时");
    }

    #[tokio::test]
    async fn panics_answer_an_internal_error_without_the_message() {
        let (status, body) = call("/panic", "en-us").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error_code"], "DBS.200500");
        assert!(!body.to_string().contains("secret"));
    }
}
