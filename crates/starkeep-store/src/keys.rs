//! Shared keys: key material that every replica must hold the same copy of, kept sealed (the
//! store never sees it in plain text; sealing and opening is the caller's, with the master key).

use crate::{now_unix, Store, StoreError};

impl Store {
    /// The sealed key `name`. If no replica has stored one yet, `sealed_new` is stored and
    /// returned; if another replica won the race, its key is returned instead, so every replica
    /// ends up with the same key.
    pub async fn shared_key(&self, name: &str, sealed_new: &str) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO replica_keys (name, sealed, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(sealed_new)
        .bind(now_unix())
        .execute(self.pool())
        .await?;
        let (sealed,): (String,) =
            sqlx::query_as("SELECT sealed FROM replica_keys WHERE name = $1")
                .bind(name)
                .fetch_one(self.pool())
                .await?;
        Ok(sealed)
    }
}
