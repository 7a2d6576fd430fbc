//! `POST …/starrocks/users`: create a database account.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use starkeep_domain::{AccountPassword, InvalidInput, Privileges};
use starkeep_engine::NewAccount;
use utoipa::ToSchema;

use super::{databases, ddl, dml, required_name, ResultBody};
use crate::audit::AuditEntry;
use crate::error::ApiError;
use crate::extract::{ApiJson, InstancePath};
use crate::state::AppState;

/// The request body. The cloud API's spellings `userName`, `passWord` and `dataBases` are accepted too.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateAccountBody {
    /// 2–32 characters: lowercase letters, digits and `_`; starts with a letter, ends with a
    /// letter or digit. Also accepted as `userName`.
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
    /// 8–32 characters, at least three of: upper case, lower case, digits, ``~!@#%^*-_=+?,``;
    /// not the user name nor its reverse. Also accepted as `passWord`.
    #[serde(alias = "passWord")]
    #[schema(
        example = "Rds_1234",
        required = true,
        nullable = false,
        pattern = "^[A-Za-z0-9~!@#%^*=+?,_-]{8,32}$",
        min_length = 8,
        max_length = 32
    )]
    pub password: Option<String>,
    /// Databases to grant on; `["*"]` for all. Also accepted as `dataBases`.
    #[serde(alias = "dataBases")]
    #[schema(example = json!(["default"]), required = true, nullable = false, min_items = 1)]
    pub databases: Option<Vec<String>>,
    /// 0 read/write, 1 read-only, 2 read-only + configuration (default), 3 read/write +
    /// configuration. Left out or `null`: the default.
    #[schema(minimum = 0, maximum = 3, default = 2)]
    pub dml: Option<i64>,
    /// 0 no DDL (default), 1 DDL. Left out or `null`: the default.
    #[schema(minimum = 0, maximum = 1, default = 0)]
    pub ddl: Option<i64>,
}

impl TryFrom<CreateAccountBody> for NewAccount {
    type Error = InvalidInput;

    fn try_from(body: CreateAccountBody) -> Result<Self, InvalidInput> {
        let name = required_name(body.user_name)?;
        let password = body
            .password
            .ok_or(InvalidInput::Missing { field: "password" })?;
        let password = AccountPassword::parse(&password, &name)?;
        let databases =
            databases(body.databases)?.ok_or(InvalidInput::Missing { field: "databases" })?;
        let defaults = Privileges::default();
        Ok(NewAccount {
            name,
            password,
            databases,
            privileges: Privileges {
                dml: dml(body.dml)?.unwrap_or(defaults.dml),
                ddl: ddl(body.ddl)?.unwrap_or(defaults.ddl),
            },
        })
    }
}

/// Create a database account.
#[utoipa::path(
    post,
    path = "/v3/{project_id}/instances/{instance_id}/starrocks/users",
    tag = "accounts",
    operation_id = "CreateStarRocksDatabaseUser",
    params(crate::openapi::ProjectParam, crate::openapi::InstanceParam, crate::openapi::LanguageHeader),
    request_body = CreateAccountBody,
    responses(
        (status = 200, description = "Created", body = ResultBody),
        crate::openapi::ErrorResponses,
    ),
    security(("token" = []))
)]
pub async fn create_account(
    State(app): State<AppState>,
    path: InstancePath,
    audit: AuditEntry,
    ApiJson(body): ApiJson<CreateAccountBody>,
) -> Result<Json<ResultBody>, ApiError> {
    audit.begin(body.user_name.as_deref(), None).await?;
    let account = NewAccount::try_from(body)?;
    app.instances()
        .engine(&path.project, &path.instance)
        .await?
        .create_account(&account)
        .await?;
    Ok(Json(ResultBody::SUCCESS))
}
