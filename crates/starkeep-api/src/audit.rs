//! The audit trail's recorder: for every change request that passed authentication, one
//! [`AuditEvent`] — who, which project and instance, which account, what, when, the request id
//! and the outcome (status and error code). The event is written before the change is made and
//! its outcome after, so no change happens unrecorded: a change whose event cannot be written is
//! refused (`DBS.200500`), and one that is cut off keeps its event with status 0.
//!
//! Two parts share one [`AuditEntry`]:
//! - [`record_changes`], the route layer inside authentication: for a route whose declared
//!   [`Operation`] is audited, it prepares the event from the caller, the typed path parameters
//!   and the operation's [`AuditAction`], hands the entry to the handler and, once the handler
//!   has answered, writes the outcome;
//! - the handler, which reads the body as it must anyway and calls [`AuditEntry::begin`] with
//!   the account name it read, before it makes the change.
//!
//! A request refused before its handler began the event (a body that does not parse, a missing
//! name) made no change; its event is written whole after the answer. The recorder never reads
//! the body: only the name the handler gives it reaches the trail, so a password never does.
//! Reads are not recorded.

use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use starkeep_store::AuditEvent;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};
use crate::extract::ProjectScope;
use crate::middleware::REQUEST_ID;
use crate::operation::{AuditAction, Operation};
use crate::state::AppState;

/// Where the event of one change request stands.
#[derive(Debug)]
enum Progress {
    /// Prepared, not written: the handler has not begun the change.
    Prepared(AuditEvent),
    /// Written before the change, under this id.
    Begun(String),
    /// Could not be written; the change was refused.
    Refused,
}

/// The audit event of one change request, shared by the recorder layer and the handler.
#[derive(Clone)]
pub struct AuditEntry {
    app: AppState,
    progress: Arc<Mutex<Progress>>,
}

impl AuditEntry {
    /// Writes the event, naming `account`, before the change is made. `action` replaces the
    /// operation's own when the handler knows better (which way a sync switch goes). An error
    /// means the change must not be made.
    pub async fn begin(
        &self,
        account: Option<&str>,
        action: Option<AuditAction>,
    ) -> Result<(), ApiError> {
        let event = {
            let mut progress = self.progress.lock().expect("audit entry lock");
            let Progress::Prepared(event) = &mut *progress else {
                return Ok(());
            };
            event.account = account.map(|n| n.chars().take(64).collect());
            if let Some(action) = action {
                event.action = action.as_str().to_owned();
            }
            event.at_ms = starkeep_store::now_millis();
            event.clone()
        };
        let next = match self.app.store().begin_audit(&event).await {
            Ok(id) => Progress::Begun(id),
            Err(e) => {
                tracing::error!(
                    error = %e, request_id = %event.request_id,
                    "could not record the audit event; the change is refused"
                );
                Progress::Refused
            }
        };
        let refused = matches!(next, Progress::Refused);
        *self.progress.lock().expect("audit entry lock") = next;
        if refused {
            Err(ApiError::new(ErrorCode::Internal))
        } else {
            Ok(())
        }
    }

    /// Writes the outcome: onto the begun event, or the whole event when none was begun.
    async fn finish(&self, status: u16, code: Option<&str>) {
        let progress = std::mem::replace(
            &mut *self.progress.lock().expect("audit entry lock"),
            Progress::Refused,
        );
        let (result, request_id) = match progress {
            Progress::Refused => return,
            Progress::Begun(id) => (self.app.store().finish_audit(&id, status, code).await, id),
            Progress::Prepared(event) => {
                let event = AuditEvent {
                    status,
                    error_code: code.map(str::to_owned),
                    ..event
                };
                let request_id = event.request_id.clone();
                (self.app.store().record_audit(&event).await, request_id)
            }
        };
        if let Err(e) = result {
            tracing::error!(
                error = %e, %request_id, status,
                "could not record the outcome of an audited change; its event stays at status 0"
            );
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuditEntry {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Self>().cloned().ok_or_else(|| {
            tracing::error!("an audited handler runs without the audit recorder in front");
            ApiError::new(ErrorCode::Internal)
        })
    }
}

/// Middleware (inside authentication): prepare the event of each audited operation, give it to
/// the handler, and record the outcome.
pub async fn record_changes(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let action = req
        .extensions()
        .get::<Operation>()
        .and_then(|op| op.audit());
    let Some(action) = action else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    let scope = ProjectScope::of(&mut parts).await;
    let event = AuditEvent {
        at_ms: starkeep_store::now_millis(),
        request_id: parts
            .headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        actor: parts
            .extensions
            .get::<Caller>()
            .map(|c| c.user_name.clone())
            .unwrap_or_default(),
        project_id: scope.project_id,
        instance_id: scope.instance_id,
        action: action.as_str().to_owned(),
        account: None,
        status: 0,
        error_code: None,
    };
    let entry = AuditEntry {
        app,
        progress: Arc::new(Mutex::new(Progress::Prepared(event))),
    };
    parts.extensions.insert(entry.clone());
    let response = next.run(Request::from_parts(parts, body)).await;
    let code = response
        .extensions()
        .get::<ApiError>()
        .map(|e| e.code.code());
    entry.finish(response.status().as_u16(), code).await;
    response
}
