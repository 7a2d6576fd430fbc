//! The failure throttle in front of the HTTP API's routes that take a credential: the
//! [`limit_failures`] layer. The throttle itself ([`FailureThrottle`]) lives in `starkeep-auth`,
//! shared with `starkeep proxy`.
//!
//! An address is checked before any credential work (so password guessing and IAM look-ups are
//! bounded); an access key is checked only when its signature fails (so nobody can lock a key's
//! owner out by sending bad signatures with it). Behind a reverse proxy every caller has the
//! proxy's address; this module does not read `X-Forwarded-For`.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
pub use starkeep_auth::throttle::{FailureLimit, FailureThrottle, ThrottleKey};

use crate::error::ApiError;
use crate::state::AppState;

/// The client's address, when the server recorded it.
pub fn client_address(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Middleware in front of routes that take a credential: an address that failed too often is
/// answered 429 before anything else is done; each 401 (and each 429 from an access key's own
/// throttle) inside is charged to the address.
pub async fn limit_failures(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let address = client_address(&req);
    if let Some(ip) = address {
        if let Some(wait) = app
            .throttle()
            .retry_after(&ThrottleKey::Address(ip), Instant::now())
        {
            tracing::warn!(%ip, retry_after_secs = wait.as_secs(), "too many authentication failures from one address");
            return ApiError::throttled_response(wait);
        }
    }
    let response = next.run(req).await;
    let failed = matches!(
        response.status(),
        StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
    );
    if let (true, Some(ip)) = (failed, address) {
        app.throttle()
            .record_failure(ThrottleKey::Address(ip), Instant::now());
    }
    response
}
