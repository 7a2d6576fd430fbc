//! Group commit for the small writes every change request makes on its way: its audit event and
//! outcome, and the pending record of an account create.
//!
//! One task per store takes these writes from a queue. What has queued up while it committed the
//! last batch goes in one transaction and one commit, so under load many requests share a commit
//! (on SQLite, the write lock, the WAL append and the checkpoint work that come with each); alone,
//! a write commits by itself as before. Each caller waits for its own write, so a write is in the
//! store when its method returns, exactly as without the queue. If a batch fails, its writes are
//! retried one by one, so a write fails only for its own reason.
//!
//! The statements themselves live with their tables ([`crate::audit`], [`crate::pending`]).

use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use crate::{AuditEvent, StoreError};

/// At most this many writes share one commit.
const MAX_BATCH: usize = 64;

/// A write that may share its commit with others.
#[derive(Debug)]
pub(crate) enum Write {
    InsertAudit {
        id: String,
        event: AuditEvent,
    },
    FinishAudit {
        id: String,
        status: u16,
        error_code: Option<String>,
    },
    BeginPending {
        attempt: String,
        instance_id: String,
        name: String,
        started_at: i64,
    },
    EndPending {
        attempt: String,
    },
}

impl Write {
    fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        match self {
            Write::InsertAudit { id, event } => crate::audit::insert_query(id, event),
            Write::FinishAudit {
                id,
                status,
                error_code,
            } => crate::audit::finish_query(id, *status, error_code.as_deref()),
            Write::BeginPending {
                attempt,
                instance_id,
                name,
                started_at,
            } => crate::pending::begin_query(attempt, instance_id, name, *started_at),
            Write::EndPending { attempt } => crate::pending::end_query(attempt),
        }
    }

    /// Commits this write by itself; answers the rows it touched.
    async fn apply_alone(&self, pool: &AnyPool) -> Result<u64, StoreError> {
        Ok(self.query().execute(pool).await?.rows_affected())
    }
}

struct Job {
    write: Write,
    done: oneshot::Sender<Result<u64, StoreError>>,
}

/// The queue of a store's group-committed writes.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    jobs: mpsc::UnboundedSender<Job>,
}

impl GroupCommit {
    /// Starts the committing task on the current runtime; it ends when the last handle is
    /// dropped.
    pub(crate) fn start(pool: AnyPool) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, queue));
        Self { jobs }
    }

    /// Commits `write` (with whatever else is queued) and answers the rows it touched. When the
    /// task is gone (its runtime shut down), the write commits by itself on `pool`.
    pub(crate) async fn write(&self, pool: &AnyPool, write: Write) -> Result<u64, StoreError> {
        let (done, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(job)) = self.jobs.send(Job { write, done }) {
            return job.write.apply_alone(pool).await;
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Database(sqlx::Error::Protocol(
                "the store's commit task stopped before it answered; the write may or may not \
                 have been made"
                    .into(),
            )))
        })
    }
}

async fn run(pool: AnyPool, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        // One turn of the scheduler (no sleep) lets requests that are about to write join in.
        tokio::task::yield_now().await;
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        commit(&pool, std::mem::take(&mut jobs)).await;
    }
}

/// Commits `jobs` together when there are several, else (or when that fails) one by one, and
/// answers each.
async fn commit(pool: &AnyPool, jobs: Vec<Job>) {
    if jobs.len() > 1 {
        if let Ok(rows) = together(pool, &jobs).await {
            for (job, rows) in jobs.into_iter().zip(rows) {
                let _ = job.done.send(Ok(rows));
            }
            return;
        }
    }
    for job in jobs {
        let answer = job.write.apply_alone(pool).await;
        let _ = job.done.send(answer);
    }
}

async fn together(pool: &AnyPool, jobs: &[Job]) -> Result<Vec<u64>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut rows = Vec::with_capacity(jobs.len());
    for job in jobs {
        rows.push(job.write.query().execute(&mut *tx).await?.rows_affected());
    }
    tx.commit().await?;
    Ok(rows)
}
