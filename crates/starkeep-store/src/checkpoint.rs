//! [`Checkpointer`]: a thread that copies the SQLite store's write-ahead log back into the
//! database file, so that requests seldom wait for it.
//!
//! Left to itself, SQLite checkpoints inside the commit that finds the log over 1,000 pages, and
//! with `synchronous = NORMAL` that commit then waits for two flushes, on whatever thread made
//! it. The group commits of [`crate::group_commit`] run on the requests' own threads (runtime
//! workers), so their connection turns the automatic checkpoint off and asks this thread instead,
//! every so many commits. How a checkpoint goes along with the commits is
//! [`SqliteCommits::checkpoint`]'s business; this module holds the thread and the statement.
//!
//! The pool's connections keep SQLite's automatic checkpoint; with this thread keeping the log
//! short they seldom reach it.

use std::path::Path;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Weak;

use rusqlite::Connection;

use crate::group_commit::SqliteCommits;
use crate::SqliteSync;

/// The handle on a store's checkpoint thread; the thread ends when the handle is dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    wake: SyncSender<()>,
}

impl Checkpointer {
    /// Starts the thread, on a connection of its own to the SQLite file at `path`, checkpointing
    /// for `commits`.
    pub(crate) fn start(
        path: &Path,
        sync: SqliteSync,
        commits: Weak<SqliteCommits>,
    ) -> std::io::Result<Self> {
        let conn = crate::data_version::writing_side_connection(path, sync)
            .map_err(std::io::Error::other)?;
        // One ask waiting is enough: asks made while a checkpoint runs are answered by the next
        // one, which copies all the log holds by then.
        let (wake, asked) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("store-checkpoints".into())
            .spawn(move || {
                while asked.recv().is_ok() {
                    let Some(commits) = commits.upgrade() else {
                        break;
                    };
                    if let Err(e) = commits.checkpoint(&conn) {
                        tracing::warn!(error = %e, "checkpoint of the store's log failed");
                    }
                }
            })?;
        Ok(Self { wake })
    }

    /// Asks for a checkpoint, without waiting for it. Answers `false` only when the thread is
    /// gone, and so will make no more.
    pub(crate) fn ask(&self) -> bool {
        !matches!(self.wake.try_send(()), Err(TrySendError::Disconnected(())))
    }

    /// A handle whose thread has already stopped.
    #[cfg(test)]
    pub(crate) fn stopped() -> Self {
        let (wake, _) = mpsc::sync_channel(1);
        Self { wake }
    }
}

/// One passive checkpoint: it takes no write lock and waits for no reader, so commits go on while
/// it runs. What it cannot copy (frames a reader still needs, or committed meanwhile) is left for
/// the next.
pub(crate) fn passive(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}
