//! `PUT …/starrocks/users/password`: change an account's password.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use starkeep_domain::{AccountName, AccountPassword, InvalidInput};
use utoipa::ToSchema;

use super::{required_name, ResultBody};
use crate::audit::AuditEntry;
use crate::error::ApiError;
use crate::extract::{ApiJson, InstancePath};
use crate::state::AppState;

/// The request body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdatePasswordBody {
    /// Also accepted as `userName`.
    #[serde(alias = "userName")]
    #[schema(
        example = "user_test",
        required = true,
        nullable = false,
        pattern = "^[a-z][a-z0-9_]{0,30}[a-z0-9]$",
        min_length = 2,
        max_length = 32
    )]
    pub user_name: Option<String>,
    /// Same rules as on creation. Also accepted as `passWord`.
    #[serde(alias = "passWord")]
    #[schema(
        example = "Rds_5678",
        required = true,
        nullable = false,
        pattern = "^[A-Za-z0-9~!@#%^*=+?,_-]{8,32}$",
        min_length = 8,
        max_length = 32
    )]
    pub password: Option<String>,
}

/// The body read into domain types: the account and its new password.
pub fn credentials(
    body: UpdatePasswordBody,
) -> Result<(AccountName, AccountPassword), InvalidInput> {
    let name = required_name(body.user_name)?;
    let password = body
        .password
        .ok_or(InvalidInput::Missing { field: "password" })?;
    let password = AccountPassword::parse(&password, &name)?;
    Ok((name, password))
}

/// Change the password of a database account.
#[utoipa::path(
    put,
    path = "/v3/{project_id}/instances/{instance_id}/starrocks/users/password",
    tag = "accounts",
    operation_id = "UpdateStarRocksDatabaseUserPassword",
    params(crate::openapi::ProjectParam, crate::openapi::InstanceParam, crate::openapi::LanguageHeader),
    request_body = UpdatePasswordBody,
    responses(
        (status = 200, description = "Changed", body = ResultBody),
        crate::openapi::ErrorResponses,
    ),
    security(("token" = []))
)]
pub async fn change_password(
    State(app): State<AppState>,
    path: InstancePath,
    audit: AuditEntry,
    ApiJson(body): ApiJson<UpdatePasswordBody>,
) -> Result<Json<ResultBody>, ApiError> {
    audit.begin(body.user_name.as_deref(), None).await?;
    let (name, password) = credentials(body)?;
    app.instances()
        .engine(&path.project, &path.instance)
        .await?
        .change_password(&name, &password)
        .await?;
    Ok(Json(ResultBody::SUCCESS))
}
