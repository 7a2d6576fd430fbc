//! starkeep's metadata store.
//!
//! One [`Store`] holds projects, IAM users with their roles and access keys, instances (with their sync switch)
//! and the accounts of embedded instances. It speaks SQL through sqlx's `Any` driver, with
//! `$n` placeholders and only `TEXT`/`BIGINT` columns, so the same queries serve SQLite (the
//! default, a file in the data dir) and PostgreSQL. Migrations are embedded and applied when the
//! store opens.
//!
//! Every method is one statement or one transaction: a write either happens whole or not at all.
//! The small writes on a request's path share commits under load ([`group_commit`]); on a
//! SQLite file the requests commit them themselves, in turn, on a connection of their own
//! (rusqlite, the same SQLite library), and a thread of the store's copies the write-ahead log
//! back into the database ([`checkpoint`]).
//! What the rows *mean* (engines, privileges) is decided by the callers; this crate only keeps
//! them.

mod access_keys;
mod accounts;
mod audit;
mod checkpoint;
mod data_version;
mod durability;
mod error;
mod group_commit;
mod iam;
mod instances;
mod keys;
mod nodes;
mod pending;
mod projects;
mod sync;

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use access_keys::{AccessKeyRecord, AccessKeySummary};
pub use accounts::{AccountWrite, NewStoredAccount, StoredAccount, StoredAccountPage};
pub use audit::{AuditEvent, AuditFilter, AuditedChange, WriteAhead};
pub use durability::SqliteSync;
pub use error::StoreError;
pub use group_commit::COMMITS_METRIC;
pub use iam::{IamUser, RoleBinding};
pub use instances::{InstanceRecord, NewInstance};
pub use nodes::InstanceNode;
pub use pending::PendingCreate;
pub use projects::Project;
pub use sync::{now_millis, SyncLease, SyncRun};

static DRIVERS: Once = Once::new();
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file in the data dir: one process.
    Sqlite,
    /// A shared server: several replicas.
    Postgres,
}

/// The file name of the SQLite store inside the data dir.
pub const SQLITE_FILE: &str = "starkeep.db";

/// A handle on the metadata store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// On SQLite with a file: the reading that tells whether anything committed.
    version: Option<Arc<data_version::DataVersion>>,
    /// The queue of the small writes on a request's path, committed in groups.
    commits: group_commit::GroupCommit,
}

impl Store {
    /// Opens (creating if needed) the SQLite store in `data_dir` and applies migrations.
    pub async fn open_sqlite(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_sqlite_with(data_dir, SqliteSync::default()).await
    }

    /// [`Store::open_sqlite`] with commits flushed as `sync` says.
    pub async fn open_sqlite_with(data_dir: &Path, sync: SqliteSync) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open(e.to_string()))?;
        let path = data_dir.join(SQLITE_FILE);
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::open_with(&url, sync).await
    }

    /// Opens the store at `url` (`sqlite://…` or `postgres://…`) and applies migrations. On
    /// PostgreSQL the migrator holds an advisory lock, so replicas starting together apply each
    /// migration once.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, SqliteSync::default()).await
    }

    /// [`Store::open`], with SQLite commits flushed as `sync` says (PostgreSQL keeps its own
    /// setting, `synchronous_commit`).
    pub async fn open_with(url: &str, sync: SqliteSync) -> Result<Self, StoreError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Open(format!(
                "unsupported store url scheme {:?}: use sqlite:// or postgres://",
                url.split(':').next().unwrap_or_default()
            )));
        };
        let options = AnyConnectOptions::from_str(url)
            .map_err(|e| StoreError::Open(e.to_string()))?
            .disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .min_connections(1)
            // A SQLite connection is a file handle that cannot go stale: pinging it before each
            // use would double the round trips to its worker thread. A PostgreSQL connection can
            // (a restarted server), so it is checked.
            .test_before_acquire(backend == Backend::Postgres)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(sync.connection_pragmas().as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Open(redact_url_error(&e.to_string(), url)))?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&pool)
            .await
            .map_err(|e| StoreError::Open(format!("migrations failed: {e}")))?;
        let file = data_version::sqlite_file(url).filter(|_| backend == Backend::Sqlite);
        let (version, commits) = match &file {
            Some(path) => (
                Some(Arc::new(data_version::DataVersion::open(path)?)),
                group_commit::GroupCommit::on_sqlite_file(path, sync)?,
            ),
            None => (None, group_commit::GroupCommit::on_pool(pool.clone())),
        };
        Ok(Self {
            commits,
            pool,
            backend,
            version,
        })
    }

    /// A number that changes whenever anything commits to the store, from this process or
    /// another, read without a round trip (SQLite's `PRAGMA data_version` on a connection of its
    /// own). `None` on PostgreSQL, which has no such reading, and when it cannot be read: then
    /// nothing read before may be reused. Read it *before* the reads it vouches for.
    pub fn data_version(&self) -> Option<u64> {
        self.version.as_ref()?.read()
    }

    /// A number that changes whenever an instance is added, changed or removed, by any process;
    /// read like [`Store::data_version`] (before the reads it vouches for), and `None` where that
    /// is `None`.
    pub fn instances_generation(&self) -> Option<u64> {
        self.version.as_ref()?.instances_generation()
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Commits `write`, sharing the commit with others queued meanwhile; answers the rows each
    /// of its statements touched.
    pub(crate) async fn group_commit(
        &self,
        write: group_commit::Write,
    ) -> Result<Vec<u64>, StoreError> {
        self.commits.write(&self.pool, write).await
    }

    /// The commits this store's group commit has made since it opened: the writes on the
    /// requests' paths (audit events and outcomes, pending creates), each batch counted once.
    /// Also counted in the process's metrics as [`COMMITS_METRIC`].
    pub fn group_commits(&self) -> u64 {
        self.commits.count().get()
    }

    /// Whether the store has no project yet (a first start).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM projects")
            .fetch_one(&self.pool)
            .await?;
        Ok(n == 0)
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// 16 random bytes, for new ids.
pub(crate) fn random_id_bytes() -> [u8; 16] {
    rand::random()
}

/// An error text with the URL's password, if any, taken out.
fn redact_url_error(message: &str, url: &str) -> String {
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, pw)| pw)
        .filter(|pw| !pw.is_empty());
    match password {
        Some(pw) => message.replace(pw, "***"),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_commits_are_flushed_as_asked() {
        for (sync, expected) in [(SqliteSync::Normal, 1), (SqliteSync::Full, 2)] {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open_sqlite_with(dir.path(), sync).await.unwrap();
            let (level,): (i64,) = sqlx::query_as("PRAGMA synchronous")
                .fetch_one(store.pool())
                .await
                .unwrap();
            assert_eq!(level, expected, "{sync:?}");
            let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
                .fetch_one(store.pool())
                .await
                .unwrap();
            assert_eq!(mode, "wal");
            store.close().await;
        }
    }
}
