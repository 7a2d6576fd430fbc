//! starkeep's metadata store.
//!
//! One [`Store`] holds projects, IAM users and their roles, instances (with their sync switch)
//! and the accounts of embedded instances. It speaks SQL through sqlx's `Any` driver, with
//! `$n` placeholders and only `TEXT`/`BIGINT` columns, so the same queries serve SQLite (the
//! default, a file in the data dir) and PostgreSQL. Migrations are embedded and applied when the
//! store opens.
//!
//! Every method is one statement or one transaction: a write either happens whole or not at all.
//! What the rows *mean* (engines, privileges) is decided by the callers; this crate only keeps
//! them.

mod accounts;
mod error;
mod iam;
mod instances;
mod projects;

use std::path::Path;
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use accounts::{AccountWrite, NewStoredAccount, StoredAccount, StoredAccountPage};
pub use error::StoreError;
pub use iam::{IamUser, RoleBinding};
pub use instances::{InstanceRecord, NewInstance};
pub use projects::Project;

static DRIVERS: Once = Once::new();
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The file name of the SQLite store inside the data dir.
pub const SQLITE_FILE: &str = "starkeep.db";

/// A handle on the metadata store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
}

impl Store {
    /// Opens (creating if needed) the SQLite store in `data_dir` and applies migrations.
    pub async fn open_sqlite(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open(e.to_string()))?;
        let path = data_dir.join(SQLITE_FILE);
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::open(&url).await
    }

    /// Opens the store at `url` (`sqlite://…`) and applies migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let options = AnyConnectOptions::from_str(url)
            .map_err(|e| StoreError::Open(e.to_string()))?
            .disable_statement_logging();
        if !url.starts_with("sqlite:") {
            return Err(StoreError::Open(format!(
                "unsupported store url scheme (only sqlite:// so far): {}",
                url.split(':').next().unwrap_or_default()
            )));
        }
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Open(e.to_string()))?;
        SQLITE_MIGRATIONS
            .run(&pool)
            .await
            .map_err(|e| StoreError::Open(format!("migrations failed: {e}")))?;
        Ok(Self { pool })
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
