//! [`SqliteSync`]: when a commit to the SQLite store reaches the disk, and the settings every
//! connection to the file starts with (the pool's, the group commit's, the checkpoint thread's).
//! Which connections exist is the business of [`crate::Store`] and [`crate::group_commit`].

/// When a commit to the SQLite store reaches the disk. Both keep the store whole (WAL journal):
/// they differ only in what a power loss or an operating-system crash can take back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSync {
    /// `synchronous = NORMAL`: a commit is in the write-ahead log when it returns, so it
    /// survives starkeep crashing or being killed; the log is flushed to disk at checkpoints, so
    /// a power loss can take back the commits since the last one. The checkpoints (each 1,000
    /// or so pages of log) run on a thread of their own: a request's audit or pending write
    /// waits for their flushes only if it comes while the last few pages are copied, and a
    /// write through the pool only if it finds the log long and starts SQLite's automatic
    /// checkpoint itself.
    #[default]
    Normal,
    /// `synchronous = FULL`: every commit is flushed to disk before it returns (one `fsync`,
    /// 0.2–0.7 ms on the benchmark machine), so it also survives a power loss. A request's audit
    /// and pending writes then commit on a blocking thread, so that no runtime worker waits for
    /// the flush.
    Full,
}

impl SqliteSync {
    fn pragma(self) -> &'static str {
        match self {
            SqliteSync::Normal => "NORMAL",
            SqliteSync::Full => "FULL",
        }
    }

    /// What every connection to the SQLite file sets first, the pool's and the group commits'.
    pub(crate) fn connection_pragmas(self) -> String {
        format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA foreign_keys = ON; \
             PRAGMA busy_timeout = 5000;",
            self.pragma()
        )
    }
}
