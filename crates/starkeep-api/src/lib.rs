//! starkeep's HTTP API.
//!
//! [`router`] builds the whole service: the account endpoints of the contract
//! (`../shared/contract/API.md`), the token endpoints, `/health`, `/metrics` and `/openapi.json`, behind the
//! layers of [`middleware`]. Each endpoint lives in its own file and does the same four things:
//! the caller is authenticated ([`auth`]), the input is read into domain types, one engine call
//! is made, the answer is written; every change request is recorded in the audit trail
//! ([`audit`]). Errors are [`error::ApiError`]s from one catalogue.
//!
//! Run it with the `starkeep` binary (`starkeep serve`); tests run it on a real socket.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod error;
pub mod external_iam;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod sync;
pub mod throttle;
pub mod tokens;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::{Extension, Router};
use starkeep_auth::{AccessKeys, Iam, TokenSigner};
use starkeep_engine::Instances;
use starkeep_store::Store;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorCode};
use crate::external_iam::ExternalIam;
use crate::throttle::{FailureLimit, FailureThrottle};

/// Limits the router enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest request body, in bytes.
    pub body_bytes: usize,
    /// The longest a request may take.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    instances: Instances,
    iam: Iam,
    access_keys: Option<AccessKeys>,
    external_iam: Option<ExternalIam>,
    throttle: FailureThrottle,
}

/// How callers may authenticate, beyond starkeep's own tokens.
#[derive(Debug, Default)]
pub struct AuthOptions {
    /// With it, requests signed with an access key (`SDK-HMAC-SHA256`) are accepted.
    pub access_keys: Option<AccessKeys>,
    /// With it, tokens that are not starkeep's own are validated by this IAM.
    pub external_iam: Option<ExternalIam>,
    /// When repeated authentication failures are slowed down.
    pub failure_limit: FailureLimit,
}

impl AppState {
    /// starkeep's own tokens only.
    pub fn new(store: Store, iam: Iam) -> Self {
        Self::with_auth(store, iam, AuthOptions::default())
    }

    pub fn with_auth(store: Store, iam: Iam, auth: AuthOptions) -> Self {
        Self::assemble(store.clone(), iam, Instances::new(store), auth)
    }

    /// State with an instance directory of the caller's making (one that can open SQL
    /// instances' admin passwords) and starkeep's own tokens only.
    pub fn with_instances(store: Store, iam: Iam, instances: Instances) -> Self {
        Self::assemble(store, iam, instances, AuthOptions::default())
    }

    /// State from all its parts.
    pub fn assemble(store: Store, iam: Iam, instances: Instances, auth: AuthOptions) -> Self {
        Self(Arc::new(Inner {
            instances,
            store,
            iam,
            access_keys: auth.access_keys,
            external_iam: auth.external_iam,
            throttle: FailureThrottle::new(auth.failure_limit),
        }))
    }

    pub fn access_keys(&self) -> Option<&AccessKeys> {
        self.0.access_keys.as_ref()
    }

    pub fn external_iam(&self) -> Option<&ExternalIam> {
        self.0.external_iam.as_ref()
    }

    pub fn throttle(&self) -> &FailureThrottle {
        &self.0.throttle
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn instances(&self) -> &Instances {
        &self.0.instances
    }

    pub fn iam(&self) -> &Iam {
        &self.0.iam
    }

    pub fn tokens(&self) -> &TokenSigner {
        self.0.iam.signer()
    }
}

/// Every route of the service, each registered through its handler's `#[utoipa::path]`: the
/// path, the methods and the document's operation all come from that one annotation, so a route
/// cannot exist without its operation in `/openapi.json` (`tests/http.rs` checks the built router
/// against the served document). Add routes here, and only with `routes!`.
fn documented_routes(state: &AppState, body_bytes: usize) -> OpenApiRouter<AppState> {
    let project_routes = OpenApiRouter::new()
        .routes(routes!(
            accounts::create::create_account,
            accounts::list::list_accounts,
            accounts::delete::delete_account
        ))
        .routes(routes!(accounts::delete::delete_account_singular))
        .routes(routes!(accounts::update_permission::update_permission))
        .routes(routes!(accounts::update_password::update_password))
        .routes(routes!(
            sync::switch::switch_sync,
            sync::status::sync_status
        ))
        // Route layers run outside in: the failure throttle, authentication, then the audit
        // recorder.
        .route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), body_bytes),
            audit::record_changes,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), body_bytes),
            auth::require_caller,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            throttle::limit_failures,
        ));
    let token_routes = OpenApiRouter::new()
        .routes(routes!(
            tokens::create::create_token,
            tokens::validate::validate_token
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            throttle::limit_failures,
        ));

    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(metrics::metrics))
        .routes(routes!(openapi::openapi_json))
        .merge(token_routes)
        .merge(project_routes)
}

/// The whole service. Installs the process's metrics recorder ([`metrics::install`]) if none is.
pub fn router(state: AppState, limits: Limits) -> Router {
    metrics::install();
    let (routes, document) = documented_routes(&state, limits.body_bytes).split_for_parts();
    routes
        .fallback(|| async { ApiError::new(ErrorCode::RouteNotFound).into_response() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(ErrorCode::MethodNotAllowed).into_response()
        })
        .layer(axum::middleware::from_fn(metrics::count_requests))
        .layer(Extension(Arc::new(document)))
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            limits.request_timeout,
            middleware::time_limit,
        ))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(axum::middleware::from_fn(middleware::localize))
        .layer(PropagateRequestIdLayer::new(middleware::REQUEST_ID))
        .layer(axum::middleware::from_fn(middleware::log_request))
        .layer(SetRequestIdLayer::new(
            middleware::REQUEST_ID,
            MakeRequestUuid,
        ))
        .with_state(state)
}
