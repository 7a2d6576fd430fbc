//! [`ExternalIam`]: validating `X-Auth-Token`s with a Keystone-v3-compatible IAM
//! (`serve --iam-url`), as OpenStack services do: `GET {iam}/v3/auth/tokens` with the token in
//! both `X-Auth-Token` and `X-Subject-Token` (a token may validate itself).
//!
//! The IAM's answer gives the project (`token.project.id`), the user and the roles
//! (`token.roles[].name`, see [`role_from_names`]). Positive answers are cached until the
//! token's expiry or [`CACHE_TTL`], whichever is sooner, in a bounded map keyed by the token's
//! SHA-256 (the token itself is not kept). Refusals are not cached: the address throttle
//! bounds how often a caller can make starkeep ask.
//!
//! starkeep's own `GET /v3/auth/tokens` ([`crate::tokens::validate`]) answers this request, so
//! one starkeep can be the IAM of another.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use starkeep_auth::Role;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The longest a validated token is trusted without asking the IAM again.
pub const CACHE_TTL: Duration = Duration::from_secs(5 * 60);
/// The most tokens cached at once.
const MAX_CACHED: usize = 10_000;

/// Who a token from the IAM names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamIdentity {
    pub user_id: String,
    pub user_name: String,
    /// `None` for a token not scoped to a project.
    pub project_id: Option<String>,
    /// `None` when none of the token's roles means anything here.
    pub role: Option<Role>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Why a token was not validated.
#[derive(Debug, thiserror::Error)]
pub enum ExternalIamError {
    /// The IAM says the token is not valid (401, 403 or 404), or it has expired.
    #[error("the IAM refused the token")]
    Refused,
    /// The IAM could not be reached or answered something else.
    #[error("the IAM is unavailable: {0}")]
    Unavailable(String),
}

/// A Keystone-v3-compatible IAM, and its cache of validated tokens.
#[derive(Debug)]
pub struct ExternalIam {
    client: reqwest::Client,
    tokens_url: String,
    cache: Mutex<HashMap<[u8; 32], (IamIdentity, Instant)>>,
}

/// Maps the IAM's role names to a starkeep role: `admin`, `te_admin` and `member` may change
/// accounts; `readonly` and `reader` may read them. The strongest one wins.
pub fn role_from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<Role> {
    let mut role = None;
    for name in names {
        match name.to_ascii_lowercase().as_str() {
            "admin" | "te_admin" | "member" => return Some(Role::Admin),
            "readonly" | "reader" => role = Some(Role::Readonly),
            _ => {}
        }
    }
    role
}

#[derive(Deserialize)]
struct TokenAnswer {
    token: TokenPart,
}

#[derive(Deserialize)]
struct TokenPart {
    expires_at: String,
    user: Named,
    project: Option<Named>,
    #[serde(default)]
    roles: Vec<Named>,
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

impl ExternalIam {
    /// An IAM at `base_url` (`http(s)://host:port`, with or without a trailing `/v3`).
    pub fn new(base_url: &str) -> Result<Self, String> {
        let base = base_url.trim().trim_end_matches('/');
        let base = base.strip_suffix("/v3").unwrap_or(base);
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "the IAM URL must start with http:// or https://, not {base_url:?}"
            ));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot make an HTTP client for the IAM: {e}"))?;
        Ok(Self {
            client,
            tokens_url: format!("{base}/v3/auth/tokens"),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Who `token` names, from the cache or the IAM.
    pub async fn validate(&self, token: &str) -> Result<IamIdentity, ExternalIamError> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = Instant::now();
        if let Some((identity, until)) = self.cache.lock().expect("iam cache lock").get(&key) {
            if *until > now {
                return Ok(identity.clone());
            }
        }
        let identity = self.ask(token).await?;
        let left = identity.expires_at - starkeep_store::now_unix();
        if left <= 0 {
            return Err(ExternalIamError::Refused);
        }
        let until = now + CACHE_TTL.min(Duration::from_secs(left as u64));
        let mut cache = self.cache.lock().expect("iam cache lock");
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, (_, until)| *until > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, (identity.clone(), until));
        Ok(identity)
    }

    async fn ask(&self, token: &str) -> Result<IamIdentity, ExternalIamError> {
        let answer = self
            .client
            .get(&self.tokens_url)
            .header("X-Auth-Token", token)
            .header("X-Subject-Token", token)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| ExternalIamError::Unavailable(e.without_url().to_string()))?;
        match answer.status().as_u16() {
            200 | 201 => {}
            401 | 403 | 404 => return Err(ExternalIamError::Refused),
            other => {
                return Err(ExternalIamError::Unavailable(format!(
                    "the IAM answered HTTP {other}"
                )))
            }
        }
        let body: TokenAnswer = answer
            .json()
            .await
            .map_err(|e| ExternalIamError::Unavailable(format!("unreadable token answer: {e}")))?;
        let expires_at = OffsetDateTime::parse(&body.token.expires_at, &Rfc3339)
            .map_err(|_| {
                ExternalIamError::Unavailable(format!(
                    "unreadable expires_at {:?}",
                    body.token.expires_at
                ))
            })?
            .unix_timestamp();
        Ok(IamIdentity {
            user_id: body.token.user.id,
            user_name: body.token.user.name,
            project_id: body.token.project.map(|p| p.id).filter(|id| !id.is_empty()),
            role: role_from_names(body.token.roles.iter().map(|r| r.name.as_str())),
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_map_to_the_strongest_known_one() {
        assert_eq!(role_from_names(["reader", "admin"]), Some(Role::Admin));
        assert_eq!(role_from_names(["Member"]), Some(Role::Admin));
        assert_eq!(role_from_names(["readonly"]), Some(Role::Readonly));
        assert_eq!(role_from_names(["op_service", "billing"]), None);
        assert_eq!(role_from_names([]), None);
    }

    #[test]
    fn urls() {
        for base in ["http://iam:5000", "http://iam:5000/", "http://iam:5000/v3/"] {
            assert_eq!(
                ExternalIam::new(base).unwrap().tokens_url,
                "http://iam:5000/v3/auth/tokens"
            );
        }
        assert!(ExternalIam::new("iam:5000").is_err());
    }
}
