//! Authentication and authorization of project routes.
//!
//! [`require_caller`] runs before every `/v3/{project_id}/…` handler: it reads `X-Auth-Token`,
//! verifies it with the signing key alone (no store look-up), checks that the token's project is
//! the path's project and that the token's role permits the method, and leaves the [`Caller`] in
//! the request's extensions. Unknown routes never reach it (they answer 404 first).

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use starkeep_auth::{Role, TokenError};

use crate::error::ApiError;
use crate::AppState;

/// The header that carries a token, as in the cloud's IAM.
pub const AUTH_TOKEN_HEADER: &str = "x-auth-token";

/// Who is making a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub user_name: String,
    pub project_id: String,
    pub role: Role,
}

/// Middleware: authenticate the caller and authorize the request for the path's project.
pub async fn require_caller(
    State(app): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let caller = authenticate(&app, &req)?;
    let path_project = req.uri().path().split('/').nth(2).unwrap_or_default();
    if caller.project_id != path_project {
        return Err(ApiError::forbidden(
            "the credential is not valid for this project",
            "凭证不属于该项目",
        ));
    }
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD);
    if !caller.role.permits(writes) {
        return Err(ApiError::forbidden(
            "the readonly role may only read",
            "只读角色只能执行查询操作",
        ));
    }
    req.extensions_mut().insert(caller);
    Ok(next.run(req).await)
}

fn authenticate(app: &AppState, req: &Request) -> Result<Caller, ApiError> {
    let Some(token) = req.headers().get(AUTH_TOKEN_HEADER) else {
        return Err(ApiError::unauthenticated(
            "the X-Auth-Token header is missing",
            "缺少 X-Auth-Token 请求头",
        ));
    };
    let token = token
        .to_str()
        .map_err(|_| ApiError::unauthenticated("the token is not valid", "token 无效"))?;
    let claims = app
        .tokens()
        .verify(token.trim(), starkeep_store::now_unix())
        .map_err(|e| match e {
            TokenError::Expired => {
                ApiError::unauthenticated("the token has expired", "token 已过期")
            }
            TokenError::Malformed | TokenError::BadSignature => {
                ApiError::unauthenticated("the token is not valid", "token 无效")
            }
        })?;
    Ok(Caller {
        user_id: claims.user_id,
        user_name: claims.user_name,
        project_id: claims.project_id,
        role: claims.role,
    })
}
