//! The OpenAPI 3 document, generated from the handlers' own annotations and served at
//! `GET /openapi.json`.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};

use crate::{accounts, error, health, sync, tokens};

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
    /// Invalid input, or an unknown instance, account or database.
    #[response(status = 400)]
    BadRequest(error::ErrorBody),
    /// No valid credential.
    #[response(status = 401)]
    Unauthorized(error::ErrorBody),
    /// Not allowed (project, role), or a system account.
    #[response(status = 403)]
    Forbidden(error::ErrorBody),
    /// Body over the limit.
    #[response(status = 413)]
    PayloadTooLarge(error::ErrorBody),
    /// A failure in starkeep or in the instance's database server, or a time-out.
    #[response(status = 500)]
    ServerError(error::ErrorBody),
}

struct TokenSecurity;

impl Modify for TokenSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Auth-Token"))),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "starkeep", description = "Database accounts of TaurusDB HTAP StarRocks instances"),
    paths(
        accounts::create::create_account,
        accounts::list::list_accounts,
        accounts::update_permission::update_permission,
        accounts::update_password::update_password,
        accounts::delete::delete_account,
        accounts::delete::delete_account_singular,
        sync::switch::switch_sync,
        sync::status::sync_status,
        tokens::create::create_token,
        health::health,
        openapi_json,
    ),
    components(schemas(error::ErrorBody)),
    modifiers(&TokenSecurity)
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "service", responses((status = 200, description = "The OpenAPI 3 document")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
