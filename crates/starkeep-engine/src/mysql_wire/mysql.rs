//! [`MysqlDialect`]: TaurusDB, MySQL 8 and MariaDB 10.5+.
//!
//! Accounts are `'<name>'@'%'`; passwords travel as their `mysql_native_password` hash; grants are
//! database-level (`ON db.*`), read back from the grant tables where the admin may read them
//! ([`grant_tables`]), else from `information_schema`. `"*"` is a
//! `` `%`.* `` grant plus inert guard rows on the system schemas, never `ON *.*`, which would let
//! the account read password hashes and create users (docs/privileges.md §2.4).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use starkeep_domain::NativePasswordHash;

mod grant_tables;

use super::dialect::{AuthRow, Dialect, RawGrants, Scope};
use super::mapping::{GrantSet, Level, MapFlavor, PrivilegeMap};
use super::quote;
use crate::EngineKind;

/// Which server of the family; decided once when the instance is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MysqlFlavor {
    MariaDb,
    /// MySQL 8 and TaurusDB.
    Mysql,
}

impl MysqlFlavor {
    /// The flavor that a `SELECT VERSION()` answer names.
    pub fn from_version(version: &str) -> Self {
        if version.to_ascii_lowercase().contains("mariadb") {
            MysqlFlavor::MariaDb
        } else {
            MysqlFlavor::Mysql
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MysqlFlavor::MariaDb => "mariadb",
            MysqlFlavor::Mysql => "mysql",
        }
    }
}

/// The stored hash of a MariaDB account whose create has not finished: well-formed, so
/// `CREATE USER` takes it, and no password is known to hash to it (it spells
/// `starkeep-unfinished!` in hex; finding one would mean inverting SHA-1). The create's last
/// `GRANT` replaces it with the real hash; the repair loop drops accounts that still have it.
pub const UNFINISHED_HASH: &str = "*737461726B6565702D756E66696E697368656421";

/// Up to how many accounts a grants read names its grantees; beyond, it reads whole tables.
const GRANTEE_LIST_MAX: usize = 200;

/// The system schemas that a `"*"` grant must not reach; each gets a guard row.
const GUARDED_SCHEMAS: [&str; 3] = ["mysql", "sys", "performance_schema"];
/// The guard row's only privilege: it allows nothing without SELECT.
const GUARD_PRIVILEGE: &str = "LOCK TABLES";

/// Built-in and cloud-operator accounts (docs/privileges.md §4).
const SYSTEM_ACCOUNTS: &[&str] = &[
    "root",
    "mariadb.sys",
    "mysql",
    "mysql.sys",
    "mysql.session",
    "mysql.infoschema",
    "PUBLIC",
    "rdsAdmin",
    "rdsRepl",
    "rdsBackup",
    "rdsMetric",
    "rdsProxy",
    "drsFull",
    "drsIncremental",
];

#[derive(Debug, Clone)]
pub struct MysqlDialect {
    flavor: MysqlFlavor,
    /// Whether accounts are read from the grant tables first ([`grant_tables`]).
    grant_tables: bool,
    /// MariaDB: the server-wide rows of each `access` value seen (shared by the clones).
    server_wide_rows: Arc<grant_tables::ServerWideRows>,
}

impl MysqlDialect {
    pub fn new(flavor: MysqlFlavor) -> Self {
        Self {
            flavor,
            grant_tables: true,
            server_wide_rows: Arc::default(),
        }
    }

    /// A dialect that reads accounts from `information_schema` and the `mysql.user` table or
    /// view only, as [`MysqlDialect::new`]'s does where the admin cannot read the grant tables:
    /// the reading the grant tables' must agree with.
    pub fn reading_information_schema(flavor: MysqlFlavor) -> Self {
        Self {
            flavor,
            grant_tables: false,
            server_wide_rows: Arc::default(),
        }
    }

    fn me(name: &str) -> String {
        quote::account(name, "%")
    }

    /// `CREATE USER` with `stored` as its `mysql_native_password` hash.
    fn create_with(name: &str, stored: &str) -> String {
        format!(
            "CREATE USER {} IDENTIFIED WITH mysql_native_password AS {}",
            Self::me(name),
            quote::string_literal(stored)
        )
    }

    fn on(scope: &Scope) -> String {
        match scope {
            Scope::All => "`%`.*".to_owned(),
            Scope::Database(db) => format!("{}.*", quote::grant_database(db)),
            Scope::Pattern(stored) => format!("{}.*", quote::identifier(stored)),
        }
    }

    fn list(grants: &GrantSet) -> String {
        grants
            .iter()
            .map(|(_, p)| p.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// What `read` answers, if this dialect reads the grant tables; `None` (read
    /// `information_schema`) if not.
    async fn when_reading_grant_tables<T>(
        &self,
        read: impl std::future::Future<Output = Result<Option<T>, mysql_async::Error>>,
    ) -> Result<Option<T>, mysql_async::Error> {
        if self.grant_tables {
            read.await
        } else {
            Ok(None)
        }
    }

    /// `'<name>'@'%'` as `information_schema` spells it in `GRANTEE`: quotes around, nothing
    /// inside escaped.
    fn grantee(name: &str) -> String {
        format!("'{name}'@'%'")
    }

    /// `names` as a list of `'<name>'@'%'` grantee literals, as `information_schema` spells them.
    fn grantee_list(names: &[String]) -> String {
        names
            .iter()
            .map(|n| quote::string_literal(&Self::grantee(n)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One page of user names, each once (an account may have several hosts), in byte order.
    fn names_page(&self, filter: &str, limit: u32, offset: u64) -> String {
        match self.flavor {
            // `DISTINCT` over MariaDB's `mysql.user` view collects the names in a temporary
            // table that outgrows memory on a large server (1.5 s a page at 100,000 accounts);
            // keeping the first row of each name by a window function sorts instead (0.3 s).
            MysqlFlavor::MariaDb => format!(
                "SELECT t.User FROM (SELECT u.User, ROW_NUMBER() OVER (PARTITION BY u.User) AS k \
                 FROM mysql.user u WHERE {filter}) t WHERE t.k = 1 \
                 ORDER BY CAST(t.User AS BINARY) LIMIT {limit} OFFSET {offset}"
            ),
            MysqlFlavor::Mysql => format!(
                "SELECT DISTINCT u.User FROM mysql.user u WHERE {filter} \
                 ORDER BY CAST(u.User AS BINARY) LIMIT {limit} OFFSET {offset}"
            ),
        }
    }

    /// Accounts that are users (not roles) of this server.
    fn users_filter(&self) -> &'static str {
        match self.flavor {
            MysqlFlavor::MariaDb => "is_role = 'N'",
            MysqlFlavor::Mysql => {
                "NOT EXISTS (SELECT 1 FROM mysql.role_edges e \
                 WHERE e.FROM_USER = u.User AND e.FROM_HOST = u.Host)"
            }
        }
    }
}

/// The scope of a database-level grant row as read back (`SCHEMA_PRIVILEGES.TABLE_SCHEMA`,
/// `mysql.db.Db`): `%` is every database (our `"*"`); a name whose wildcards are all escaped is
/// that one database; anything else is a pattern, kept as stored.
pub fn scope_of_schema(stored: &str) -> Scope {
    let name = quote::unescape_grant_database(stored);
    if stored == "%" {
        Scope::All
    } else if quote::grant_database(&name) == quote::identifier(stored) {
        Scope::Database(name)
    } else {
        Scope::Pattern(stored.to_owned())
    }
}

#[async_trait]
impl Dialect for MysqlDialect {
    fn kind(&self) -> EngineKind {
        EngineKind::Mysql
    }

    fn map_flavor(&self) -> MapFlavor {
        MapFlavor::Mysql
    }

    fn create_user(&self, name: &str, hash: &NativePasswordHash) -> String {
        Self::create_with(name, hash.as_str())
    }

    /// MariaDB: `CREATE USER` with [`UNFINISHED_HASH`], the grants, the last of them setting the
    /// real hash (`GRANT … IDENTIFIED BY PASSWORD`), so the create costs no statement more than
    /// its grants; where the admin may not set passwords that way, an `ALTER USER` sets it last.
    /// MySQL 8 and TaurusDB have no such `GRANT`: the account is created `ACCOUNT LOCK` and
    /// unlocked last. An account with no grants to give is created whole.
    fn create_statements(
        &self,
        name: &str,
        hash: &NativePasswordHash,
        desired: &BTreeMap<Scope, GrantSet>,
        password_by_grant: bool,
    ) -> Vec<String> {
        let mut grants: Vec<String> = desired
            .iter()
            .flat_map(|(scope, set)| self.grant(name, scope, set))
            .collect();
        if grants.is_empty() {
            return vec![self.create_user(name, hash)];
        }
        let mut statements = Vec::with_capacity(grants.len() + 2);
        match self.flavor {
            MysqlFlavor::MariaDb => {
                statements.push(Self::create_with(name, UNFINISHED_HASH));
                if password_by_grant {
                    let last = grants.last_mut().expect("not empty");
                    let real = quote::string_literal(hash.as_str());
                    last.push_str(&format!(" IDENTIFIED BY PASSWORD {real}"));
                    statements.extend(grants);
                } else {
                    statements.extend(grants);
                    statements.push(self.set_password(name, hash));
                }
            }
            MysqlFlavor::Mysql => {
                statements.push(format!("{} ACCOUNT LOCK", self.create_user(name, hash)));
                statements.extend(grants);
                statements.push(format!("ALTER USER {} ACCOUNT UNLOCK", Self::me(name)));
            }
        }
        statements
    }

    fn takes_statement_batches(&self) -> bool {
        true
    }

    fn marks_unfinished(&self) -> bool {
        true
    }

    /// MySQL, MariaDB and TaurusDB all answer `ER_CANNOT_USER` (1396) for both.
    fn refuses_taken_and_missing_names(&self) -> bool {
        true
    }

    fn set_password(&self, name: &str, hash: &NativePasswordHash) -> String {
        format!(
            "ALTER USER {} IDENTIFIED WITH mysql_native_password AS {}",
            Self::me(name),
            quote::string_literal(hash.as_str())
        )
    }

    fn drop_user(&self, name: &str) -> String {
        format!("DROP USER {}", Self::me(name))
    }

    fn desired(&self, mut scopes: BTreeMap<Scope, GrantSet>) -> BTreeMap<Scope, GrantSet> {
        if scopes.contains_key(&Scope::All) {
            for schema in GUARDED_SCHEMAS {
                scopes.insert(
                    Scope::Database(schema.to_owned()),
                    BTreeSet::from([(Level::Database, GUARD_PRIVILEGE.to_owned())]),
                );
            }
        }
        scopes
    }

    fn grant(&self, name: &str, scope: &Scope, grants: &GrantSet) -> Vec<String> {
        if grants.is_empty() {
            return Vec::new();
        }
        vec![format!(
            "GRANT {} ON {} TO {}",
            Self::list(grants),
            Self::on(scope),
            Self::me(name)
        )]
    }

    fn revoke(&self, name: &str, scope: &Scope, grants: &GrantSet) -> Vec<String> {
        if grants.is_empty() {
            return Vec::new();
        }
        vec![format!(
            "REVOKE {} ON {} FROM {}",
            Self::list(grants),
            Self::on(scope),
            Self::me(name)
        )]
    }

    fn visible(&self, raw: &RawGrants) -> RawGrants {
        let mut out = raw.clone();
        if out.scopes.contains_key(&Scope::All) {
            let guard = BTreeSet::from([(Level::Database, GUARD_PRIVILEGE.to_owned())]);
            for schema in GUARDED_SCHEMAS {
                let key = Scope::Database(schema.to_owned());
                if out.scopes.get(&key) == Some(&guard) {
                    out.scopes.remove(&key);
                }
            }
        }
        out
    }

    fn is_system_account(&self, name: &str) -> bool {
        SYSTEM_ACCOUNTS.contains(&name)
    }

    fn is_reserved_database(&self, name: &str) -> bool {
        GUARDED_SCHEMAS.iter().any(|s| s.eq_ignore_ascii_case(name))
    }

    async fn databases(&self, conn: &mut Conn) -> Result<Vec<String>, mysql_async::Error> {
        conn.query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")
            .await
    }

    async fn account_names(
        &self,
        conn: &mut Conn,
        name: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<String>, u64), mysql_async::Error> {
        if self.grant_tables && self.flavor == MysqlFlavor::MariaDb {
            if let Some(page) = grant_tables::mariadb_names(conn, name, limit, offset).await? {
                return Ok(page);
            }
        }
        let mut filter = self.users_filter().to_owned();
        if let Some(name) = name {
            filter.push_str(&format!(" AND u.User = {}", quote::string_literal(name)));
        }
        let total: Option<u64> = conn
            .query_first(format!(
                "SELECT COUNT(DISTINCT u.User) FROM mysql.user u WHERE {filter}"
            ))
            .await?;
        let names: Vec<String> = conn.query(self.names_page(&filter, limit, offset)).await?;
        Ok((names, total.unwrap_or(0)))
    }

    async fn grants(
        &self,
        conn: &mut Conn,
        names: &[String],
        _map: &PrivilegeMap,
    ) -> Result<BTreeMap<String, RawGrants>, mysql_async::Error> {
        let mut out: BTreeMap<String, RawGrants> = names
            .iter()
            .map(|n| (n.clone(), RawGrants::default()))
            .collect();
        if names.is_empty() {
            return Ok(out);
        }
        let by_grantee: BTreeMap<String, String> = names
            .iter()
            .map(|n| (Self::grantee(n), n.clone()))
            .collect();
        // MariaDB builds an `information_schema` privilege table in full for every query and
        // filters it afterwards, so a long name list (a sync reading a whole server) reads each
        // table once and keeps its rows here instead of naming thousands of grantees per chunk.
        let grantees = if names.len() <= GRANTEE_LIST_MAX {
            format!("GRANTEE IN ({})", Self::grantee_list(names))
        } else {
            "TRUE".to_owned()
        };
        let rows: Vec<(String, String, String, String)> = match self
            .when_reading_grant_tables(grant_tables::database_grants(conn, names))
            .await?
        {
            Some(rows) => rows
                .into_iter()
                .map(|(user, schema, privilege, grantable)| {
                    let grantable = if grantable { "YES" } else { "NO" };
                    (
                        Self::grantee(&user),
                        schema,
                        privilege,
                        grantable.to_owned(),
                    )
                })
                .collect(),
            None => {
                conn.query(format!(
                    "SELECT GRANTEE, TABLE_SCHEMA, PRIVILEGE_TYPE, IS_GRANTABLE \
                         FROM information_schema.SCHEMA_PRIVILEGES WHERE {grantees}"
                ))
                .await?
            }
        };
        for (grantee, schema, privilege, grantable) in rows {
            let Some(name) = by_grantee.get(&grantee) else {
                continue;
            };
            let entry = out.get_mut(name).expect("every name has an entry");
            entry
                .scopes
                .entry(scope_of_schema(&schema))
                .or_default()
                .insert((Level::Database, privilege.to_ascii_uppercase()));
            if grantable.eq_ignore_ascii_case("YES") {
                entry.foreign = true;
            }
        }
        // Server-wide grants: kept by name (account sync maps or refuses them), and like
        // table- and column-level grants they make the account's values inexact.
        // MariaDB: only the accounts whose grant-table row holds something server-wide have
        // anything but `USAGE` there.
        let holders = match self.flavor {
            MysqlFlavor::MariaDb => {
                self.when_reading_grant_tables(grant_tables::mariadb_server_wide_holders(
                    conn, names,
                ))
                .await?
            }
            MysqlFlavor::Mysql => None,
        };
        let server_wide: Vec<(String, String, String)> = match holders {
            Some(holders) => self.server_wide_rows.of(conn, &holders).await?,
            None => {
                conn.query(format!(
                    "SELECT GRANTEE, PRIVILEGE_TYPE, IS_GRANTABLE \
                     FROM information_schema.USER_PRIVILEGES WHERE {grantees}"
                ))
                .await?
            }
        };
        for (grantee, privilege, grantable) in server_wide {
            let Some(name) = by_grantee.get(&grantee) else {
                continue;
            };
            let entry = out.get_mut(name).expect("every name has an entry");
            let privilege = privilege.to_ascii_uppercase();
            if grantable.eq_ignore_ascii_case("YES") {
                entry.server_wide.insert("GRANT OPTION".to_owned());
            }
            if privilege != "USAGE" {
                entry.server_wide.insert(privilege);
            }
        }
        for entry in out.values_mut() {
            entry.foreign |= !entry.server_wide.is_empty();
        }
        let extra: Vec<String> = match self
            .when_reading_grant_tables(grant_tables::object_grant_holders(conn, names))
            .await?
        {
            Some(users) => users.iter().map(|user| Self::grantee(user)).collect(),
            None => {
                let mut extra = Vec::new();
                for table in ["TABLE_PRIVILEGES", "COLUMN_PRIVILEGES"] {
                    extra.extend(
                        conn.query::<String, _>(format!(
                            "SELECT DISTINCT GRANTEE FROM information_schema.{table} \
                             WHERE {grantees} AND PRIVILEGE_TYPE <> 'USAGE'"
                        ))
                        .await?,
                    );
                }
                extra
            }
        };
        for grantee in extra {
            if let Some(name) = by_grantee.get(&grantee) {
                out.get_mut(name).expect("entry").foreign = true;
            }
        }
        Ok(out)
    }

    async fn account_exists(
        &self,
        conn: &mut Conn,
        name: &str,
    ) -> Result<bool, mysql_async::Error> {
        let count: Option<u64> = conn
            .query_first(format!(
                "SELECT COUNT(*) FROM mysql.user WHERE User = {} AND Host = '%'",
                quote::string_literal(name)
            ))
            .await?;
        Ok(count.unwrap_or(0) > 0)
    }

    /// MariaDB: the account still has [`UNFINISHED_HASH`]. MySQL 8 and TaurusDB: it is locked.
    async fn is_unfinished(&self, conn: &mut Conn, name: &str) -> Result<bool, mysql_async::Error> {
        match self.flavor {
            MysqlFlavor::MariaDb => {
                let stored: Option<Option<String>> = conn
                    .query_first(format!(
                        "SELECT authentication_string FROM mysql.user \
                         WHERE User = {} AND Host = '%'",
                        quote::string_literal(name)
                    ))
                    .await?;
                Ok(stored.flatten().as_deref() == Some(UNFINISHED_HASH))
            }
            MysqlFlavor::Mysql => {
                let text: Option<String> = conn
                    .query_first(format!("SHOW CREATE USER {}", Self::me(name)))
                    .await?;
                Ok(text.is_some_and(|t| t.to_ascii_uppercase().contains("ACCOUNT LOCK")))
            }
        }
    }

    async fn auth_rows(&self, conn: &mut Conn) -> Result<Option<Vec<AuthRow>>, mysql_async::Error> {
        let rows: Vec<(String, String, Option<String>, Option<String>)> = conn
            .query(format!(
                "SELECT u.User, u.Host, u.plugin, u.authentication_string \
                 FROM mysql.user u WHERE {}",
                self.users_filter()
            ))
            .await?;
        Ok(Some(
            rows.into_iter()
                .map(|(user, host, plugin, auth_string)| AuthRow {
                    user,
                    host,
                    plugin: plugin.unwrap_or_default(),
                    auth_string: auth_string.unwrap_or_default(),
                })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use starkeep_domain::{Ddl, Dml, Privileges};

    fn dialect() -> MysqlDialect {
        MysqlDialect::new(MysqlFlavor::MariaDb)
    }

    #[test]
    fn statements_carry_the_hash_never_the_password() {
        let hash = NativePasswordHash::of("123456");
        assert_eq!(
            dialect().create_user("u1", &hash),
            "CREATE USER 'u1'@'%' IDENTIFIED WITH mysql_native_password AS \
             '*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9'"
        );
        assert_eq!(
            dialect().set_password("u1", &hash),
            "ALTER USER 'u1'@'%' IDENTIFIED WITH mysql_native_password AS \
             '*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9'"
        );
        assert_eq!(dialect().drop_user("u1"), "DROP USER 'u1'@'%'");
    }

    #[test]
    fn star_is_a_wildcard_database_with_guards_and_never_global() {
        let map = PrivilegeMap::mysql_default();
        let value = Privileges {
            dml: Dml::ReadWrite,
            ddl: Ddl::None,
        };
        let desired = dialect().desired(BTreeMap::from([(Scope::All, map.encode(value, true))]));
        let statements: Vec<String> = desired
            .iter()
            .flat_map(|(scope, grants)| dialect().grant("u1", scope, grants))
            .collect();
        assert_eq!(
            statements,
            [
                "GRANT DELETE, INSERT, SELECT, UPDATE ON `%`.* TO 'u1'@'%'",
                "GRANT LOCK TABLES ON `mysql`.* TO 'u1'@'%'",
                "GRANT LOCK TABLES ON `performance\\_schema`.* TO 'u1'@'%'",
                "GRANT LOCK TABLES ON `sys`.* TO 'u1'@'%'",
            ]
        );
        assert!(statements.iter().all(|s| !s.contains("*.*")));
        let raw = RawGrants {
            scopes: desired,
            ..RawGrants::default()
        };
        assert_eq!(dialect().visible(&raw).scopes.len(), 1);
    }

    #[test]
    fn a_create_cannot_log_in_until_its_last_statement() {
        let hash = NativePasswordHash::of("123456");
        let grants = BTreeSet::from([(Level::Database, "SELECT".to_owned())]);
        let desired = BTreeMap::from([
            (Scope::Database("a".into()), grants.clone()),
            (Scope::Database("b".into()), grants),
        ]);
        // MariaDB: the placeholder hash first, the real one with the last grant.
        assert_eq!(
            dialect().create_statements("u1", &hash, &desired, true),
            [
                format!(
                    "CREATE USER 'u1'@'%' IDENTIFIED WITH mysql_native_password AS \
                     '{UNFINISHED_HASH}'"
                ),
                "GRANT SELECT ON `a`.* TO 'u1'@'%'".to_owned(),
                "GRANT SELECT ON `b`.* TO 'u1'@'%' IDENTIFIED BY PASSWORD \
                 '*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9'"
                    .to_owned(),
            ]
        );
        // An admin that may not set passwords with GRANT: an ALTER USER last.
        assert_eq!(
            dialect().create_statements("u1", &hash, &desired, false)[2..],
            [
                "GRANT SELECT ON `b`.* TO 'u1'@'%'",
                "ALTER USER 'u1'@'%' IDENTIFIED WITH mysql_native_password AS \
                 '*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9'",
            ]
        );
        // MySQL 8 and TaurusDB: locked first, unlocked last.
        let mysql = MysqlDialect::new(MysqlFlavor::Mysql);
        assert_eq!(
            mysql.create_statements("u1", &hash, &desired, true),
            [
                "CREATE USER 'u1'@'%' IDENTIFIED WITH mysql_native_password AS \
                 '*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9' ACCOUNT LOCK",
                "GRANT SELECT ON `a`.* TO 'u1'@'%'",
                "GRANT SELECT ON `b`.* TO 'u1'@'%'",
                "ALTER USER 'u1'@'%' ACCOUNT UNLOCK",
            ]
        );
        // Nothing to grant: one statement, whole at once, on both.
        for d in [dialect(), mysql] {
            assert_eq!(
                d.create_statements("u1", &hash, &BTreeMap::new(), true),
                [d.create_user("u1", &hash)]
            );
        }
        // The placeholder is a well-formed hash, and not the hash of an empty password.
        assert_eq!(UNFINISHED_HASH.len(), 41);
        assert!(UNFINISHED_HASH[1..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(NativePasswordHash::of("").as_str(), UNFINISHED_HASH);
    }

    #[test]
    fn named_databases_escape_wildcards() {
        let grants = BTreeSet::from([(Level::Database, "SELECT".to_owned())]);
        assert_eq!(
            dialect().grant("u1", &Scope::Database("sales_2024".into()), &grants),
            ["GRANT SELECT ON `sales\\_2024`.* TO 'u1'@'%'"]
        );
        assert_eq!(
            dialect().revoke("u1", &Scope::Database("a`b".into()), &grants),
            ["REVOKE SELECT ON `a``b`.* FROM 'u1'@'%'"]
        );
    }

    #[test]
    fn flavor_from_version() {
        assert_eq!(
            MysqlFlavor::from_version("10.11.19-MariaDB-0+deb12u1"),
            MysqlFlavor::MariaDb
        );
        assert_eq!(MysqlFlavor::from_version("8.0.36"), MysqlFlavor::Mysql);
    }
}
