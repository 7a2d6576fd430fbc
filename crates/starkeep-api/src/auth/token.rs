//! `X-Auth-Token`: starkeep's own tokens, checked with the signing key alone, and — with an
//! external IAM configured — any other token, validated by that IAM.

use axum::http::HeaderValue;
use starkeep_auth::TokenError;

use super::{missing_credential, Caller};
use crate::error::{ApiError, ErrorCode};
use crate::external_iam::ExternalIamError;
use crate::state::AppState;

fn not_valid() -> ApiError {
    ApiError::unauthenticated("the token is not valid", "token 无效")
}

/// The caller named by the request's `X-Auth-Token` header.
pub(super) async fn authenticate(
    app: &AppState,
    header: Option<HeaderValue>,
) -> Result<Caller, ApiError> {
    let header = header.ok_or_else(missing_credential)?;
    let token = header.to_str().map_err(|_| not_valid())?.trim();
    let own = app.tokens().verify(token, starkeep_store::now_unix());
    match (own, app.external_iam()) {
        (Ok(claims), _) => Ok(Caller {
            user_id: claims.user_id,
            user_name: claims.user_name,
            project_id: claims.project_id,
            role: claims.role,
            access_key: None,
        }),
        // Signed with this server's key, so it is ours, and it is over.
        (Err(TokenError::Expired), _) => Err(ApiError::unauthenticated(
            "the token has expired",
            "token 已过期",
        )),
        (Err(_), None) => Err(not_valid()),
        (Err(_), Some(iam)) => {
            let identity = iam.validate(token).await.map_err(|e| match e {
                ExternalIamError::Refused => not_valid(),
                ExternalIamError::Unavailable(why) => {
                    tracing::error!(reason = %why, "the external IAM could not validate a token");
                    ApiError::new(ErrorCode::IamUnavailable)
                }
            })?;
            let role = identity.role.ok_or_else(|| {
                ApiError::forbidden(
                    "the token has no role that this service recognises (admin, member, reader, readonly)",
                    "token 中没有本服务认可的角色（admin、member、reader、readonly）",
                )
            })?;
            Ok(Caller {
                user_id: identity.user_id,
                user_name: identity.user_name,
                project_id: identity.project_id.unwrap_or_default(),
                role,
                access_key: None,
            })
        }
    }
}
