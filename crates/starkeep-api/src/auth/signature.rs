//! `Authorization: SDK-HMAC-SHA256 …`: a request signed with an access key.
//!
//! The body is read within the body limit (the signature covers it) and put back. The key is
//! looked up in the store with its user's current role; the signature is checked by
//! [`starkeep_auth::sdk_signature::verify`]. A key acts only in its own project, and a signed
//! `X-Project-Id` must name the path's project. A key whose signatures keep failing is slowed
//! down (never a key whose signature is right).

use std::time::Instant;

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use starkeep_auth::sdk_signature::{self, Authorization, ReceivedRequest, SignatureError};

use super::{internal, Caller};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ProjectScope;
use crate::state::AppState;
use crate::throttle::ThrottleKey;

const PROJECT_HEADER: &str = "x-project-id";

/// What a failed signature answers: the reason, in both languages, never the expected value.
fn refusal_for(e: &SignatureError) -> ApiError {
    let (en, zh) = match e {
        SignatureError::Malformed => (
            "the Authorization header is not a valid SDK-HMAC-SHA256 authorization",
            "Authorization 请求头不是有效的 SDK-HMAC-SHA256 签名",
        ),
        SignatureError::DateNotSigned => (
            "the X-Sdk-Date header must be among the signed headers",
            "X-Sdk-Date 请求头必须参与签名",
        ),
        SignatureError::SignedHeaderMissing(_) => (
            "a header named in SignedHeaders is not in the request",
            "SignedHeaders 中列出的请求头不在请求中",
        ),
        SignatureError::SignedHeaderRepeated(_) => (
            "a signed header appears more than once",
            "参与签名的请求头出现了多次",
        ),
        SignatureError::BadDate => (
            "X-Sdk-Date must be a UTC time of the form YYYYMMDDTHHMMSSZ",
            "X-Sdk-Date 必须是 YYYYMMDDTHHMMSSZ 格式的 UTC 时间",
        ),
        SignatureError::DateOutOfWindow => (
            "the signature has expired: X-Sdk-Date is more than 15 minutes from the server's clock",
            "签名已过期：X-Sdk-Date 与服务器时间相差超过 15 分钟",
        ),
        SignatureError::BodyHashMismatch => (
            "the body does not match X-Sdk-Content-Sha256",
            "请求体与 X-Sdk-Content-Sha256 不符",
        ),
        SignatureError::BadSignature => (
            "the signature does not match the request (check the secret key, and that nothing changed the request after it was signed)",
            "签名与请求不符（请检查 SK，以及请求在签名后是否被改动）",
        ),
    };
    ApiError::unauthenticated(en, zh)
}

/// Authenticates a signed request; on success, the request (its body put back) and the caller.
pub(super) async fn authenticate(
    app: &AppState,
    req: Request,
    body_limit: usize,
) -> Result<(Request, Caller), Response> {
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(SignatureError::Malformed)
        .and_then(Authorization::parse)
        .map_err(|e| refusal_for(&e).into_response())?;
    let Some(keys) = app.access_keys() else {
        return Err(ApiError::unauthenticated(
            "this server does not accept requests signed with an access key",
            "本服务不接受使用访问密钥（AK/SK）签名的请求",
        )
        .into_response());
    };
    let (mut parts, body) = req.into_parts();
    let body = to_bytes(body, body_limit)
        .await
        .map_err(|_| ApiError::new(ErrorCode::PayloadTooLarge).into_response())?;
    let holder = match keys.find(&auth.access_key).await {
        Ok(Some(holder)) => holder,
        Ok(None) => {
            return Err(ApiError::unauthenticated(
                "the access key (AK) does not exist",
                "访问密钥（AK）不存在",
            )
            .into_response())
        }
        Err(e) => return Err(internal("cannot read an access key", &e).into_response()),
    };

    let mut headers: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    // HTTP/2 carries the host in the URI's authority rather than in a Host header.
    if !parts.headers.contains_key(header::HOST) {
        if let Some(authority) = parts.uri.authority() {
            headers.push(("host", authority.as_str().as_bytes()));
        }
    }
    let received = ReceivedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or_default(),
        headers: &headers,
        body: &body,
    };
    if let Err(e) = sdk_signature::verify(
        &received,
        &auth,
        &holder.secret_key,
        starkeep_store::now_unix(),
    ) {
        let key = ThrottleKey::AccessKey(holder.access_key.clone());
        let now = Instant::now();
        if let Some(wait) = app.throttle().retry_after(&key, now) {
            tracing::warn!(access_key = %holder.access_key, retry_after_secs = wait.as_secs(), "too many failed signatures with one access key");
            return Err(ApiError::throttled_response(wait));
        }
        app.throttle().record_failure(key, now);
        return Err(refusal_for(&e).into_response());
    }

    let path_project = ProjectScope::of(&mut parts).await.project_id;
    if auth.signed_headers.iter().any(|h| h == PROJECT_HEADER)
        && parts
            .headers
            .get(PROJECT_HEADER)
            .is_some_and(|p| p.as_bytes() != path_project.as_bytes())
    {
        return Err(ApiError::forbidden(
            "the signed X-Project-Id is not the project in the path",
            "参与签名的 X-Project-Id 与路径中的项目不一致",
        )
        .into_response());
    }
    let Some(role) = holder.role else {
        return Err(ApiError::forbidden(
            "the access key's user has no role in the key's project",
            "访问密钥所属用户在该项目中没有角色",
        )
        .into_response());
    };
    let caller = Caller {
        user_id: holder.user_id,
        user_name: holder.user_name,
        project_id: holder.project_id.to_string(),
        role,
        access_key: Some(holder.access_key),
    };
    Ok((Request::from_parts(parts, Body::from(body)), caller))
}
