//! The audit trail: who asked for which change, on which instance and account, when, and how it
//! ended; rows never hold a password.
//!
//! An event is in the store before its change is made, and its outcome after. An
//! [`AuditedChange`] carries a request's event through its change: written at once
//! ([`WriteAhead::Alone`]), or ([`WriteAhead::WithChange`]) in the same commit as the change's own
//! first write to the store, which every path of such a change makes before it touches a server
//! (the pending record of an account create, [`crate::pending`]; the account row of an embedded
//! instance, or the event alone just before it). Its outcome then commits with what the change
//! left to commit after it (clearing that pending record): two commits per change.
//!
//! The change runs inside [`AuditedChange::scope`]; the store's writes made in that task find
//! it there. Writes made elsewhere (the repair loop, account sync) commit as they always do.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use sqlx::Row;

use crate::group_commit::{Param, Statement, Write};
use crate::{random_id_bytes, Store, StoreError};

tokio::task_local! {
    /// The audited change the current task is making, if any.
    static CHANGE: Arc<AuditedChange>;
}

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

/// When the event of an [`AuditedChange`] is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteAhead {
    /// At once, by itself, before the change starts.
    Alone,
    /// With the change's first write to the store. Only for changes whose every path writes to
    /// the store before it changes anything elsewhere (account creates); a change that ends
    /// before writing anything has its event written whole with its outcome.
    WithChange,
}

/// A change request's audit event, from before its change to its outcome.
#[derive(Debug)]
pub struct AuditedChange {
    store: Store,
    state: Mutex<ChangeState>,
}

#[derive(Debug)]
struct ChangeState {
    event: AuditEvent,
    /// The event's id once it is in the store.
    written: Option<String>,
    /// What the change left to commit with its outcome.
    with_outcome: Vec<Statement>,
}

impl AuditedChange {
    /// Runs `change` (the request's handling) as this audited change.
    pub async fn scope<F: Future>(self: &Arc<Self>, change: F) -> F::Output {
        CHANGE.scope(Arc::clone(self), change).await
    }

    /// The change is about to be made: its event, completed by `complete` and with status 0,
    /// is written as `ahead` says. With [`WriteAhead::Alone`], an event that cannot be written
    /// is an error here, and the change must not be made.
    pub async fn begin(
        &self,
        complete: impl FnOnce(&mut AuditEvent),
        ahead: WriteAhead,
    ) -> Result<(), StoreError> {
        let event = {
            let mut state = self.state();
            complete(&mut state.event);
            state.event.status = 0;
            state.event.error_code = None;
            state.event.clone()
        };
        if ahead == WriteAhead::Alone {
            let id = self.store.insert_audit(event).await?;
            self.state().written = Some(id);
        }
        Ok(())
    }

    /// Records how the change ended, in one commit with what it left to commit after it; an
    /// event not written yet is written whole.
    pub async fn finish(&self, status: u16, error_code: Option<&str>) -> Result<(), StoreError> {
        let (written, event, with_outcome) = {
            let mut state = self.state();
            let with_outcome = std::mem::take(&mut state.with_outcome);
            (state.written.clone(), state.event.clone(), with_outcome)
        };
        let first = match &written {
            Some(id) => finish_statement(id, status, error_code),
            None => insert_statement(
                &new_event_id(),
                &AuditEvent {
                    status,
                    error_code: error_code.map(str::to_owned),
                    ..event
                },
            ),
        };
        let statements = std::iter::once(first).chain(with_outcome).collect();
        let rows = self.store.group_commit(Write(statements)).await?;
        match (written, rows.first()) {
            (Some(id), Some(0)) => Err(StoreError::NotFound(format!("audit event {id}"))),
            _ => Ok(()),
        }
    }

    fn state(&self) -> MutexGuard<'_, ChangeState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The audited change the current task is making, if any.
    fn current() -> Option<Arc<Self>> {
        CHANGE.try_with(Arc::clone).ok()
    }
}

/// Commits `statements` (a change's write ahead of touching a server) with the event of the
/// audited change this task makes, if that is not in the store yet: the event goes first, in
/// the same commit. Answers the rows of `statements`.
pub(crate) async fn with_event_ahead(
    store: &Store,
    statements: Vec<Statement>,
) -> Result<Vec<u64>, StoreError> {
    let change = AuditedChange::current();
    let ahead = change.as_ref().and_then(|change| {
        let state = change.state();
        state
            .written
            .is_none()
            .then(|| (new_event_id(), state.event.clone()))
    });
    let Some((id, event)) = ahead else {
        if statements.is_empty() {
            return Ok(Vec::new());
        }
        return store.group_commit(Write(statements)).await;
    };
    let write = std::iter::once(insert_statement(&id, &event))
        .chain(statements)
        .collect();
    let mut rows = store.group_commit(Write(write)).await?;
    if let Some(change) = change {
        change.state().written = Some(id);
    }
    rows.remove(0);
    Ok(rows)
}

/// Leaves `statement` to commit with the outcome of the audited change this task makes, if its
/// event is in the store; answers it back otherwise.
pub(crate) fn with_outcome(statement: Statement) -> Option<Statement> {
    let Some(change) = AuditedChange::current() else {
        return Some(statement);
    };
    let mut state = change.state();
    if state.written.is_none() {
        return Some(statement);
    }
    state.with_outcome.push(statement);
    None
}

/// Whether a write left with [`with_outcome`] now would wait for the outcome of this task's
/// audited change.
pub(crate) fn outcome_pending() -> bool {
    AuditedChange::current().is_some_and(|change| change.state().written.is_some())
}

impl Store {
    /// The audit of a change request, its event prepared but not written: the change runs
    /// inside [`AuditedChange::scope`], calls [`AuditedChange::begin`] before it changes
    /// anything, and the request ends with [`AuditedChange::finish`].
    pub fn prepare_change(&self, event: AuditEvent) -> Arc<AuditedChange> {
        Arc::new(AuditedChange {
            store: self.clone(),
            state: Mutex::new(ChangeState {
                event,
                written: None,
                with_outcome: Vec::new(),
            }),
        })
    }

    /// Writes the event of the audited change this task makes now, alone, if it is not in the
    /// store yet: for a change about to write somewhere the event cannot share a commit with.
    pub(crate) async fn write_event_ahead(&self) -> Result<(), StoreError> {
        with_event_ahead(self, Vec::new()).await.map(drop)
    }

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
        let rows = self
            .group_commit(Write(vec![finish_statement(id, status, error_code)]))
            .await?;
        if rows.first() == Some(&1) {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("audit event {id}")))
        }
    }

    async fn insert_audit(&self, event: AuditEvent) -> Result<String, StoreError> {
        let id = new_event_id();
        self.group_commit(Write(vec![insert_statement(&id, &event)]))
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

/// A new event's id: 32 hex digits.
fn new_event_id() -> String {
    random_id_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes event `e` as `id`; it takes the next number in the order of events.
pub(crate) fn insert_statement(id: &str, e: &AuditEvent) -> Statement {
    Statement {
        sql: "INSERT INTO audit_events (id, at_ms, request_id, actor, project_id, instance_id, \
              action, account, status, error_code, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
              $9, $10, (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events))",
        params: vec![
            Param::Text(Some(id.to_owned())),
            Param::Int(e.at_ms),
            Param::Text(Some(e.request_id.clone())),
            Param::Text(Some(e.actor.clone())),
            Param::Text(Some(e.project_id.clone())),
            Param::Text(Some(e.instance_id.clone())),
            Param::Text(Some(e.action.clone())),
            Param::Text(e.account.clone()),
            Param::Int(i64::from(e.status)),
            Param::Text(e.error_code.clone()),
        ],
    }
}

/// Sets the outcome of event `id`.
fn finish_statement(id: &str, status: u16, error_code: Option<&str>) -> Statement {
    Statement {
        sql: "UPDATE audit_events SET status = $1, error_code = $2 WHERE id = $3",
        params: vec![
            Param::Int(i64::from(status)),
            Param::Text(error_code.map(str::to_owned)),
            Param::Text(Some(id.to_owned())),
        ],
    }
}
