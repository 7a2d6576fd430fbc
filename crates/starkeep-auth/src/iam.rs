//! [`Iam`]: starkeep's own identity service: users log in with a password and get a token for
//! one project.
//!
//! Password checks run argon2 on a blocking thread. An unknown user name costs the same as a
//! wrong password, and both answer the same error, so a caller cannot tell which it was.

use std::time::Duration;

use starkeep_domain::ProjectId;
use starkeep_store::{Project, Store, StoreError};

use crate::{password, Role, TokenClaims, TokenSigner};

/// The one domain starkeep has.
pub const DOMAIN: &str = "default";

/// The default lifetime of a token.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// How a login names its project.
#[derive(Debug, Clone)]
pub enum ProjectScope {
    Id(String),
    Name(String),
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("the user name or password is wrong")]
    BadCredentials,
    #[error("the domain is not known")]
    UnknownDomain,
    #[error("the project is not known, or the user has no role in it")]
    NoRoleInProject,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Issues tokens to IAM users.
#[derive(Debug, Clone)]
pub struct Iam {
    store: Store,
    signer: TokenSigner,
    ttl: Duration,
}

impl Iam {
    pub fn new(store: Store, signer: TokenSigner, ttl: Duration) -> Self {
        Self { store, signer, ttl }
    }

    pub fn signer(&self) -> &TokenSigner {
        &self.signer
    }

    /// Checks `user`'s password and issues a token for the project.
    pub async fn login(
        &self,
        user: &str,
        password: &str,
        domain: &str,
        scope: &ProjectScope,
    ) -> Result<(String, TokenClaims), LoginError> {
        if domain != DOMAIN {
            return Err(LoginError::UnknownDomain);
        }
        let found = self.store.user_by_name(user).await?;
        let password = zeroize::Zeroizing::new(password.to_owned());
        let phc = found.as_ref().map(|u| u.password_hash.clone());
        let ok = tokio::task::spawn_blocking(move || match phc {
            Some(phc) => password::verify(&password, &phc),
            None => {
                password::verify_dummy(&password);
                false
            }
        })
        .await
        .unwrap_or(false);
        let user = match (ok, found) {
            (true, Some(user)) => user,
            _ => return Err(LoginError::BadCredentials),
        };
        let project = match scope {
            ProjectScope::Id(id) => match ProjectId::parse(id) {
                Ok(id) => self.store.project_by_id(&id).await?,
                Err(_) => None,
            },
            ProjectScope::Name(name) => self.store.project_by_name(name).await?,
        }
        .ok_or(LoginError::NoRoleInProject)?;
        self.issue(&project, &user.id, &user.name).await
    }

    /// Issues a token for a user in a project without a password (for the operator's CLI).
    pub async fn issue(
        &self,
        project: &Project,
        user_id: &str,
        user_name: &str,
    ) -> Result<(String, TokenClaims), LoginError> {
        let role = self
            .store
            .role_of(&project.id, user_id)
            .await?
            .and_then(|r| r.parse::<Role>().ok())
            .ok_or(LoginError::NoRoleInProject)?;
        let now = starkeep_store::now_unix();
        let claims = TokenClaims {
            user_id: user_id.to_owned(),
            user_name: user_name.to_owned(),
            project_id: project.id.to_string(),
            project_name: project.name.clone(),
            role,
            issued_at: now,
            expires_at: now + self.ttl.as_secs() as i64,
        };
        Ok((self.signer.issue(&claims), claims))
    }
}
