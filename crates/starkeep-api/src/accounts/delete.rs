//! `DELETE …/starrocks/users?user_name=NAME` (and the cloud API's singular `…/starrocks/user`):
//! delete an account.
//!
//! The name comes from the query; a JSON body `{"user_name": …}` is read when the query has none.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use starkeep_domain::{AccountName, InvalidInput};

use super::ResultBody;
use crate::audit::AuditEntry;
use crate::error::ApiError;
use crate::extract::{parse_json, InstancePath, QueryParams, RawBody};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
struct DeleteBody {
    #[serde(alias = "userName")]
    user_name: Option<String>,
}

/// The account to delete as the request names it: the query's `user_name`, else the body's.
fn named_account(params: &QueryParams, body: &[u8]) -> Result<String, ApiError> {
    if let Some(name) = params.get("user_name") {
        return Ok(name.to_owned());
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(InvalidInput::Missing { field: "user_name" }.into());
    }
    let body: DeleteBody = parse_json(body)?;
    Ok(body
        .user_name
        .ok_or(InvalidInput::Missing { field: "user_name" })?)
}

/// Delete a database account.
#[utoipa::path(
    delete,
    path = "/v3/{project_id}/instances/{instance_id}/starrocks/users",
    tag = "accounts",
    operation_id = "DeleteStarRocksDatabaseUser",
    params(
        crate::openapi::ProjectParam, crate::openapi::InstanceParam, crate::openapi::LanguageHeader,
        ("user_name" = String, Query, pattern = "^[a-z][a-z0-9_]{0,30}[a-z0-9]$", description = "The account to delete"),
    ),
    responses(
        (status = 200, description = "Deleted", body = ResultBody),
        crate::openapi::ErrorResponses,
    ),
    security(("token" = []))
)]
pub async fn delete_account(
    State(app): State<AppState>,
    path: InstancePath,
    params: QueryParams,
    audit: AuditEntry,
    RawBody(body): RawBody,
) -> Result<Json<ResultBody>, ApiError> {
    let name = named_account(&params, &body)?;
    audit.begin(Some(&name), None).await?;
    let name = AccountName::parse(&name)?;
    app.instances()
        .engine(&path.project, &path.instance)
        .await?
        .delete_account(&name)
        .await?;
    Ok(Json(ResultBody::SUCCESS))
}

/// Delete a database account (the cloud API's singular path).
#[utoipa::path(
    delete,
    path = "/v3/{project_id}/instances/{instance_id}/starrocks/user",
    tag = "accounts",
    operation_id = "DeleteStarRocksDatabaseUserSingular",
    params(
        crate::openapi::ProjectParam, crate::openapi::InstanceParam, crate::openapi::LanguageHeader,
        ("user_name" = String, Query, description = "The account to delete"),
    ),
    responses(
        (status = 200, description = "Deleted", body = ResultBody),
        crate::openapi::ErrorResponses,
    ),
    security(("token" = []))
)]
pub async fn delete_account_singular(
    state: State<AppState>,
    path: InstancePath,
    params: QueryParams,
    audit: AuditEntry,
    body: RawBody,
) -> Result<Json<ResultBody>, ApiError> {
    delete_account(state, path, params, audit, body).await
}
