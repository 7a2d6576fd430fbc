//! [`Dialect`]: what differs between the MySQL family and StarRocks — the statements and the way
//! accounts are read back. Everything else (connections, timeouts, compensation, error mapping,
//! convergence) is written once, in [`MysqlWireEngine`](super::MysqlWireEngine).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use mysql_async::{Conn, ServerError};
use starkeep_domain::NativePasswordHash;

use super::backend_error::{ER_CANNOT_USER, ER_NONEXISTING_GRANT};
use super::mapping::{Grant, GrantSet, MapFlavor, PrivilegeMap};
use crate::EngineKind;

/// Where grants apply: every database, or one database by its real name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    All,
    Database(String),
    /// MySQL: a database-level row whose name is a pattern as stored (with unescaped `_` or
    /// `%`), as grants made by hand often are. Read back and revoked as it is, never granted.
    Pattern(String),
}

/// An account's grants as read back, by scope, in the terms of the [`PrivilegeMap`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RawGrants {
    pub scopes: BTreeMap<Scope, GrantSet>,
    /// Grants the mapping has no words for (server-wide, single objects, roles, grant option):
    /// kept as they are, and they make the account's values inexact.
    pub foreign: bool,
    /// MySQL: the privileges held server-wide (`ON *.*`), upper case, with `GRANT OPTION` when
    /// they are grantable; `USAGE` left out. Account sync reads them at the source; everything
    /// else leaves them alone (they are part of `foreign`).
    pub server_wide: BTreeSet<String>,
}

/// One account row with its stored credential, as account sync reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthRow {
    pub user: String,
    pub host: String,
    pub plugin: String,
    /// The stored hash: never logged.
    pub auth_string: String,
}

impl std::fmt::Debug for AuthRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRow")
            .field("user", &self.user)
            .field("host", &self.host)
            .field("plugin", &self.plugin)
            .finish_non_exhaustive()
    }
}

/// The statements and read-back of one engine family.
#[async_trait]
pub trait Dialect: Send + Sync + std::fmt::Debug + 'static {
    fn kind(&self) -> EngineKind;

    fn map_flavor(&self) -> MapFlavor;

    fn default_map(&self) -> PrivilegeMap {
        match self.map_flavor() {
            MapFlavor::Mysql => PrivilegeMap::mysql_default(),
            MapFlavor::StarRocks => PrivilegeMap::starrocks_default(),
        }
    }

    /// Creates the account, whole in one statement: what account sync and the admin check use.
    fn create_user(&self, name: &str, hash: &NativePasswordHash) -> String;

    /// The statements of a create through the API, in order: the first makes the account, the
    /// rest give it `desired`. Until the last one has run the account cannot log in, and
    /// [`Dialect::is_unfinished`] says so: that is how an interrupted create is told from a
    /// finished one. `password_by_grant`: where the last `GRANT` can set the password (MariaDB),
    /// whether it may (it needs `UPDATE` on `mysql`, which a limited admin lacks).
    fn create_statements(
        &self,
        name: &str,
        hash: &NativePasswordHash,
        desired: &BTreeMap<Scope, GrantSet>,
        password_by_grant: bool,
    ) -> Vec<String>;

    /// Whether the server takes several statements in one query (`CLIENT_MULTI_STATEMENTS`), so
    /// that a create costs one round trip.
    fn takes_statement_batches(&self) -> bool;

    /// Whether an unfinished create can be told from a finished one on the server, by
    /// [`Dialect::is_unfinished`].
    fn marks_unfinished(&self) -> bool;

    /// Whether `'<name>'@'%'` (which exists) is an unfinished create. Where the engine cannot
    /// tell ([`Dialect::marks_unfinished`] is false), every account asked about counts as one.
    async fn is_unfinished(&self, conn: &mut Conn, name: &str) -> Result<bool, mysql_async::Error>;

    /// Whether the server answers `CREATE USER` of a taken name and `DROP USER` of a missing one
    /// with error 1396, so that no read is needed before either to tell the caller so.
    fn refuses_taken_and_missing_names(&self) -> bool;

    /// Whether the server's answer `e` to `CREATE USER` says the name is taken (MySQL: 1396).
    fn says_account_exists(&self, e: &ServerError) -> bool {
        e.code == ER_CANNOT_USER
    }

    /// Whether the server's answer `e` to `ALTER USER` or `DROP USER` says there is no such
    /// account (MySQL: 1396).
    fn says_account_missing(&self, e: &ServerError) -> bool {
        e.code == ER_CANNOT_USER
    }

    /// Whether the server's answer `e` to a `REVOKE` says the grant is not there (MySQL: 1141):
    /// someone revoked it between the read and the `REVOKE`.
    fn says_no_such_grant(&self, e: &ServerError) -> bool {
        e.code == ER_NONEXISTING_GRANT
    }

    /// Why the server would refuse `name` as a user name, if it would.
    fn refuses_user_name(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }

    /// Why a grant on database `name` cannot be expressed to this server, if it cannot.
    fn refuses_database_name(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }

    /// Whether convergence may revoke `grant` when it is held and not wanted. Where the server
    /// shows grants the privilege map has no words for in the scopes read back, those are not
    /// starkeep's to take away.
    fn may_revoke(&self, grant: &Grant, map: &PrivilegeMap) -> bool {
        let _ = (grant, map);
        true
    }

    fn set_password(&self, name: &str, hash: &NativePasswordHash) -> String;

    fn drop_user(&self, name: &str) -> String;

    /// The grants `privileges` stand for, as the engine must hold them: the scopes to grant on,
    /// with anything the dialect adds (the MySQL guards of `"*"`).
    fn desired(&self, scopes: BTreeMap<Scope, GrantSet>) -> BTreeMap<Scope, GrantSet>;

    /// Statements granting `grants` on `scope`.
    fn grant(&self, name: &str, scope: &Scope, grants: &GrantSet) -> Vec<String>;

    /// Statements revoking `grants` (all of them held) on `scope`.
    fn revoke(&self, name: &str, scope: &Scope, grants: &GrantSet) -> Vec<String>;

    /// Drops what [`Dialect::desired`] added, for decoding.
    fn visible(&self, raw: &RawGrants) -> RawGrants;

    /// Accounts that are listed but never changed, besides the admin account.
    fn is_system_account(&self, name: &str) -> bool;

    /// Databases a request may not name at all (system schemas).
    fn is_reserved_database(&self, name: &str) -> bool;

    /// Databases everyone can already read: accepted in a request, never granted on.
    fn is_implicit_database(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case("information_schema")
    }

    /// The instance's databases.
    async fn databases(&self, conn: &mut Conn) -> Result<Vec<String>, mysql_async::Error>;

    /// One page of account names in name order, and the count of all that match.
    async fn account_names(
        &self,
        conn: &mut Conn,
        name: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<String>, u64), mysql_async::Error>;

    /// The grants of the `'<name>'@'%'` accounts named (no round trip per other account).
    async fn grants(
        &self,
        conn: &mut Conn,
        names: &[String],
        map: &PrivilegeMap,
    ) -> Result<BTreeMap<String, RawGrants>, mysql_async::Error>;

    /// Whether `'<name>'@'%'` exists.
    async fn account_exists(&self, conn: &mut Conn, name: &str)
        -> Result<bool, mysql_async::Error>;

    /// Every user account (all hosts, no roles) with its plugin and stored hash; `None` where
    /// the engine does not show stored hashes.
    async fn auth_rows(&self, conn: &mut Conn) -> Result<Option<Vec<AuthRow>>, mysql_async::Error> {
        let _ = conn;
        Ok(None)
    }

    /// Whether [`Dialect::auth_rows`] shows stored hashes. Where it does not, account sync keeps
    /// the hash it last applied to each account it owns, and compares the source's with that.
    fn shows_hashes(&self) -> bool {
        true
    }

    /// Every user account as (user, host), without credentials: what account sync reads of a
    /// target that does not show hashes.
    async fn identities(
        &self,
        conn: &mut Conn,
    ) -> Result<Vec<(String, String)>, mysql_async::Error> {
        Ok(self
            .auth_rows(conn)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|row| (row.user, row.host))
            .collect())
    }
}
