//! starkeep's HTTP API.
//!
//! [`router`] builds the whole service: the account endpoints of the contract
//! (`../shared/contract/API.md`), the token endpoint, `/health` and `/openapi.json`, behind the
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
pub mod extract;
pub mod health;
pub mod middleware;
pub mod openapi;
pub mod sync;
pub mod tokens;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use axum::Router;
use starkeep_auth::{Iam, TokenSigner};
use starkeep_engine::Instances;
use starkeep_store::Store;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::error::{ApiError, ErrorCode};

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
}

impl AppState {
    pub fn new(store: Store, iam: Iam) -> Self {
        Self(Arc::new(Inner {
            instances: Instances::new(store.clone()),
            store,
            iam,
        }))
    }

    /// State with an instance directory of the caller's making (one that can open SQL
    /// instances' admin passwords).
    pub fn with_instances(store: Store, iam: Iam, instances: Instances) -> Self {
        Self(Arc::new(Inner {
            instances,
            store,
            iam,
        }))
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

/// The base path of the StarRocks account API.
const BASE: &str = "/v3/{project_id}/instances/{instance_id}/starrocks";

/// The whole service.
pub fn router(state: AppState, limits: Limits) -> Router {
    let project_routes = Router::new()
        .route(
            &format!("{BASE}/users"),
            post(accounts::create::create_account)
                .get(accounts::list::list_accounts)
                .delete(accounts::delete::delete_account),
        )
        .route(
            &format!("{BASE}/user"),
            delete(accounts::delete::delete_account_singular),
        )
        .route(
            &format!("{BASE}/users/permission"),
            put(accounts::update_permission::update_permission),
        )
        .route(
            &format!("{BASE}/users/password"),
            put(accounts::update_password::update_password),
        )
        .route(
            &format!("{BASE}/users/sync"),
            post(sync::switch::switch_sync).get(sync::status::sync_status),
        )
        // Route layers run outside in: authentication first, then the audit recorder.
        .route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), limits.body_bytes),
            audit::record_changes,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_caller,
        ));

    Router::new()
        .route("/health", get(health::health))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/v3/auth/tokens", post(tokens::create::create_token))
        .merge(project_routes)
        .fallback(|| async { ApiError::new(ErrorCode::RouteNotFound).into_response() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(ErrorCode::MethodNotAllowed).into_response()
        })
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
