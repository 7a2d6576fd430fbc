//! `GET …/starrocks/users/sync` (an extension; the cloud API has no such call): the sync switch
//! and the last reconcile of the instance, with its counts and per-account reasons.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use starkeep_sync::{AccountSync, RunReport};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::InstancePath;
use crate::state::AppState;

/// The last reconcile.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncRunBody {
    /// Unix seconds.
    pub started_at: i64,
    pub duration_ms: i64,
    /// `ok`, `partial` or `failed`.
    pub outcome: String,
    /// The replica that made the run: its lease holder name, `starkeep-<pid>-<random>`.
    pub holder: String,
    /// Counts (created, updated, dropped, unchanged, writes) and the skipped, conflicting and
    /// failed accounts with their reasons; `{"error": ...}` for a failed run.
    #[schema(value_type = Object)]
    pub report: Option<RunReport>,
}

/// The answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncStatusResponse {
    pub sync_enabled: bool,
    /// Whether the instance names a TaurusDB source.
    pub has_source: bool,
    pub last_run: Option<SyncRunBody>,
}

/// The sync switch and the last reconcile of the instance.
#[utoipa::path(
    get,
    path = "/v3/{project_id}/instances/{instance_id}/starrocks/users/sync",
    tag = "sync",
    operation_id = "ShowStarRocksUsersSync",
    params(crate::openapi::ProjectParam, crate::openapi::InstanceParam, crate::openapi::LanguageHeader),
    responses(
        (status = 200, description = "The switch and the last run", body = SyncStatusResponse),
        crate::openapi::ErrorResponses,
    ),
    security(("token" = []))
)]
pub async fn sync_status(
    State(app): State<AppState>,
    path: InstancePath,
) -> Result<Json<SyncStatusResponse>, ApiError> {
    let status = AccountSync::new(app.instances().clone())
        .status(&path.project, &path.instance)
        .await?;
    Ok(Json(SyncStatusResponse {
        sync_enabled: status.sync_enabled,
        has_source: status.has_source,
        last_run: status.last_run.map(|run| SyncRunBody {
            started_at: run.started_at,
            duration_ms: run.duration_ms,
            outcome: run.outcome,
            holder: run.holder,
            report: run.report,
        }),
    }))
}
