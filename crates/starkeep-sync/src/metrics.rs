//! The account-sync counters, kept through the `metrics` facade (`serve` exports them at
//! `GET /metrics`): [`SYNC_RUNS`] by outcome and [`SYNC_ACCOUNTS`] by result.

use crate::SyncReport;

/// Account-sync runs, by `outcome`: `ok`, `partial`, `failed` or `abandoned` (lease lost).
pub const SYNC_RUNS: &str = "starkeep_sync_runs_total";
/// Accounts the runs reported, by `result`: `created`, `updated`, `dropped`, `unchanged`,
/// `skipped`, `conflicts`, `failed`; summed over runs.
pub const SYNC_ACCOUNTS: &str = "starkeep_sync_accounts_total";

/// Gives the sync counters their help texts in whatever recorder is installed.
pub fn describe_sync_metrics() {
    metrics::describe_counter!(SYNC_RUNS, "Account-sync runs by outcome");
    metrics::describe_counter!(
        SYNC_ACCOUNTS,
        "Accounts per account-sync run by result, summed over runs"
    );
}

/// Counts one run: its outcome, and its report's accounts when it finished.
pub(crate) fn count_run(outcome: &str, report: Option<&SyncReport>) {
    metrics::counter!(SYNC_RUNS, "outcome" => outcome.to_owned()).increment(1);
    let Some(report) = report else {
        return;
    };
    let len = |list: &Vec<_>| u64::try_from(list.len()).unwrap_or(u64::MAX);
    for (result, count) in [
        ("created", report.created),
        ("updated", report.updated),
        ("dropped", report.dropped),
        ("unchanged", report.unchanged),
        ("skipped", len(&report.skipped)),
        ("conflicts", len(&report.conflicts)),
        ("failed", len(&report.failed)),
    ] {
        metrics::counter!(SYNC_ACCOUNTS, "result" => result).increment(count);
    }
}
