//! What an account's grants mean on a MySQL-wire instance, both ways: the grants, by scope, that a
//! `dml`/`ddl` pair on some databases stands for here ([`MysqlWireEngine::desired_scopes`]), what
//! the grants read back stand for in the contract's terms ([`MysqlWireEngine::summarize`]), and
//! the statements that take an account from the grants it has to the ones it should have
//! ([`MysqlWireEngine::converge`]). The privilege groups themselves live in [`super::mapping`],
//! the statements in the dialects.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use starkeep_domain::{DatabaseName, DatabaseSelection, Ddl, Dml, Privileges};

use super::backend_error::backend_error;
use super::connection::ConnWhenNeeded;
use super::dialect::{RawGrants, Scope};
use super::mapping::GrantSet;
use super::{quote, MysqlWireEngine};
use crate::{resolve_databases, AccountSummary, EngineError};

/// How long a read of the instance's database names serves creates and permission changes that
/// name only databases found in it (see [`MysqlWireEngine::desired_scopes`]).
const DATABASES_FRESH_FOR: Duration = Duration::from_secs(2);

/// What a set of grants stands for: an [`AccountSummary`] without the account.
#[derive(Debug, Clone)]
pub(super) struct GrantsMeaning {
    databases: DatabaseSelection,
    privileges: Privileges,
    exact: bool,
}

impl MysqlWireEngine {
    /// The grants, by scope, that `privileges` on `databases` stand for on this instance. Names
    /// are matched against the instance's real databases before anything changes: against the
    /// list read in the last [`DATABASES_FRESH_FOR`] when every name is in it exactly, else
    /// against a new read. So a burst of creates reads the list once, a database made a moment
    /// ago is found, and the one thing a recent list can miss is a database dropped within that
    /// window, which MySQL itself lets a grant name. Only a new read takes a connection from
    /// `conn`.
    pub(super) async fn desired_scopes(
        &self,
        conn: &mut ConnWhenNeeded<'_>,
        databases: &DatabaseSelection,
        privileges: Privileges,
    ) -> Result<BTreeMap<Scope, GrantSet>, EngineError> {
        let real = match databases {
            DatabaseSelection::All => None,
            DatabaseSelection::Named(names) => Some(match self.recent_databases_naming(names) {
                Some(list) => list,
                None => {
                    let list: Arc<[String]> = self
                        .dialect
                        .databases(conn.get().await?)
                        .await
                        .map_err(backend_error)?
                        .into();
                    *self.databases.lock().expect("database list poisoned") =
                        Some((Instant::now(), list.clone()));
                    list
                }
            }),
        };
        self.desired_scopes_among(databases, privileges, real.as_deref().unwrap_or_default())
    }

    /// The database names read in the last [`DATABASES_FRESH_FOR`], if each of `names` is among
    /// them as written.
    pub(super) fn recent_databases_naming(
        &self,
        names: &BTreeSet<DatabaseName>,
    ) -> Option<Arc<[String]>> {
        let known = self.databases.lock().expect("database list poisoned");
        let (read_at, list) = known.as_ref()?;
        let holds_all = names.iter().all(|n| list.iter().any(|db| db == n.as_str()));
        (read_at.elapsed() < DATABASES_FRESH_FOR && holds_all).then(|| list.clone())
    }

    /// [`Self::desired_scopes`] against a list of the instance's databases read before (a sync
    /// run reads them once for all its accounts).
    pub(super) fn desired_scopes_among(
        &self,
        databases: &DatabaseSelection,
        privileges: Privileges,
        real: &[String],
    ) -> Result<BTreeMap<Scope, GrantSet>, EngineError> {
        let mut scopes = BTreeMap::new();
        match databases {
            DatabaseSelection::All => {
                scopes.insert(Scope::All, self.map.encode(privileges, true));
            }
            DatabaseSelection::Named(names) => {
                if let Some(reserved) = names
                    .iter()
                    .find(|n| self.dialect.is_reserved_database(n.as_str()))
                {
                    return Err(EngineError::ReservedDatabase(reserved.as_str().to_owned()));
                }
                if let Some(why) = names
                    .iter()
                    .find_map(|n| self.dialect.refuses_database_name(n.as_str()))
                {
                    return Err(EngineError::UnaddressableDatabase(why));
                }
                let DatabaseSelection::Named(resolved) = resolve_databases(databases, real)? else {
                    unreachable!("named in, named out")
                };
                for db in resolved {
                    if self.dialect.is_implicit_database(db.as_str()) {
                        continue;
                    }
                    scopes.insert(
                        Scope::Database(db.as_str().to_owned()),
                        self.map.encode(privileges, false),
                    );
                }
            }
        }
        Ok(self.dialect.desired(scopes))
    }

    /// What an account's grants stand for.
    pub(super) fn summarize(&self, name: String, raw: &RawGrants) -> AccountSummary {
        self.summary_of(name, || self.meaning_of(raw))
    }

    /// The summary of the account `name` whose grants mean what `meaning` works out (called
    /// only where the grants matter: not for root).
    pub(super) fn summary_of(
        &self,
        name: String,
        meaning: impl FnOnce() -> GrantsMeaning,
    ) -> AccountSummary {
        let system = self.is_system(&name);
        let GrantsMeaning {
            databases,
            privileges,
            exact,
        } = if name == "root" {
            // As the contract's example shows it; root's real rights come from a built-in role.
            GrantsMeaning {
                databases: DatabaseSelection::All,
                privileges: Privileges::default(),
                exact: true,
            }
        } else {
            meaning()
        };
        AccountSummary {
            name,
            databases,
            privileges,
            exact,
            system,
        }
    }

    /// What `raw` stands for in the contract's terms, whoever holds it.
    pub(super) fn meaning_of(&self, raw: &RawGrants) -> GrantsMeaning {
        let visible = self.dialect.visible(raw);
        let mut exact = !visible.foreign;
        let (databases, privileges) = if let Some(all) = visible.scopes.get(&Scope::All) {
            let decoded = self.map.decode(all, true);
            exact &= decoded.exact && visible.scopes.len() == 1;
            (DatabaseSelection::All, decoded.privileges)
        } else if visible.scopes.is_empty() {
            exact = false;
            (
                DatabaseSelection::Named(BTreeSet::new()),
                Privileges {
                    dml: Dml::ReadOnly,
                    ddl: Ddl::None,
                },
            )
        } else {
            let mut sets = visible.scopes.values();
            let first = sets.next().expect("not empty").clone();
            let mut common = first.clone();
            for set in sets {
                if *set != first {
                    exact = false;
                }
                common = common.intersection(set).cloned().collect();
            }
            let decoded = self.map.decode(&common, false);
            exact &= decoded.exact;
            let mut names = BTreeSet::new();
            for scope in visible.scopes.keys() {
                let db = match scope {
                    Scope::Database(db) => Some(db.clone()),
                    Scope::Pattern(stored) => Some(quote::unescape_grant_database(stored)),
                    Scope::All => None,
                };
                if let Some(db) = db {
                    match DatabaseName::parse(&db) {
                        Ok(n) => {
                            names.insert(n);
                        }
                        Err(_) => exact = false,
                    }
                }
            }
            (DatabaseSelection::Named(names), decoded.privileges)
        };
        GrantsMeaning {
            databases,
            privileges,
            exact,
        }
    }

    /// Grants what `desired` has and `current` lacks, then revokes what `current` has and
    /// `desired` lacks (only what was read, so no REVOKE names a grant that is not there).
    pub(super) async fn converge(
        &self,
        conn: &mut Conn,
        name: &str,
        current: &BTreeMap<Scope, GrantSet>,
        desired: &BTreeMap<Scope, GrantSet>,
    ) -> Result<u64, mysql_async::Error> {
        let mut issued = 0;
        let empty = GrantSet::new();
        for (scope, want) in desired {
            let have = current.get(scope).unwrap_or(&empty);
            let missing: GrantSet = want.difference(have).cloned().collect();
            for statement in self.dialect.grant(name, scope, &missing) {
                conn.query_drop(statement).await?;
                issued += 1;
            }
        }
        for (scope, have) in current {
            let want = desired.get(scope).unwrap_or(&empty);
            let surplus: GrantSet = have
                .difference(want)
                .filter(|grant| self.dialect.may_revoke(grant, &self.map))
                .cloned()
                .collect();
            for statement in self.dialect.revoke(name, scope, &surplus) {
                issued += 1;
                match conn.query_drop(statement).await {
                    Err(mysql_async::Error::Server(e)) if self.dialect.says_no_such_grant(&e) => {}
                    other => other?,
                }
            }
        }
        Ok(issued)
    }
}
