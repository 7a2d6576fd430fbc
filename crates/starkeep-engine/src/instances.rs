//! [`Instances`]: from a project's instance id to the engine that serves it.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use starkeep_domain::{InstanceId, ProjectId};
use starkeep_store::{InstanceRecord, Store};

use crate::{AccountEngine, EmbeddedEngine, EngineError};

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
#[derive(Debug, Clone)]
pub struct Instances {
    store: Store,
}

impl Instances {
    pub fn new(store: Store) -> Self {
        Self { store }
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
        let record = self.find(project, id).await?;
        match record.engine.parse::<EngineKind>() {
            Ok(EngineKind::Embedded) => {
                Ok(Arc::new(EmbeddedEngine::new(self.store.clone(), record)?))
            }
            Ok(kind) => Err(EngineError::EngineNotAvailable(kind.to_string())),
            Err(_) => Err(EngineError::EngineNotAvailable(record.engine)),
        }
    }

    /// Records the instance's sync switch (the mirroring itself comes with the sync engine).
    pub async fn set_sync(
        &self,
        project: &ProjectId,
        id: &InstanceId,
        enabled: bool,
    ) -> Result<(), EngineError> {
        let record = self.find(project, id).await?;
        self.store.set_sync_enabled(&record.id, enabled).await?;
        Ok(())
    }
}
