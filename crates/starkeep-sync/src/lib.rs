//! Account sync: mirroring the accounts of a TaurusDB source into a `mysql` or `starrocks`
//! instance, by read, diff and apply. This crate sits above the engines and owns all of it:
//!
//! - [`plan`](plan_with): the decision, a pure function from both sides' accounts, the names
//!   sync owns at the target and the target's databases to a [`Plan`] — what to create,
//!   re-password, re-grant or drop, what to skip and why, what clashes with an account starkeep
//!   did not make;
//! - [`AccountSync`]: one run — reading both sides through the engines'
//!   [`AccountMirror`](starkeep_engine::AccountMirror) surface, applying the plan, the books of
//!   ownership and applied hashes, the lease renewed while a run goes on, the record of the run
//!   — and the switch and status of an instance;
//! - [`Reconciler`]: the schedule of one replica (which instances it reconciles, and when);
//! - [`SyncReport`], [`RunReport`], [`SyncStatus`]: what a run did and what the API and the CLI
//!   show, (de)serialised here only; the counters in [`SYNC_RUNS`] and [`SYNC_ACCOUNTS`].
//!
//! The store keeps the state (ownership, leases, runs); the engines reach the servers.

mod metrics;
mod plan;
mod reconciler;
mod report;
mod run;

pub use metrics::{describe_sync_metrics, SYNC_ACCOUNTS, SYNC_RUNS};
pub use plan::{plan, plan_with, Action, Plan, SkipReason, TargetHashes};
pub use reconciler::{Reconciler, SyncSchedule};
pub use report::{AccountReason, LastRun, RunReport, SyncReport, SyncStatus};
pub use run::AccountSync;
pub use starkeep_engine::{MirrorAccount, NATIVE_PLUGIN};
