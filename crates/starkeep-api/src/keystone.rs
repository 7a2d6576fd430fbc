//! The Keystone v3 reads that the cloud's Terraform provider makes when it starts with an
//! AK/SK, answered so that its `region` can name a starkeep project:
//!
//! - `GET /v3/projects?name=<region>[&domain_id=…]`: the project id of the region (the golangsdk
//!   client's `getProjectID`, and the provider's `loadUserProjects` before its first call to a
//!   service of that region);
//! - `GET /v3/auth/domains`: the account's domain id, where the provider block names none
//!   (`getDomainID`);
//! - `GET /v3/auth/catalog`: the service catalog an AK/SK client reads at start-up. starkeep has
//!   no catalog to give (the provider block's `endpoints` point at it): the list is empty.
//!
//! Sources (read, not copied): huaweicloud/terraform-provider-huaweicloud
//! `huaweicloud/config/config.go` (`loadUserProjects`, `getDomainID`) and
//! `huaweicloud/config/auth.go` (`buildClientByAKSK`); chnsz/golangsdk `openstack/client.go`
//! (`v3AKSKAuth`, `getProjectID`, `getDomainID`).
//!
//! Signed and token callers alike ([`crate::auth::require_identity`]); each sees only what its
//! credential is for: its own project, and starkeep's one domain. Not here: the token endpoints
//! ([`crate::tokens`]), anything that changes IAM.

use axum::extract::{Query, State};
use axum::http::Uri;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use starkeep_domain::ProjectId;
use starkeep_engine::EngineError;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// `{"self": …}`: where an item is.
#[derive(Debug, Serialize, ToSchema)]
pub struct SelfLink {
    #[serde(rename = "self")]
    pub self_: String,
}

/// The links of a list: itself, and no other page.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListLinks {
    #[serde(rename = "self")]
    pub self_: String,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl ListLinks {
    fn of(uri: &Uri) -> Self {
        Self {
            self_: uri.to_string(),
            previous: None,
            next: None,
        }
    }
}

/// One project, as Keystone lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeystoneProject {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: String,
    pub enabled: bool,
    pub is_domain: bool,
    pub parent_id: String,
    pub links: SelfLink,
}

/// `GET /v3/projects`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectList {
    pub projects: Vec<KeystoneProject>,
    pub links: ListLinks,
}

/// The filters of `GET /v3/projects` that the provider sends.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectFilter {
    /// The project's name (the provider sends its `region`).
    pub name: Option<String>,
    /// The domain's id.
    pub domain_id: Option<String>,
}

/// One domain, as Keystone lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeystoneDomain {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub links: SelfLink,
}

/// `GET /v3/auth/domains`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainList {
    pub domains: Vec<KeystoneDomain>,
    pub links: ListLinks,
}

/// `GET /v3/auth/catalog`: always empty here.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceCatalog {
    pub catalog: Vec<serde_json::Value>,
    pub links: ListLinks,
}

/// The projects the caller may see that match the filter: its own, or none.
#[utoipa::path(
    get,
    path = "/v3/projects",
    tag = "iam",
    params(ProjectFilter),
    responses(
        (status = 200, description = "The caller's own project, if it matches the filter", body = ProjectList),
        (status = 401, description = "No valid credential", body = crate::error::ErrorBody),
    ),
    security(("token" = []))
)]
pub async fn list_projects(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(filter): Query<ProjectFilter>,
    uri: Uri,
) -> Result<Json<ProjectList>, ApiError> {
    let domain = starkeep_auth::iam::DOMAIN;
    let own = match ProjectId::parse(&caller.project_id) {
        Ok(id) => app
            .store()
            .project_by_id(&id)
            .await
            .map_err(|e| ApiError::from(EngineError::Store(e)))?,
        // A caller of an external IAM whose project starkeep does not hold.
        Err(_) => None,
    };
    let projects = own
        .filter(|p| filter.name.as_deref().is_none_or(|n| n == p.name))
        .filter(|_| filter.domain_id.as_deref().is_none_or(|d| d == domain))
        .map(|p| KeystoneProject {
            links: SelfLink {
                self_: format!("/v3/projects/{}", p.id),
            },
            id: p.id.to_string(),
            name: p.name,
            domain_id: domain.to_owned(),
            description: String::new(),
            enabled: true,
            is_domain: false,
            parent_id: domain.to_owned(),
        })
        .into_iter()
        .collect();
    Ok(Json(ProjectList {
        projects,
        links: ListLinks::of(&uri),
    }))
}

/// The domains the caller may act in: starkeep's one domain.
#[utoipa::path(
    get,
    path = "/v3/auth/domains",
    tag = "iam",
    responses(
        (status = 200, description = "starkeep's one domain", body = DomainList),
        (status = 401, description = "No valid credential", body = crate::error::ErrorBody),
    ),
    security(("token" = []))
)]
pub async fn list_domains(uri: Uri) -> Json<DomainList> {
    let domain = starkeep_auth::iam::DOMAIN;
    Json(DomainList {
        domains: vec![KeystoneDomain {
            id: domain.to_owned(),
            name: domain.to_owned(),
            description: String::new(),
            enabled: true,
            links: SelfLink {
                self_: format!("/v3/domains/{domain}"),
            },
        }],
        links: ListLinks::of(&uri),
    })
}

/// The service catalog of the caller: empty (the provider block's `endpoints` name starkeep).
#[utoipa::path(
    get,
    path = "/v3/auth/catalog",
    tag = "iam",
    responses(
        (status = 200, description = "An empty catalog", body = ServiceCatalog),
        (status = 401, description = "No valid credential", body = crate::error::ErrorBody),
    ),
    security(("token" = []))
)]
pub async fn service_catalog(uri: Uri) -> Json<ServiceCatalog> {
    Json(ServiceCatalog {
        catalog: Vec::new(),
        links: ListLinks::of(&uri),
    })
}
