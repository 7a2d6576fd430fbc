//! `GET …/starrocks/users?limit=&offset=&user_name=`: one page of database accounts.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Serialize, Serializer};
use starkeep_domain::{DatabaseSelection, InvalidInput, PageRequest};
use starkeep_engine::{AccountPage, AccountQuery, AccountSummary};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::{InstancePath, QueryParams};
use crate::state::AppState;

/// One account in a list, borrowed from the engine's page: an answer is written straight from
/// the page (which the engine may share between requests), with no copy of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserDetail<'a> {
    #[schema(example = "user_test")]
    pub user_name: &'a str,
    /// The granted databases (`["*"]` for all), as the cloud API's example and Terraform read them.
    #[schema(value_type = Vec<String>, example = json!(["*"]))]
    pub databases: WireDatabases<'a>,
    /// The same list, as the cloud API's field table and the SDK read it.
    #[schema(value_type = Vec<String>, example = json!(["*"]))]
    pub data_bases: WireDatabases<'a>,
    pub dml: u8,
    pub ddl: u8,
    /// Present and `false` only when the account's real grants match no `dml`/`ddl` pair and the
    /// nearest one is shown. Existing clients ignore it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(value_type = Option<bool>)]
    pub privileges_inexact: bool,
}

impl<'a> From<&'a AccountSummary> for UserDetail<'a> {
    fn from(a: &'a AccountSummary) -> Self {
        Self {
            user_name: &a.name,
            databases: WireDatabases(&a.databases),
            data_bases: WireDatabases(&a.databases),
            dml: a.privileges.dml.wire(),
            ddl: a.privileges.ddl.wire(),
            privileges_inexact: !a.exact,
        }
    }
}

/// A database selection in its wire form (`["*"]` or the names in order), written as is.
#[derive(Debug)]
pub struct WireDatabases<'a>(&'a DatabaseSelection);

impl Serialize for WireDatabases<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.wire_names())
    }
}

/// The list answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListAccountsResponse<'a> {
    pub user_details: Vec<UserDetail<'a>>,
    /// The number of all accounts that match, not just this page.
    pub total_count: u64,
}

impl<'a> From<&'a AccountPage> for ListAccountsResponse<'a> {
    fn from(page: &'a AccountPage) -> Self {
        Self {
            total_count: page.total,
            user_details: page.accounts.iter().map(UserDetail::from).collect(),
        }
    }
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
) -> Result<Response, ApiError> {
    let query = query_from(&params)?;
    let page = app
        .instances()
        .engine(&path.project, &path.instance)
        .await?
        .list_accounts(&query)
        .await?;
    let body = page.rendered.get_or_init(|| {
        // About 110 bytes an account: one allocation for most pages.
        let mut body = Vec::with_capacity(64 + 128 * page.accounts.len());
        serde_json::to_writer(&mut body, &ListAccountsResponse::from(&*page))
            .expect("a page of strings and numbers serializes");
        body.into()
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], body.clone()).into_response())
}
