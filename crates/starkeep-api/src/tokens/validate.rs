//! `GET /v3/auth/tokens`: validate a token, as Keystone v3 and the cloud's IAM answer it — the
//! caller's own token in `X-Auth-Token`, the token asked about in `X-Subject-Token`. Another
//! starkeep started with `--iam-url` pointing here asks exactly this, with the token in both
//! headers. Only starkeep's own tokens are validated here (not those of a further IAM).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use starkeep_auth::TokenError;
use starkeep_domain::InvalidInput;

use super::{TokenBody, SUBJECT_TOKEN_HEADER};
use crate::auth::AUTH_TOKEN_HEADER;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;

/// Validate a token: who it names, its project, roles and expiry.
#[utoipa::path(
    get,
    path = "/v3/auth/tokens",
    tag = "iam",
    params(
        ("X-Auth-Token" = String, Header, description = "The caller's own valid token"),
        ("X-Subject-Token" = String, Header, description = "The token to validate (may be the same)"),
    ),
    responses(
        (status = 200, description = "The token is valid; what it grants", body = TokenBody,
         headers(("X-Subject-Token" = String, description = "The token validated"))),
        (status = 400, description = "No X-Subject-Token", body = ErrorBody),
        (status = 401, description = "The caller's own token is missing or not valid", body = ErrorBody),
        (status = 404, description = "The subject token is not valid (forged, expired, malformed); also when it is the caller's own token", body = ErrorBody),
        (status = 429, description = "Too many authentication failures from this address", body = ErrorBody),
    )
)]
pub async fn validate_token(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = starkeep_store::now_unix();
    let verify = |value: &HeaderValue| {
        value
            .to_str()
            .map_err(|_| TokenError::Malformed)
            .and_then(|t| app.tokens().verify(t.trim(), now))
    };
    let caller = headers.get(AUTH_TOKEN_HEADER).ok_or_else(|| {
        ApiError::unauthenticated(
            "the X-Auth-Token header is missing",
            "缺少 X-Auth-Token 请求头",
        )
    })?;
    let subject = headers.get(SUBJECT_TOKEN_HEADER);
    // A token asking about itself (as `serve --iam-url` asks) is answered about the subject: a
    // bad one is "not found", not a failed login, so a service relaying forged tokens is not
    // throttled here for them.
    let asks_about_itself = subject == Some(caller);
    match verify(caller) {
        Ok(_) => {}
        Err(_) if asks_about_itself => return Err(ApiError::new(ErrorCode::TokenNotFound)),
        Err(TokenError::Expired) => {
            return Err(ApiError::unauthenticated(
                "the token has expired",
                "token 已过期",
            ))
        }
        Err(_) => {
            return Err(ApiError::unauthenticated(
                "the token is not valid",
                "token 无效",
            ))
        }
    }
    let subject = subject.ok_or(InvalidInput::Missing {
        field: "X-Subject-Token",
    })?;
    let claims = verify(subject).map_err(|_| ApiError::new(ErrorCode::TokenNotFound))?;
    let mut response = (StatusCode::OK, Json(TokenBody::from(&claims))).into_response();
    response
        .headers_mut()
        .insert(SUBJECT_TOKEN_HEADER, subject.clone());
    Ok(response)
}
