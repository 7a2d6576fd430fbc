//! Instances: a project's database instances, the engine that serves each, and its sync switch.
//!
//! The engine kind and settings are stored as text and JSON; `starkeep-engine` gives them
//! meaning.

use sqlx::Row;
use starkeep_domain::{InstanceId, ProjectId};

use crate::accounts::{insert_account, NewStoredAccount};
use crate::{now_unix, random_id_bytes, Store, StoreError};

/// A stored instance.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRecord {
    pub id: InstanceId,
    pub project_id: ProjectId,
    pub name: String,
    pub engine: String,
    pub settings: serde_json::Value,
    pub sync_enabled: bool,
    pub created_at: i64,
}

/// What it takes to add an instance.
#[derive(Debug, Clone)]
pub struct NewInstance {
    pub project_id: ProjectId,
    pub name: String,
    pub engine: String,
    pub settings: serde_json::Value,
}

const COLUMNS: &str = "id, project_id, name, engine, settings, sync_enabled, created_at";

fn instance_from_row(row: &sqlx::any::AnyRow) -> Result<InstanceRecord, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(e.to_string());
    let id: String = row.try_get("id")?;
    let project_id: String = row.try_get("project_id")?;
    let settings: String = row.try_get("settings")?;
    Ok(InstanceRecord {
        id: InstanceId::parse(&id).map_err(|e| corrupt(&e))?,
        project_id: ProjectId::parse(&project_id).map_err(|e| corrupt(&e))?,
        name: row.try_get("name")?,
        engine: row.try_get("engine")?,
        settings: serde_json::from_str(&settings).map_err(|e| corrupt(&e))?,
        sync_enabled: row.try_get::<i64, _>("sync_enabled")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Adds an instance with a new id, together with the accounts it is born with (an embedded
    /// instance's built-in `root`), in one transaction.
    pub async fn create_instance(
        &self,
        new: &NewInstance,
        initial_accounts: &[NewStoredAccount],
    ) -> Result<InstanceRecord, StoreError> {
        let record = InstanceRecord {
            id: InstanceId::from_random(random_id_bytes()),
            project_id: new.project_id.clone(),
            name: new.name.clone(),
            engine: new.engine.clone(),
            settings: new.settings.clone(),
            sync_enabled: false,
            created_at: now_unix(),
        };
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO instances (id, project_id, name, engine, settings, sync_enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(record.id.as_str())
        .bind(record.project_id.as_str())
        .bind(&record.name)
        .bind(&record.engine)
        .bind(record.settings.to_string())
        .bind(record.created_at)
        .execute(&mut *tx)
        .await?;
        for account in initial_accounts {
            insert_account(&mut *tx, &record.id, account).await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    /// The instance `id` of project `project_id`; an instance of another project is not found.
    pub async fn instance(
        &self,
        project_id: &ProjectId,
        id: &InstanceId,
    ) -> Result<Option<InstanceRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM instances WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id.as_str())
        .bind(id.as_str())
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(instance_from_row)
        .transpose()
    }

    /// Instances of one project, or of all, ordered by project and id.
    pub async fn list_instances(
        &self,
        project_id: Option<&ProjectId>,
    ) -> Result<Vec<InstanceRecord>, StoreError> {
        let rows = match project_id {
            Some(p) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM instances WHERE project_id = $1 ORDER BY project_id, id"
                ))
                .bind(p.as_str())
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM instances ORDER BY project_id, id"
                ))
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter().map(instance_from_row).collect()
    }

    /// Replaces an instance's engine settings.
    pub async fn set_instance_settings(
        &self,
        id: &InstanceId,
        settings: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE instances SET settings = $1 WHERE id = $2")
            .bind(settings.to_string())
            .bind(id.as_str())
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("instance {id}")));
        }
        Ok(())
    }

    /// Records the instance's sync switch. Setting it to the value it has is harmless.
    pub async fn set_sync_enabled(&self, id: &InstanceId, enabled: bool) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE instances SET sync_enabled = $1, sync_changed_at = $2 WHERE id = $3",
        )
        .bind(enabled as i64)
        .bind(now_unix())
        .bind(id.as_str())
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("instance {id}")));
        }
        Ok(())
    }
}
