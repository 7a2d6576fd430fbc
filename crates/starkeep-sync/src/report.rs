//! What account sync tells: [`SyncReport`], what one run did; [`RunReport`], a run's report as
//! it is kept (finished, or failed with its error); [`SyncStatus`], an instance's switch and last
//! run as the API and the CLI show it. The stored form of a report is this module's alone:
//! [`RunReport::to_stored`] writes it and [`RunReport::from_stored`] reads it.

use serde::{Deserialize, Serialize};
use starkeep_engine::EngineConfig;
use starkeep_store::{InstanceRecord, Store, StoreError};

/// An account that was not mirrored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountReason {
    pub name: String,
    pub reason: String,
}

/// What one reconcile did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub created: u64,
    pub updated: u64,
    pub dropped: u64,
    pub unchanged: u64,
    /// Write statements issued at the target (zero when nothing changed at the source).
    pub writes: u64,
    pub skipped: Vec<AccountReason>,
    /// Source accounts whose name is taken at the target by an account starkeep did not make.
    pub conflicts: Vec<AccountReason>,
    /// Accounts whose writes failed this time (the next run tries again).
    pub failed: Vec<AccountReason>,
}

impl SyncReport {
    /// `ok` when every planned write went through, `partial` otherwise.
    pub fn outcome(&self) -> &'static str {
        if self.failed.is_empty() {
            "ok"
        } else {
            "partial"
        }
    }
}

/// A run's report as kept with the run: the counts and reasons of a finished run, or the error
/// that failed it. Written as the report itself, or as `{"error": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RunReport {
    Failed { error: String },
    Finished(SyncReport),
}

impl RunReport {
    /// The stored form.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).expect("a report serialises")
    }

    /// A stored report; `None` if it does not read (it is then shown as absent).
    pub fn from_stored(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// An instance's last run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastRun {
    /// Unix seconds.
    pub started_at: i64,
    pub duration_ms: i64,
    /// `ok`, `partial` or `failed`.
    pub outcome: String,
    /// The replica that made the run (its lease holder name).
    pub holder: String,
    pub report: Option<RunReport>,
}

/// An instance's sync switch, whether it names a source, and its last run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub sync_enabled: bool,
    pub has_source: bool,
    pub last_run: Option<LastRun>,
}

impl SyncStatus {
    /// The status of `record`, with its last run read from `store`.
    pub async fn of(store: &Store, record: &InstanceRecord) -> Result<Self, StoreError> {
        let run = store.last_sync_run(&record.id).await?;
        Ok(Self {
            sync_enabled: record.sync_enabled,
            has_source: EngineConfig::of(record).is_ok_and(|c| c.has_sync_source()),
            last_run: run.map(|run| LastRun {
                started_at: run.started_at,
                duration_ms: run.duration_ms,
                outcome: run.outcome,
                holder: run.holder,
                report: RunReport::from_stored(&run.report),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_partial_when_an_account_failed() {
        let report = SyncReport {
            failed: vec![AccountReason {
                name: "x".into(),
                reason: "r".into(),
            }],
            ..SyncReport::default()
        };
        assert_eq!(report.outcome(), "partial");
        assert_eq!(SyncReport::default().outcome(), "ok");
    }

    #[test]
    fn stored_reports_read_back_in_both_forms() {
        let finished = RunReport::Finished(SyncReport {
            created: 2,
            writes: 5,
            conflicts: vec![AccountReason {
                name: "clash".into(),
                reason: "taken".into(),
            }],
            ..SyncReport::default()
        });
        let stored = finished.to_stored();
        let value: serde_json::Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(value["created"], 2);
        assert_eq!(value["conflicts"][0]["name"], "clash");
        assert_eq!(RunReport::from_stored(&stored), Some(finished));
        let failed = RunReport::Failed {
            error: "backend unavailable".into(),
        };
        assert_eq!(failed.to_stored(), r#"{"error":"backend unavailable"}"#);
        assert_eq!(RunReport::from_stored(&failed.to_stored()), Some(failed));
        assert_eq!(RunReport::from_stored("not json"), None);
    }
}
