//! Account sync against real servers: naming an instance's TaurusDB source, reading accounts
//! with their stored hashes on either side, and applying a [`Plan`] at the target.
//!
//! The decision itself is `starkeep-sync`'s pure [`plan_with`]; the loop that runs a reconcile for
//! every instance whose switch is on (leases, intervals, run records) lives in the `starkeep`
//! binary. Passwords travel as their `mysql_native_password` hash, read from the source and
//! written with `IDENTIFIED ... AS '<hash>'`; the plain text is never known.
//!
//! Ownership is remembered in the store: a name is marked pending before its `CREATE USER` and
//! owned once the account is there, so a reconcile cut short (a killed process) leaves a name
//! the next run recognises as its own and finishes; an account starkeep did not make is never
//! changed or dropped. A target that does not show stored hashes (StarRocks) is read without
//! them, and the hash sync applied to each owned account is kept in the store, sealed with the
//! store's key, for the next run to compare the source's with.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use serde::Serialize;
use starkeep_auth::SecretBox;
use starkeep_domain::NativePasswordHash;
use starkeep_store::{InstanceRecord, Store};
use starkeep_sync::{plan_with, Action, MirrorAccount, Plan, TargetHashes};
use zeroize::Zeroizing;

use super::backend_error::{backend_error, mysql_error_text};
use super::connection::{dialect_for, pool_for, MysqlWireSettings, DEFAULT_TIMEOUT};
use super::dialect::{AuthRow, RawGrants, Scope};
use super::grants::GrantsMeaning;
use super::mapping::{GrantSet, Level, PrivilegeMap};
use super::registration::{ConnectionTarget, RegistrationError};
use super::MysqlWireEngine;
use crate::{EngineError, EngineKind};

/// Checks that a TaurusDB source answers and lets its admin read accounts, and answers the
/// settings to keep (the password sealed with `secrets`).
pub async fn connect_source(
    dsn: &str,
    password: &Zeroizing<String>,
    timeout: Duration,
    secrets: &SecretBox,
) -> Result<MysqlWireSettings, RegistrationError> {
    let target = ConnectionTarget::parse(dsn, 3306)?;
    let shown = format!("{}@{}:{}", target.user, target.host, target.port);
    let pool = pool_for(&target, password, 1);
    let connect_error = |detail: String| RegistrationError::Connect {
        target: shown.clone(),
        detail,
    };
    let checked = tokio::time::timeout(timeout, async {
        let mut conn = pool
            .get_conn()
            .await
            .map_err(|e| connect_error(mysql_error_text(&e)))?;
        let version: Option<String> = conn
            .query_first("SELECT VERSION()")
            .await
            .map_err(|e| connect_error(mysql_error_text(&e)))?;
        let flavor = super::mysql::MysqlFlavor::from_version(version.as_deref().unwrap_or(""));
        let dialect =
            dialect_for(EngineKind::Mysql, Some(flavor.as_str())).expect("mysql is a SQL engine");
        dialect
            .auth_rows(&mut conn)
            .await
            .map_err(|e| RegistrationError::Privilege {
                user: target.user.clone(),
                what: "read accounts (SELECT on mysql.user)",
                detail: mysql_error_text(&e),
            })?;
        Ok::<_, RegistrationError>(flavor)
    })
    .await
    .map_err(|_| connect_error(format!("no answer within {timeout:?}")))?;
    pool.disconnect().await.ok();
    let flavor = checked?;
    Ok(MysqlWireSettings {
        host: target.host,
        port: target.port,
        user: target.user,
        password: secrets.seal(password.as_bytes()),
        flavor: Some(flavor.as_str().to_owned()),
        privilege_map: None,
        pool_max: Some(2),
        timeout_ms: Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
        source: None,
    })
}

/// Names `source` as the TaurusDB source of the SQL instance `record` (replacing any).
pub async fn set_source(
    store: &Store,
    record: &InstanceRecord,
    source: MysqlWireSettings,
) -> Result<InstanceRecord, EngineError> {
    let mut settings: MysqlWireSettings =
        serde_json::from_value(record.settings.clone()).map_err(|e| super::corrupt(record, e))?;
    settings.source = Some(Box::new(source));
    let value = serde_json::to_value(&settings).expect("settings serialise");
    store.set_instance_settings(&record.id, &value).await?;
    let mut updated = record.clone();
    updated.settings = value;
    Ok(updated)
}

/// An account that was not mirrored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountReason {
    pub name: String,
    pub reason: String,
}

/// What one reconcile did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub created: u64,
    pub updated: u64,
    pub dropped: u64,
    pub unchanged: u64,
    /// Write statements issued at the target (zero when nothing changed at the source).
    pub writes: u64,
    pub skipped: Vec<AccountReason>,
    /// Source accounts whose name is taken at the target by an account starkeep did not make.
    pub conflicts: Vec<AccountReason>,
    /// Accounts whose writes failed this time (the next run tries again).
    pub failed: Vec<AccountReason>,
}

impl SyncReport {
    /// `ok` when every planned write went through, `partial` otherwise.
    pub fn outcome(&self) -> &'static str {
        if self.failed.is_empty() {
            "ok"
        } else {
            "partial"
        }
    }
}

/// One side's accounts, as the plan and the applier need them.
struct Side {
    accounts: Vec<MirrorAccount>,
    grants: BTreeMap<String, RawGrants>,
}

impl MysqlWireEngine {
    /// The engine of this instance's TaurusDB source, or [`EngineError::NoSyncSource`].
    pub fn sync_source(&self, secrets: &SecretBox) -> Result<MysqlWireEngine, EngineError> {
        let settings: MysqlWireSettings = serde_json::from_value(self.instance.settings.clone())
            .map_err(|e| super::corrupt(&self.instance, e))?;
        let Some(source) = settings.source else {
            return Err(EngineError::NoSyncSource);
        };
        MysqlWireEngine::from_settings(
            self.store.clone(),
            self.instance.clone(),
            EngineKind::Mysql,
            *source,
            secrets,
        )
    }

    /// Checks that the server answers to its admin account (the source check of a start).
    pub async fn ping(&self) -> Result<(), EngineError> {
        self.bounded(async {
            let mut conn = self.conn().await?;
            conn.query_drop("SELECT 1").await.map_err(backend_error)
        })
        .await
    }

    /// Every account of this server with its hash and what its grants stand for. Only the
    /// `'%'` rows carry grants (the rows starkeep manages); other host rows are read for the
    /// plan's choice of row. The `source` side reads all host rows and its server-wide grants
    /// ([`with_server_wide`]); the target side reads its `'%'` rows only.
    async fn read_side(&self, source: bool) -> Result<Side, EngineError> {
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
            Ok(Side { accounts, grants })
        };
        match tokio::time::timeout(timeout, read).await {
            Ok(result) => result,
            Err(_) => Err(EngineError::BackendUnavailable(format!(
                "reading the accounts of instance {} took longer than {timeout:?}",
                self.instance.id
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

    /// One reconcile of this (target) instance from `source`: read both, plan, apply. A failure
    /// to read either side fails the run; a failed write fails only its account.
    pub async fn reconcile_from(
        &self,
        source: &MysqlWireEngine,
    ) -> Result<SyncReport, EngineError> {
        // Two servers: read side by side.
        let (source_side, target_side) =
            tokio::try_join!(source.read_side(true), self.read_side(false))?;
        let databases = self
            .bounded(async {
                let mut conn = self.conn().await?;
                self.dialect
                    .databases(&mut conn)
                    .await
                    .map_err(backend_error)
            })
            .await?;
        let owned = self.store.owned_accounts(&self.instance.id).await?;
        let applied;
        let hashes = if self.dialect.shows_hashes() {
            TargetHashes::Shown
        } else {
            applied = self.applied_hashes().await?;
            TargetHashes::LastApplied(&applied)
        };
        // Names the target refuses are never planned: they would fail every run.
        let mut refused: BTreeMap<String, String> = BTreeMap::new();
        let source_accounts: Vec<MirrorAccount> = source_side
            .accounts
            .into_iter()
            .filter(
                |account| match self.dialect.refuses_user_name(&account.name) {
                    Some(why) if !account.system => {
                        refused.insert(account.name.clone(), why);
                        false
                    }
                    _ => true,
                },
            )
            .collect();
        let decided: Plan = plan_with(
            &source_accounts,
            &target_side.accounts,
            &owned,
            &databases,
            hashes,
        );
        let mut report = SyncReport {
            unchanged: decided.unchanged as u64,
            skipped: decided
                .skipped
                .iter()
                .map(|(name, reason)| AccountReason {
                    name: name.clone(),
                    reason: reason.to_string(),
                })
                .collect(),
            conflicts: decided
                .conflicts
                .iter()
                .map(|name| AccountReason {
                    name: name.clone(),
                    reason:
                        "an account of the same name exists at the target and was not made by sync"
                            .into(),
                })
                .collect(),
            ..SyncReport::default()
        };
        report.skipped.extend(
            refused
                .into_iter()
                .map(|(name, reason)| AccountReason { name, reason }),
        );
        for name in &decided.forget {
            self.store.forget_owned(&self.instance.id, name).await?;
        }
        let mut updated = BTreeSet::new();
        for action in &decided.actions {
            let name = action.name().to_owned();
            let started = Instant::now();
            match self
                .apply(action, &target_side.grants, &databases, &mut report)
                .await
            {
                Ok(()) => match action {
                    Action::Create { .. } => report.created += 1,
                    Action::Drop { .. } => report.dropped += 1,
                    Action::SetPassword { .. } | Action::SetPrivileges { .. } => {
                        updated.insert(name);
                    }
                },
                Err(EngineError::AccountExists(_)) => report.conflicts.push(AccountReason {
                    name,
                    reason: "made at the target by someone else while sync was creating it".into(),
                }),
                Err(e) => {
                    tracing::warn!(
                        instance = %self.instance.id, account = %name, error = %e,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "sync could not apply a change; the next run tries again"
                    );
                    report.failed.push(AccountReason {
                        name,
                        reason: e.to_string(),
                    });
                }
            }
        }
        report.updated = updated.len() as u64;
        Ok(report)
    }

    /// The hashes sync last applied to the accounts it owns here, opened. One that does not open
    /// (another store key) counts as none recorded, so the source's hash is applied again.
    async fn applied_hashes(&self) -> Result<BTreeMap<String, String>, EngineError> {
        let sealed = self.store.applied_hashes(&self.instance.id).await?;
        let mut out = BTreeMap::new();
        for (name, sealed) in sealed {
            match self.secrets.open_string(&sealed) {
                Ok(hash) => {
                    out.insert(name, hash.to_string());
                }
                Err(_) => tracing::warn!(
                    instance = %self.instance.id, account = %name,
                    "the recorded sync hash does not open with this store's key; applying again"
                ),
            }
        }
        Ok(out)
    }

    /// Records `hash` as applied to the owned account `name`, sealed, where the target does not
    /// show hashes (elsewhere the target itself is read).
    async fn remember_hash(
        &self,
        name: &str,
        hash: &NativePasswordHash,
    ) -> Result<(), EngineError> {
        if self.dialect.shows_hashes() {
            return Ok(());
        }
        let sealed = self.secrets.seal(hash.as_str().as_bytes());
        self.store
            .record_applied_hash(&self.instance.id, name, &sealed)
            .await?;
        Ok(())
    }

    /// Carries out one action at the target, counting the write statements it issues.
    async fn apply(
        &self,
        action: &Action,
        current: &BTreeMap<String, RawGrants>,
        databases_here: &[String],
        report: &mut SyncReport,
    ) -> Result<(), EngineError> {
        let name = action.name();
        if self.is_system(name) {
            return Err(EngineError::SystemAccount(name.to_owned()));
        }
        let id = &self.instance.id;
        let _guard = self.account_lock(name).await;
        match action {
            Action::Create {
                auth_string,
                privileges,
                databases,
                ..
            } => {
                let hash = parse_hash(name, auth_string)?;
                self.store.mark_owned(id, name, false).await?;
                let created = self
                    .bounded(async {
                        let mut conn = self.conn().await?;
                        let desired =
                            self.desired_scopes_among(databases, *privileges, databases_here)?;
                        match conn.query_drop(self.dialect.create_user(name, &hash)).await {
                            Ok(()) => report.writes += 1,
                            Err(mysql_async::Error::Server(e))
                                if self.dialect.says_account_exists(&e) =>
                            {
                                return Ok(false)
                            }
                            Err(e) => return Err(backend_error(e)),
                        }
                        self.store.mark_owned(id, name, true).await?;
                        self.remember_hash(name, &hash).await?;
                        report.writes += self
                            .converge(&mut conn, name, &BTreeMap::new(), &desired)
                            .await
                            .map_err(backend_error)?;
                        Ok(true)
                    })
                    .await?;
                if !created {
                    // Someone else's account: never ours.
                    self.store.forget_owned(id, name).await?;
                    return Err(EngineError::AccountExists(name.to_owned()));
                }
                Ok(())
            }
            Action::SetPassword { auth_string, .. } => {
                let hash = parse_hash(name, auth_string)?;
                self.bounded(async {
                    let mut conn = self.conn().await?;
                    conn.query_drop(self.dialect.set_password(name, &hash))
                        .await
                        .map_err(backend_error)?;
                    report.writes += 1;
                    self.remember_hash(name, &hash).await
                })
                .await
            }
            Action::SetPrivileges {
                privileges,
                databases,
                ..
            } => {
                self.bounded(async {
                    let mut conn = self.conn().await?;
                    let desired =
                        self.desired_scopes_among(databases, *privileges, databases_here)?;
                    let empty = RawGrants::default();
                    let have = current.get(name).unwrap_or(&empty);
                    report.writes += self
                        .converge(&mut conn, name, &have.scopes, &desired)
                        .await
                        .map_err(backend_error)?;
                    Ok(())
                })
                .await
            }
            Action::Drop { .. } => {
                self.bounded(async {
                    let mut conn = self.conn().await?;
                    match conn.query_drop(self.dialect.drop_user(name)).await {
                        Ok(()) => report.writes += 1,
                        Err(mysql_async::Error::Server(e))
                            if self.dialect.says_account_missing(&e) => {}
                        Err(e) => return Err(backend_error(e)),
                    }
                    Ok(())
                })
                .await?;
                self.store.forget_owned(id, name).await?;
                Ok(())
            }
        }
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

fn parse_hash(name: &str, auth_string: &str) -> Result<NativePasswordHash, EngineError> {
    NativePasswordHash::parse(auth_string).ok_or_else(|| {
        EngineError::Backend(format!(
            "the source hash of {name} is not a mysql_native_password hash"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql_wire::dialect::AuthRow;

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
        MysqlWireEngine::from_settings(store, instance, EngineKind::Mysql, settings, &secrets)
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
    fn settings_written_before_sync_still_read_and_a_source_round_trips() {
        let old = serde_json::json!({
            "host": "127.0.0.1", "port": 3306, "user": "root", "password": "v1:sealed",
            "flavor": "mariadb"
        });
        let settings: MysqlWireSettings = serde_json::from_value(old.clone()).unwrap();
        assert!(settings.source.is_none());
        assert_eq!(serde_json::to_value(&settings).unwrap(), old);
        let mut with_source = settings.clone();
        with_source.source = Some(Box::new(settings));
        let text = serde_json::to_value(&with_source).unwrap();
        assert_eq!(text["source"]["host"], "127.0.0.1");
        let back: MysqlWireSettings = serde_json::from_value(text).unwrap();
        assert!(back == with_source);
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
        let report = SyncReport {
            failed: vec![AccountReason {
                name: "x".into(),
                reason: "r".into(),
            }],
            ..SyncReport::default()
        };
        assert_eq!(report.outcome(), "partial");
        assert_eq!(SyncReport::default().outcome(), "ok");
    }
}
