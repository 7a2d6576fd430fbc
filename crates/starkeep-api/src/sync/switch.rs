//! `POST …/starrocks/users/sync`: turn the mirroring of TaurusDB accounts into StarRocks on or
//! off. The switch is recorded per instance; starting when started and stopping when stopped are
//! harmless.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use starkeep_domain::InvalidInput;
use starkeep_sync::AccountSync;
use utoipa::ToSchema;

use crate::audit::AuditEntry;
use crate::error::ApiError;
use crate::extract::{ApiJson, InstancePath};
use crate::operation::AuditAction;
use crate::state::AppState;

/// The request body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SyncBody {
    /// `startSyncTaurusAccount` or `stopSyncTaurusAccount`.
    #[schema(
        example = "startSyncTaurusAccount",
        required = true,
        nullable = false,
        pattern = "^(startSyncTaurusAccount|stopSyncTaurusAccount)$"
    )]
    pub action: Option<String>,
}

/// The answer: `{"success": true}`, a JSON boolean.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncResponse {
    pub success: bool,
}

/// What the switch should be set to.
fn requested_state(body: SyncBody) -> Result<bool, InvalidInput> {
    match body.action.as_deref() {
        Some("startSyncTaurusAccount") => Ok(true),
        Some("stopSyncTaurusAccount") => Ok(false),
        Some(other) => Err(InvalidInput::UnknownAction {
            action: other.chars().take(64).collect(),
        }),
        None => Err(InvalidInput::Missing { field: "action" }),
    }
}

/// Start or stop syncing TaurusDB accounts into the StarRocks instance.
#[utoipa::path(
    post,
    path = "/v3/{project_id}/instances/{instance_id}/starrocks/users/sync",
    tag = "sync",
    operation_id = "SyncStarRocksUsers",
    params(crate::openapi::ProjectParam, crate::openapi::InstanceParam, crate::openapi::LanguageHeader),
    request_body = SyncBody,
    responses(
        (status = 200, description = "The switch is set", body = SyncResponse),
        crate::openapi::ErrorResponses,
    ),
    security(("token" = []))
)]
pub async fn set_sync(
    State(app): State<AppState>,
    path: InstancePath,
    audit: AuditEntry,
    ApiJson(body): ApiJson<SyncBody>,
) -> Result<Json<SyncResponse>, ApiError> {
    let enabled = requested_state(body)?;
    let action = if enabled {
        AuditAction::StartSync
    } else {
        AuditAction::StopSync
    };
    audit.begin(None, Some(action)).await?;
    AccountSync::new(app.instances().clone())
        .set_sync(&path.project, &path.instance, enabled)
        .await?;
    Ok(Json(SyncResponse { success: true }))
}
