//! The audit trail's recorder: for every change request that passed authentication, one
//! [`AuditEvent`] — who, which project and instance, which account, what, when, the request id
//! and the outcome (status and error code). The event is written before the change is made and
//! its outcome after, so no change happens unrecorded: a change whose event cannot be written is
//! refused (`DBS.200500`), and one that is cut off keeps its event with status 0.
//!
//! The account name is read from the query or the body's `user_name`; nothing else of the body
//! is kept, so a password never reaches the trail. Reads (GET) are not recorded.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;
use starkeep_store::{AuditEvent, WriteAhead};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};
use crate::middleware::REQUEST_ID;
use crate::AppState;

/// The only field of a body that the trail keeps.
#[derive(Deserialize)]
struct Named {
    #[serde(alias = "userName")]
    user_name: Option<serde_json::Value>,
    action: Option<serde_json::Value>,
}

/// What a change request is about.
fn action_of(method: &Method, path: &str, sync_action: Option<&str>) -> &'static str {
    match (method, path.rsplit('/').next().unwrap_or_default()) {
        (&Method::POST, "users") => "create_account",
        (&Method::DELETE, "users" | "user") => "delete_account",
        (_, "permission") => "change_privileges",
        (_, "password") => "change_password",
        (_, "sync") => match sync_action {
            Some("startSyncTaurusAccount") => "start_sync",
            Some("stopSyncTaurusAccount") => "stop_sync",
            _ => "sync",
        },
        _ => "other",
    }
}

/// Middleware (inside authentication): record each change request and its outcome.
pub async fn record_changes(
    State((app, body_limit)): State<(AppState, usize)>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return Ok(next.run(req).await);
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, body_limit)
        .await
        .map_err(|_| ApiError::new(ErrorCode::PayloadTooLarge))?;
    let named: Option<Named> = serde_json::from_slice(&bytes).ok();
    let query_name = parts.uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "user_name")
            .map(|(_, v)| v.into_owned())
    });
    let body_name = named
        .as_ref()
        .and_then(|n| n.user_name.as_ref())
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let sync_action = named
        .as_ref()
        .and_then(|n| n.action.as_ref())
        .and_then(|v| v.as_str());
    let path = parts.uri.path().to_owned();
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
        project_id: path.split('/').nth(2).unwrap_or_default().to_owned(),
        instance_id: path.split('/').nth(4).unwrap_or_default().to_owned(),
        action: action_of(&parts.method, &path, sync_action).to_owned(),
        account: query_name
            .or(body_name)
            .map(|n| n.chars().take(64).collect()),
        status: 0,
        error_code: None,
    };
    // A create writes ahead to the store before it touches a server (its pending record): the
    // event shares that commit.
    let ahead = if event.action == "create_account" {
        WriteAhead::WithChange
    } else {
        WriteAhead::Alone
    };
    let change = match app.store().begin_change(&event, ahead).await {
        Ok(change) => change,
        Err(e) => {
            tracing::error!(
                error = %e, request_id = %event.request_id,
                "could not record the audit event; the change is refused"
            );
            return Err(ApiError::new(ErrorCode::Internal));
        }
    };
    let response = change
        .scope(next.run(Request::from_parts(parts, Body::from(bytes))))
        .await;
    let status = response.status().as_u16();
    let code = response
        .extensions()
        .get::<ApiError>()
        .map(|e| e.code.code());
    if let Err(e) = change.finish(status, code).await {
        tracing::error!(
            error = %e, request_id = %event.request_id, status,
            "could not record the outcome of an audited change; its event stays at status 0"
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions() {
        let base = "/v3/p/instances/i/starrocks";
        assert_eq!(
            action_of(&Method::POST, &format!("{base}/users"), None),
            "create_account"
        );
        assert_eq!(
            action_of(&Method::DELETE, &format!("{base}/user"), None),
            "delete_account"
        );
        assert_eq!(
            action_of(&Method::PUT, &format!("{base}/users/permission"), None),
            "change_privileges"
        );
        assert_eq!(
            action_of(&Method::PUT, &format!("{base}/users/password"), None),
            "change_password"
        );
        assert_eq!(
            action_of(
                &Method::POST,
                &format!("{base}/users/sync"),
                Some("stopSyncTaurusAccount")
            ),
            "stop_sync"
        );
    }
}
