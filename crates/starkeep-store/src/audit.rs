//! The audit trail: who asked for which change, on which instance and account, when, and how it
//! ended. The API writes a row before it makes a change ([`Store::begin_audit`]) and adds the
//! outcome after ([`Store::finish_audit`]); rows never hold a password.

use sqlx::Row;

use crate::group_commit::{Param, Statement, Write};
use crate::{random_id_bytes, Store, StoreError};

/// One change request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub request_id: String,
    /// The IAM user who asked.
    pub actor: String,
    pub project_id: String,
    pub instance_id: String,
    /// `create_account`, `change_privileges`, `change_password`, `delete_account`,
    /// `start_sync` or `stop_sync`.
    pub action: String,
    /// The account, when the request named one.
    pub account: Option<String>,
    /// The HTTP status answered; 0 while the change is in flight, and for good if the process
    /// stopped before it answered (the change may or may not have been made).
    pub status: u16,
    /// The catalogue code, for a refused or failed request.
    pub error_code: Option<String>,
}

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub project_id: Option<String>,
    pub instance_id: Option<String>,
    pub limit: u32,
}

impl Store {
    /// Writes a whole event, outcome included.
    pub async fn record_audit(&self, e: &AuditEvent) -> Result<(), StoreError> {
        self.insert_audit(e.clone()).await.map(drop)
    }

    /// Writes the event of a change about to be made, its outcome not known yet (status 0);
    /// answers its id for [`Store::finish_audit`].
    pub async fn begin_audit(&self, e: &AuditEvent) -> Result<String, StoreError> {
        self.insert_audit(AuditEvent {
            status: 0,
            error_code: None,
            ..e.clone()
        })
        .await
    }

    /// Records how the change of event `id` ended.
    pub async fn finish_audit(
        &self,
        id: &str,
        status: u16,
        error_code: Option<&str>,
    ) -> Result<(), StoreError> {
        let write = Write::FinishAudit {
            id: id.to_owned(),
            status,
            error_code: error_code.map(str::to_owned),
        };
        if self.group_commit(write).await? == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("audit event {id}")))
        }
    }

    async fn insert_audit(&self, event: AuditEvent) -> Result<String, StoreError> {
        let id: String = random_id_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.group_commit(Write::InsertAudit {
            id: id.clone(),
            event,
        })
        .await?;
        Ok(id)
    }

    /// The newest events first; events of one millisecond in the order they were recorded (on
    /// PostgreSQL, two recorded at the same instant may share their number).
    pub async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT at_ms, request_id, actor, project_id, instance_id, action, account, status, \
             error_code FROM audit_events \
             WHERE (CAST($1 AS TEXT) IS NULL OR project_id = $1) \
             AND (CAST($2 AS TEXT) IS NULL OR instance_id = $2) \
             ORDER BY at_ms DESC, seq DESC LIMIT $3",
        )
        .bind(filter.project_id.as_deref())
        .bind(filter.instance_id.as_deref())
        .bind(i64::from(filter.limit.max(1)))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEvent {
                    at_ms: r.try_get("at_ms")?,
                    request_id: r.try_get("request_id")?,
                    actor: r.try_get("actor")?,
                    project_id: r.try_get("project_id")?,
                    instance_id: r.try_get("instance_id")?,
                    action: r.try_get("action")?,
                    account: r.try_get("account")?,
                    status: u16::try_from(r.try_get::<i64, _>("status")?).unwrap_or(0),
                    error_code: r.try_get("error_code")?,
                })
            })
            .collect()
    }
}

/// Writes event `e` as `id` ([`Store::begin_audit`], [`Store::record_audit`]); it takes the next
/// number in the order of events.
pub(crate) fn insert_statement<'q>(id: &'q str, e: &'q AuditEvent) -> Statement<'q> {
    Statement {
        sql: "INSERT INTO audit_events (id, at_ms, request_id, actor, project_id, instance_id, \
              action, account, status, error_code, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
              $9, $10, (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events))",
        params: vec![
            Param::Text(Some(id)),
            Param::Int(e.at_ms),
            Param::Text(Some(&e.request_id)),
            Param::Text(Some(&e.actor)),
            Param::Text(Some(&e.project_id)),
            Param::Text(Some(&e.instance_id)),
            Param::Text(Some(&e.action)),
            Param::Text(e.account.as_deref()),
            Param::Int(i64::from(e.status)),
            Param::Text(e.error_code.as_deref()),
        ],
    }
}

/// Sets the outcome of event `id` ([`Store::finish_audit`]).
pub(crate) fn finish_statement<'q>(
    id: &'q str,
    status: u16,
    error_code: Option<&'q str>,
) -> Statement<'q> {
    Statement {
        sql: "UPDATE audit_events SET status = $1, error_code = $2 WHERE id = $3",
        params: vec![
            Param::Int(i64::from(status)),
            Param::Text(error_code),
            Param::Text(Some(id)),
        ],
    }
}
