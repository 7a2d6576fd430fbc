//! Authentication and authorization of project routes.
//!
//! [`require_caller`] runs before every `/v3/{project_id}/…` handler. A caller proves who it is
//! in one of two ways:
//!
//! - `X-Auth-Token` ([`token`]): starkeep's own token, verified with the signing key alone; with
//!   an external IAM (`serve --iam-url`), any other token is validated by that IAM.
//! - `Authorization: SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…` ([`signature`]): a
//!   request signed with an access key, as the cloud's SDKs sign it. The body is read (within
//!   the body limit) to check the signature, then put back for the handler.
//!
//! Then the credential's project must be the path's (the matched `{project_id}`), and its role
//! must permit the route's declared [`Operation`] (a read-only caller may only read); the
//! [`Caller`] is left in the request's extensions. Failures answer 401 with the gateway's
//! `APIGW.0301` and a reason, never the expected signature. Repeated failures are slowed down
//! ([`crate::throttle`]). Unknown routes never reach this layer (they answer 404 first).

mod signature;
mod token;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use starkeep_auth::sdk_signature::Authorization;
use starkeep_auth::Role;

use crate::error::{ApiError, ErrorCode};
use crate::extract::ProjectScope;
use crate::operation::Operation;
use crate::state::AppState;

/// The header that carries a token, as in the cloud's IAM.
pub const AUTH_TOKEN_HEADER: &str = "x-auth-token";

/// Who is making a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub user_name: String,
    pub project_id: String,
    pub role: Role,
    /// The access key that signed the request, if it was signed.
    pub access_key: Option<String>,
}

/// Who sent `req`: a signed request's access key, or a token.
async fn authenticate(
    app: &AppState,
    req: Request,
    body_limit: usize,
) -> Result<(Request, Caller), Response> {
    let signed = req
        .headers()
        .get(header::AUTHORIZATION)
        .is_some_and(|v| Authorization::claims_scheme(v.as_bytes()));
    if signed {
        signature::authenticate(app, req, body_limit).await
    } else {
        let header = req.headers().get(AUTH_TOKEN_HEADER).cloned();
        match token::authenticate(app, header).await {
            Ok(caller) => Ok((req, caller)),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// Middleware for the reads outside any project (the Keystone reads): authenticate the caller,
/// whatever its project and role, and leave the [`Caller`] for the handler to scope its answer.
pub async fn require_identity(
    State((app, body_limit)): State<(AppState, usize)>,
    req: Request,
    next: Next,
) -> Response {
    match authenticate(&app, req, body_limit).await {
        Ok((mut req, caller)) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(refusal) => refusal,
    }
}

/// Middleware: authenticate the caller and authorize the request for the path's project.
pub async fn require_caller(
    State((app, body_limit)): State<(AppState, usize)>,
    req: Request,
    next: Next,
) -> Response {
    let (req, caller) = match authenticate(&app, req, body_limit).await {
        Ok(pair) => pair,
        Err(refusal) => return refusal,
    };
    let (mut parts, body) = req.into_parts();
    let scope = ProjectScope::of(&mut parts).await;
    let mut req = Request::from_parts(parts, body);
    if caller.project_id != scope.project_id {
        return ApiError::forbidden(
            "the credential is not valid for this project",
            "凭证不属于该项目",
        )
        .into_response();
    }
    let writes = req
        .extensions()
        .get::<Operation>()
        .is_none_or(|op| op.writes());
    if !caller.role.permits(writes) {
        return ApiError::forbidden(
            "the readonly role may only read",
            "只读角色只能执行查询操作",
        )
        .into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// The answer to a request with no credential at all.
fn missing_credential() -> ApiError {
    ApiError::unauthenticated(
        "the X-Auth-Token header is missing, and the request is not signed with an access key",
        "缺少 X-Auth-Token 请求头，请求也未使用访问密钥（AK/SK）签名",
    )
}

/// A store or IAM failure while authenticating: logged, answered as an internal error.
fn internal(what: &str, error: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %error, "{what}");
    ApiError::new(ErrorCode::Internal)
}
