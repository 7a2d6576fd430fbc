//! [`StarRocksDialect`]: StarRocks 3.x frontends, over the MySQL protocol (FE query port 9030).
//!
//! StarRocks has its own privilege model: tables, views and materialized views are separate
//! object types, and database privileges are another (docs/privileges.md §3). Accounts are read
//! back with `SHOW USERS` (one round trip) and `SHOW GRANTS FOR` per account of the page only;
//! [`parse_grant`] reads the `Grants` column in both the documented and the current format.
//!
//! StarRocks answers with errors of its own: a taken or missing user and a grant that is not
//! there come back as 1064 with StarRocks' texts, which this dialect recognises (the
//! `says_*` methods); user names must pass `FeNameFormat`'s rule, and a database name with a
//! backtick cannot be written at all.
//!
//! No StarRocks server runs on the machines this is built on. The statements are pinned by
//! golden tests that cite the documentation, and the engine runs over the wire against the test
//! kit's StarRocks stand-in (`starkeep-testkit`, `starrocks.rs`; `tests/starrocks_wire.rs`),
//! which answers as StarRocks' FE source says a frontend answers.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, ServerError};
use starkeep_domain::NativePasswordHash;

use super::backend_error::{ER_CANNOT_USER, ER_NONEXISTING_GRANT};
use super::dialect::{Dialect, RawGrants, Scope};
use super::mapping::{Grant, GrantSet, Level, MapFlavor, PrivilegeMap};
use super::quote;
use crate::EngineKind;

/// Built-in users, and the accounts a cloud HTAP instance keeps for itself.
const SYSTEM_ACCOUNTS: &[&str] = &["root", "rdsAdmin", "rdsMetric"];
/// Databases that no request may name.
const RESERVED_DATABASES: &[&str] = &["sys", "_statistics_"];
/// What a StarRocks frontend sends for an error that carries no `ErrorCode`: a
/// `SemanticException` from analysis, a `DdlException` from execution
/// (`mysql/MysqlErrPacket.java`: "Now 1064").
const ER_SEMANTIC: u16 = 1064;

/// `FeNameFormat.checkUserName` (`sql/analyzer/FeNameFormat.java`): `^\w{1,64}/?[.\w-]{0,63}$`
/// with Java's ASCII `\w`, and at most 64 characters.
pub fn is_valid_user_name(name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if name.is_empty() || name.len() > 64 {
        return false;
    }
    let head = name.chars().take_while(|c| word(*c)).count();
    if head == 0 {
        return false;
    }
    let rest = &name[head..];
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    rest.chars().all(|c| word(c) || c == '.' || c == '-')
}

/// The internal catalog, as current code and older documentation print it.
const INTERNAL_CATALOGS: [&str; 2] = ["default_catalog", "default"];

#[derive(Debug, Clone, Default)]
pub struct StarRocksDialect;

impl StarRocksDialect {
    fn me(name: &str) -> String {
        quote::account(name, "%")
    }

    /// The `ON ...` object for grants of `level` on `scope`.
    fn object(level: Level, scope: &Scope) -> String {
        let within = match scope {
            Scope::All => "ALL DATABASES".to_owned(),
            Scope::Database(db) | Scope::Pattern(db) => {
                format!("DATABASE {}", quote::identifier(db))
            }
        };
        match level {
            Level::Table => format!("ALL TABLES IN {within}"),
            Level::View => format!("ALL VIEWS IN {within}"),
            Level::MaterializedView => format!("ALL MATERIALIZED VIEWS IN {within}"),
            Level::Database => within,
            Level::Catalog => "CATALOG default_catalog".to_owned(),
        }
    }

    fn statements(
        verb: &str,
        to: &str,
        name: &str,
        scope: &Scope,
        grants: &GrantSet,
    ) -> Vec<String> {
        let mut by_level: BTreeMap<Level, Vec<&str>> = BTreeMap::new();
        for (level, privilege) in grants {
            if *level == Level::Catalog && *scope != Scope::All {
                continue;
            }
            by_level.entry(*level).or_default().push(privilege);
        }
        by_level
            .into_iter()
            .map(|(level, privileges)| {
                format!(
                    "{verb} {} ON {} {to} USER {}",
                    privileges.join(", "),
                    Self::object(level, scope),
                    Self::me(name)
                )
            })
            .collect()
    }
}

/// One row of `SHOW GRANTS`' `Grants` column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantLine {
    /// `GRANT 'r1', 'r2' TO 'u'@'%'`: role assignments.
    Roles(Vec<String>),
    Privileges {
        privileges: BTreeSet<String>,
        object: GrantObject,
        grant_option: bool,
    },
}

/// What a privilege line grants on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantObject {
    /// A level of every object (or the database itself) in a scope.
    Scoped(Level, Scope),
    /// `CATALOG <name>`.
    Catalog(String),
    /// Anything else: a single table, view or function, `SYSTEM`, a resource...
    Other(String),
}

/// Reads one `Grants` cell (docs/notes/statement-syntax.md §7). `None` if it is not a grant.
pub fn parse_grant(text: &str) -> Option<GrantLine> {
    let text = text.trim();
    let text = text.strip_suffix(';').unwrap_or(text).trim();
    let upper = text.to_ascii_uppercase();
    let rest_upper = upper.strip_prefix("GRANT ")?;
    let rest = &text[6..];
    let (body, grant_option) = match rest_upper.strip_suffix(" WITH GRANT OPTION") {
        Some(_) => (&rest[..rest.len() - " WITH GRANT OPTION".len()], true),
        None => (rest, false),
    };
    let body_upper = body.to_ascii_uppercase();
    let Some(on) = find_word(&body_upper, " ON ") else {
        let to = body_upper.rfind(" TO ")?;
        let roles = body[..to]
            .split(',')
            .map(|r| r.trim().trim_matches(|c| c == '\'' || c == '`').to_owned())
            .filter(|r| !r.is_empty())
            .collect();
        return Some(GrantLine::Roles(roles));
    };
    let to = body_upper.rfind(" TO ")?;
    if to < on {
        return None;
    }
    let privileges = body[..on]
        .split(',')
        .map(normalise_privilege)
        .filter(|p| !p.is_empty())
        .collect();
    let object = parse_object(body[on + 4..to].trim());
    Some(GrantLine::Privileges {
        privileges,
        object,
        grant_option,
    })
}

fn find_word(haystack: &str, word: &str) -> Option<usize> {
    haystack.find(word)
}

fn normalise_privilege(raw: &str) -> String {
    let p = raw.trim().to_ascii_uppercase().replace('_', " ");
    match p.as_str() {
        "INGEST" => "INSERT".to_owned(),
        _ => p,
    }
}

fn unquote(name: &str) -> String {
    let name = name.trim();
    if name.len() >= 2 && name.starts_with('`') && name.ends_with('`') {
        name[1..name.len() - 1].replace("``", "`")
    } else {
        name.to_owned()
    }
}

fn parse_object(text: &str) -> GrantObject {
    let upper = text.to_ascii_uppercase();
    for (prefix, level) in [
        ("ALL TABLES IN ", Level::Table),
        ("ALL VIEWS IN ", Level::View),
        ("ALL MATERIALIZED VIEWS IN ", Level::MaterializedView),
    ] {
        if let Some(scope) = upper.strip_prefix(prefix) {
            if scope == "ALL DATABASES" {
                return GrantObject::Scoped(level, Scope::All);
            }
            if scope.starts_with("DATABASE ") {
                let db = &text[prefix.len() + "DATABASE ".len()..];
                return GrantObject::Scoped(level, Scope::Database(unquote(db)));
            }
        }
    }
    if upper == "ALL DATABASES" {
        return GrantObject::Scoped(Level::Database, Scope::All);
    }
    if upper.starts_with("DATABASE ") {
        return GrantObject::Scoped(
            Level::Database,
            Scope::Database(unquote(&text["DATABASE ".len()..])),
        );
    }
    if upper.starts_with("CATALOG ") {
        return GrantObject::Catalog(unquote(&text["CATALOG ".len()..]));
    }
    // The 3.0 documentation's older forms: `TABLE db.*` and `*.*`.
    if upper == "*.*" || upper == "TABLE *.*" {
        return GrantObject::Scoped(Level::Table, Scope::All);
    }
    if let Some(db) = upper
        .strip_prefix("TABLE ")
        .and_then(|t| t.strip_suffix(".*"))
    {
        let db = &text["TABLE ".len().."TABLE ".len() + db.len()];
        return GrantObject::Scoped(Level::Table, Scope::Database(unquote(db)));
    }
    GrantObject::Other(text.to_owned())
}

/// Folds the grant lines of one account into [`RawGrants`].
pub fn fold_grants<'a>(lines: impl IntoIterator<Item = (Option<&'a str>, &'a str)>) -> RawGrants {
    let mut raw = RawGrants::default();
    for (catalog, text) in lines {
        match parse_grant(text) {
            Some(GrantLine::Roles(roles)) => {
                if roles.iter().any(|r| r != "public") {
                    raw.foreign = true;
                }
            }
            Some(GrantLine::Privileges {
                privileges,
                object,
                grant_option,
            }) => {
                raw.foreign |= grant_option;
                let internal = catalog
                    .map(|c| INTERNAL_CATALOGS.contains(&c))
                    .unwrap_or(true);
                match object {
                    GrantObject::Scoped(level, scope) if internal => {
                        let set = raw.scopes.entry(scope).or_default();
                        set.extend(privileges.into_iter().map(|p| (level, p)));
                    }
                    GrantObject::Catalog(name) if INTERNAL_CATALOGS.contains(&name.as_str()) => {
                        let set = raw.scopes.entry(Scope::All).or_default();
                        set.extend(privileges.into_iter().map(|p| (Level::Catalog, p)));
                    }
                    _ => raw.foreign = true,
                }
            }
            None => raw.foreign = true,
        }
    }
    raw
}

/// Makes a catalog grant mean no more than it says. Catalog-level grants are folded into the
/// all-databases scope because `"*"` with DDL includes `CREATE DATABASE` on the catalog; but a
/// catalog grant alone (a hand-made `USAGE ON CATALOG default_catalog`) grants nothing on the
/// databases, so it must not read as `"*"`. Catalog grants the map has no words for are left out
/// of the scopes (they are not starkeep's to revoke) and make the account inexact.
pub fn settle_catalog_grants(mut raw: RawGrants, map: &PrivilegeMap) -> RawGrants {
    let known = map.known();
    if let Some(all) = raw.scopes.get_mut(&Scope::All) {
        let before = all.len();
        all.retain(|grant| grant.0 != Level::Catalog || known.contains(grant));
        raw.foreign |= all.len() != before;
        if all.iter().all(|(level, _)| *level == Level::Catalog) {
            raw.foreign |= !all.is_empty();
            raw.scopes.remove(&Scope::All);
        }
    }
    raw
}

/// The user part of a StarRocks user identity: `'u'@'%'`, `` `u`@`%` `` or `'u'@['domain']`.
pub fn identity_user(identity: &str) -> Option<(String, String)> {
    let identity = identity.trim();
    let quote = identity.chars().next()?;
    if quote != '\'' && quote != '`' {
        return None;
    }
    let end = identity[1..].find(quote)? + 1;
    let user = identity[1..end].to_owned();
    let host = identity[end + 1..]
        .strip_prefix('@')?
        .trim_matches(|c| c == '\'' || c == '`')
        .to_owned();
    Some((user, host))
}

#[async_trait]
impl Dialect for StarRocksDialect {
    fn kind(&self) -> EngineKind {
        EngineKind::StarRocks
    }

    fn map_flavor(&self) -> MapFlavor {
        MapFlavor::StarRocks
    }

    fn create_user(&self, name: &str, hash: &NativePasswordHash) -> String {
        format!(
            "CREATE USER {} IDENTIFIED WITH mysql_native_password AS {}",
            Self::me(name),
            quote::string_literal(hash.as_str())
        )
    }

    /// `CREATE USER`, then the grants: StarRocks has no account lock and no `GRANT` that sets a
    /// password, so an interrupted create cannot be told from a finished one.
    fn create_statements(
        &self,
        name: &str,
        hash: &NativePasswordHash,
        desired: &BTreeMap<Scope, GrantSet>,
        _password_by_grant: bool,
    ) -> Vec<String> {
        std::iter::once(self.create_user(name, hash))
            .chain(
                desired
                    .iter()
                    .flat_map(|(scope, set)| self.grant(name, scope, set)),
            )
            .collect()
    }

    /// Sent one by one: StarRocks frontends do not take every statement in a batch.
    fn takes_statement_batches(&self) -> bool {
        false
    }

    fn marks_unfinished(&self) -> bool {
        false
    }

    /// StarRocks's answers to these are not pinned to one error code across versions, so the
    /// engine reads (`SHOW USERS`) before it creates or drops.
    fn refuses_taken_and_missing_names(&self) -> bool {
        false
    }

    /// StarRocks checks a taken name while analysing `CREATE USER`
    /// (`sql/analyzer/AuthenticationAnalyzer.java`, `checkUserNotExist`): a `SemanticException`
    /// "user 'u'@'%' already exists!", which goes out without an error code of its own, as 1064
    /// (`mysql/MysqlErrPacket.java`). MySQL's 1396 is taken too.
    fn says_account_exists(&self, e: &ServerError) -> bool {
        e.code == ER_CANNOT_USER || (e.code == ER_SEMANTIC && e.message.contains(" already exists"))
    }

    /// Likewise "cannot find user 'u'@'%'!" (`AuthenticationAnalyzer.checkUserExist`) for
    /// `ALTER USER` and `DROP USER`.
    fn says_account_missing(&self, e: &ServerError) -> bool {
        e.code == ER_CANNOT_USER
            || (e.code == ER_SEMANTIC && e.message.contains("cannot find user"))
    }

    /// `REVOKE` on an object the user holds nothing on: "There is no such grant defined on …"
    /// (`authorization/PrivilegeCollectionV2.java`, `revoke`), again without an error code.
    fn says_no_such_grant(&self, e: &ServerError) -> bool {
        e.code == ER_NONEXISTING_GRANT || e.message.contains("There is no such grant defined")
    }

    fn refuses_user_name(&self, name: &str) -> Option<String> {
        (!is_valid_user_name(name)).then(|| {
            "StarRocks refuses this user name (letters, digits and _ first, then an optional / and \
             letters, digits, _, . or -; at most 64 characters)"
                .to_owned()
        })
    }

    /// StarRocks drops every backtick inside a backquoted name (its AST builder), so a name with
    /// one cannot be written in a statement at all.
    fn refuses_database_name(&self, name: &str) -> Option<String> {
        name.contains('`').then(|| {
            format!(
                "database {name} cannot be named on StarRocks: it drops every backtick inside a \
                 quoted name"
            )
        })
    }

    /// Only what the privilege map knows: a hand-made grant it has no words for (`USAGE` on the
    /// catalog, say) is someone else's and stays.
    fn may_revoke(&self, grant: &Grant, map: &PrivilegeMap) -> bool {
        map.known().contains(grant)
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

    fn desired(&self, scopes: BTreeMap<Scope, GrantSet>) -> BTreeMap<Scope, GrantSet> {
        scopes
    }

    fn grant(&self, name: &str, scope: &Scope, grants: &GrantSet) -> Vec<String> {
        Self::statements("GRANT", "TO", name, scope, grants)
    }

    fn revoke(&self, name: &str, scope: &Scope, grants: &GrantSet) -> Vec<String> {
        Self::statements("REVOKE", "FROM", name, scope, grants)
    }

    fn visible(&self, raw: &RawGrants) -> RawGrants {
        raw.clone()
    }

    fn is_system_account(&self, name: &str) -> bool {
        SYSTEM_ACCOUNTS.contains(&name)
    }

    fn is_reserved_database(&self, name: &str) -> bool {
        RESERVED_DATABASES
            .iter()
            .any(|d| d.eq_ignore_ascii_case(name))
    }

    async fn databases(&self, conn: &mut Conn) -> Result<Vec<String>, mysql_async::Error> {
        conn.query("SHOW DATABASES").await
    }

    async fn account_names(
        &self,
        conn: &mut Conn,
        name: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<String>, u64), mysql_async::Error> {
        let identities: Vec<String> = conn.query("SHOW USERS").await?;
        let names: BTreeSet<String> = identities
            .iter()
            .filter_map(|i| identity_user(i).map(|(u, _)| u))
            .filter(|u| name.is_none_or(|n| n == u))
            .collect();
        let total = names.len() as u64;
        let page = names
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(limit as usize)
            .collect();
        Ok((page, total))
    }

    async fn grants(
        &self,
        conn: &mut Conn,
        names: &[String],
        map: &PrivilegeMap,
    ) -> Result<BTreeMap<String, RawGrants>, mysql_async::Error> {
        let mut out = BTreeMap::new();
        for name in names {
            let rows: Vec<Row> = match conn
                .query(format!("SHOW GRANTS FOR {}", Self::me(name)))
                .await
            {
                Ok(rows) => rows,
                // An identity with another host only: nothing of ours to read.
                Err(mysql_async::Error::Server(_)) => {
                    out.insert(
                        name.clone(),
                        RawGrants {
                            foreign: true,
                            ..RawGrants::default()
                        },
                    );
                    continue;
                }
                Err(e) => return Err(e),
            };
            let cells: Vec<(Option<String>, String)> = rows
                .into_iter()
                .filter_map(|row| {
                    let catalog: Option<String> = row.get_opt(1).and_then(Result::ok).flatten();
                    let grants: Option<String> = row.get_opt(2).and_then(Result::ok);
                    grants.map(|g| (catalog, g))
                })
                .collect();
            let raw = settle_catalog_grants(
                fold_grants(
                    cells
                        .iter()
                        .map(|(c, g)| (c.as_deref().filter(|c| *c != "NULL"), g.as_str())),
                ),
                map,
            );
            out.insert(name.clone(), raw);
        }
        Ok(out)
    }

    async fn account_exists(
        &self,
        conn: &mut Conn,
        name: &str,
    ) -> Result<bool, mysql_async::Error> {
        let identities: Vec<String> = conn.query("SHOW USERS").await?;
        Ok(identities
            .iter()
            .filter_map(|i| identity_user(i))
            .any(|(u, h)| u == name && h == "%"))
    }

    async fn is_unfinished(
        &self,
        _conn: &mut Conn,
        _name: &str,
    ) -> Result<bool, mysql_async::Error> {
        Ok(true)
    }

    /// `SHOW USERS` lists identities only, and `SHOW [ALL] AUTHENTICATION` answers whether an
    /// account has a password, not its hash ([SR-SHOW-USERS], [SR-SHOW-AUTHENTICATION]).
    fn shows_hashes(&self) -> bool {
        false
    }

    async fn identities(
        &self,
        conn: &mut Conn,
    ) -> Result<Vec<(String, String)>, mysql_async::Error> {
        let identities: Vec<String> = conn.query("SHOW USERS").await?;
        Ok(identities.iter().filter_map(|i| identity_user(i)).collect())
    }
}

#[cfg(test)]
mod tests {
    //! Golden statements and parser cases. Sources (StarRocks documentation, repo
    //! `StarRocks/starrocks`, `docs/en/...`, published under
    //! <https://docs.starrocks.io/docs/...> with the same path and no `.md`):
    //! - [SR-CREATE-USER] sql-reference/sql-statements/account-management/CREATE_USER.md
    //!   (<https://docs.starrocks.io/docs/sql-reference/sql-statements/account-management/CREATE_USER/>)
    //! - [SR-ALTER-USER] sql-reference/sql-statements/account-management/ALTER_USER.md
    //!   (<https://docs.starrocks.io/docs/sql-reference/sql-statements/account-management/ALTER_USER/>)
    //! - [SR-DROP-USER] sql-reference/sql-statements/account-management/DROP_USER.md
    //! - [SR-GRANT] sql-reference/sql-statements/account-management/GRANT.md
    //!   (<https://docs.starrocks.io/docs/sql-reference/sql-statements/account-management/GRANT/>)
    //! - [SR-REVOKE] sql-reference/sql-statements/account-management/REVOKE.md
    //! - [SR-SHOW-GRANTS] sql-reference/sql-statements/account-management/SHOW_GRANTS.md
    //! - [SR-SHOW-USERS] sql-reference/sql-statements/account-management/SHOW_USERS.md
    //!   (<https://docs.starrocks.io/docs/sql-reference/sql-statements/account-management/SHOW_USERS>)
    //! - [SR-SHOW-AUTHENTICATION] sql-reference/sql-statements/account-management/SHOW_AUTHENTICATION.md
    //!   (<https://docs.starrocks.io/docs/sql-reference/sql-statements/account-management/SHOW_AUTHENTICATION/>)
    //! - [SR-ITEMS] administration/user_privs/authorization/privilege_item.md
    use super::*;
    use starkeep_domain::{Ddl, Dml, Privileges};

    fn grants_for(value: Privileges, scope: Scope) -> Vec<String> {
        let map = PrivilegeMap::starrocks_default();
        let all = scope == Scope::All;
        StarRocksDialect.grant("u1", &scope, &map.encode(value, all))
    }

    /// [SR-CREATE-USER] example "create a user with a ciphertext password":
    /// `IDENTIFIED WITH mysql_native_password AS '*...'`.
    #[test]
    fn create_user_with_native_hash() {
        let hash = NativePasswordHash::of("123456");
        assert_eq!(
            StarRocksDialect.create_user("u1", &hash),
            "CREATE USER 'u1'@'%' IDENTIFIED WITH mysql_native_password AS \
             '*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9'"
        );
    }

    /// [SR-ALTER-USER] example 2: change the password with a ciphertext.
    #[test]
    fn alter_user_password_with_native_hash() {
        let hash = NativePasswordHash::of("123456");
        assert_eq!(
            StarRocksDialect.set_password("u1", &hash),
            "ALTER USER 'u1'@'%' IDENTIFIED WITH mysql_native_password AS \
             '*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9'"
        );
    }

    /// [SR-DROP-USER]: `DROP USER user_identity`.
    #[test]
    fn drop_user() {
        assert_eq!(StarRocksDialect.drop_user("u1"), "DROP USER 'u1'@'%'");
    }

    /// [SR-GRANT] "ON ALL TABLES IN DATABASE", "ON ALL VIEWS", "ON ALL MATERIALIZED VIEWS",
    /// "TO USER"; privilege names from [SR-ITEMS].
    #[test]
    fn grants_per_value_on_a_named_database() {
        let db = || Scope::Database("db1".into());
        let v = |dml, ddl| Privileges { dml, ddl };
        assert_eq!(
            grants_for(v(Dml::ReadOnly, Ddl::None), db()),
            [
                "GRANT SELECT ON ALL TABLES IN DATABASE `db1` TO USER 'u1'@'%'",
                "GRANT SELECT ON ALL VIEWS IN DATABASE `db1` TO USER 'u1'@'%'",
                "GRANT SELECT ON ALL MATERIALIZED VIEWS IN DATABASE `db1` TO USER 'u1'@'%'",
            ]
        );
        assert_eq!(
            grants_for(v(Dml::ReadWrite, Ddl::None), db()),
            [
                "GRANT DELETE, INSERT, SELECT, UPDATE ON ALL TABLES IN DATABASE `db1` TO USER 'u1'@'%'",
                "GRANT SELECT ON ALL VIEWS IN DATABASE `db1` TO USER 'u1'@'%'",
                "GRANT SELECT ON ALL MATERIALIZED VIEWS IN DATABASE `db1` TO USER 'u1'@'%'",
            ]
        );
        assert_eq!(
            grants_for(v(Dml::ReadOnlyConfig, Ddl::Granted), db()),
            [
                "GRANT CREATE MATERIALIZED VIEW, CREATE TABLE, CREATE VIEW, DROP ON DATABASE `db1` TO USER 'u1'@'%'",
                "GRANT ALTER, DROP, EXPORT, SELECT ON ALL TABLES IN DATABASE `db1` TO USER 'u1'@'%'",
                "GRANT ALTER, DROP, SELECT ON ALL VIEWS IN DATABASE `db1` TO USER 'u1'@'%'",
                "GRANT ALTER, DROP, REFRESH, SELECT ON ALL MATERIALIZED VIEWS IN DATABASE `db1` TO USER 'u1'@'%'",
            ]
        );
        assert_eq!(
            grants_for(v(Dml::ReadWriteConfig, Ddl::None), db()),
            [
                "GRANT DELETE, EXPORT, INSERT, SELECT, UPDATE ON ALL TABLES IN DATABASE `db1` TO USER 'u1'@'%'",
                "GRANT SELECT ON ALL VIEWS IN DATABASE `db1` TO USER 'u1'@'%'",
                "GRANT REFRESH, SELECT ON ALL MATERIALIZED VIEWS IN DATABASE `db1` TO USER 'u1'@'%'",
            ]
        );
    }

    /// [SR-GRANT] "IN ALL DATABASES", "ON ALL DATABASES" and "ON CATALOG" (CREATE DATABASE is
    /// a catalog privilege, [SR-ITEMS]).
    #[test]
    fn grants_on_all_databases() {
        let value = Privileges {
            dml: Dml::ReadOnly,
            ddl: Ddl::Granted,
        };
        assert_eq!(
            grants_for(value, Scope::All),
            [
                "GRANT CREATE MATERIALIZED VIEW, CREATE TABLE, CREATE VIEW, DROP ON ALL DATABASES TO USER 'u1'@'%'",
                "GRANT ALTER, DROP, SELECT ON ALL TABLES IN ALL DATABASES TO USER 'u1'@'%'",
                "GRANT ALTER, DROP, SELECT ON ALL VIEWS IN ALL DATABASES TO USER 'u1'@'%'",
                "GRANT ALTER, DROP, SELECT ON ALL MATERIALIZED VIEWS IN ALL DATABASES TO USER 'u1'@'%'",
                "GRANT CREATE DATABASE ON CATALOG default_catalog TO USER 'u1'@'%'",
            ]
        );
    }

    /// [SR-REVOKE]: `REVOKE ... ON ... FROM USER user_identity`.
    #[test]
    fn revoke_mirrors_grant() {
        let grants = BTreeSet::from([(Level::Table, "EXPORT".to_owned())]);
        assert_eq!(
            StarRocksDialect.revoke("u1", &Scope::Database("db1".into()), &grants),
            ["REVOKE EXPORT ON ALL TABLES IN DATABASE `db1` FROM USER 'u1'@'%'"]
        );
    }

    /// [SR-SHOW-GRANTS]: the documented (3.0) rows, with `CREATE_TABLE`, `INGEST`, backticked
    /// identities and a trailing `;`.
    #[test]
    fn parses_the_documented_format() {
        assert_eq!(
            parse_grant("GRANT role_g, public to `user_g`@`%`;"),
            Some(GrantLine::Roles(vec!["role_g".into(), "public".into()]))
        );
        assert_eq!(
            parse_grant("GRANT ALTER, DROP, CREATE_TABLE ON DATABASE db1 TO USER `user_g`@`%`;"),
            Some(GrantLine::Privileges {
                privileges: ["ALTER", "DROP", "CREATE TABLE"].map(String::from).into(),
                object: GrantObject::Scoped(Level::Database, Scope::Database("db1".into())),
                grant_option: false,
            })
        );
        assert_eq!(
            parse_grant(
                "GRANT ALTER, DROP, SELECT, INGEST, EXPORT, DELETE, UPDATE ON TABLE db.* TO USER `user_g`@`%`;"
            ),
            Some(GrantLine::Privileges {
                privileges: ["ALTER", "DROP", "SELECT", "INSERT", "EXPORT", "DELETE", "UPDATE"]
                    .map(String::from)
                    .into(),
                object: GrantObject::Scoped(Level::Table, Scope::Database("db".into())),
                grant_option: false,
            })
        );
        assert_eq!(
            parse_grant("GRANT 'root', 'testrole' TO 'root'@'%'"),
            Some(GrantLine::Roles(vec!["root".into(), "testrole".into()]))
        );
    }

    /// The current format (statement-syntax.md §7), as our own grants read back: every value on
    /// both scopes decodes to itself.
    #[test]
    fn our_grants_read_back_to_the_same_values() {
        let map = PrivilegeMap::starrocks_default();
        for dml in Dml::ALL {
            for ddl in Ddl::ALL {
                for scope in [Scope::All, Scope::Database("db1".into())] {
                    let value = Privileges { dml, ddl };
                    let lines: Vec<String> = grants_for(value, scope.clone())
                        .into_iter()
                        // SHOW GRANTS prints the database name without quotes.
                        .map(|g| g.replace("`db1`", "db1"))
                        .collect();
                    let raw =
                        fold_grants(lines.iter().map(|l| (Some("default_catalog"), l.as_str())));
                    assert!(!raw.foreign, "{lines:?}");
                    assert_eq!(raw.scopes.len(), 1);
                    let (read_scope, found) = raw.scopes.iter().next().unwrap();
                    assert_eq!(*read_scope, scope);
                    let decoded = map.decode(found, scope == Scope::All);
                    assert_eq!(decoded.privileges, value);
                    assert!(decoded.exact);
                }
            }
        }
    }

    #[test]
    fn foreign_grants_are_noticed() {
        let raw = fold_grants([
            (
                Some("default_catalog"),
                "GRANT SELECT ON TABLE db1.t1 TO USER 'u1'@'%'",
            ),
            (
                Some("default_catalog"),
                "GRANT OPERATE ON SYSTEM TO USER 'u1'@'%'",
            ),
        ]);
        assert!(raw.foreign);
        assert!(raw.scopes.is_empty());
        let with_option = fold_grants([(
            Some("default_catalog"),
            "GRANT SELECT ON ALL TABLES IN DATABASE db1 TO USER 'u1'@'%' WITH GRANT OPTION",
        )]);
        assert!(with_option.foreign);
        let only_public = fold_grants([(None, "GRANT 'public' TO 'u1'@'%'")]);
        assert!(!only_public.foreign);
        let external = fold_grants([(
            Some("hive_catalog"),
            "GRANT SELECT ON ALL TABLES IN DATABASE db1 TO USER 'u1'@'%'",
        )]);
        assert!(external.foreign && external.scopes.is_empty());
    }

    /// Account sync onto StarRocks, statement by statement, as the reconciler issues them for
    /// one mirrored account: created with the source's hash ([SR-CREATE-USER], "ciphertext":
    /// `IDENTIFIED WITH mysql_native_password AS`), granted what its source grants stand for
    /// ([SR-GRANT]), re-passworded with the new hash ([SR-ALTER-USER]), narrowed ([SR-REVOKE]),
    /// dropped ([SR-DROP-USER]). No password text appears anywhere.
    #[test]
    fn sync_statements_for_one_mirrored_account() {
        let map = PrivilegeMap::starrocks_default();
        let dialect = StarRocksDialect;
        let old = NativePasswordHash::of("Src-pass-1");
        let new = NativePasswordHash::of("Src-pass-2");
        let read_write = Privileges {
            dml: Dml::ReadWrite,
            ddl: Ddl::None,
        };
        let orders = Scope::Database("orders".into());
        let granted = map.encode(read_write, false);
        let mut create = vec![dialect.create_user("app", &old)];
        create.extend(dialect.grant("app", &orders, &granted));
        assert_eq!(
            create,
            [
                format!(
                    "CREATE USER 'app'@'%' IDENTIFIED WITH mysql_native_password AS '{}'",
                    old.as_str()
                ),
                "GRANT DELETE, INSERT, SELECT, UPDATE ON ALL TABLES IN DATABASE `orders` TO USER 'app'@'%'".to_owned(),
                "GRANT SELECT ON ALL VIEWS IN DATABASE `orders` TO USER 'app'@'%'".to_owned(),
                "GRANT SELECT ON ALL MATERIALIZED VIEWS IN DATABASE `orders` TO USER 'app'@'%'".to_owned(),
            ]
        );
        assert_eq!(
            dialect.set_password("app", &new),
            format!(
                "ALTER USER 'app'@'%' IDENTIFIED WITH mysql_native_password AS '{}'",
                new.as_str()
            )
        );
        // Read-write narrowed to read-only at the source: the write privileges are revoked.
        let read_only = map.encode(
            Privileges {
                dml: Dml::ReadOnly,
                ddl: Ddl::None,
            },
            false,
        );
        let surplus: GrantSet = granted.difference(&read_only).cloned().collect();
        assert_eq!(
            dialect.revoke("app", &orders, &surplus),
            ["REVOKE DELETE, INSERT, UPDATE ON ALL TABLES IN DATABASE `orders` FROM USER 'app'@'%'"]
        );
        assert_eq!(dialect.drop_user("app"), "DROP USER 'app'@'%'");
        for statement in create.iter().chain([&dialect.set_password("app", &new)]) {
            assert!(!statement.contains("Src-pass"), "{statement}");
        }
    }

    /// Server-wide SELECT at the source is mirrored onto every database ([SR-GRANT] "IN ALL
    /// DATABASES"), never as a SYSTEM privilege.
    #[test]
    fn server_wide_select_is_granted_in_all_databases() {
        let map = PrivilegeMap::starrocks_default();
        let grants = map.encode(
            Privileges {
                dml: Dml::ReadOnly,
                ddl: Ddl::None,
            },
            true,
        );
        let statements = StarRocksDialect.grant("app", &Scope::All, &grants);
        assert_eq!(
            statements,
            [
                "GRANT SELECT ON ALL TABLES IN ALL DATABASES TO USER 'app'@'%'",
                "GRANT SELECT ON ALL VIEWS IN ALL DATABASES TO USER 'app'@'%'",
                "GRANT SELECT ON ALL MATERIALIZED VIEWS IN ALL DATABASES TO USER 'app'@'%'",
            ]
        );
        assert!(statements.iter().all(|s| !s.contains("SYSTEM")));
    }

    /// [SR-SHOW-USERS] lists identities only and [SR-SHOW-AUTHENTICATION] says only whether a
    /// password is set: account sync cannot read a StarRocks hash back, and keeps its own.
    #[test]
    fn starrocks_does_not_show_hashes() {
        assert!(!StarRocksDialect.shows_hashes());
        assert!(
            super::super::mysql::MysqlDialect::new(super::super::mysql::MysqlFlavor::Mysql)
                .shows_hashes()
        );
    }

    #[test]
    fn identities() {
        assert_eq!(identity_user("'u1'@'%'"), Some(("u1".into(), "%".into())));
        assert_eq!(
            identity_user("`u1`@`10.0.0.1`"),
            Some(("u1".into(), "10.0.0.1".into()))
        );
        assert_eq!(
            identity_user("'u1'@['example.com']"),
            Some(("u1".into(), "['example.com']".into()))
        );
        assert_eq!(identity_user("u1"), None);
    }
}
