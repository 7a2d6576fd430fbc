//! [`AccountSync`]: one reconcile of an instance from its TaurusDB source — read both sides
//! through the engines' [`AccountMirror`] surface, [`plan`](crate::plan_with) the difference,
//! apply it, and keep the books (which target accounts sync made, and the hash it applied where
//! the target does not show hashes) — and the runs around it: a run under a lease, recorded with
//! its report and counted; the switch; the status.
//!
//! Ownership is remembered in the store: a name is marked pending before its `CREATE USER` and
//! owned once the account is there, so a reconcile cut short (a killed process) leaves a name
//! the next run recognises as its own and finishes; an account starkeep did not make is never
//! changed or dropped. The hash applied to an owned account on a target that does not show
//! hashes is kept sealed with the store's key. When runs happen is [`crate::Reconciler`]'s.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use starkeep_auth::SecretBox;
use starkeep_domain::{InstanceId, NativePasswordHash, ProjectId};
use starkeep_engine::{
    AccountMirror, EngineError, Instances, MirrorAccount, MirrorPair, MirrorRead, MirrorSide,
};
use starkeep_store::{InstanceRecord, Store};

use crate::metrics::count_run;
use crate::plan::{plan_with, Action, Plan, TargetHashes};
use crate::report::{AccountReason, RunReport, SyncReport, SyncStatus};

/// Account sync over the instances of one directory.
#[derive(Debug, Clone)]
pub struct AccountSync {
    instances: Instances,
}

/// One instance's two sides and the books kept for it.
struct Books<'a> {
    store: &'a Store,
    secrets: &'a SecretBox,
    instance: &'a InstanceId,
    target: &'a dyn AccountMirror,
}

impl AccountSync {
    /// Sync over the instances `instances` serves (which must hold the store's secret key).
    pub fn new(instances: Instances) -> Self {
        Self { instances }
    }

    /// The store the runs are kept in.
    pub fn store(&self) -> &Store {
        self.instances.store()
    }

    /// One reconcile of `record` from its source: read both, plan, apply. A failure to read
    /// either side fails the run; a failed write fails only its account. Nothing is recorded
    /// about the run itself ([`AccountSync::run_held`] does that).
    pub async fn reconcile(&self, record: InstanceRecord) -> Result<SyncReport, EngineError> {
        let MirrorPair { target, source } = self.instances.mirror_pair(record.clone())?;
        // The pair was built, so the directory holds the key; without it nothing reaches here.
        let secrets = self.instances.secrets().ok_or_else(|| {
            EngineError::EngineNotAvailable("account sync (this process has no secret key)".into())
        })?;
        let books = Books {
            store: self.instances.store(),
            secrets,
            instance: &record.id,
            target: target.as_ref(),
        };
        books.reconcile(source.as_ref()).await
    }

    /// One reconcile of `record`, whose lease `holder` has: the lease is renewed every half
    /// `lease` while the run goes on, and the run is abandoned if the lease is lost. A finished
    /// run is recorded with its holder; answers its outcome (`ok`, `partial` or `failed`), or
    /// `None` if it was abandoned.
    pub async fn run_held(
        &self,
        record: InstanceRecord,
        holder: &str,
        lease: Duration,
    ) -> Result<Option<String>, EngineError> {
        let store = self.store();
        let id = record.id.clone();
        let ttl_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let started_at = starkeep_store::now_unix();
        let clock = Instant::now();
        let run = self.reconcile(record);
        let renew = async {
            loop {
                tokio::time::sleep(lease / 2).await;
                match store.take_sync_lease(&id, holder, ttl_ms).await {
                    Ok(Some(_)) => {}
                    Ok(None) => return,
                    Err(e) => {
                        tracing::warn!(instance = %id, error = %e, "could not renew the sync lease")
                    }
                }
            }
        };
        let outcome = tokio::select! {
            outcome = run => Some(outcome),
            () = renew => None,
        };
        let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (outcome, report) = match outcome {
            None => {
                tracing::warn!(instance = %id, "sync lease lost to another process; run abandoned");
                count_run("abandoned", None);
                return Ok(None);
            }
            Some(Ok(report)) => {
                count_run(report.outcome(), Some(&report));
                tracing::info!(
                    instance = %id, holder, created = report.created, updated = report.updated,
                    dropped = report.dropped, unchanged = report.unchanged,
                    skipped = report.skipped.len(), conflicts = report.conflicts.len(),
                    failed = report.failed.len(), writes = report.writes, duration_ms,
                    "account sync run"
                );
                (report.outcome().to_owned(), RunReport::Finished(report))
            }
            Some(Err(e)) => {
                tracing::warn!(instance = %id, holder, error = %e, duration_ms, "account sync run failed");
                count_run("failed", None);
                (
                    "failed".to_owned(),
                    RunReport::Failed {
                        error: e.to_string(),
                    },
                )
            }
        };
        store
            .record_sync_run(
                &id,
                &starkeep_store::SyncRun {
                    started_at,
                    duration_ms,
                    outcome: outcome.clone(),
                    report: report.to_stored(),
                    holder: holder.to_owned(),
                },
            )
            .await?;
        Ok(Some(outcome))
    }

    /// The sync switch and last run of instance `id` of `project`.
    pub async fn status(
        &self,
        project: &ProjectId,
        id: &InstanceId,
    ) -> Result<SyncStatus, EngineError> {
        let record = self.instances.find(project, id).await?;
        Ok(SyncStatus::of(self.store(), &record).await?)
    }

    /// Records the instance's sync switch; the reconciler ([`crate::Reconciler`]) does the
    /// mirroring. Starting needs a TaurusDB source that answers
    /// ([`EngineError::NoSyncSource`], [`EngineError::SyncSourceUnavailable`] otherwise, and
    /// nothing changes); stopping leaves the mirrored accounts in place.
    pub async fn set_sync(
        &self,
        project: &ProjectId,
        id: &InstanceId,
        enabled: bool,
    ) -> Result<(), EngineError> {
        let record = self.instances.find(project, id).await?;
        if enabled {
            let MirrorPair { source, .. } = self.instances.mirror_pair(record.clone())?;
            source.ping().await.map_err(|e| match e {
                EngineError::Store(e) => EngineError::Store(e),
                other => EngineError::SyncSourceUnavailable(other.to_string()),
            })?;
        }
        let store = self.store();
        store.set_sync_enabled(&record.id, enabled).await?;
        if enabled && !record.sync_enabled {
            // Switched on: the first run is due at once, not an interval after the last one.
            store.make_sync_due(&record.id).await?;
        }
        Ok(())
    }
}

impl Books<'_> {
    async fn reconcile(&self, source: &dyn AccountMirror) -> Result<SyncReport, EngineError> {
        // Two servers: read side by side.
        let (source_side, target_side) = tokio::try_join!(
            source.read_accounts(MirrorSide::Source),
            self.target.read_accounts(MirrorSide::Target)
        )?;
        let databases = self.target.read_databases().await?;
        let owned = self.store.owned_accounts(self.instance).await?;
        let applied;
        let hashes = if self.target.shows_hashes() {
            TargetHashes::Shown
        } else {
            applied = self.applied_hashes().await?;
            TargetHashes::LastApplied(&applied)
        };
        // Names the target refuses are never planned: they would fail every run.
        let mut refused: BTreeMap<String, String> = BTreeMap::new();
        let source_accounts: Vec<MirrorAccount> = source_side
            .accounts
            .into_iter()
            .filter(|account| match self.target.refuses_name(&account.name) {
                Some(why) if !account.system => {
                    refused.insert(account.name.clone(), why);
                    false
                }
                _ => true,
            })
            .collect();
        let decided: Plan = plan_with(
            &source_accounts,
            &target_side.accounts,
            &owned,
            &databases,
            hashes,
        );
        let mut report = SyncReport {
            unchanged: decided.unchanged as u64,
            skipped: decided
                .skipped
                .iter()
                .map(|(name, reason)| AccountReason {
                    name: name.clone(),
                    reason: reason.to_string(),
                })
                .collect(),
            conflicts: decided
                .conflicts
                .iter()
                .map(|name| AccountReason {
                    name: name.clone(),
                    reason:
                        "an account of the same name exists at the target and was not made by sync"
                            .into(),
                })
                .collect(),
            ..SyncReport::default()
        };
        report.skipped.extend(
            refused
                .into_iter()
                .map(|(name, reason)| AccountReason { name, reason }),
        );
        for name in &decided.forget {
            self.store.forget_owned(self.instance, name).await?;
        }
        let mut updated = BTreeSet::new();
        for action in &decided.actions {
            let name = action.name().to_owned();
            let started = Instant::now();
            match self
                .apply(action, &target_side, &databases, &mut report)
                .await
            {
                Ok(()) => match action {
                    Action::Create { .. } => report.created += 1,
                    Action::Drop { .. } => report.dropped += 1,
                    Action::SetPassword { .. } | Action::SetPrivileges { .. } => {
                        updated.insert(name);
                    }
                },
                Err(EngineError::AccountExists(_)) => report.conflicts.push(AccountReason {
                    name,
                    reason: "made at the target by someone else while sync was creating it".into(),
                }),
                Err(e) => {
                    tracing::warn!(
                        instance = %self.instance, account = %name, error = %e,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "sync could not apply a change; the next run tries again"
                    );
                    report.failed.push(AccountReason {
                        name,
                        reason: e.to_string(),
                    });
                }
            }
        }
        report.updated = updated.len() as u64;
        Ok(report)
    }

    /// The hashes sync last applied to the accounts it owns here, opened. One that does not open
    /// (another store key) counts as none recorded, so the source's hash is applied again.
    async fn applied_hashes(&self) -> Result<BTreeMap<String, String>, EngineError> {
        let sealed = self.store.applied_hashes(self.instance).await?;
        let mut out = BTreeMap::new();
        for (name, sealed) in sealed {
            match self.secrets.open_string(&sealed) {
                Ok(hash) => {
                    out.insert(name, hash.to_string());
                }
                Err(_) => tracing::warn!(
                    instance = %self.instance, account = %name,
                    "the recorded sync hash does not open with this store's key; applying again"
                ),
            }
        }
        Ok(out)
    }

    /// Records `hash` as applied to the owned account `name`, sealed, where the target does not
    /// show hashes (elsewhere the target itself is read).
    async fn remember_hash(
        &self,
        name: &str,
        hash: &NativePasswordHash,
    ) -> Result<(), EngineError> {
        if self.target.shows_hashes() {
            return Ok(());
        }
        let sealed = self.secrets.seal(hash.as_str().as_bytes());
        self.store
            .record_applied_hash(self.instance, name, &sealed)
            .await?;
        Ok(())
    }

    /// Carries out one action at the target, counting the write statements it issues.
    async fn apply(
        &self,
        action: &Action,
        current: &MirrorRead,
        databases_here: &[String],
        report: &mut SyncReport,
    ) -> Result<(), EngineError> {
        let name = action.name();
        let id = self.instance;
        match action {
            Action::Create {
                auth_string,
                privileges,
                databases,
                ..
            } => {
                let hash = parse_hash(name, auth_string)?;
                self.store.mark_owned(id, name, false).await?;
                let created = match self
                    .target
                    .create_with_hash(name, &hash, *privileges, databases, databases_here)
                    .await
                {
                    // Refused before anything was made: the name was never ours.
                    Err(e @ EngineError::SystemAccount(_)) => {
                        self.store.forget_owned(id, name).await?;
                        return Err(e);
                    }
                    other => other?,
                };
                if !created {
                    // Someone else's account: never ours.
                    self.store.forget_owned(id, name).await?;
                    return Err(EngineError::AccountExists(name.to_owned()));
                }
                report.writes += 1;
                self.store.mark_owned(id, name, true).await?;
                self.remember_hash(name, &hash).await?;
                report.writes += self
                    .target
                    .converge_grants(
                        name,
                        *privileges,
                        databases,
                        databases_here,
                        &MirrorRead::default(),
                    )
                    .await?;
                Ok(())
            }
            Action::SetPassword { auth_string, .. } => {
                let hash = parse_hash(name, auth_string)?;
                self.target.set_hash(name, &hash).await?;
                report.writes += 1;
                self.remember_hash(name, &hash).await
            }
            Action::SetPrivileges {
                privileges,
                databases,
                ..
            } => {
                report.writes += self
                    .target
                    .converge_grants(name, *privileges, databases, databases_here, current)
                    .await?;
                Ok(())
            }
            Action::Drop { .. } => {
                if self.target.drop_account(name).await? {
                    report.writes += 1;
                }
                self.store.forget_owned(id, name).await?;
                Ok(())
            }
        }
    }
}

fn parse_hash(name: &str, auth_string: &str) -> Result<NativePasswordHash, EngineError> {
    NativePasswordHash::parse(auth_string).ok_or_else(|| {
        EngineError::Backend(format!(
            "the source hash of {name} is not a mysql_native_password hash"
        ))
    })
}
