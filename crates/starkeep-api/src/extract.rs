//! Extractors that turn a request into raw wire values, answering catalogue errors (never
//! axum's plain-text rejections) when the request cannot even be read.
//!
//! - [`RawBody`]: the body's bytes, within the body limit.
//! - [`ApiJson`]: a JSON body, whatever `Content-Type` says (the SDK sends
//!   `application/json;charset=UTF-8`, curl users forget the header).
//! - [`InstancePath`]: the `{project_id}` and `{instance_id}` of a path, validated.
//! - [`ProjectScope`]: the same two as the router matched them, unvalidated, for the layers.
//! - [`QueryParams`]: the query string as name/value pairs.
//!
//! Turning wire values into domain types is the handlers' first step, not this module's.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use starkeep_domain::{InstanceId, InvalidInput, ProjectId};

use crate::error::{ApiError, ErrorCode};

/// A request body as bytes, bounded by the body limit.
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(ErrorCode::PayloadTooLarge)
                } else {
                    InvalidInput::MalformedBody {
                        detail: "the body could not be read".into(),
                    }
                    .into()
                }
            })
    }
}

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses `bytes` as a `T`, naming the field that broke in the error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(InvalidInput::MalformedBody {
            detail: "the body is empty; a JSON object is expected".into(),
        }
        .into());
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let detail = if path == "." || path.is_empty() {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        };
        InvalidInput::MalformedBody { detail }.into()
    })
}

/// The project and instance a request is about.
#[derive(Debug, Clone)]
pub struct InstancePath {
    pub project: ProjectId,
    pub instance: InstanceId,
}

impl<S: Send + Sync> FromRequestParts<S> for InstancePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path((project, instance)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::from(InvalidInput::InstanceId))?;
        Ok(Self {
            project: ProjectId::parse(&project)?,
            instance: InstanceId::parse(&instance)?,
        })
    }
}

/// The path parameters of a project route as the router matched them, for the layers in front
/// of its handler (authentication, the audit recorder); handlers take [`InstancePath`].
#[derive(Debug, Default, Deserialize)]
pub struct ProjectScope {
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub instance_id: String,
}

impl ProjectScope {
    /// The scope of a request; empty when its route has no such parameters.
    pub async fn of(parts: &mut Parts) -> Self {
        Path::<Self>::from_request_parts(parts, &())
            .await
            .map(|Path(scope)| scope)
            .unwrap_or_default()
    }
}

/// The decoded query string, in order. A key given twice keeps its first value.
#[derive(Debug, Clone, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// Decodes a raw query string (what follows `?`).
    pub fn parse(raw: &str) -> Self {
        Self(
            form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::parse(parts.uri.query().unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        dml: Option<i64>,
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<Body>(br#"{"dml": "2"}"#).unwrap_err();
        assert!(
            e.message(Default::default()).contains("dml: invalid type"),
            "{e:?}"
        );
        let e = parse_json::<Body>(b"   ").unwrap_err();
        assert!(e.message(Default::default()).contains("empty"));
        let e = parse_json::<Body>(b"{").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidParameter);
        assert!(parse_json::<Body>(br#"{"dml": 2, "extra": true}"#).is_ok());
    }
}
