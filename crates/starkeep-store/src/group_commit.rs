//! Group commit for the small writes every change request makes on its way: its audit event and
//! outcome, and the pending record of an account create.
//!
//! What has queued up while the last batch committed goes in one transaction and one commit, so
//! under load many requests share a commit (on SQLite, the write lock, the WAL append and the
//! checkpoint work that come with each); alone, a write commits by itself. Each caller waits for
//! its own write, so a write is in the store when its method returns, exactly as without the
//! queue. If a batch fails, its writes are retried one by one, so a write fails only for its own
//! reason.
//!
//! On a SQLite file the batch is committed by whichever caller finds the commit connection free
//! (flat combining): it queues its write, takes the connection, and commits everything queued,
//! its own write and those of callers that found the connection taken, on its own thread. Alone,
//! a write thus commits with no hand-off to another thread and back (on this project's two-core
//! machines, the wake-ups of such a hand-off cost about as much as the commit). A caller never
//! waits for SQLite's write lock on its own thread, a runtime worker that the lock's holder (a
//! transaction on the pool) may need: when the lock is taken, the batch goes back to the queue
//! for a blocking thread, which waits as the pool's connections do. With `--sqlite-sync full`,
//! where every commit waits for a flush, the callers leave the committing to blocking threads
//! from the start. On PostgreSQL, and on an in-memory SQLite, a task on the pool commits the
//! batches.
//!
//! Nor does a commit on a SQLite file copy the write-ahead log back into the database (SQLite's
//! automatic checkpoint, which waits for two flushes): the commit connection leaves that to the
//! thread of [`crate::checkpoint`], and asks it every [`CHECKPOINT_EVERY`] commits.
//!
//! A [`Write`] is one or more statements that commit together or not at all; this module knows
//! nothing of what they write: the statements are made with their tables ([`crate::audit`],
//! [`crate::pending`]). Every commit it makes is counted ([`CommitCount`]).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError, Weak};
use std::time::Duration;

use rusqlite::types::{Null, ToSqlOutput};
use rusqlite::{Connection, ToSql, TransactionBehavior};
use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use crate::checkpoint::Checkpointer;
use crate::durability::SqliteSync;
use crate::error::StoreError;

/// At most this many writes share one commit.
const MAX_BATCH: usize = 64;

/// The commit connection asks for a checkpoint after this many commits: one write alone adds
/// about five pages to the log, so about as often as SQLite's own automatic checkpoint would run.
const CHECKPOINT_EVERY: u32 = 200;

/// SQLite's own automatic checkpoint, in pages of log: the commit connection's again if the
/// checkpoint thread is gone.
const SQLITE_AUTOCHECKPOINT: u32 = 1000;

/// The name of the counter of the store's group commits, in the process's metrics.
pub const COMMITS_METRIC: &str = "starkeep_store_commits_total";

/// The commits the group commit has made: each batch, and each write committed by itself.
#[derive(Debug, Clone, Default)]
pub(crate) struct CommitCount(Arc<AtomicU64>);

impl CommitCount {
    fn add_one(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(COMMITS_METRIC).increment(1);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value bound to a [`Statement`].
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Text(Option<String>),
    Int(i64),
}

/// One statement, in the `$n` form both SQLite and PostgreSQL read, with its values in order.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub(crate) sql: &'static str,
    pub(crate) params: Vec<Param>,
}

impl Statement {
    /// The statement for a pool of either store.
    fn on_pool(&self) -> Query<'_, Any, AnyArguments<'_>> {
        self.params
            .iter()
            .fold(sqlx::query(self.sql), |query, param| match param {
                Param::Text(text) => query.bind(text.as_deref()),
                Param::Int(n) => query.bind(*n),
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

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Param::Text(Some(text)) => ToSqlOutput::from(text.as_str()),
            Param::Text(None) => ToSqlOutput::from(Null),
            Param::Int(n) => ToSqlOutput::from(*n),
        })
    }
}

/// A write that may share its commit with others: its statements, which commit together or
/// not at all.
#[derive(Debug)]
pub(crate) struct Write(pub(crate) Vec<Statement>);

/// The rows each statement of a write touched, in order.
pub(crate) type Rows = Vec<u64>;

impl Write {
    /// Runs the statements in `tx` (a transaction of the caller's); answers their rows.
    async fn in_pool_transaction(
        &self,
        tx: &mut sqlx::Transaction<'_, Any>,
    ) -> Result<Rows, sqlx::Error> {
        let mut rows = Vec::with_capacity(self.0.len());
        for statement in &self.0 {
            rows.push(
                statement
                    .on_pool()
                    .execute(&mut **tx)
                    .await?
                    .rows_affected(),
            );
        }
        Ok(rows)
    }

    /// Commits this write by itself through `pool`; answers the rows it touched.
    async fn alone_on_pool(&self, pool: &AnyPool, count: &CommitCount) -> Result<Rows, StoreError> {
        let rows = match self.0.as_slice() {
            [statement] => vec![statement.on_pool().execute(pool).await?.rows_affected()],
            _ => {
                let mut tx = pool.begin().await?;
                let rows = self.in_pool_transaction(&mut tx).await?;
                tx.commit().await?;
                rows
            }
        };
        count.add_one();
        Ok(rows)
    }

    /// Runs the statements on `conn`; answers their rows.
    fn on_sqlite(&self, conn: &Connection) -> rusqlite::Result<Rows> {
        self.0.iter().map(|s| s.on_sqlite(conn)).collect()
    }

    /// Commits this write by itself on `conn`.
    fn alone_on_sqlite(&self, conn: &mut Connection) -> rusqlite::Result<Rows> {
        match self.0.as_slice() {
            [statement] => Ok(vec![statement.on_sqlite(conn)?]),
            _ => {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let rows = self.on_sqlite(&tx)?;
                tx.commit()?;
                Ok(rows)
            }
        }
    }
}

pub(crate) struct Job {
    write: Write,
    done: oneshot::Sender<Result<Rows, StoreError>>,
}

/// The queue of a store's group-committed writes.
#[derive(Debug, Clone)]
pub(crate) enum GroupCommit {
    /// A task on the pool commits what is queued.
    Task {
        jobs: mpsc::UnboundedSender<Job>,
        count: CommitCount,
    },
    /// Callers commit what is queued on a SQLite connection they take in turn.
    Sqlite(Arc<SqliteCommits>),
}

impl GroupCommit {
    /// Starts a committing task on the current runtime, writing through `pool`; it ends when the
    /// last handle is dropped.
    pub(crate) fn on_pool(pool: AnyPool) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        let count = CommitCount::default();
        tokio::spawn(run_on_pool(pool, queue, count.clone()));
        Self::Task { jobs, count }
    }

    /// The commits made so far.
    pub(crate) fn count(&self) -> &CommitCount {
        match self {
            GroupCommit::Task { count, .. } => count,
            GroupCommit::Sqlite(commits) => &commits.count,
        }
    }

    /// Opens a connection of its own to the SQLite file at `path` (which the pool has made and
    /// migrated) for the commits of the callers.
    pub(crate) fn on_sqlite_file(path: &Path, sync: SqliteSync) -> Result<Self, StoreError> {
        let conn = crate::data_version::writing_side_connection(path, sync).map_err(|e| {
            StoreError::Open(format!("opening {} for commits: {e}", path.display()))
        })?;
        let commits = Arc::new_cyclic(|commits: &Weak<SqliteCommits>| {
            let checkpointer = match Checkpointer::start(path, sync, Weak::clone(commits)) {
                Ok(checkpointer) => Some(checkpointer),
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "no checkpoint thread for the store; commits checkpoint the log themselves"
                    );
                    None
                }
            };
            let mut conn = CommitConnection {
                conn,
                since_checkpoint: 0,
                checkpointer: None,
            };
            conn.hand_checkpoints_to(checkpointer);
            SqliteCommits {
                queue: Mutex::new(Vec::with_capacity(MAX_BATCH)),
                conn: Mutex::new(conn),
                callers_commit: sync != SqliteSync::Full,
                count: CommitCount::default(),
            }
        });
        Ok(Self::Sqlite(commits))
    }

    /// Commits `write` (with whatever else is queued) and answers the rows each of its
    /// statements touched. When the committing task is gone (its runtime shut down), the write
    /// commits by itself on `pool`.
    pub(crate) async fn write(&self, pool: &AnyPool, write: Write) -> Result<Rows, StoreError> {
        let (done, answer) = oneshot::channel();
        let job = Job { write, done };
        match self {
            GroupCommit::Task { jobs, count } => {
                if let Err(mpsc::error::SendError(job)) = jobs.send(job) {
                    return job.write.alone_on_pool(pool, count).await;
                }
            }
            GroupCommit::Sqlite(commits) => commits.commit(job),
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

/// The writes queued for a SQLite file, and the connection that commits them.
pub(crate) struct SqliteCommits {
    queue: Mutex<Vec<Job>>,
    conn: Mutex<CommitConnection>,
    /// Whether callers commit on their own thread: not where every commit waits for a flush
    /// ([`SqliteSync::Full`]), which would hold up a runtime worker.
    callers_commit: bool,
    count: CommitCount,
}

/// The connection that commits the queued writes, and the thread that checkpoints for it.
struct CommitConnection {
    conn: Connection,
    /// Commits since the checkpoint thread was last asked.
    since_checkpoint: u32,
    /// `None` when the thread could not start or has stopped; the connection then checkpoints
    /// itself, as SQLite does by default.
    checkpointer: Option<Checkpointer>,
}

impl CommitConnection {
    /// Leaves checkpoints to `checkpointer`, or, if there is none, to SQLite's automatic one.
    fn hand_checkpoints_to(&mut self, checkpointer: Option<Checkpointer>) {
        let pages = if checkpointer.is_some() {
            0
        } else {
            SQLITE_AUTOCHECKPOINT
        };
        if let Err(e) = self.conn.pragma_update(None, "wal_autocheckpoint", pages) {
            tracing::warn!(error = %e, pages, "could not set the store's automatic checkpoint");
        }
        self.checkpointer = checkpointer;
    }

    /// Counts a commit, and asks for a checkpoint every [`CHECKPOINT_EVERY`].
    fn committed(&mut self) {
        self.since_checkpoint += 1;
        if self.since_checkpoint < CHECKPOINT_EVERY {
            return;
        }
        self.since_checkpoint = 0;
        if self
            .checkpointer
            .as_ref()
            .is_some_and(|thread| !thread.ask())
        {
            tracing::warn!(
                "the store's checkpoint thread stopped; commits checkpoint the log again"
            );
            self.hand_checkpoints_to(None);
        }
    }
}

impl std::fmt::Debug for SqliteCommits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteCommits").finish_non_exhaustive()
    }
}

/// How long a commit waits for the write lock when another connection holds it (the pool's, or
/// another process's): SQLite's `busy_timeout`, as on the pool's connections.
const BUSY_WAIT: Duration = Duration::from_secs(5);

/// Where a commit runs, and so whether it may wait for the write lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Committer {
    /// The caller's own thread, a runtime worker: it must not wait, since the task that holds
    /// the lock (a transaction on the pool) may need this very thread to finish.
    Caller,
    /// A blocking thread of the runtime, which may wait up to [`BUSY_WAIT`].
    Blocking,
}

impl SqliteCommits {
    /// Queues `job` and, if no other caller is committing, commits what is queued. When another
    /// caller holds the connection, that caller commits `job`: it looks at the queue again each
    /// time it lets the connection go, and this caller queued before it tried to take it.
    fn commit(self: &Arc<Self>, job: Job) {
        lock(&self.queue).push(job);
        if self.callers_commit {
            self.commit_queued(Committer::Caller);
        } else {
            self.commit_queued_on_blocking_thread();
        }
    }

    /// Has a blocking thread of the runtime (or, outside one, this thread) commit what is
    /// queued.
    fn commit_queued_on_blocking_thread(self: &Arc<Self>) {
        let this = Arc::clone(self);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || this.commit_queued(Committer::Blocking));
            }
            Err(_) => this.commit_queued(Committer::Blocking),
        }
    }

    /// Commits what is queued unless another caller holds the connection, and again while more
    /// queued meanwhile.
    fn commit_queued(self: &Arc<Self>, committer: Committer) {
        loop {
            let mut conn = match self.conn.try_lock() {
                Ok(conn) => conn,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return,
            };
            let wait = match committer {
                Committer::Caller => Duration::ZERO,
                Committer::Blocking => BUSY_WAIT,
            };
            // Only fails for a closed connection, which the statements will then report.
            let _ = conn.conn.busy_timeout(wait);
            let mut jobs = std::mem::take(&mut *lock(&self.queue));
            while !jobs.is_empty() {
                let rest = jobs.split_off(jobs.len().min(MAX_BATCH));
                let batch = std::mem::replace(&mut jobs, rest);
                match commit_on_sqlite(&mut conn.conn, batch, committer, &self.count) {
                    Ok(()) => conn.committed(),
                    Err(busy) => {
                        // Back to the head of the queue, in order, for a blocking thread to commit.
                        lock(&self.queue).splice(0..0, busy.into_iter().chain(jobs));
                        drop(conn);
                        self.commit_queued_on_blocking_thread();
                        return;
                    }
                }
            }
            drop(conn);
            // Looked at only now the connection is free: a caller that queued while it was
            // taken is either seen here or takes the connection itself.
            if lock(&self.queue).is_empty() {
                return;
            }
        }
    }

    /// Checkpoints the log on `conn` (the checkpoint thread's own connection). The first pass
    /// copies the log alongside the commits. What they add meanwhile, the second copies with the
    /// commit connection held, so that when it lets go the log is in the database whole, and the
    /// next commit writes the log from its start again. (Otherwise, under steady load, the log
    /// would only grow: SQLite starts it over only at a commit that finds it copied whole.)
    /// Writes queued during the second pass are committed here after it.
    pub(crate) fn checkpoint(self: &Arc<Self>, conn: &Connection) -> rusqlite::Result<()> {
        crate::checkpoint::passive(conn)?;
        let held = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let rest = crate::checkpoint::passive(conn);
        drop(held);
        self.commit_queued(Committer::Blocking);
        rest
    }
}

/// The queue, even if a caller panicked while holding it (a `Vec` push cannot leave it broken).
fn lock(queue: &Mutex<Vec<Job>>) -> MutexGuard<'_, Vec<Job>> {
    queue
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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

async fn run_on_pool(pool: AnyPool, mut queue: mpsc::UnboundedReceiver<Job>, count: CommitCount) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        // One turn of the scheduler (no sleep) lets requests that are about to write join in.
        tokio::task::yield_now().await;
        take_queued(&mut queue, &mut jobs);
        if jobs.len() > 1 {
            if let Ok(rows) = together_on_pool(&pool, &jobs).await {
                count.add_one();
                answer_all(jobs.drain(..), rows);
                continue;
            }
        }
        for job in jobs.drain(..) {
            let answer = job.write.alone_on_pool(&pool, &count).await;
            let _ = job.done.send(answer);
        }
    }
}

async fn together_on_pool(pool: &AnyPool, jobs: &[Job]) -> Result<Vec<Rows>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut rows = Vec::with_capacity(jobs.len());
    for job in jobs {
        rows.push(job.write.in_pool_transaction(&mut tx).await?);
    }
    tx.commit().await?;
    Ok(rows)
}

/// Commits `jobs` in one transaction, or one by one if that fails, and answers each. On the
/// caller's thread, a write lock held elsewhere stops it: it hands back, unanswered, the jobs it
/// has not committed, for a thread that may wait.
fn commit_on_sqlite(
    conn: &mut Connection,
    mut jobs: Vec<Job>,
    committer: Committer,
    count: &CommitCount,
) -> Result<(), Vec<Job>> {
    let stop_at_busy = |e: &rusqlite::Error| {
        committer == Committer::Caller
            && e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
    };
    if jobs.len() > 1 {
        match together_on_sqlite(conn, &jobs) {
            Ok(rows) => {
                count.add_one();
                answer_all(jobs.drain(..), rows);
                return Ok(());
            }
            Err(e) if stop_at_busy(&e) => return Err(jobs),
            Err(_) => {}
        }
    }
    let mut jobs = jobs.into_iter();
    while let Some(job) = jobs.next() {
        match job.write.alone_on_sqlite(conn) {
            Err(e) if stop_at_busy(&e) => return Err(std::iter::once(job).chain(jobs).collect()),
            answer => {
                if answer.is_ok() {
                    count.add_one();
                }
                let _ = job.done.send(answer.map_err(Into::into));
            }
        }
    }
    Ok(())
}

fn together_on_sqlite(conn: &mut Connection, jobs: &[Job]) -> rusqlite::Result<Vec<Rows>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows = jobs
        .iter()
        .map(|job| job.write.on_sqlite(&tx))
        .collect::<rusqlite::Result<Vec<Rows>>>()?;
    tx.commit()?;
    Ok(rows)
}

fn answer_all(jobs: impl Iterator<Item = Job>, rows: Vec<Rows>) {
    for (job, rows) in jobs.zip(rows) {
        let _ = job.done.send(Ok(rows));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn insert(id: &str) -> Write {
        let event = crate::AuditEvent {
            at_ms: 1,
            request_id: format!("req-{id}"),
            actor: "admin".into(),
            project_id: "p1".into(),
            instance_id: "i1".into(),
            action: "create_account".into(),
            account: None,
            status: 0,
            error_code: None,
        };
        Write(vec![crate::audit::insert_statement(id, &event)])
    }

    /// Queues `writes` as callers that found the connection taken would, and answers their
    /// answers.
    fn queue(commits: &SqliteCommits, writes: Vec<Write>) -> Vec<oneshot::Receiver<Answer>> {
        writes
            .into_iter()
            .map(|write| {
                let (done, answer) = oneshot::channel();
                lock(&commits.queue).push(Job { write, done });
                answer
            })
            .collect()
    }

    type Answer = Result<Rows, StoreError>;

    /// What a caller that finds the connection free commits: everything queued, in one
    /// transaction; when one write of it fails, that one fails alone and the others land.
    #[tokio::test]
    async fn what_queued_meanwhile_shares_one_commit_and_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (store, commits) = store_in(dir.path()).await;
        let made = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&made);
        lock_conn(&commits).conn.commit_hook(Some(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            false
        }));

        let answers = queue(
            &commits,
            (0..10).map(|i| insert(&format!("a{i}"))).collect(),
        );
        commits.commit_queued(Committer::Caller);
        for answer in answers {
            assert_eq!(answer.await.unwrap().unwrap(), vec![1]);
        }
        assert_eq!(made.load(Ordering::SeqCst), 1, "ten writes, one commit");
        assert!(lock(&commits.queue).is_empty());

        // The fifth takes the id of an event already there.
        let ids = ["b0", "b1", "b2", "b3", "a4", "b5"];
        let answers = queue(&commits, ids.iter().map(|id| insert(id)).collect());
        commits.commit_queued(Committer::Caller);
        for (id, answer) in ids.iter().zip(answers) {
            let answer = answer.await.unwrap();
            if *id == "a4" {
                assert!(answer.is_err(), "{id}: {answer:?}");
            } else {
                assert_eq!(answer.unwrap(), vec![1], "{id}");
            }
        }
        let events = store
            .list_audit(&crate::AuditFilter {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(events.len(), 15);
    }

    /// The store's queue and commit connection on a SQLite file in `dir`.
    async fn store_in(dir: &Path) -> (crate::Store, Arc<SqliteCommits>) {
        store_with(dir, SqliteSync::default()).await
    }

    async fn store_with(dir: &Path, sync: SqliteSync) -> (crate::Store, Arc<SqliteCommits>) {
        let store = crate::Store::open_sqlite_with(dir, sync).await.unwrap();
        let GroupCommit::Sqlite(commits) = &store.commits else {
            panic!("a store on a SQLite file commits on its callers' threads");
        };
        let commits = Arc::clone(commits);
        (store, commits)
    }

    /// Writes events `{prefix}0` to `{prefix}{n - 1}` one after the other, as requests one at
    /// a time make them; answers the size the log file has grown to.
    async fn write_alone(store: &crate::Store, dir: &Path, prefix: &str, n: usize) -> u64 {
        for i in 0..n {
            let write = insert(&format!("{prefix}{i}"));
            assert_eq!(
                store.commits.write(&store.pool, write).await.unwrap(),
                vec![1]
            );
        }
        let log = dir.join(format!("{}-wal", crate::SQLITE_FILE));
        std::fs::metadata(log).unwrap().len()
    }

    fn autocheckpoint(commits: &SqliteCommits) -> u32 {
        lock_conn(commits)
            .conn
            .pragma_query_value(None, "wal_autocheckpoint", |row| row.get(0))
            .unwrap()
    }

    /// Writes `rounds` runs of [`CHECKPOINT_EVERY`] events, with a pause of 2 ms after each,
    /// as requests leave the checkpoint thread a moment now and then (a tight loop on a loaded
    /// two-core machine may leave it none); answers the size of the log at the end.
    async fn write_in_runs(store: &crate::Store, dir: &Path, rounds: usize) -> u64 {
        let mut log = 0;
        for round in 0..rounds {
            let prefix = format!("w{round}_");
            log = write_alone(store, dir, &prefix, CHECKPOINT_EVERY as usize).await;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        log
    }

    /// No commit checkpoints, and yet a steady run of them leaves the log short: the checkpoint
    /// thread copies it back, and the commits then write it from the start again. Without the
    /// thread, the same run makes the log several times as long.
    #[tokio::test]
    async fn the_log_stays_short_though_no_commit_checkpoints() {
        // 3,000 writes.
        const ROUNDS: usize = 15;
        let dir = tempfile::tempdir().unwrap();
        let (store, commits) = store_in(dir.path()).await;
        assert_eq!(autocheckpoint(&commits), 0);
        let checkpointed = write_in_runs(&store, dir.path(), ROUNDS).await;

        let bare = tempfile::tempdir().unwrap();
        let (unchecked, commits) = store_in(bare.path()).await;
        // Dropping the handle ends the thread; the commits still do not checkpoint.
        lock_conn(&commits).checkpointer = None;
        let grown = write_in_runs(&unchecked, bare.path(), ROUNDS).await;

        assert!(
            checkpointed * 3 < grown,
            "log of {checkpointed} bytes with the checkpoint thread, {grown} without"
        );
    }

    /// Where every commit waits for a flush, the callers' writes are committed on a blocking
    /// thread, not on the runtime worker that asked (here the test's only thread); otherwise on
    /// the worker itself.
    #[tokio::test]
    async fn a_commit_that_flushes_runs_off_the_runtime_worker() {
        let here = std::thread::current().id();
        for (sync, on_caller) in [(SqliteSync::Normal, true), (SqliteSync::Full, false)] {
            let dir = tempfile::tempdir().unwrap();
            let (store, commits) = store_with(dir.path(), sync).await;
            let threads = Arc::new(Mutex::new(Vec::new()));
            let seen = Arc::clone(&threads);
            lock_conn(&commits).conn.commit_hook(Some(move || {
                seen.lock().unwrap().push(std::thread::current().id());
                false
            }));
            write_alone(&store, dir.path(), "f", 3).await;
            let threads = threads.lock().unwrap();
            assert_eq!(threads.len(), 3, "{sync:?}: one commit per write");
            assert!(
                threads.iter().all(|thread| (*thread == here) == on_caller),
                "{sync:?}: committed on {threads:?}, the caller is {here:?}"
            );
        }
    }

    /// If the checkpoint thread is gone, the commit connection finds out when it next asks, and
    /// goes back to SQLite's automatic checkpoint.
    #[tokio::test]
    async fn commits_checkpoint_again_once_the_thread_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let (store, commits) = store_in(dir.path()).await;
        lock_conn(&commits).checkpointer = Some(Checkpointer::stopped());
        write_alone(&store, dir.path(), "a", CHECKPOINT_EVERY as usize - 1).await;
        assert_eq!(autocheckpoint(&commits), 0, "not asked yet");
        write_alone(&store, dir.path(), "b", 1).await;
        assert_eq!(autocheckpoint(&commits), SQLITE_AUTOCHECKPOINT);
        assert!(lock_conn(&commits).checkpointer.is_none());
    }

    fn lock_conn(commits: &SqliteCommits) -> MutexGuard<'_, CommitConnection> {
        commits.conn.lock().unwrap()
    }
}
