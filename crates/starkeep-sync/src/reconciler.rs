//! [`Reconciler`]: the account-sync schedule of one replica — which instances it reconciles and
//! when. What one run does lives in [`crate::AccountSync`]; leases and due times live in the store.
//!
//! # Timing
//!
//! Everything follows from the interval `I` ([`SyncSchedule::interval`], `--sync-interval-secs`):
//!
//! - Every replica checks every `I/4` ([`SyncSchedule::check_every`]), and sooner when a run it
//!   holds falls due before that.
//! - A replica reconciles an instance only while it holds the instance's lease. The lease lasts
//!   `I/2` ([`SyncSchedule::lease`]) and is renewed at every check, and every `I/4` while a run
//!   goes on; a replica keeps the instances it holds until it stops or dies.
//! - A run is claimed in the store by moving the instance's due time to `now + I`. The due time
//!   stays with the instance when the lease changes hands, so an instance is reconciled once per
//!   interval, whichever replica holds it. Switching sync on makes the first run due at once.
//! - All these times are the store's clock; the replicas' own clocks play no part.
//!
//! Hence the takeover bound. Say the holder dies at `D`. It renewed its lease at or before `D`,
//! so the lease has expired by `D + I/2`; every other replica checks every `I/4`, so one of them
//! holds the lease by `D + 3I/4`. The dead holder's last claimed run began at or before `D`, so
//! the next is due by `D + I`, and the new holder, which sleeps exactly until a held run is due,
//! starts it then: **the instance is reconciled again within one interval of its holder's
//! death** (plus the store's latency). A replica that stops cleanly expires its leases at once.
//!
//! # Counters
//!
//! Every run is counted (the `metrics` facade; `serve` exports them at `GET /metrics`):
//! [`SYNC_RUNS`](crate::SYNC_RUNS) by outcome, and [`SYNC_ACCOUNTS`](crate::SYNC_ACCOUNTS) by
//! result, summed over runs.
//!
//! A replica cut off from the store for longer than the lease notices when it next renews (within
//! `I/4`) and abandons its run; in that window two runs may overlap: a write that clashes fails
//! for its account and the next run converges (a reconcile reads before it writes).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use starkeep_domain::InstanceId;

use starkeep_engine::{EngineError, Instances};

use crate::AccountSync;

/// How often the reconciler runs, and the lease and check period that follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncSchedule {
    /// Each switched-on instance is reconciled once per interval.
    pub interval: Duration,
}

impl SyncSchedule {
    /// How long a lease lasts without renewal: half the interval.
    pub fn lease(&self) -> Duration {
        self.interval / 2
    }

    /// How often a replica renews its leases and looks for due or orphaned instances: a quarter
    /// of the interval.
    pub fn check_every(&self) -> Duration {
        self.interval / 4
    }
}

/// One replica's reconciler; `serve` runs [`Reconciler::run`] on every replica.
#[derive(Debug, Clone)]
pub struct Reconciler {
    sync: AccountSync,
    holder: String,
    schedule: SyncSchedule,
    /// Instances this process is reconciling now (their runs renew their own leases).
    running: Arc<Mutex<HashSet<InstanceId>>>,
    /// Instances whose lease this process held at its last check, to log changes of hands.
    held: Arc<Mutex<HashSet<InstanceId>>>,
}

impl Reconciler {
    /// A reconciler whose leases carry the name `holder` (unique per process).
    pub fn new(instances: Instances, holder: String, schedule: SyncSchedule) -> Self {
        Self {
            sync: AccountSync::new(instances),
            holder,
            schedule,
            running: Arc::default(),
            held: Arc::default(),
        }
    }

    /// The name this replica's leases and runs carry.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Checks now and then again and again, forever.
    pub async fn run(self) {
        loop {
            let wait = match self.check().await {
                Ok(wait) => wait,
                Err(e) => {
                    tracing::warn!(error = %e, "account sync check failed");
                    self.schedule.check_every()
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// One check: takes or renews the lease of every switched-on instance it can, starts (in the
    /// background) the runs that are due on the instances it holds, and answers how long to wait
    /// before the next check.
    pub async fn check(&self) -> Result<Duration, EngineError> {
        let store = self.sync.store();
        let lease_ms = millis(self.schedule.lease());
        let interval_ms = millis(self.schedule.interval);
        let mut wait = self.schedule.check_every();
        let mut held = HashSet::new();
        let mut due = Vec::new();
        for id in store.sync_enabled_instances().await? {
            if self.is_running(&id) {
                held.insert(id);
                continue;
            }
            let Some(lease) = store.take_sync_lease(&id, &self.holder, lease_ms).await? else {
                continue;
            };
            held.insert(id.clone());
            let until_due = lease.next_run_at - lease.now_ms;
            if until_due > 0 {
                wait = wait.min(Duration::from_millis(until_due.unsigned_abs()));
            } else if store.claim_sync_run(&id, &self.holder, interval_ms).await? {
                due.push(id);
            }
        }
        self.note_changes_of_hands(&held);
        if !due.is_empty() {
            let records = store.list_instances(None).await?;
            for id in due {
                if let Some(record) = records.iter().find(|r| r.id == id).cloned() {
                    self.start_run(record);
                }
            }
        }
        Ok(wait)
    }

    /// Expires every lease this replica holds, so others take its instances over at their next
    /// check instead of after the lease runs out (a clean stop).
    pub async fn step_down(&self) -> Result<u64, EngineError> {
        Ok(self.sync.store().expire_sync_leases(&self.holder).await?)
    }

    fn is_running(&self, id: &InstanceId) -> bool {
        self.running.lock().expect("running set").contains(id)
    }

    fn start_run(&self, record: starkeep_store::InstanceRecord) {
        let id = record.id.clone();
        self.running.lock().expect("running set").insert(id.clone());
        let running = RunningGuard {
            running: self.running.clone(),
            id,
        };
        let sync = self.sync.clone();
        let holder = self.holder.clone();
        let lease = self.schedule.lease();
        tokio::spawn(async move {
            let _running = running;
            if let Err(e) = sync.run_held(record, &holder, lease).await {
                tracing::warn!(error = %e, "could not record an account sync run");
            }
        });
    }

    fn note_changes_of_hands(&self, now_held: &HashSet<InstanceId>) {
        let mut held = self.held.lock().expect("held set");
        for id in now_held.difference(&held) {
            tracing::info!(instance = %id, holder = %self.holder, "took the account sync lease");
        }
        for id in held.difference(now_held) {
            tracing::info!(instance = %id, holder = %self.holder, "no longer holds the account sync lease");
        }
        *held = now_held.clone();
    }
}

/// Takes an instance off the running set when its run ends, however it ends.
struct RunningGuard {
    running: Arc<Mutex<HashSet<InstanceId>>>,
    id: InstanceId,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        if let Ok(mut running) = self.running.lock() {
            running.remove(&self.id);
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
