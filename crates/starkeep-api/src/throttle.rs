//! Slowing down callers that keep failing to authenticate: a [`FailureThrottle`] keyed by client
//! address and by access key, and the [`limit_failures`] layer in front of every route that
//! takes a credential.
//!
//! Each failure adds `interval` to the key's debt; the debt drains with time. While the debt is
//! more than `burst - 1` intervals, the key's requests answer 429 with `Retry-After`, so after
//! `burst` failures in a row a caller gets one more try per `interval`. Successes cost nothing,
//! and one key's failures never slow another key. An address is checked before any credential
//! work (so password guessing and IAM look-ups are bounded); an access key is checked only when
//! its signature fails (so nobody can lock a key's owner out by sending bad signatures with it).
//!
//! The map is bounded: keys whose debt has drained are dropped when it fills, and a new key is
//! not tracked while it is full of live ones. Behind a reverse proxy every caller has the
//! proxy's address; this module does not read `X-Forwarded-For`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::ApiError;
use crate::state::AppState;

/// How many failures a key may have in a row, and how fast it earns another try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimit {
    /// Failures in a row before the key is slowed down; 0 turns the throttle off.
    pub burst: u32,
    /// The time one failure takes to be forgiven.
    pub interval: Duration,
}

impl Default for FailureLimit {
    fn default() -> Self {
        Self {
            burst: 20,
            interval: Duration::from_secs(3),
        }
    }
}

/// What a failure is charged to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// The client's IP address.
    Address(IpAddr),
    /// An access key that exists (failures naming unknown keys are charged to the address only).
    AccessKey(String),
}

/// The most keys tracked at once.
const MAX_KEYS: usize = 65_536;

/// Failure debts per key.
#[derive(Debug)]
pub struct FailureThrottle {
    limit: FailureLimit,
    max_keys: usize,
    /// When each key's debt is paid off.
    paid_at: Mutex<HashMap<ThrottleKey, Instant>>,
}

impl FailureThrottle {
    pub fn new(limit: FailureLimit) -> Self {
        Self::with_capacity(limit, MAX_KEYS)
    }

    fn with_capacity(limit: FailureLimit, max_keys: usize) -> Self {
        Self {
            limit,
            max_keys,
            paid_at: Mutex::new(HashMap::new()),
        }
    }

    /// The debt a key may carry and still be served.
    fn allowance(&self) -> Duration {
        self.limit.interval * self.limit.burst.saturating_sub(1)
    }

    /// How long `key` must wait before it is served again, if it must.
    pub fn retry_after(&self, key: &ThrottleKey, now: Instant) -> Option<Duration> {
        if self.limit.burst == 0 {
            return None;
        }
        let paid_at = *self.paid_at.lock().expect("throttle lock").get(key)?;
        let debt = paid_at.saturating_duration_since(now);
        debt.checked_sub(self.allowance())
            .filter(|wait| !wait.is_zero())
    }

    /// Charges one failure to `key`.
    pub fn record_failure(&self, key: ThrottleKey, now: Instant) {
        if self.limit.burst == 0 {
            return;
        }
        let mut map = self.paid_at.lock().expect("throttle lock");
        if map.len() >= self.max_keys && !map.contains_key(&key) {
            map.retain(|_, paid_at| *paid_at > now);
            if map.len() >= self.max_keys {
                tracing::warn!(
                    keys = map.len(),
                    "authentication failure throttle is full; not tracking a new caller"
                );
                return;
            }
        }
        let paid_at = map.entry(key).or_insert(now);
        *paid_at = (*paid_at).max(now) + self.limit.interval;
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(last: u8) -> ThrottleKey {
        ThrottleKey::Address(IpAddr::from([127, 0, 0, last]))
    }

    #[test]
    fn the_failure_after_the_burst_waits_and_others_do_not() {
        let limit = FailureLimit {
            burst: 3,
            interval: Duration::from_secs(10),
        };
        let throttle = FailureThrottle::new(limit);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(throttle.retry_after(&addr(1), t0), None);
            throttle.record_failure(addr(1), t0);
        }
        assert_eq!(
            throttle.retry_after(&addr(1), t0),
            Some(Duration::from_secs(10))
        );
        assert_eq!(throttle.retry_after(&addr(2), t0), None, "another address");
        let key = ThrottleKey::AccessKey("AK".into());
        assert_eq!(throttle.retry_after(&key, t0), None, "an access key");

        // Time forgives: one interval later there is one more try, and only one.
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(throttle.retry_after(&addr(1), t1), None);
        throttle.record_failure(addr(1), t1);
        assert_eq!(
            throttle.retry_after(&addr(1), t1),
            Some(Duration::from_secs(10))
        );
        // Long after, the whole burst is back.
        let t2 = t1 + Duration::from_secs(40);
        for _ in 0..3 {
            assert_eq!(throttle.retry_after(&addr(1), t2), None);
            throttle.record_failure(addr(1), t2);
        }
        assert!(throttle.retry_after(&addr(1), t2).is_some());
    }

    #[test]
    fn burst_zero_turns_it_off() {
        let throttle = FailureThrottle::new(FailureLimit {
            burst: 0,
            interval: Duration::from_secs(10),
        });
        let now = Instant::now();
        for _ in 0..100 {
            throttle.record_failure(addr(1), now);
        }
        assert_eq!(throttle.retry_after(&addr(1), now), None);
    }

    #[test]
    fn the_map_is_bounded_and_drops_forgiven_keys_first() {
        let limit = FailureLimit {
            burst: 1,
            interval: Duration::from_secs(10),
        };
        let throttle = FailureThrottle::with_capacity(limit, 2);
        let t0 = Instant::now();
        throttle.record_failure(addr(1), t0);
        throttle.record_failure(addr(2), t0);
        throttle.record_failure(addr(3), t0);
        assert!(throttle.retry_after(&addr(1), t0).is_some());
        assert_eq!(
            throttle.retry_after(&addr(3), t0),
            None,
            "not tracked: full"
        );
        let later = t0 + Duration::from_secs(11);
        throttle.record_failure(addr(3), later);
        assert!(throttle.retry_after(&addr(3), later).is_some());
        assert_eq!(throttle.paid_at.lock().unwrap().len(), 1);
    }
}
