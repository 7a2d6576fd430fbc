//! `POST /v3/auth/tokens`: log in with a user name and password (Keystone v3's password method,
//! as the cloud's IAM takes it) and get a token for one project in the `X-Subject-Token` header.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use starkeep_auth::{LoginError, ProjectScope};
use starkeep_domain::InvalidInput;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::{TokenBody, SUBJECT_TOKEN_HEADER};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::ApiJson;
use crate::state::AppState;

/// `{"auth": {"identity": …, "scope": …}}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    pub auth: AuthRequest,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AuthRequest {
    pub identity: IdentityRequest,
    #[schema(required = true, nullable = false)]
    pub scope: Option<ScopeRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct IdentityRequest {
    /// Must contain `password`.
    #[schema(example = json!(["password"]))]
    pub methods: Vec<String>,
    #[schema(required = true, nullable = false)]
    pub password: Option<PasswordIdentity>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordIdentity {
    pub user: UserCredential,
}

#[derive(Deserialize, ToSchema)]
pub struct UserCredential {
    #[schema(example = "admin", required = true, nullable = false)]
    pub name: Option<String>,
    #[schema(required = true, nullable = false)]
    pub password: Option<String>,
    /// starkeep has one domain, `default`.
    pub domain: Option<DomainRequest>,
}

impl std::fmt::Debug for UserCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredential")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DomainRequest {
    pub name: Option<String>,
    pub id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ScopeRequest {
    #[schema(required = true, nullable = false)]
    pub project: Option<ProjectRequest>,
}

/// A project by `id` or by `name`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProjectRequest {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// A login, validated.
struct PasswordLogin {
    user: String,
    password: Zeroizing<String>,
    domain: String,
    scope: ProjectScope,
}

impl TryFrom<TokenRequest> for PasswordLogin {
    type Error = InvalidInput;

    fn try_from(req: TokenRequest) -> Result<Self, InvalidInput> {
        let auth = req.auth;
        if !auth.identity.methods.iter().any(|m| m == "password") {
            return Err(InvalidInput::Missing {
                field: "auth.identity.methods: password",
            });
        }
        let user = auth
            .identity
            .password
            .ok_or(InvalidInput::Missing {
                field: "auth.identity.password",
            })?
            .user;
        let name = user.name.ok_or(InvalidInput::Missing {
            field: "auth.identity.password.user.name",
        })?;
        let password = Zeroizing::new(user.password.ok_or(InvalidInput::Missing {
            field: "auth.identity.password.user.password",
        })?);
        let domain = user
            .domain
            .and_then(|d| d.name.or(d.id))
            .unwrap_or_else(|| starkeep_auth::iam::DOMAIN.to_owned());
        let project = auth
            .scope
            .and_then(|s| s.project)
            .ok_or(InvalidInput::Missing {
                field: "auth.scope.project",
            })?;
        let scope = match (project.id, project.name) {
            (Some(id), _) => ProjectScope::Id(id),
            (None, Some(name)) => ProjectScope::Name(name),
            (None, None) => {
                return Err(InvalidInput::Missing {
                    field: "auth.scope.project.id or auth.scope.project.name",
                })
            }
        };
        Ok(Self {
            user: name,
            password,
            domain,
            scope,
        })
    }
}

/// Get a token with a user name and password.
#[utoipa::path(
    post,
    path = "/v3/auth/tokens",
    tag = "iam",
    request_body = TokenRequest,
    responses(
        (status = 201, description = "The token is in the X-Subject-Token header", body = TokenBody,
         headers(("X-Subject-Token" = String, description = "The token to send as X-Auth-Token"))),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Wrong credentials, or no role in the project", body = ErrorBody),
        (status = 429, description = "Too many failed logins from this address; see Retry-After", body = ErrorBody,
         headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn create_token(
    State(app): State<AppState>,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Response, ApiError> {
    let login = PasswordLogin::try_from(body)?;
    let (token, claims) = app
        .iam()
        .login(&login.user, &login.password, &login.domain, &login.scope)
        .await
        .map_err(|e| match e {
            LoginError::BadCredentials | LoginError::UnknownDomain => ApiError::unauthenticated(
                "the user name, password or domain is wrong",
                "用户名、密码或域名错误",
            ),
            LoginError::NoRoleInProject => ApiError::unauthenticated(
                "the project does not exist or the user has no role in it",
                "项目不存在或用户在该项目中没有角色",
            ),
            LoginError::Store(err) => {
                tracing::error!(error = %err, "store failure during login");
                ApiError::new(ErrorCode::Internal)
            }
        })?;
    let mut response = (StatusCode::CREATED, Json(TokenBody::from(&claims))).into_response();
    response.headers_mut().insert(
        SUBJECT_TOKEN_HEADER,
        HeaderValue::from_str(&token).expect("tokens are base64url and dots"),
    );
    Ok(response)
}
