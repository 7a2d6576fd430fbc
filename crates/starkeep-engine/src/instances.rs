//! [`Instances`]: from a project's instance id to the engine that serves it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use starkeep_auth::SecretBox;
use starkeep_domain::{InstanceId, ProjectId};
use starkeep_store::{InstanceRecord, Store};

use crate::{
    AccountEngine, AccountMirror, EmbeddedEngine, EngineConfig, EngineError, MysqlWireEngine,
};

/// The directory of instances: finds a project's instance and hands out its engine.
///
/// MySQL-wire engines hold a connection pool, so they are kept per instance and rebuilt only when the
/// instance's settings change; while no instance changes ([`Store::instances_generation`]), a
/// MySQL-wire engine is handed out again without reading its instance. An embedded engine is handed out
/// again while the store reports no commit at all ([`Store::data_version`]), and keeps the pages
/// it read meanwhile (see [`EmbeddedEngine`]): a request for a page that was read before touches
/// no table.
#[derive(Clone)]
pub struct Instances {
    store: Store,
    secrets: Option<Arc<SecretBox>>,
    mysql_wire: Arc<Mutex<HashMap<String, CachedEngine>>>,
    recent: Arc<Mutex<HashMap<(ProjectId, InstanceId), RecentEngine>>>,
}

/// A MySQL-wire engine and the instance settings it was built from.
type CachedEngine = (serde_json::Value, Arc<MysqlWireEngine>);

/// An engine handed out, and what vouches for it.
type RecentEngine = (Stamp, Arc<dyn AccountEngine>);

/// What was read before an instance was, and must read the same for the engine handed out for it
/// to be handed out again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    /// The store's data version: an embedded engine (its pages are the store's rows).
    Version(u64),
    /// The instances generation: a MySQL-wire engine (it depends on its instance alone).
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

/// An instance that mirrors accounts (the target) and its TaurusDB source.
#[derive(Clone)]
pub struct MirrorPair {
    pub target: Arc<dyn AccountMirror>,
    pub source: Arc<dyn AccountMirror>,
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
            mysql_wire: Arc::default(),
            recent: Arc::default(),
        }
    }

    /// A directory that also serves `mysql` and `starrocks` instances, whose admin passwords
    /// `secrets` opens.
    pub fn with_secrets(store: Store, secrets: SecretBox) -> Self {
        Self {
            store,
            secrets: Some(Arc::new(secrets)),
            mysql_wire: Arc::default(),
            recent: Arc::default(),
        }
    }

    /// The store the directory reads.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store's secret key, if this directory was given it.
    pub fn secrets(&self) -> Option<&SecretBox> {
        self.secrets.as_deref()
    }

    /// The MySQL-wire engine of `record`, from the cache while its settings are unchanged.
    pub fn mysql_wire_engine(
        &self,
        record: InstanceRecord,
    ) -> Result<Arc<MysqlWireEngine>, EngineError> {
        let Some(secrets) = &self.secrets else {
            return Err(EngineError::EngineNotAvailable(format!(
                "{} (this process has no key to open the admin password)",
                record.engine
            )));
        };
        let key = record.id.as_str().to_owned();
        let mut cache = self.mysql_wire.lock().expect("engine cache poisoned");
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
            let engine = self.mysql_wire_engine(record.clone())?;
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
            match EngineConfig::of(&record)? {
                EngineConfig::Embedded(settings) => (
                    version.map(Stamp::Version),
                    Arc::new(EmbeddedEngine::new(
                        self.store.clone(),
                        record,
                        settings,
                        version,
                    )),
                ),
                EngineConfig::MysqlWire { .. } => (
                    generation.map(Stamp::Generation),
                    self.mysql_wire_engine(record)?,
                ),
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

    /// The engine of a sync instance (the target) and the engine of its TaurusDB source, as
    /// account sync reaches them. The source's engine is kept with the target's, so its
    /// connections outlive one run; [`EngineError::NoSyncSource`] for an instance with none.
    pub fn mirror_pair(&self, record: InstanceRecord) -> Result<MirrorPair, EngineError> {
        if let EngineConfig::Embedded(_) = EngineConfig::of(&record)? {
            return Err(EngineError::NoSyncSource);
        }
        let target = self.mysql_wire_engine(record)?;
        let source = target.sync_source()?;
        Ok(MirrorPair { target, source })
    }
}
