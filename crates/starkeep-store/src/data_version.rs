//! [`DataVersion`]: a reading of the SQLite store that changes whenever anything commits to it,
//! from this process or any other (the command line writing while `serve` runs), taken without
//! a round trip through the pool.
//!
//! It is SQLite's `PRAGMA data_version` on a connection of its own that never writes: the value
//! changes whenever another connection commits. Callers that keep what they read (the engine's
//! instance and page caches) tag it with the version read *before* reading, and use it only
//! while the version is unchanged. PostgreSQL has no such reading; there, nothing is kept.
//!
//! The same connection reads the instances table's generation (`store_generations`, moved by
//! triggers on every change to an instance): what was read of instances stays good while it holds,
//! however much else commits.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};
use sqlx::sqlite::SqliteConnectOptions;

use crate::{SqliteSync, StoreError};

/// A connection that only reads: `PRAGMA data_version` and the instances generation.
#[derive(Debug)]
pub(crate) struct DataVersion(Mutex<Connection>);

impl DataVersion {
    /// Opens the watch on the SQLite file at `path` (which the pool has already made).
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = side_connection(path)
            .map_err(|e| StoreError::Open(format!("watching {}: {e}", path.display())))?;
        Ok(Self(Mutex::new(conn)))
    }

    /// The current version, or `None` if it cannot be read (then nothing may be reused).
    pub(crate) fn read(&self) -> Option<u64> {
        let conn = self.0.lock().ok()?;
        let mut statement = conn.prepare_cached("PRAGMA data_version").ok()?;
        let version: i64 = statement.query_row([], |row| row.get(0)).ok()?;
        u64::try_from(version).ok()
    }

    /// The instances table's generation, or `None` if it cannot be read.
    pub(crate) fn instances_generation(&self) -> Option<u64> {
        let conn = self.0.lock().ok()?;
        let mut statement = conn
            .prepare_cached("SELECT n FROM store_generations WHERE what = 'instances'")
            .ok()?;
        let generation: i64 = statement.query_row([], |row| row.get(0)).ok()?;
        u64::try_from(generation).ok()
    }
}

/// A rusqlite connection to the store's file beside the pool's (this watch, the group commits'
/// and the checkpoint thread's), used by one thread at a time.
pub(crate) fn side_connection(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// A [`side_connection`] that writes: with the pragmas every writing connection sets first
/// (the group commits' and the checkpoint thread's).
pub(crate) fn writing_side_connection(
    path: &Path,
    sync: SqliteSync,
) -> rusqlite::Result<Connection> {
    let conn = side_connection(path)?;
    conn.execute_batch(&sync.connection_pragmas())?;
    Ok(conn)
}

/// The file a `sqlite:` URL names, read by sqlx's own parser, if it is one on disk (an
/// in-memory store has none).
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let options = SqliteConnectOptions::from_str(url).ok()?;
    let path = options.get_filename();
    path.is_file().then(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_of_url() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("starkeep.db");
        std::fs::write(&file, b"").unwrap();
        let url = format!("sqlite://{}?mode=rwc", file.display());
        assert_eq!(sqlite_file(&url), Some(file));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }

    #[tokio::test]
    async fn moves_with_every_commit_from_any_connection_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open_sqlite(dir.path()).await.unwrap();
        let start = store.data_version().expect("a SQLite file has a version");
        assert!(store.is_empty().await.unwrap());
        assert_eq!(store.data_version(), Some(start), "a read commits nothing");

        store.create_project("mine").await.unwrap();
        let after_own = store.data_version().unwrap();
        assert_ne!(after_own, start, "a commit through this store");

        let other = crate::Store::open_sqlite(dir.path()).await.unwrap();
        other.create_project("theirs").await.unwrap();
        let after_other = store.data_version().unwrap();
        assert_ne!(
            after_other, after_own,
            "a commit through another connection"
        );
        assert_eq!(store.data_version(), Some(after_other));
        other.close().await;
        store.close().await;
    }

    #[tokio::test]
    async fn the_instances_generation_moves_with_instances_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open_sqlite(dir.path()).await.unwrap();
        let project = store.create_project("p").await.unwrap();
        let start = store.instances_generation().expect("a SQLite file has one");

        let other = crate::Store::open_sqlite(dir.path()).await.unwrap();
        let record = other
            .create_instance(
                &crate::NewInstance {
                    project_id: project.id.clone(),
                    name: "i".into(),
                    engine: "embedded".into(),
                    settings: serde_json::json!({}),
                },
                &[],
            )
            .await
            .unwrap();
        let added = store.instances_generation().unwrap();
        assert_ne!(added, start, "an instance added by another connection");

        let version = store.data_version().unwrap();
        other
            .begin_audit(&crate::AuditEvent {
                at_ms: 1,
                request_id: "r".into(),
                actor: "a".into(),
                project_id: project.id.as_str().into(),
                instance_id: record.id.as_str().into(),
                action: "create_account".into(),
                account: None,
                status: 0,
                error_code: None,
            })
            .await
            .unwrap();
        assert_ne!(
            store.data_version().unwrap(),
            version,
            "the audit event committed"
        );
        assert_eq!(
            store.instances_generation(),
            Some(added),
            "but no instance changed"
        );

        other
            .set_instance_settings(&record.id, &serde_json::json!({"x": 1}))
            .await
            .unwrap();
        assert_ne!(
            store.instances_generation().unwrap(),
            added,
            "an instance changed"
        );
        other.close().await;
        store.close().await;
    }
}
