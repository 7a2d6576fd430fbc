//! The StarRocks database account endpoints, one file each:
//!
//! | file | method and path (under `/v3/{project_id}/instances/{instance_id}/starrocks`) |
//! |---|---|
//! | [`create`] | `POST /users` |
//! | [`list`] | `GET /users` |
//! | [`change_privileges`] | `PUT /users/permission` |
//! | [`change_password`] | `PUT /users/password` |
//! | [`delete`] | `DELETE /users` and `DELETE /user` |
//!
//! This module holds what they share: the `{"result": "SUCCESS"}` body and the reading of
//! wire fields into domain types.

pub mod change_password;
pub mod change_privileges;
pub mod create;
pub mod delete;
pub mod list;

use serde::Serialize;
use starkeep_domain::{AccountName, DatabaseSelection, Ddl, Dml, InvalidInput};
use utoipa::ToSchema;

/// The body of a successful change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultBody {
    /// Always `SUCCESS`.
    #[schema(example = "SUCCESS")]
    pub result: &'static str,
}

impl ResultBody {
    pub const SUCCESS: ResultBody = ResultBody { result: "SUCCESS" };
}

/// A required `user_name`.
pub(crate) fn required_name(raw: Option<String>) -> Result<AccountName, InvalidInput> {
    let raw = raw.ok_or(InvalidInput::Missing { field: "user_name" })?;
    AccountName::parse(&raw)
}

pub(crate) fn dml(raw: Option<i64>) -> Result<Option<Dml>, InvalidInput> {
    raw.map(Dml::from_wire).transpose()
}

pub(crate) fn ddl(raw: Option<i64>) -> Result<Option<Ddl>, InvalidInput> {
    raw.map(Ddl::from_wire).transpose()
}

pub(crate) fn databases(
    raw: Option<Vec<String>>,
) -> Result<Option<DatabaseSelection>, InvalidInput> {
    raw.map(|d| DatabaseSelection::parse(&d)).transpose()
}
