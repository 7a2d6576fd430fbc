//! [`EngineError`]: why an engine could not do what was asked.
//!
//! Variants that a client caused carry only names the client sent. Variants that the backend
//! caused carry a detail for the log; the HTTP layer never shows it to the client.

use starkeep_store::StoreError;

/// An engine failure.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the instance does not exist")]
    UnknownInstance,
    #[error("account {0} already exists")]
    AccountExists(String),
    #[error("account {0} does not exist")]
    AccountNotFound(String),
    #[error("account {0} is a system account and cannot be changed")]
    SystemAccount(String),
    #[error("database {0} does not exist on this instance")]
    UnknownDatabase(String),
    /// A system database that no account may be granted on.
    #[error("database {0} is a system database and cannot be granted")]
    ReservedDatabase(String),
    /// A database name the engine's server cannot be sent (the detail says why).
    #[error("{0}")]
    UnaddressableDatabase(String),
    /// The instance's engine kind is not served by this build.
    #[error("engine {0} is not available")]
    EngineNotAvailable(String),
    /// The database server is down, slow or refused the admin credential.
    #[error("backend unavailable: {0}")]
    BackendUnavailable(String),
    /// The database server answered with an error.
    #[error("backend error: {0}")]
    Backend(String),
    /// Account sync was asked of an instance that names no TaurusDB source.
    #[error("the instance has no TaurusDB source to sync from")]
    NoSyncSource,
    /// The instance's TaurusDB source does not answer (detail for the log).
    #[error("the TaurusDB source is unreachable: {0}")]
    SyncSourceUnavailable(String),
    #[error("store failure: {0}")]
    Store(#[from] StoreError),
}
