//! `GET …/starrocks/users?limit=&offset=&user_name=`: one page of database accounts.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use starkeep_domain::{InvalidInput, PageRequest};
use starkeep_engine::{AccountQuery, AccountSummary};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::{InstancePath, QueryParams};
use crate::AppState;

/// One account in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserDetail {
    #[schema(example = "user_test")]
    pub user_name: String,
    /// The granted databases (`["*"]` for all), as the seed's example and Terraform read them.
    #[schema(example = json!(["*"]))]
    pub databases: Vec<String>,
    /// The same list, as the seed's table and the SDK read it.
    #[schema(example = json!(["*"]))]
    pub data_bases: Vec<String>,
    pub dml: u8,
    pub ddl: u8,
    /// Present and `false` only when the account's real grants match no `dml`/`ddl` pair and the
    /// nearest one is shown. Existing clients ignore it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(value_type = Option<bool>)]
    pub privileges_inexact: bool,
}

impl From<AccountSummary> for UserDetail {
    fn from(a: AccountSummary) -> Self {
        let databases = a.databases.to_wire();
        Self {
            user_name: a.name,
            data_bases: databases.clone(),
            databases,
            dml: a.privileges.dml.wire(),
            ddl: a.privileges.ddl.wire(),
            privileges_inexact: !a.exact,
        }
    }
}

/// The list answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListAccountsResponse {
    pub user_details: Vec<UserDetail>,
    /// The number of all accounts that match, not just this page.
    pub total_count: u64,
}

/// The query string read into domain types: the page and the optional name filter.
pub fn query_from(params: &QueryParams) -> Result<AccountQuery, InvalidInput> {
    let page = PageRequest::parse(params.get("limit"), params.get("offset"))?;
    let name = match params.get("user_name") {
        None => None,
        Some(n) if (1..=64).contains(&n.chars().count()) => Some(n.to_owned()),
        Some(_) => return Err(InvalidInput::NameFilter),
    };
    Ok(AccountQuery { name, page })
}

/// Query database accounts, by name, a page at a time.
#[utoipa::path(
    get,
    path = "/v3/{project_id}/instances/{instance_id}/starrocks/users",
    tag = "accounts",
    operation_id = "ShowStarRocksDatabaseUser",
    params(
        crate::openapi::ProjectParam, crate::openapi::InstanceParam, crate::openapi::LanguageHeader,
        ("limit" = i64, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100"),
        ("offset" = Option<i64>, Query, minimum = 0, description = "Accounts to skip; missing means 0"),
        ("user_name" = Option<String>, Query, description = "Only the account with this exact name"),
    ),
    responses(
        (status = 200, description = "A page of accounts", body = ListAccountsResponse),
        crate::openapi::ErrorResponses,
    ),
    security(("token" = []))
)]
pub async fn list_accounts(
    State(app): State<AppState>,
    path: InstancePath,
    params: QueryParams,
) -> Result<Json<ListAccountsResponse>, ApiError> {
    let query = query_from(&params)?;
    let page = app
        .instances()
        .engine(&path.project, &path.instance)
        .await?
        .list_accounts(&query)
        .await?;
    Ok(Json(ListAccountsResponse {
        total_count: page.total,
        user_details: page.accounts.into_iter().map(UserDetail::from).collect(),
    }))
}
