//! What every command opens: the data dir's store and keys.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use starkeep_auth::{keyfile, secretbox, token, Iam, SecretBox, TokenSigner};
use starkeep_store::Store;

/// The file, under the data dir, that holds the token-signing key.
pub const TOKEN_KEY_FILE: &str = "keys/token-signing.key";

/// The file, under the data dir, that holds the key that encrypts stored secrets.
pub const SECRET_KEY_FILE: &str = "keys/secrets.key";

/// An opened data dir.
pub struct Context {
    pub data_dir: PathBuf,
    pub store: Store,
}

impl Context {
    pub async fn open(data_dir: &Path) -> anyhow::Result<Self> {
        let store = Store::open_sqlite(data_dir)
            .await
            .with_context(|| format!("opening the store in {}", data_dir.display()))?;
        Ok(Self {
            data_dir: data_dir.to_owned(),
            store,
        })
    }

    /// The token service, with the data dir's signing key (made on first use).
    pub fn iam(&self, ttl: Duration) -> anyhow::Result<Iam> {
        let path = self.data_dir.join(TOKEN_KEY_FILE);
        let key = keyfile::load_or_create(&path, token::KEY_LEN)
            .with_context(|| format!("reading the token-signing key {}", path.display()))?;
        Ok(Iam::new(self.store.clone(), TokenSigner::new(&key), ttl))
    }

    /// The box that seals stored secrets, with the data dir's key (made on first use).
    #[allow(dead_code)] // used by the engines and access keys that store secrets
    pub fn secret_box(&self) -> anyhow::Result<SecretBox> {
        let path = self.data_dir.join(SECRET_KEY_FILE);
        let key = keyfile::load_or_create(&path, secretbox::KEY_LEN)
            .with_context(|| format!("reading the secrets key {}", path.display()))?;
        Ok(SecretBox::from_slice(&key))
    }
}
