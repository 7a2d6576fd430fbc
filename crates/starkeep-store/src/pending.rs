//! Unfinished account creates on SQL engines (table `pending_creates`): written before a create
//! starts, removed when it ends, read by the repair loop for those that never ended. What an
//! unfinished create means for an account is the engine's business.

use starkeep_domain::InstanceId;

use crate::group_commit::{Param, Statement, Write};
use crate::{now_millis, Store, StoreError};

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
    pub async fn begin_pending_create(
        &self,
        instance: &InstanceId,
        name: &str,
        attempt: &str,
    ) -> Result<(), StoreError> {
        self.group_commit(Write::BeginPending {
            attempt: attempt.to_owned(),
            instance_id: instance.as_str().to_owned(),
            name: name.to_owned(),
            started_at: now_millis(),
        })
        .await?;
        Ok(())
    }

    /// Records that the create `attempt` has ended, whichever way.
    pub async fn end_pending_create(&self, attempt: &str) -> Result<(), StoreError> {
        self.group_commit(Write::EndPending {
            attempt: attempt.to_owned(),
        })
        .await?;
        Ok(())
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
pub(crate) fn begin_statement<'q>(
    attempt: &'q str,
    instance_id: &'q str,
    name: &'q str,
    started_at: i64,
) -> Statement<'q> {
    Statement {
        sql: "INSERT INTO pending_creates (attempt, instance_id, name, started_at) \
              VALUES ($1, $2, $3, $4)",
        params: vec![
            Param::Text(Some(attempt)),
            Param::Text(Some(instance_id)),
            Param::Text(Some(name)),
            Param::Int(started_at),
        ],
    }
}

/// Removes the record of a create that ended ([`Store::end_pending_create`]).
pub(crate) fn end_statement(attempt: &str) -> Statement<'_> {
    Statement {
        sql: "DELETE FROM pending_creates WHERE attempt = $1",
        params: vec![Param::Text(Some(attempt))],
    }
}
