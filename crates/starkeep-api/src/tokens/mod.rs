//! Keystone-v3 style token endpoints: [`create`] (`POST /v3/auth/tokens`), [`validate`]
//! (`GET /v3/auth/tokens`), and the token body they answer with.

pub mod create;
pub mod validate;

use serde::Serialize;
use starkeep_auth::TokenClaims;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// The header that carries a new token, as in Keystone and the cloud's IAM.
pub const SUBJECT_TOKEN_HEADER: &str = "x-subject-token";

/// `{"id": …, "name": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct NamedRef {
    pub id: String,
    pub name: String,
}

/// A project or user with its domain.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainScoped {
    pub id: String,
    pub name: String,
    pub domain: NamedRef,
}

/// What a token grants, in Keystone's form.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDetails {
    pub methods: Vec<String>,
    /// RFC 3339.
    pub expires_at: String,
    /// RFC 3339.
    pub issued_at: String,
    pub user: DomainScoped,
    pub project: DomainScoped,
    pub roles: Vec<NamedRef>,
}

/// `{"token": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenBody {
    pub token: TokenDetails,
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

impl From<&TokenClaims> for TokenBody {
    fn from(c: &TokenClaims) -> Self {
        let domain = || NamedRef {
            id: starkeep_auth::iam::DOMAIN.to_owned(),
            name: starkeep_auth::iam::DOMAIN.to_owned(),
        };
        TokenBody {
            token: TokenDetails {
                methods: vec!["password".to_owned()],
                expires_at: rfc3339(c.expires_at),
                issued_at: rfc3339(c.issued_at),
                user: DomainScoped {
                    id: c.user_id.clone(),
                    name: c.user_name.clone(),
                    domain: domain(),
                },
                project: DomainScoped {
                    id: c.project_id.clone(),
                    name: c.project_name.clone(),
                    domain: domain(),
                },
                roles: vec![NamedRef {
                    id: c.role.as_str().to_owned(),
                    name: c.role.as_str().to_owned(),
                }],
            },
        }
    }
}
