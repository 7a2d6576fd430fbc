//! starkeep's HTTP API.
//!
//! [`router`] builds the whole service: the account endpoints of the contract
//! (`../shared/contract/API.md`), the token endpoints, `/health`, `/metrics` and `/openapi.json`,
//! behind the layers of [`middleware`]. Each route is declared with its [`operation::Operation`],
//! which the layers in front of it read: the failure throttle ([`throttle`]), authentication
//! ([`auth`]), the audit recorder ([`audit`]) and the request log. Each endpoint lives in its own
//! file and does the same things: the input is read into domain types, a change is begun in the
//! audit trail, one engine call is made, the answer is written. Errors are [`error::ApiError`]s
//! from one catalogue. What every handler reaches is the [`AppState`].
//!
//! Run it with the `starkeep` binary (`starkeep serve`); tests run it on a real socket (the test
//! kit's test server).

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod error;
pub mod external_iam;
pub mod extract;
pub mod health;
pub mod keystone;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod operation;
pub mod sync;
pub mod throttle;
pub mod tokens;

mod state;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::{Extension, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorCode};
use crate::operation::Operation;
pub use crate::state::{AppState, AuthOptions};

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

/// One route of a project (`/v3/{project_id}/…`), declared with its operation: the failure
/// throttle, authentication, then the audit recorder run in front of its handler (outside in).
fn project_route(
    state: &AppState,
    body_bytes: usize,
    operation: Operation,
    (schemas, paths, handler): UtoipaMethodRouter<AppState>,
) -> UtoipaMethodRouter<AppState> {
    let handler = handler
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record_changes,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), body_bytes),
            auth::require_caller,
        ));
    token_route(state, operation, (schemas, paths, handler))
}

/// A route outside any project that takes a project's credential (the Keystone reads): the
/// failure throttle, then authentication without a project in the path.
fn identity_route(
    state: &AppState,
    body_bytes: usize,
    operation: Operation,
    (schemas, paths, handler): UtoipaMethodRouter<AppState>,
) -> UtoipaMethodRouter<AppState> {
    let handler = handler.route_layer(axum::middleware::from_fn_with_state(
        (state.clone(), body_bytes),
        auth::require_identity,
    ));
    token_route(state, operation, (schemas, paths, handler))
}

/// A route that takes a credential of its own (the token endpoints): the failure throttle runs
/// in front of its handler.
fn token_route(
    state: &AppState,
    operation: Operation,
    (schemas, paths, handler): UtoipaMethodRouter<AppState>,
) -> UtoipaMethodRouter<AppState> {
    let handler = handler.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        throttle::limit_failures,
    ));
    open_route(operation, (schemas, paths, handler))
}

/// A route anyone may call, declared with its operation.
fn open_route(
    operation: Operation,
    (schemas, paths, handler): UtoipaMethodRouter<AppState>,
) -> UtoipaMethodRouter<AppState> {
    let handler = handler.route_layer(axum::middleware::from_fn_with_state(
        operation,
        operation::declared,
    ));
    (schemas, paths, handler)
}

/// Every route of the service, each registered through its handler's `#[utoipa::path]` (the
/// path, the methods and the document's operation all come from that one annotation, so a route
/// cannot exist without its operation in `/openapi.json`; `tests/http.rs` checks the built router
/// against the served document) and declared with its [`Operation`]. Add routes here, one
/// handler per `routes!`.
fn documented_routes(state: &AppState, body_bytes: usize) -> OpenApiRouter<AppState> {
    use Operation as Op;
    let project = |operation, route| project_route(state, body_bytes, operation, route);
    let token = |operation, route| token_route(state, operation, route);
    let identity = |operation, route| identity_route(state, body_bytes, operation, route);
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(open_route(Op::Health, routes!(health::health)))
        .routes(open_route(Op::Metrics, routes!(metrics::metrics)))
        .routes(open_route(Op::OpenApi, routes!(openapi::openapi_json)))
        .routes(token(
            Op::CreateToken,
            routes!(tokens::create::create_token),
        ))
        .routes(token(
            Op::ValidateToken,
            routes!(tokens::validate::validate_token),
        ))
        .routes(identity(Op::ListProjects, routes!(keystone::list_projects)))
        .routes(identity(Op::ListDomains, routes!(keystone::list_domains)))
        .routes(identity(
            Op::ServiceCatalog,
            routes!(keystone::service_catalog),
        ))
        .routes(project(
            Op::CreateAccount,
            routes!(accounts::create::create_account),
        ))
        .routes(project(
            Op::ListAccounts,
            routes!(accounts::list::list_accounts),
        ))
        .routes(project(
            Op::DeleteAccount,
            routes!(accounts::delete::delete_account),
        ))
        .routes(project(
            Op::DeleteAccount,
            routes!(accounts::delete::delete_account_singular),
        ))
        .routes(project(
            Op::ChangePrivileges,
            routes!(accounts::change_privileges::change_privileges),
        ))
        .routes(project(
            Op::ChangePassword,
            routes!(accounts::change_password::change_password),
        ))
        .routes(project(Op::SetSync, routes!(sync::switch::set_sync)))
        .routes(project(Op::SyncStatus, routes!(sync::status::sync_status)))
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
