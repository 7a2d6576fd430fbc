//! `DELETE …/starrocks/users?user_name=NAME` (and the seed's singular `…/starrocks/user`):
//! delete an account.
//!
//! The name comes from the query; a JSON body `{"user_name": …}` is read when the query has none.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use starkeep_domain::{AccountName, InvalidInput};

use super::{required_name, ResultBody};
use crate::error::ApiError;
use crate::extract::{parse_json, InstancePath, QueryParams, RawBody};
use crate::AppState;

#[derive(Debug, Deserialize)]
struct DeleteBody {
    #[serde(alias = "userName")]
    user_name: Option<String>,
}

fn account_name(params: &QueryParams, body: &[u8]) -> Result<AccountName, ApiError> {
    if let Some(name) = params.get("user_name") {
        return Ok(AccountName::parse(name)?);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(InvalidInput::Missing { field: "user_name" }.into());
    }
    let body: DeleteBody = parse_json(body)?;
    Ok(required_name(body.user_name)?)
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
    RawBody(body): RawBody,
) -> Result<Json<ResultBody>, ApiError> {
    let name = account_name(&params, &body)?;
    app.instances()
        .engine(&path.project, &path.instance)
        .await?
        .delete_account(&name)
        .await?;
    Ok(Json(ResultBody::SUCCESS))
}

/// Delete a database account (the seed's singular path).
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
    body: RawBody,
) -> Result<Json<ResultBody>, ApiError> {
    delete_account(state, path, params, body).await
}
