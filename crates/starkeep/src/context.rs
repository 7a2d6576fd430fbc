//! What every command opens: the store and the keys.
//!
//! On the default SQLite store, the keys are files in the data dir. On a shared PostgreSQL
//! store (`--database-url`), every replica must hold the same keys, so they live in the store,
//! sealed with the operator's master key (`STARKEEP_MASTER_KEY` or `--master-key-file`), and the
//! data dir holds nothing a replica needs.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use starkeep_auth::{keyfile, secretbox, token, Iam, SecretBox, TokenSigner};
use starkeep_store::{Backend, SqliteSync, Store};
use zeroize::Zeroizing;

/// The token-signing key's name (a file under `keys/` in the data dir, or a shared key).
pub const TOKEN_KEY: &str = "token-signing";
/// The name of the key that encrypts stored secrets.
pub const SECRETS_KEY: &str = "secrets";

/// Where the store is and how its keys are found, from the command line.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub master_key_file: Option<PathBuf>,
    pub sqlite_sync: SqliteSync,
}

/// An opened store with its keys.
pub struct Context {
    pub store: Store,
    keys: KeySource,
}

enum KeySource {
    /// One process: key files in the data dir.
    DataDir(PathBuf),
    /// Several replicas: keys in the store, sealed with the master key.
    Shared(Box<SecretBox>),
}

impl Context {
    pub async fn open(config: &StoreConfig) -> anyhow::Result<Self> {
        let store = match &config.database_url {
            Some(url) => Store::open_with(url, config.sqlite_sync)
                .await
                .context("opening the store")?,
            None => Store::open_sqlite_with(&config.data_dir, config.sqlite_sync)
                .await
                .with_context(|| format!("opening the store in {}", config.data_dir.display()))?,
        };
        let keys = match store.backend() {
            Backend::Sqlite => KeySource::DataDir(config.data_dir.join("keys")),
            Backend::Postgres => KeySource::Shared(Box::new(master_key(config)?)),
        };
        Ok(Self { store, keys })
    }

    /// The key `name`, made on first use.
    async fn key(&self, name: &str, len: usize) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        match &self.keys {
            KeySource::DataDir(dir) => {
                let path = dir.join(format!("{name}.key"));
                keyfile::load_or_create(&path, len)
                    .with_context(|| format!("reading the key file {}", path.display()))
            }
            KeySource::Shared(master) => {
                let fresh: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
                let sealed = self
                    .store
                    .shared_key(name, &master.seal(&fresh))
                    .await
                    .with_context(|| format!("reading the shared key {name}"))?;
                let key = master.open(&sealed).map_err(|e| {
                    anyhow!("the shared key {name} does not open with this master key: {e}")
                })?;
                if key.len() != len {
                    bail!(
                        "the shared key {name} has {} bytes, expected {len}",
                        key.len()
                    );
                }
                Ok(key)
            }
        }
    }

    /// The token service, with the signing key.
    pub async fn iam(&self, ttl: Duration) -> anyhow::Result<Iam> {
        let key = self.key(TOKEN_KEY, token::KEY_LEN).await?;
        Ok(Iam::new(self.store.clone(), TokenSigner::new(&key), ttl))
    }

    /// The box that seals stored secrets (access keys' secret keys, engines' passwords).
    pub async fn secret_box(&self) -> anyhow::Result<SecretBox> {
        let key = self.key(SECRETS_KEY, secretbox::KEY_LEN).await?;
        Ok(SecretBox::from_slice(&key))
    }
}

fn master_key(config: &StoreConfig) -> anyhow::Result<SecretBox> {
    let text = match (
        &config.master_key_file,
        std::env::var("STARKEEP_MASTER_KEY"),
    ) {
        (Some(path), _) => Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the master key file {}", path.display()))?,
        ),
        (None, Ok(text)) => Zeroizing::new(text),
        (None, Err(_)) => bail!(
            "a shared (PostgreSQL) store needs the master key that seals its keys: set \
             STARKEEP_MASTER_KEY to 64 hex digits (e.g. from `openssl rand -hex 32`) or pass \
             --master-key-file, the same on every replica"
        ),
    };
    let key = keyfile::parse_master_key(&text).map_err(|e| anyhow!(e))?;
    Ok(SecretBox::from_slice(&key))
}
