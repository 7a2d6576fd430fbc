//! The values that cross the [`AccountEngine`](crate::AccountEngine) boundary.

use std::sync::OnceLock;

use bytes::Bytes;
use starkeep_domain::{
    AccountName, AccountPassword, DatabaseSelection, Ddl, Dml, PageRequest, Privileges,
};

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub name: AccountName,
    pub password: AccountPassword,
    pub privileges: Privileges,
    pub databases: DatabaseSelection,
}

/// A list query: a page, optionally only the account with this name.
#[derive(Debug, Clone)]
pub struct AccountQuery {
    pub name: Option<String>,
    pub page: PageRequest,
}

/// An account as an engine reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    /// The account name as the engine has it (accounts made outside starkeep may not follow the
    /// contract's name rules).
    pub name: String,
    pub databases: DatabaseSelection,
    pub privileges: Privileges,
    /// `false` when the real grants match no `dml`/`ddl` pair exactly and `privileges` holds the
    /// nearest one.
    pub exact: bool,
    /// A built-in or reserved account that the API lists but never changes.
    pub system: bool,
}

/// A page of accounts and the count of all that match the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPage {
    pub accounts: Vec<AccountSummary>,
    pub total: u64,
    /// The page as the API writes it, made by the API the first time it writes the page: a
    /// page an engine keeps (and hands out again) is written once, however often it is asked
    /// for. The engines never read it.
    pub rendered: OnceLock<Bytes>,
}

impl AccountPage {
    pub fn new(accounts: Vec<AccountSummary>, total: u64) -> Self {
        Self {
            accounts,
            total,
            rendered: OnceLock::new(),
        }
    }
}

/// A change of privileges; a `None` field stays as it is.
#[derive(Debug, Clone)]
pub struct PrivilegeChange {
    pub name: AccountName,
    pub databases: Option<DatabaseSelection>,
    pub dml: Option<Dml>,
    pub ddl: Option<Ddl>,
}
