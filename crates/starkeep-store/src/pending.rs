//! Unfinished account creates on SQL engines (table `pending_creates`): written before a create
//! starts, removed when it ends, read by the repair loop for those that never ended. What an
//! unfinished create means for an account is the engine's business.
//!
//! Inside an audited change ([`crate::AuditedChange`]) the record is written in one commit with
//! the change's audit event, and removed in one commit with its outcome.

use starkeep_domain::InstanceId;

use crate::group_commit::{Param, Statement, Write};
use crate::{audit, now_millis, Store, StoreError};

/// A create that began and has not been seen to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCreate {
    pub attempt: String,
    pub instance_id: String,
    pub name: String,
    /// Unix milliseconds.
    pub started_at: i64,
}

impl Store {
    /// Records that a create of `name` is about to begin; `attempt` is unique to the call.
    /// Inside an audited change whose event is not in the store yet, the event commits with it.
    pub async fn begin_pending_create(
        &self,
        instance: &InstanceId,
        name: &str,
        attempt: &str,
    ) -> Result<(), StoreError> {
        let record = begin_statement(attempt, instance.as_str(), name, now_millis());
        audit::with_event_ahead(self, vec![record]).await?;
        Ok(())
    }

    /// Records that the create `attempt` has ended, whichever way. Inside an audited change
    /// whose event is in the store, the record goes with its outcome
    /// ([`crate::AuditedChange::finish`]) and this returns at once.
    pub async fn end_pending_create(&self, attempt: &str) -> Result<(), StoreError> {
        if let Some(statement) = audit::with_outcome(end_statement(attempt)) {
            self.group_commit(Write(vec![statement])).await?;
        }
        Ok(())
    }

    /// Whether [`Store::end_pending_create`] called now would leave the record to the outcome
    /// of this task's audited change, costing no commit of its own.
    pub fn pending_end_waits_for_outcome(&self) -> bool {
        audit::outcome_pending()
    }

    /// Creates that began before `before_ms` (Unix milliseconds) and have not ended, oldest
    /// first.
    pub async fn stale_pending_creates(
        &self,
        before_ms: i64,
    ) -> Result<Vec<PendingCreate>, StoreError> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT attempt, instance_id, name, started_at FROM pending_creates \
             WHERE started_at < $1 ORDER BY started_at",
        )
        .bind(before_ms)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(attempt, instance_id, name, started_at)| PendingCreate {
                attempt,
                instance_id,
                name,
                started_at,
            })
            .collect())
    }
}

/// Writes the record of a create about to begin ([`Store::begin_pending_create`]).
fn begin_statement(attempt: &str, instance_id: &str, name: &str, started_at: i64) -> Statement {
    Statement {
        sql: "INSERT INTO pending_creates (attempt, instance_id, name, started_at) \
              VALUES ($1, $2, $3, $4)",
        params: vec![
            Param::Text(Some(attempt.to_owned())),
            Param::Text(Some(instance_id.to_owned())),
            Param::Text(Some(name.to_owned())),
            Param::Int(started_at),
        ],
    }
}

/// Removes the record of a create that ended ([`Store::end_pending_create`]).
fn end_statement(attempt: &str) -> Statement {
    Statement {
        sql: "DELETE FROM pending_creates WHERE attempt = $1",
        params: vec![Param::Text(Some(attempt.to_owned()))],
    }
}
