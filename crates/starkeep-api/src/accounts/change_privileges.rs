//! `PUT …/starrocks/users/permission`: change an account's privileges.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use starkeep_domain::InvalidInput;
use starkeep_engine::PrivilegeChange;
use utoipa::ToSchema;

use super::{databases, ddl, dml, required_name, ResultBody};
use crate::audit::AuditEntry;
use crate::error::ApiError;
use crate::extract::{ApiJson, InstancePath};
use crate::state::AppState;

/// The request body: the account, and only the fields to change (Terraform sends only what
/// changed). A field left out, or `null`, keeps its value.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdatePermissionBody {
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
    /// Also accepted as `dataBases`.
    #[serde(alias = "dataBases")]
    #[schema(example = json!(["*"]), min_items = 1)]
    pub databases: Option<Vec<String>>,
    #[schema(minimum = 0, maximum = 3)]
    pub dml: Option<i64>,
    #[schema(minimum = 0, maximum = 1)]
    pub ddl: Option<i64>,
}

impl TryFrom<UpdatePermissionBody> for PrivilegeChange {
    type Error = InvalidInput;

    fn try_from(body: UpdatePermissionBody) -> Result<Self, InvalidInput> {
        Ok(PrivilegeChange {
            name: required_name(body.user_name)?,
            databases: databases(body.databases)?,
            dml: dml(body.dml)?,
            ddl: ddl(body.ddl)?,
        })
    }
}

/// Change the permissions of a database account.
#[utoipa::path(
    put,
    path = "/v3/{project_id}/instances/{instance_id}/starrocks/users/permission",
    tag = "accounts",
    operation_id = "UpdateStarRocksDatabaseUserPermission",
    params(crate::openapi::ProjectParam, crate::openapi::InstanceParam, crate::openapi::LanguageHeader),
    request_body = UpdatePermissionBody,
    responses(
        (status = 200, description = "Changed", body = ResultBody),
        crate::openapi::ErrorResponses,
    ),
    security(("token" = []))
)]
pub async fn change_privileges(
    State(app): State<AppState>,
    path: InstancePath,
    audit: AuditEntry,
    ApiJson(body): ApiJson<UpdatePermissionBody>,
) -> Result<Json<ResultBody>, ApiError> {
    audit.begin(body.user_name.as_deref(), None).await?;
    let change = PrivilegeChange::try_from(body)?;
    app.instances()
        .engine(&path.project, &path.instance)
        .await?
        .change_privileges(&change)
        .await?;
    Ok(Json(ResultBody::SUCCESS))
}
