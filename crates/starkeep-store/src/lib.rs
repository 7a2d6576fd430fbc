//! starkeep's metadata store.
//!
//! One [`Store`] holds projects, IAM users with their roles and access keys, instances (with their sync switch)
//! and the accounts of embedded instances. It speaks SQL through sqlx's `Any` driver, with
//! `$n` placeholders and only `TEXT`/`BIGINT` columns, so the same queries serve SQLite (the
//! default, a file in the data dir) and PostgreSQL. Migrations are embedded and applied when the
//! store opens.
//!
//! Every method is one statement or one transaction: a write either happens whole or not at all.
//! What the rows *mean* (engines, privileges) is decided by the callers; this crate only keeps
//! them.

mod access_keys;
mod accounts;
mod audit;
mod error;
mod iam;
mod instances;
mod keys;
mod pending;
mod projects;
mod sync;

use std::path::Path;
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use access_keys::{AccessKeyRecord, AccessKeySummary};
pub use accounts::{AccountWrite, NewStoredAccount, StoredAccount, StoredAccountPage};
pub use audit::{AuditEvent, AuditFilter};
pub use error::StoreError;
pub use iam::{IamUser, RoleBinding};
pub use instances::{InstanceRecord, NewInstance};
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
}

impl Store {
    /// Opens (creating if needed) the SQLite store in `data_dir` and applies migrations.
    pub async fn open_sqlite(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open(e.to_string()))?;
        let path = data_dir.join(SQLITE_FILE);
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::open(&url).await
    }

    /// Opens the store at `url` (`sqlite://…` or `postgres://…`) and applies migrations. On
    /// PostgreSQL the migrator holds an advisory lock, so replicas starting together apply each
    /// migration once.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
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
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
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
        Ok(Self { pool, backend })
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
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
