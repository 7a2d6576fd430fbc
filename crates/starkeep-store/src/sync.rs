//! Account sync state: which target accounts sync created (and, for targets that do not show
//! stored hashes, the hash it last applied to each, sealed by the caller), who reconciles an
//! instance now, and how its last reconcile went. What the states mean is `starkeep-sync`'s
//! business.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row;
use starkeep_domain::InstanceId;

use crate::{now_unix, Backend, Store, StoreError};

/// The last reconcile of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRun {
    /// Unix seconds.
    pub started_at: i64,
    pub duration_ms: i64,
    /// `ok`, `partial` or `failed`.
    pub outcome: String,
    /// JSON: counts and per-account reasons.
    pub report: String,
    /// The replica that made the run (its lease holder name).
    pub holder: String,
}

/// A lease on reconciling an instance, with the instance's schedule (when its next reconcile is
/// due), in milliseconds on the store's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncLease {
    /// The store's clock when the lease was taken or renewed.
    pub now_ms: i64,
    pub expires_at: i64,
    /// When the instance's next reconcile is due.
    pub next_run_at: i64,
}

impl Store {
    /// Names sync created (or was creating) at the instance's target.
    pub async fn owned_accounts(
        &self,
        instance: &InstanceId,
    ) -> Result<BTreeSet<String>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM sync_ownership WHERE instance_id = $1")
                .bind(instance.as_str())
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    /// Names sync has created at the instance's target (not those it is only about to create:
    /// a pending name may not exist there yet, or may be someone else's).
    pub async fn mirrored_accounts(
        &self,
        instance: &InstanceId,
    ) -> Result<BTreeSet<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sync_ownership WHERE instance_id = $1 AND state = 'owned'",
        )
        .bind(instance.as_str())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    /// Records that sync is about to create `name` (before the CREATE) or has created it.
    pub async fn mark_owned(
        &self,
        instance: &InstanceId,
        name: &str,
        created: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sync_ownership (instance_id, name, state, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (instance_id, name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(instance.as_str())
        .bind(name)
        .bind(if created { "owned" } else { "pending" })
        .bind(now_unix())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records the password hash sync just applied to the owned account `name`, as the caller
    /// sealed it (never in plain text). No effect on a name that is not owned.
    pub async fn record_applied_hash(
        &self,
        instance: &InstanceId,
        name: &str,
        sealed_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sync_ownership SET applied_hash = $3, updated_at = $4 \
             WHERE instance_id = $1 AND name = $2",
        )
        .bind(instance.as_str())
        .bind(name)
        .bind(sealed_hash)
        .bind(now_unix())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The sealed hash last applied to each owned account that has one recorded.
    pub async fn applied_hashes(
        &self,
        instance: &InstanceId,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, applied_hash FROM sync_ownership \
             WHERE instance_id = $1 AND applied_hash IS NOT NULL",
        )
        .bind(instance.as_str())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// Forgets an owned name (after its drop, or when it is gone from both sides).
    pub async fn forget_owned(&self, instance: &InstanceId, name: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sync_ownership WHERE instance_id = $1 AND name = $2")
            .bind(instance.as_str())
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Takes or renews the lease on reconciling `instance` for `holder` for `ttl_ms` from now,
    /// on the store's clock. Answers the lease if `holder` has it: a lease held by another holder
    /// is taken only once it has expired. The schedule (`next_run_at`) stays with the instance
    /// when the lease changes hands.
    pub async fn take_sync_lease(
        &self,
        instance: &InstanceId,
        holder: &str,
        ttl_ms: i64,
    ) -> Result<Option<SyncLease>, StoreError> {
        let now = self.clock_ms();
        let row = sqlx::query(&format!(
            "INSERT INTO sync_leases (instance_id, holder, expires_at, next_run_at) \
             VALUES ($1, $2, {now} + $3, 0) \
             ON CONFLICT (instance_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE sync_leases.holder = excluded.holder OR sync_leases.expires_at <= {now} \
             RETURNING expires_at, next_run_at, {now} AS now_ms"
        ))
        .bind(instance.as_str())
        .bind(holder)
        .bind(ttl_ms)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(SyncLease {
                now_ms: r.try_get("now_ms")?,
                expires_at: r.try_get("expires_at")?,
                next_run_at: r.try_get("next_run_at")?,
            })
        })
        .transpose()
    }

    /// Claims the instance's due run for `holder`: if `holder` has an unexpired lease and the run
    /// is due, moves the next one to `interval_ms` from now and answers true. Whoever holds the
    /// lease, an instance is claimed at most once per interval.
    pub async fn claim_sync_run(
        &self,
        instance: &InstanceId,
        holder: &str,
        interval_ms: i64,
    ) -> Result<bool, StoreError> {
        let now = self.clock_ms();
        let done = sqlx::query(&format!(
            "UPDATE sync_leases SET next_run_at = {now} + $3 \
             WHERE instance_id = $1 AND holder = $2 AND expires_at > {now} AND next_run_at <= {now}"
        ))
        .bind(instance.as_str())
        .bind(holder)
        .bind(interval_ms)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Makes the instance's next run due now (when its switch is turned on).
    pub async fn make_sync_due(&self, instance: &InstanceId) -> Result<(), StoreError> {
        sqlx::query("UPDATE sync_leases SET next_run_at = 0 WHERE instance_id = $1")
            .bind(instance.as_str())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends every lease `holder` has at once (a replica stopping), keeping the schedule, so
    /// another replica takes the instances over at its next check.
    pub async fn expire_sync_leases(&self, holder: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE sync_leases SET expires_at = 0 WHERE holder = $1")
            .bind(holder)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Gives the lease up, if `holder` has it.
    pub async fn release_sync_lease(
        &self,
        instance: &InstanceId,
        holder: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sync_leases WHERE instance_id = $1 AND holder = $2")
            .bind(instance.as_str())
            .bind(holder)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The store's clock in milliseconds since the Unix epoch, as SQL: leases compare times of
    /// one clock, whatever the replicas' clocks say.
    fn clock_ms(&self) -> &'static str {
        match self.backend() {
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)",
            Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
        }
    }

    /// Records an instance's latest reconcile, replacing the one before.
    pub async fn record_sync_run(
        &self,
        instance: &InstanceId,
        run: &SyncRun,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sync_runs (instance_id, started_at, duration_ms, outcome, report, holder) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (instance_id) DO UPDATE SET \
             started_at = excluded.started_at, duration_ms = excluded.duration_ms, \
             outcome = excluded.outcome, report = excluded.report, holder = excluded.holder",
        )
        .bind(instance.as_str())
        .bind(run.started_at)
        .bind(run.duration_ms)
        .bind(&run.outcome)
        .bind(&run.report)
        .bind(&run.holder)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The instance's latest reconcile, if it had one.
    pub async fn last_sync_run(
        &self,
        instance: &InstanceId,
    ) -> Result<Option<SyncRun>, StoreError> {
        let row = sqlx::query(
            "SELECT started_at, duration_ms, outcome, report, holder FROM sync_runs WHERE instance_id = $1",
        )
        .bind(instance.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(SyncRun {
                started_at: r.try_get("started_at")?,
                duration_ms: r.try_get("duration_ms")?,
                outcome: r.try_get("outcome")?,
                report: r.try_get("report")?,
                holder: r.try_get("holder")?,
            })
        })
        .transpose()
    }

    /// Instances whose sync switch is on.
    pub async fn sync_enabled_instances(&self) -> Result<Vec<InstanceId>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM instances WHERE sync_enabled = 1 ORDER BY id")
                .fetch_all(self.pool())
                .await?;
        rows.into_iter()
            .map(|(id,)| InstanceId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }
}

/// The current time in milliseconds, for leases.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
