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
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Database(e),
        }
    }
}
