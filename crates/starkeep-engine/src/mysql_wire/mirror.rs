//! [`AccountMirror`] for [`MysqlWireEngine`]: reading a server's accounts with their stored
//! hashes and what their grants stand for, and the writes account sync makes, each as one
//! bounded operation under the account's lock. Deciding what to write is `starkeep-sync`'s.
//!
//! A target that does not show stored hashes (StarRocks) is read without them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use starkeep_domain::{DatabaseSelection, NativePasswordHash, Privileges};

use super::backend_error::backend_error;
use super::connection::DEFAULT_TIMEOUT;
use super::dialect::{AuthRow, RawGrants, Scope};
use super::grants::GrantsMeaning;
use super::mapping::{GrantSet, Level, PrivilegeMap};
use super::MysqlWireEngine;
use crate::{AccountMirror, EngineError, MirrorAccount, MirrorRead, MirrorSide};

impl MysqlWireEngine {
    /// Every account of this server with its hash and what its grants stand for. Only the
    /// `'%'` rows carry grants (the rows starkeep manages); other host rows are read for the
    /// plan's choice of row. The `source` side reads all host rows and its server-wide grants
    /// ([`with_server_wide`]); the target side reads its `'%'` rows only.
    async fn read_side(&self, source: bool) -> Result<MirrorRead, EngineError> {
        let percent_only = !source;
        let timeout = self.timeout.max(DEFAULT_TIMEOUT) * 12;
        let read = async {
            let mut conn = self.conn().await?;
            let rows = match self
                .dialect
                .auth_rows(&mut conn)
                .await
                .map_err(backend_error)?
            {
                Some(rows) => rows,
                // A target that does not show hashes: its accounts without them (the plan
                // compares with the hashes sync applied).
                None if !source => self
                    .dialect
                    .identities(&mut conn)
                    .await
                    .map_err(backend_error)?
                    .into_iter()
                    .map(|(user, host)| AuthRow {
                        user,
                        host,
                        plugin: String::new(),
                        auth_string: String::new(),
                    })
                    .collect(),
                None => {
                    return Err(EngineError::EngineNotAvailable(format!(
                        "{} as a sync source (its stored password hashes cannot be read)",
                        self.dialect.kind()
                    )))
                }
            };
            let rows: Vec<_> = rows
                .into_iter()
                .filter(|r| !percent_only || r.host == "%")
                .collect();
            let names: Vec<String> = rows
                .iter()
                .map(|r| r.user.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            // One call for the whole side: the dialect decides how to read it (the MySQL
            // family reads each privilege table once for a long list).
            let grants = self
                .dialect
                .grants(&mut conn, &names, &self.map)
                .await
                .map_err(backend_error)?;
            let accounts = self.mirror_accounts(rows, &grants, source);
            Ok(MirrorRead { accounts, grants })
        };
        match tokio::time::timeout(timeout, read).await {
            Ok(result) => result,
            Err(_) => Err(EngineError::BackendUnavailable(format!(
                "reading the accounts of {} took longer than {timeout:?}",
                self.server.name(&self.instance)
            ))),
        }
    }

    /// The accounts of one side as the plan reads them: `rows` with what their grants stand
    /// for (on the `source` side with its server-wide grants merged in and the administrative
    /// ones named). A server's accounts share a handful of grant sets, and working out what one
    /// stands for is most of reading a side, so each distinct set is worked out once; what
    /// depends on the name (root, system accounts) is decided per account.
    fn mirror_accounts(
        &self,
        rows: Vec<AuthRow>,
        grants: &BTreeMap<String, RawGrants>,
        source: bool,
    ) -> Vec<MirrorAccount> {
        let no_grants = RawGrants::default();
        let mut meanings: HashMap<&RawGrants, (GrantsMeaning, Vec<String>)> = HashMap::new();
        rows.into_iter()
            .map(|row| {
                let raw = grants.get(&row.user).unwrap_or(&no_grants);
                let (meaning, admin_privileges) = meanings
                    .entry(raw)
                    .or_insert_with(|| {
                        if source {
                            let (merged, admin) = with_server_wide(raw, &self.map);
                            (self.meaning_of(&merged), admin)
                        } else {
                            (self.meaning_of(raw), Vec::new())
                        }
                    })
                    .clone();
                let summary = self.summary_of(row.user.clone(), || meaning);
                MirrorAccount {
                    system: summary.system || row.user.is_empty(),
                    name: row.user,
                    host: row.host,
                    plugin: row.plugin,
                    auth_string: row.auth_string,
                    privileges: summary.privileges,
                    databases: summary.databases,
                    admin_privileges,
                }
            })
            .collect()
    }
}

#[async_trait]
impl AccountMirror for MysqlWireEngine {
    fn shows_hashes(&self) -> bool {
        self.dialect.shows_hashes()
    }

    fn refuses_name(&self, name: &str) -> Option<String> {
        self.dialect.refuses_user_name(name)
    }

    async fn ping(&self) -> Result<(), EngineError> {
        self.bounded(async {
            let mut conn = self.conn().await?;
            conn.query_drop("SELECT 1").await.map_err(backend_error)
        })
        .await
    }

    async fn read_accounts(&self, side: MirrorSide) -> Result<MirrorRead, EngineError> {
        self.read_side(side == MirrorSide::Source).await
    }

    async fn read_databases(&self) -> Result<Vec<String>, EngineError> {
        self.bounded(async {
            let mut conn = self.conn().await?;
            self.dialect
                .databases(&mut conn)
                .await
                .map_err(backend_error)
        })
        .await
    }

    async fn create_with_hash(
        &self,
        name: &str,
        hash: &NativePasswordHash,
        privileges: Privileges,
        databases: &DatabaseSelection,
        databases_here: &[String],
    ) -> Result<bool, EngineError> {
        self.check_mirrorable(name)?;
        let _guard = self.account_lock(name).await;
        self.bounded(async {
            let mut conn = self.conn().await?;
            self.desired_scopes_among(databases, privileges, databases_here)?;
            match conn.query_drop(self.dialect.create_user(name, hash)).await {
                Ok(()) => Ok(true),
                Err(mysql_async::Error::Server(e)) if self.dialect.says_account_exists(&e) => {
                    Ok(false)
                }
                Err(e) => Err(backend_error(e)),
            }
        })
        .await
    }

    async fn set_hash(&self, name: &str, hash: &NativePasswordHash) -> Result<(), EngineError> {
        self.check_mirrorable(name)?;
        let _guard = self.account_lock(name).await;
        self.bounded(async {
            let mut conn = self.conn().await?;
            conn.query_drop(self.dialect.set_password(name, hash))
                .await
                .map_err(backend_error)
        })
        .await
    }

    async fn converge_grants(
        &self,
        name: &str,
        privileges: Privileges,
        databases: &DatabaseSelection,
        databases_here: &[String],
        current: &MirrorRead,
    ) -> Result<u64, EngineError> {
        self.check_mirrorable(name)?;
        let _guard = self.account_lock(name).await;
        self.bounded(async {
            let mut conn = self.conn().await?;
            let desired = self.desired_scopes_among(databases, privileges, databases_here)?;
            let empty = RawGrants::default();
            let have = current.grants.get(name).unwrap_or(&empty);
            self.converge(&mut conn, name, &have.scopes, &desired)
                .await
                .map_err(backend_error)
        })
        .await
    }

    async fn drop_account(&self, name: &str) -> Result<bool, EngineError> {
        self.check_mirrorable(name)?;
        let _guard = self.account_lock(name).await;
        self.bounded(async {
            let mut conn = self.conn().await?;
            match conn.query_drop(self.dialect.drop_user(name)).await {
                Ok(()) => Ok(true),
                Err(mysql_async::Error::Server(e)) if self.dialect.says_account_missing(&e) => {
                    Ok(false)
                }
                Err(e) => Err(backend_error(e)),
            }
        })
        .await
    }
}

impl MysqlWireEngine {
    /// Refuses a write to a system account (sync's names come from another server).
    fn check_mirrorable(&self, name: &str) -> Result<(), EngineError> {
        if self.is_system(name) {
            return Err(EngineError::SystemAccount(name.to_owned()));
        }
        Ok(())
    }
}

/// A source account's grants with its server-wide ones (`ON *.*`) sorted out: the data
/// privileges the map knows join the all-databases scope (so they are mirrored onto all of the
/// target's databases, as the target's dialect grants `"*"`); the rest (`SUPER`, `CREATE USER`,
/// `GRANT OPTION`, `FILE`, `PROCESS`, ... anything the map has no group for) are answered as the
/// administrative privileges that keep the account from being mirrored.
fn with_server_wide(raw: &RawGrants, map: &PrivilegeMap) -> (RawGrants, Vec<String>) {
    let known = map.known();
    let mut merged = raw.clone();
    let mut admin = Vec::new();
    let mut data = GrantSet::new();
    for privilege in &raw.server_wide {
        let grant = (Level::Database, privilege.clone());
        if known.contains(&grant) {
            data.insert(grant);
        } else {
            admin.push(privilege.clone());
        }
    }
    if !data.is_empty() {
        merged.scopes.entry(Scope::All).or_default().extend(data);
    }
    (merged, admin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use starkeep_auth::SecretBox;
    use starkeep_store::{InstanceRecord, Store};

    use crate::config::WireDialect;
    use crate::mysql_wire::{MysqlWireSettings, Server};

    /// An engine on a MariaDB it never reaches: enough to read grants that are handed to it.
    async fn offline_mariadb_engine(store_dir: &std::path::Path) -> MysqlWireEngine {
        let secrets = SecretBox::from_slice(&[7u8; 32]);
        let settings = MysqlWireSettings {
            host: "127.0.0.1".into(),
            port: 3306,
            user: "skadmin".into(),
            password: secrets.seal(b"unused"),
            flavor: Some("mariadb".into()),
            privilege_map: None,
            pool_max: None,
            timeout_ms: None,
            source: None,
            tls: None,
        };
        let instance = InstanceRecord {
            id: starkeep_domain::InstanceId::parse("0123456789abcdef0123456789abcdefin07").unwrap(),
            project_id: starkeep_domain::ProjectId::parse("23a50154cf494ec9ad6883979a12db0a")
                .unwrap(),
            name: "target".into(),
            engine: "mysql".into(),
            settings: serde_json::Value::Null,
            sync_enabled: true,
            created_at: 0,
        };
        let store = Store::open_sqlite(store_dir).await.unwrap();
        MysqlWireEngine::from_settings(
            store,
            instance,
            Server::Instance,
            WireDialect::mysql(settings.flavor.as_deref()),
            settings,
            &secrets,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn accounts_sharing_grants_keep_their_own_names_and_name_dependent_values() {
        let dir = tempfile::tempdir().unwrap();
        let engine = offline_mariadb_engine(dir.path()).await;
        let on_sales = |privileges: &[&str], server_wide: &[&str]| RawGrants {
            scopes: BTreeMap::from([(
                Scope::Database("sales".into()),
                privileges
                    .iter()
                    .map(|p| (Level::Database, p.to_string()))
                    .collect(),
            )]),
            foreign: !server_wide.is_empty(),
            server_wide: server_wide.iter().map(|p| p.to_string()).collect(),
        };
        let read_only = on_sales(&["SELECT"], &[]);
        let grants = BTreeMap::from([
            ("alice".to_owned(), read_only.clone()),
            ("bob".to_owned(), read_only.clone()),
            ("root".to_owned(), read_only.clone()),
            (String::new(), read_only.clone()),
            (
                "carol".to_owned(),
                on_sales(&["SELECT", "INSERT", "UPDATE", "DELETE"], &[]),
            ),
            ("dave".to_owned(), on_sales(&["SELECT"], &["SUPER"])),
        ]);
        let row = |user: &str| AuthRow {
            user: user.into(),
            host: "%".into(),
            plugin: "mysql_native_password".into(),
            auth_string: NativePasswordHash::of(&format!("Pw_{user}_1"))
                .as_str()
                .into(),
        };
        let users = [
            "alice", "root", "bob", "", "carol", "dave", "erin", "skadmin",
        ];
        for source in [true, false] {
            let rows: Vec<AuthRow> = users.iter().map(|u| row(u)).collect();
            let accounts = engine.mirror_accounts(rows.clone(), &grants, source);
            // Each account as if worked out alone.
            for (account, row) in accounts.iter().zip(&rows) {
                let raw = grants.get(&row.user).cloned().unwrap_or_default();
                let (merged, admin) = if source {
                    with_server_wide(&raw, &engine.map)
                } else {
                    (raw, Vec::new())
                };
                let alone = engine.summarize(row.user.clone(), &merged);
                assert_eq!(account.name, row.user);
                assert_eq!(account.auth_string, row.auth_string, "{}", row.user);
                assert_eq!(account.privileges, alone.privileges, "{}", row.user);
                assert_eq!(account.databases, alone.databases, "{}", row.user);
                assert_eq!(account.system, alone.system || row.user.is_empty());
                assert_eq!(account.admin_privileges, admin, "{}", row.user);
            }
            let by_name = |name: &str| accounts.iter().find(|a| a.name == name).unwrap();
            // Same grants, same values, and only root is shown as the contract shows it.
            assert_eq!(by_name("alice").privileges, by_name("bob").privileges);
            assert_eq!(by_name("alice").databases, by_name("bob").databases);
            assert!(!by_name("alice").system && !by_name("bob").system);
            assert_ne!(
                by_name("alice").databases,
                starkeep_domain::DatabaseSelection::All
            );
            assert_eq!(
                by_name("root").databases,
                starkeep_domain::DatabaseSelection::All
            );
            assert!(by_name("root").system && by_name("").system && by_name("skadmin").system);
            assert_ne!(by_name("carol").privileges, by_name("alice").privileges);
            // Administrative grants are named on the source side only.
            let expected: Vec<String> = if source { vec!["SUPER".into()] } else { vec![] };
            assert_eq!(by_name("dave").admin_privileges, expected);
            assert!(by_name("alice").admin_privileges.is_empty());
        }
    }

    #[test]
    fn server_wide_data_privileges_join_all_databases_and_admin_ones_are_named() {
        let map = PrivilegeMap::mysql_default();
        let server_wide = |privileges: &[&str]| RawGrants {
            server_wide: privileges.iter().map(|p| p.to_string()).collect(),
            foreign: true,
            ..RawGrants::default()
        };
        // SELECT ON *.*: read-only on all databases, nothing administrative.
        let (merged, admin) = with_server_wide(&server_wide(&["SELECT"]), &map);
        assert!(admin.is_empty());
        let all = &merged.scopes[&Scope::All];
        assert_eq!(
            all.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>(),
            ["SELECT"]
        );
        let decoded = map.decode(all, true);
        assert_eq!(decoded.privileges.dml, starkeep_domain::Dml::ReadOnly);
        assert!(decoded.exact);
        // Server-wide data privileges join an existing all-databases scope; a named database
        // stays as it was.
        let mut raw = server_wide(&["INSERT", "UPDATE", "DELETE"]);
        raw.scopes.insert(
            Scope::All,
            GrantSet::from([(Level::Database, "SELECT".to_owned())]),
        );
        raw.scopes.insert(
            Scope::Database("orders".into()),
            GrantSet::from([(Level::Database, "SELECT".to_owned())]),
        );
        let (merged, admin) = with_server_wide(&raw, &map);
        assert!(admin.is_empty());
        assert_eq!(merged.scopes[&Scope::All].len(), 4);
        assert_eq!(merged.scopes[&Scope::Database("orders".into())].len(), 1);
        // Anything the map has no group for is administrative.
        let (_, admin) = with_server_wide(
            &server_wide(&["SELECT", "PROCESS", "SUPER", "GRANT OPTION", "CREATE USER"]),
            &map,
        );
        assert_eq!(admin, ["CREATE USER", "GRANT OPTION", "PROCESS", "SUPER"]);
        // No server-wide grants: nothing changes.
        let plain = RawGrants::default();
        assert_eq!(with_server_wide(&plain, &map), (plain, Vec::new()));
    }

    #[test]
    fn hashes_stay_out_of_debug_output() {
        let row = AuthRow {
            user: "app".into(),
            host: "%".into(),
            plugin: "mysql_native_password".into(),
            auth_string: NativePasswordHash::of("Pw_secret1").as_str().into(),
        };
        let shown = format!("{row:?}");
        assert!(shown.contains("app") && !shown.contains(&row.auth_string));
    }
}
