//! The OpenAPI 3 document, generated from the handlers' own annotations and served at
//! `GET /openapi.json`.
//!
//! This file holds the document's frame ([`ApiDoc`]: title, security scheme, shared schemas and
//! parameters) and the handler that serves it. The operations are not listed here: the router
//! (`crate::router`) adds each one as it registers the route, from the handler's
//! `#[utoipa::path]`, so the document and the routes cannot drift apart.

use std::sync::Arc;

use axum::{Extension, Json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};

use crate::error;

/// `{project_id}`.
#[derive(IntoParams)]
#[into_params(names("project_id"), parameter_in = Path)]
#[allow(dead_code)]
pub struct ProjectParam(
    /// 32 letters or digits.
    String,
);

/// `{instance_id}`.
#[derive(IntoParams)]
#[into_params(names("instance_id"), parameter_in = Path)]
#[allow(dead_code)]
pub struct InstanceParam(
    /// 32 hex digits followed by `in` and two digits.
    String,
);

/// `X-Language`.
#[derive(IntoParams)]
#[into_params(names("X-Language"), parameter_in = Header)]
#[allow(dead_code)]
pub struct LanguageHeader(
    /// `en-us` (default) or `zh-cn`: the language of `error_msg`.
    Option<String>,
);

/// The error answers every account and sync operation may give; each body is an
/// [`ErrorBody`](error::ErrorBody) with a catalogue code.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ErrorResponses {
    /// Invalid input; an unknown instance, account or database; a system account's privileges or
    /// existence (root's password may be set).
    #[response(status = 400)]
    BadRequest(error::ErrorBody),
    /// No valid credential.
    #[response(status = 401)]
    Unauthorized(error::ErrorBody),
    /// Not allowed (project, role).
    #[response(status = 403)]
    Forbidden(error::ErrorBody),
    /// Body over the limit.
    #[response(status = 413)]
    PayloadTooLarge(error::ErrorBody),
    /// Too many authentication failures from this address or access key; see `Retry-After`.
    #[response(status = 429, headers(("Retry-After" = u64, description = "Seconds to wait")))]
    TooManyFailures(error::ErrorBody),
    /// A failure in starkeep or in the instance's database server, or a time-out.
    #[response(status = 500)]
    ServerError(error::ErrorBody),
    /// The external IAM (`--iam-url`) could not validate the token.
    #[response(status = 502)]
    IamUnavailable(error::ErrorBody),
}

/// The two credentials every operation that takes a token also takes: `token`
/// (`X-Auth-Token`) or `access_key` (an `SDK-HMAC-SHA256` signature in `Authorization`).
struct Credentials;

impl Modify for Credentials {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Auth-Token"))),
        );
        components.add_security_scheme(
            "access_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<names>, Signature=<hex>, with \
                 X-Sdk-Date signed (Host too, where the SDK signs it), as the cloud's SDKs sign \
                 requests",
            ))),
        );
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let Some(security) = op.security.as_mut() else {
                    continue;
                };
                let token = SecurityRequirement::new("token", Vec::<String>::new());
                if security.contains(&token) {
                    security.push(SecurityRequirement::new("access_key", Vec::<String>::new()));
                }
            }
        }
    }
}

/// The document's frame; the router adds the operations.
#[derive(OpenApi)]
#[openapi(
    info(title = "starkeep", description = "Database accounts of TaurusDB HTAP StarRocks instances"),
    components(schemas(error::ErrorBody)),
    modifiers(&Credentials)
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "service", responses((status = 200, description = "The OpenAPI 3 document")))]
pub async fn openapi_json(
    Extension(document): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> Json<Arc<utoipa::openapi::OpenApi>> {
    Json(document)
}
