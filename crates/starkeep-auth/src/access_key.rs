//! [`AccessKeys`]: access key pairs (AK/SK) of IAM users, for requests signed with
//! `SDK-HMAC-SHA256` ([`crate::sdk_signature`]).
//!
//! The access key id (AK) is 20 upper-case letters and digits, like the cloud's; the secret key
//! (SK) is 40 letters and digits (about 238 random bits). The SK is shown once, when the pair is
//! made, and kept sealed with the [`SecretBox`] (it must be read back to check signatures). A
//! key acts with its user's role in its own project, read at each look-up.

use rand::distributions::{Distribution, Uniform};
use rand::rngs::OsRng;
use starkeep_domain::ProjectId;
use starkeep_store::{Store, StoreError};
use zeroize::Zeroizing;

use crate::{Role, SecretBox};

const AK_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SK_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// The length of an access key id.
pub const AK_LEN: usize = 20;
/// The length of a secret key.
pub const SK_LEN: usize = 40;

/// A new key pair, as shown (once) to the operator.
pub struct NewKeyPair {
    pub access_key: String,
    pub secret_key: Zeroizing<String>,
}

impl std::fmt::Debug for NewKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKeyPair")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// A key found by its id: whose it is, what it may do now, and its secret key.
pub struct KeyHolder {
    pub access_key: String,
    pub project_id: ProjectId,
    pub user_id: String,
    pub user_name: String,
    /// `None` when the user has no role in the key's project any more.
    pub role: Option<Role>,
    pub secret_key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for KeyHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyHolder")
            .field("access_key", &self.access_key)
            .field("project_id", &self.project_id)
            .field("user_name", &self.user_name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Why a key could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum AccessKeyError {
    #[error("the user has no role in the project")]
    NoRoleInProject,
    #[error("the secret key of {0} does not open with this server's secrets key")]
    Unreadable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Makes and finds access keys.
#[derive(Debug, Clone)]
pub struct AccessKeys {
    store: Store,
    secrets: SecretBox,
}

fn random_text(alphabet: &[u8], len: usize) -> Zeroizing<String> {
    let pick = Uniform::from(0..alphabet.len());
    let mut rng = OsRng;
    Zeroizing::new(
        (0..len)
            .map(|_| alphabet[pick.sample(&mut rng)] as char)
            .collect(),
    )
}

impl AccessKeys {
    pub fn new(store: Store, secrets: SecretBox) -> Self {
        Self { store, secrets }
    }

    /// Makes a key pair for `user_id` in `project`; the user must have a role there.
    pub async fn create(
        &self,
        project: &ProjectId,
        user_id: &str,
    ) -> Result<NewKeyPair, AccessKeyError> {
        if self.store.role_of(project, user_id).await?.is_none() {
            return Err(AccessKeyError::NoRoleInProject);
        }
        let secret_key = random_text(SK_ALPHABET, SK_LEN);
        let sealed = self.secrets.seal(secret_key.as_bytes());
        // 36^20 ids: a collision is next to impossible, but a taken id must not end the command.
        let mut attempts = 0;
        loop {
            let access_key = random_text(AK_ALPHABET, AK_LEN).to_string();
            match self
                .store
                .create_access_key(&access_key, project, user_id, &sealed)
                .await
            {
                Ok(()) => {
                    return Ok(NewKeyPair {
                        access_key,
                        secret_key,
                    })
                }
                Err(StoreError::Conflict) if attempts < 3 => attempts += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The key `access_key`, with its secret key opened; `None` if there is no such key.
    pub async fn find(&self, access_key: &str) -> Result<Option<KeyHolder>, AccessKeyError> {
        let Some(record) = self.store.access_key(access_key).await? else {
            return Ok(None);
        };
        let secret_key = self
            .secrets
            .open(&record.sealed_secret)
            .map_err(|_| AccessKeyError::Unreadable(record.access_key.clone()))?;
        Ok(Some(KeyHolder {
            role: record.role.as_deref().and_then(|r| r.parse().ok()),
            access_key: record.access_key,
            project_id: record.project_id,
            user_id: record.user_id,
            user_name: record.user_name,
            secret_key,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn made_once_found_with_role_and_sealed_at_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let main = store.create_project("main").await.unwrap();
        let other = store.create_project("other").await.unwrap();
        let user = store
            .create_user("u", "phc", &main.id, "readonly")
            .await
            .unwrap();
        let keys = AccessKeys::new(store.clone(), SecretBox::new(&[3; 32]));

        let pair = keys.create(&main.id, &user.id).await.unwrap();
        assert_eq!(pair.access_key.len(), AK_LEN);
        assert!(pair.access_key.bytes().all(|b| AK_ALPHABET.contains(&b)));
        assert_eq!(pair.secret_key.len(), SK_LEN);
        assert!(!format!("{pair:?}").contains(pair.secret_key.as_str()));

        let stored = store.access_key(&pair.access_key).await.unwrap().unwrap();
        assert!(stored.sealed_secret.starts_with("v1:"));
        assert!(!stored.sealed_secret.contains(pair.secret_key.as_str()));

        let found = keys.find(&pair.access_key).await.unwrap().unwrap();
        assert_eq!(found.secret_key.as_slice(), pair.secret_key.as_bytes());
        assert_eq!(found.role, Some(Role::Readonly));
        assert_eq!(found.project_id, main.id);
        assert!(keys.find("NOSUCHKEY").await.unwrap().is_none());

        assert!(matches!(
            keys.create(&other.id, &user.id).await,
            Err(AccessKeyError::NoRoleInProject)
        ));
        let other_box = AccessKeys::new(store, SecretBox::new(&[4; 32]));
        assert!(matches!(
            other_box.find(&pair.access_key).await,
            Err(AccessKeyError::Unreadable(_))
        ));
        let second = keys.create(&main.id, &user.id).await.unwrap();
        assert_ne!(second.access_key, pair.access_key);
        assert_ne!(second.secret_key, pair.secret_key);
    }
}
