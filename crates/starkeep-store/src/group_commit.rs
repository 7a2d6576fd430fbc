//! Group commit for the small writes every change request makes on its way: its audit event and
//! outcome, and the pending record of an account create.
//!
//! One committer per store takes these writes from a queue. What has queued up while it committed
//! the last batch goes in one transaction and one commit, so under load many requests share a
//! commit (on SQLite, the write lock, the WAL append and the checkpoint work that come with each);
//! alone, a write commits by itself as before. Each caller waits for its own write, so a write is
//! in the store when its method returns, exactly as without the queue. If a batch fails, its
//! writes are retried one by one, so a write fails only for its own reason.
//!
//! On a SQLite file the committer is a thread with a connection of its own: a batch is one visit
//! to SQLite (begin, the statements, commit) instead of a hand-off to a pool connection's worker
//! thread for each of them. On PostgreSQL, and on an in-memory SQLite, it is a task on the pool.
//!
//! The statements themselves live with their tables ([`crate::audit`], [`crate::pending`]).

use std::path::Path;

use rusqlite::types::{Null, ToSqlOutput};
use rusqlite::{Connection, ToSql, TransactionBehavior};
use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use crate::{AuditEvent, SqliteSync, StoreError};

/// At most this many writes share one commit.
const MAX_BATCH: usize = 64;

/// A value bound to a [`Statement`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Param<'a> {
    Text(Option<&'a str>),
    Int(i64),
}

/// One statement, in the `$n` form both SQLite and PostgreSQL read, with its values in order.
#[derive(Debug)]
pub(crate) struct Statement<'a> {
    pub(crate) sql: &'static str,
    pub(crate) params: Vec<Param<'a>>,
}

impl Statement<'_> {
    /// The statement for a pool of either store.
    fn on_pool(&self) -> Query<'_, Any, AnyArguments<'_>> {
        self.params
            .iter()
            .fold(sqlx::query(self.sql), |query, param| match *param {
                Param::Text(text) => query.bind(text),
                Param::Int(n) => query.bind(n),
            })
    }

    /// Runs the statement on a SQLite connection; answers the rows it touched.
    fn on_sqlite(&self, conn: &Connection) -> rusqlite::Result<u64> {
        let rows = conn
            .prepare_cached(self.sql)?
            .execute(rusqlite::params_from_iter(&self.params))?;
        Ok(rows as u64)
    }
}

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match *self {
            Param::Text(Some(text)) => ToSqlOutput::from(text),
            Param::Text(None) => ToSqlOutput::from(Null),
            Param::Int(n) => ToSqlOutput::from(n),
        })
    }
}

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
    fn statement(&self) -> Statement<'_> {
        match self {
            Write::InsertAudit { id, event } => crate::audit::insert_statement(id, event),
            Write::FinishAudit {
                id,
                status,
                error_code,
            } => crate::audit::finish_statement(id, *status, error_code.as_deref()),
            Write::BeginPending {
                attempt,
                instance_id,
                name,
                started_at,
            } => crate::pending::begin_statement(attempt, instance_id, name, *started_at),
            Write::EndPending { attempt } => crate::pending::end_statement(attempt),
        }
    }

    /// Commits this write by itself through `pool`; answers the rows it touched.
    async fn alone_on_pool(&self, pool: &AnyPool) -> Result<u64, StoreError> {
        Ok(self
            .statement()
            .on_pool()
            .execute(pool)
            .await?
            .rows_affected())
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
    /// Starts a committing task on the current runtime, writing through `pool`; it ends when the
    /// last handle is dropped.
    pub(crate) fn on_pool(pool: AnyPool) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run_on_pool(pool, queue));
        Self { jobs }
    }

    /// Starts a committing thread with a connection of its own to the SQLite file at `path`
    /// (which the pool has made and migrated); it ends when the last handle is dropped.
    pub(crate) fn on_sqlite_file(path: &Path, sync: SqliteSync) -> Result<Self, StoreError> {
        let open = || -> rusqlite::Result<Connection> {
            let conn = crate::data_version::side_connection(path)?;
            conn.execute_batch(&sync.connection_pragmas())?;
            Ok(conn)
        };
        let conn = open().map_err(|e| {
            StoreError::Open(format!("opening {} for commits: {e}", path.display()))
        })?;
        let (jobs, queue) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("store-commits".into())
            .spawn(move || run_on_sqlite(conn, queue))
            .map_err(|e| StoreError::Open(format!("starting the commit thread: {e}")))?;
        Ok(Self { jobs })
    }

    /// Commits `write` (with whatever else is queued) and answers the rows it touched. When the
    /// committer is gone (its runtime shut down, or its thread ended), the write commits by
    /// itself on `pool`.
    pub(crate) async fn write(&self, pool: &AnyPool, write: Write) -> Result<u64, StoreError> {
        let (done, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(job)) = self.jobs.send(Job { write, done }) {
            return job.write.alone_on_pool(pool).await;
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Database(sqlx::Error::Protocol(
                "the store's committer stopped before it answered; the write may or may not \
                 have been made"
                    .into(),
            )))
        })
    }
}

/// Takes the first write waiting in `queue` and whatever queued behind it, up to [`MAX_BATCH`],
/// into `jobs`.
fn take_queued(queue: &mut mpsc::UnboundedReceiver<Job>, jobs: &mut Vec<Job>) {
    while jobs.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(job) => jobs.push(job),
            Err(_) => break,
        }
    }
}

async fn run_on_pool(pool: AnyPool, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        // One turn of the scheduler (no sleep) lets requests that are about to write join in.
        tokio::task::yield_now().await;
        take_queued(&mut queue, &mut jobs);
        if jobs.len() > 1 {
            if let Ok(rows) = together_on_pool(&pool, &jobs).await {
                answer_all(jobs.drain(..), rows);
                continue;
            }
        }
        for job in jobs.drain(..) {
            let answer = job.write.alone_on_pool(&pool).await;
            let _ = job.done.send(answer);
        }
    }
}

async fn together_on_pool(pool: &AnyPool, jobs: &[Job]) -> Result<Vec<u64>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut rows = Vec::with_capacity(jobs.len());
    for job in jobs {
        rows.push(
            job.write
                .statement()
                .on_pool()
                .execute(&mut *tx)
                .await?
                .rows_affected(),
        );
    }
    tx.commit().await?;
    Ok(rows)
}

fn run_on_sqlite(mut conn: Connection, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while let Some(job) = queue.blocking_recv() {
        jobs.push(job);
        take_queued(&mut queue, &mut jobs);
        if jobs.len() > 1 {
            if let Ok(rows) = together_on_sqlite(&mut conn, &jobs) {
                answer_all(jobs.drain(..), rows);
                continue;
            }
        }
        for job in jobs.drain(..) {
            let answer = job.write.statement().on_sqlite(&conn);
            let _ = job.done.send(answer.map_err(Into::into));
        }
    }
}

fn together_on_sqlite(conn: &mut Connection, jobs: &[Job]) -> rusqlite::Result<Vec<u64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows = jobs
        .iter()
        .map(|job| job.write.statement().on_sqlite(&tx))
        .collect::<rusqlite::Result<Vec<u64>>>()?;
    tx.commit()?;
    Ok(rows)
}

fn answer_all(jobs: impl Iterator<Item = Job>, rows: Vec<u64>) {
    for (job, rows) in jobs.zip(rows) {
        let _ = job.done.send(Ok(rows));
    }
}
