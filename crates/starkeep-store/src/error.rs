//! [`StoreError`]: what can go wrong in the store.

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be opened or migrated.
    #[error("cannot open the store: {0}")]
    Open(String),
    /// A unique key is already taken (an account, project or user of that name exists).
    #[error("already exists")]
    Conflict,
    /// A row the caller relies on is not there.
    #[error("not found: {0}")]
    NotFound(String),
    /// A stored value does not parse (the store was edited by hand, or a bug wrote it).
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("store query failed: {0}")]
    Database(sqlx::Error),
    /// The SQLite file failed on the connection that commits the writes on a request's path.
    #[error("store write failed: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Database(e),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(failure, _)
                if matches!(
                    failure.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
            {
                StoreError::Conflict
            }
            _ => StoreError::Sqlite(e),
        }
    }
}
