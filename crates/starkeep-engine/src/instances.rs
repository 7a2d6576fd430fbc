//! [`Instances`]: from a project's instance id to the engine that serves it.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use starkeep_auth::SecretBox;
use starkeep_domain::{InstanceId, ProjectId};
use starkeep_store::{InstanceRecord, Store};

use crate::{AccountEngine, EmbeddedEngine, EngineError, MysqlWireEngine};

/// The kinds of engine an instance can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// Accounts in starkeep's own store; no database server.
    Embedded,
    /// TaurusDB, MySQL 8 or MariaDB.
    Mysql,
    /// A StarRocks 3.x frontend.
    StarRocks,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Embedded => "embedded",
            EngineKind::Mysql => "mysql",
            EngineKind::StarRocks => "starrocks",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EngineKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "embedded" => Ok(EngineKind::Embedded),
            "mysql" => Ok(EngineKind::Mysql),
            "starrocks" => Ok(EngineKind::StarRocks),
            other => Err(format!(
                "unknown engine {other:?}: expected embedded, mysql or starrocks"
            )),
        }
    }
}

/// The directory of instances: finds a project's instance and hands out its engine.
///
/// SQL engines hold a connection pool, so they are kept per instance and rebuilt only when the
/// instance's settings change; while no instance changes ([`Store::instances_generation`]), a
/// SQL engine is handed out again without reading its instance. An embedded engine is handed out
/// again while the store reports no commit at all ([`Store::data_version`]), and keeps the pages
/// it read meanwhile (see [`EmbeddedEngine`]): a request for a page that was read before touches
/// no table.
#[derive(Clone)]
pub struct Instances {
    store: Store,
    secrets: Option<Arc<SecretBox>>,
    sql: Arc<Mutex<HashMap<String, CachedEngine>>>,
    recent: Arc<Mutex<HashMap<(ProjectId, InstanceId), RecentEngine>>>,
}

/// A SQL engine and the instance settings it was built from.
type CachedEngine = (serde_json::Value, Arc<MysqlWireEngine>);

/// An engine handed out, and what vouches for it.
type RecentEngine = (Stamp, Arc<dyn AccountEngine>);

/// What was read before an instance was, and must read the same for the engine handed out for it
/// to be handed out again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    /// The store's data version: an embedded engine (its pages are the store's rows).
    Version(u64),
    /// The instances generation: a SQL engine (it depends on its instance alone).
    Generation(u64),
}

impl fmt::Debug for Instances {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instances")
            .field("store", &self.store)
            .field("secrets", &self.secrets.is_some())
            .finish_non_exhaustive()
    }
}

/// What one pass of [`Instances::repair_pending`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// Unfinished creates whose account was dropped.
    pub dropped: usize,
    /// Records cleared with nothing to drop (the account was whole, or never made).
    pub cleared: usize,
    /// Records left for the next pass (the backend could not be reached).
    pub left: usize,
}

impl Instances {
    /// A directory that serves embedded instances only (no key to open SQL admin passwords).
    pub fn new(store: Store) -> Self {
        Self {
            store,
            secrets: None,
            sql: Arc::default(),
            recent: Arc::default(),
        }
    }

    /// A directory that also serves `mysql` and `starrocks` instances, whose admin passwords
    /// `secrets` opens.
    pub fn with_secrets(store: Store, secrets: SecretBox) -> Self {
        Self {
            store,
            secrets: Some(Arc::new(secrets)),
            sql: Arc::default(),
            recent: Arc::default(),
        }
    }

    /// The store the directory reads.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The SQL engine of `record`, from the cache while its settings are unchanged.
    pub fn sql_engine(&self, record: InstanceRecord) -> Result<Arc<MysqlWireEngine>, EngineError> {
        let Some(secrets) = &self.secrets else {
            return Err(EngineError::EngineNotAvailable(format!(
                "{} (this process has no key to open the admin password)",
                record.engine
            )));
        };
        let key = record.id.as_str().to_owned();
        let mut cache = self.sql.lock().expect("engine cache poisoned");
        if let Some((settings, engine)) = cache.get(&key) {
            if *settings == record.settings && engine.instance().engine == record.engine {
                return Ok(engine.clone());
            }
        }
        let settings = record.settings.clone();
        let engine = Arc::new(MysqlWireEngine::new(self.store.clone(), record, secrets)?);
        cache.insert(key, (settings, engine.clone()));
        Ok(engine)
    }

    /// Finds creates that began more than `grace` ago and never ended (a timeout, a lost
    /// backend, a killed process) and drops the accounts they left unfinished.
    pub async fn repair_pending(&self, grace: Duration) -> Result<RepairReport, EngineError> {
        let cutoff =
            starkeep_store::now_millis() - i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
        let stale = self.store.stale_pending_creates(cutoff).await?;
        let mut report = RepairReport::default();
        if stale.is_empty() {
            return Ok(report);
        }
        let instances = self.store.list_instances(None).await?;
        for pending in stale {
            let Some(record) = instances
                .iter()
                .find(|i| i.id.as_str() == pending.instance_id)
            else {
                self.store.end_pending_create(&pending.attempt).await?;
                report.cleared += 1;
                continue;
            };
            let engine = self.sql_engine(record.clone())?;
            match engine.repair(&pending.name).await {
                Ok(dropped) => {
                    self.store.end_pending_create(&pending.attempt).await?;
                    if dropped {
                        tracing::info!(
                            instance = %record.id, account = %pending.name,
                            "dropped an account an unfinished create left behind"
                        );
                        report.dropped += 1;
                    } else {
                        report.cleared += 1;
                    }
                }
                Err(e) => {
                    tracing::warn!(
                        instance = %record.id, account = %pending.name, error = %e,
                        "could not check an unfinished create; will try again"
                    );
                    report.left += 1;
                }
            }
        }
        Ok(report)
    }

    /// The instance `id` of `project`, or [`EngineError::UnknownInstance`].
    pub async fn find(
        &self,
        project: &ProjectId,
        id: &InstanceId,
    ) -> Result<InstanceRecord, EngineError> {
        self.store
            .instance(project, id)
            .await?
            .ok_or(EngineError::UnknownInstance)
    }

    /// The engine that serves instance `id` of `project`.
    pub async fn engine(
        &self,
        project: &ProjectId,
        id: &InstanceId,
    ) -> Result<Arc<dyn AccountEngine>, EngineError> {
        let key = (project.clone(), id.clone());
        {
            let recent = self.recent.lock().expect("engine cache poisoned");
            // Only the reading the kept engine depends on is taken.
            let kept = match recent.get(&key) {
                Some((Stamp::Version(at), engine)) if self.store.data_version() == Some(*at) => {
                    Some(engine)
                }
                Some((Stamp::Generation(at), engine))
                    if self.store.instances_generation() == Some(*at) =>
                {
                    Some(engine)
                }
                _ => None,
            };
            if let Some(engine) = kept {
                return Ok(engine.clone());
            }
        }
        // Both read before the instance, so that a change made meanwhile is seen next time.
        let version = self.store.data_version();
        let generation = self.store.instances_generation();
        let record = self.find(project, id).await?;
        let (stamp, engine): (Option<Stamp>, Arc<dyn AccountEngine>) =
            match record.engine.parse::<EngineKind>() {
                Ok(EngineKind::Embedded) => (
                    version.map(Stamp::Version),
                    Arc::new(EmbeddedEngine::new(self.store.clone(), record, version)?),
                ),
                Ok(EngineKind::Mysql | EngineKind::StarRocks) => {
                    (generation.map(Stamp::Generation), self.sql_engine(record)?)
                }
                Err(_) => return Err(EngineError::EngineNotAvailable(record.engine)),
            };
        if let Some(stamp) = stamp {
            let mut recent = self.recent.lock().expect("engine cache poisoned");
            // Entries that no longer hold are never used again.
            recent.retain(|_, (at, _)| match at {
                Stamp::Version(at) => Some(*at) == version,
                Stamp::Generation(at) => Some(*at) == generation,
            });
            recent.insert(key, (stamp, engine.clone()));
        }
        Ok(engine)
    }

    /// The engine of a sync instance (the target) and the engine of its TaurusDB source.
    pub fn sync_pair(
        &self,
        record: InstanceRecord,
    ) -> Result<(Arc<MysqlWireEngine>, MysqlWireEngine), EngineError> {
        match record.engine.parse::<EngineKind>() {
            Ok(EngineKind::Mysql | EngineKind::StarRocks) => {}
            _ => return Err(EngineError::NoSyncSource),
        }
        let target = self.sql_engine(record)?;
        let secrets = self.secrets.as_ref().expect("sql_engine checked the key");
        let source = target.sync_source(secrets)?;
        Ok((target, source))
    }

    /// Reconciles every instance whose switch is on and whose lease `holder` gets (or keeps),
    /// now, whatever the schedule says, and records the runs: a pass for tests and tools. `serve`
    /// runs [`crate::Reconciler`], which keeps the schedule. The lease lasts `lease` and is
    /// renewed while a run goes on. Answers the instances reconciled.
    pub async fn sync_pass(
        &self,
        holder: &str,
        lease: Duration,
    ) -> Result<Vec<InstanceId>, EngineError> {
        let ttl_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let enabled = self.store.sync_enabled_instances().await?;
        if enabled.is_empty() {
            return Ok(Vec::new());
        }
        let records = self.store.list_instances(None).await?;
        let mut done = Vec::new();
        for id in enabled {
            let Some(record) = records.iter().find(|r| r.id == id).cloned() else {
                continue;
            };
            if self
                .store
                .take_sync_lease(&id, holder, ttl_ms)
                .await?
                .is_none()
            {
                continue;
            }
            if self.reconcile_held(record, holder, lease).await?.is_some() {
                done.push(id);
            }
        }
        Ok(done)
    }

    /// One reconcile of `record`, whose lease `holder` has: the lease is renewed every half
    /// `lease` while the run goes on, and the run is abandoned if the lease is lost. A finished
    /// run is recorded with its holder; answers its outcome (`ok`, `partial` or `failed`), or
    /// `None` if it was abandoned.
    pub async fn reconcile_held(
        &self,
        record: InstanceRecord,
        holder: &str,
        lease: Duration,
    ) -> Result<Option<String>, EngineError> {
        let id = record.id.clone();
        let ttl_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let started_at = starkeep_store::now_unix();
        let clock = std::time::Instant::now();
        let run = async {
            let (target, source) = self.sync_pair(record)?;
            target.reconcile_from(&source).await
        };
        let renew = async {
            loop {
                tokio::time::sleep(lease / 2).await;
                match self.store.take_sync_lease(&id, holder, ttl_ms).await {
                    Ok(Some(_)) => {}
                    Ok(None) => return,
                    Err(e) => {
                        tracing::warn!(instance = %id, error = %e, "could not renew the sync lease")
                    }
                }
            }
        };
        let outcome = tokio::select! {
            outcome = run => Some(outcome),
            () = renew => None,
        };
        let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (outcome, report) = match outcome {
            None => {
                tracing::warn!(instance = %id, "sync lease lost to another process; run abandoned");
                crate::reconciler::count_run("abandoned", None);
                return Ok(None);
            }
            Some(Ok(report)) => {
                crate::reconciler::count_run(report.outcome(), Some(&report));
                tracing::info!(
                    instance = %id, holder, created = report.created, updated = report.updated,
                    dropped = report.dropped, unchanged = report.unchanged,
                    skipped = report.skipped.len(), conflicts = report.conflicts.len(),
                    failed = report.failed.len(), writes = report.writes, duration_ms,
                    "account sync run"
                );
                (
                    report.outcome().to_owned(),
                    serde_json::to_string(&report).expect("report serialises"),
                )
            }
            Some(Err(e)) => {
                tracing::warn!(instance = %id, holder, error = %e, duration_ms, "account sync run failed");
                crate::reconciler::count_run("failed", None);
                (
                    "failed".to_owned(),
                    serde_json::json!({ "error": e.to_string() }).to_string(),
                )
            }
        };
        self.store
            .record_sync_run(
                &id,
                &starkeep_store::SyncRun {
                    started_at,
                    duration_ms,
                    outcome: outcome.clone(),
                    report,
                    holder: holder.to_owned(),
                },
            )
            .await?;
        Ok(Some(outcome))
    }

    /// The instance and its last sync run.
    pub async fn sync_status(
        &self,
        project: &ProjectId,
        id: &InstanceId,
    ) -> Result<(InstanceRecord, Option<starkeep_store::SyncRun>), EngineError> {
        let record = self.find(project, id).await?;
        let run = self.store.last_sync_run(&record.id).await?;
        Ok((record, run))
    }

    /// Records the instance's sync switch; the reconciler ([`crate::Reconciler`]) does the
    /// mirroring. Starting needs a TaurusDB source that answers
    /// ([`EngineError::NoSyncSource`], [`EngineError::SyncSourceUnavailable`] otherwise, and
    /// nothing changes); stopping leaves the mirrored accounts in place.
    pub async fn set_sync(
        &self,
        project: &ProjectId,
        id: &InstanceId,
        enabled: bool,
    ) -> Result<(), EngineError> {
        let record = self.find(project, id).await?;
        if enabled {
            let (_, source) = self.sync_pair(record.clone())?;
            source.ping().await.map_err(|e| match e {
                EngineError::Store(e) => EngineError::Store(e),
                other => EngineError::SyncSourceUnavailable(other.to_string()),
            })?;
        }
        self.store.set_sync_enabled(&record.id, enabled).await?;
        if enabled && !record.sync_enabled {
            // Switched on: the first run is due at once, not an interval after the last one.
            self.store.make_sync_due(&record.id).await?;
        }
        Ok(())
    }
}
