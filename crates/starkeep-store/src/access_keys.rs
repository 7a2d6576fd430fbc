//! Access keys (AK/SK): an IAM user's key pair for one project, for requests signed with
//! `SDK-HMAC-SHA256`.
//!
//! The secret key arrives here already sealed (by `starkeep-auth`'s secret box) and is handed
//! back sealed; the store never sees it in plain text. What a key may do is its user's role in
//! the key's project, read at each look-up, so a changed or removed role applies at once.

use sqlx::Row;
use starkeep_domain::ProjectId;

use crate::{now_unix, Store, StoreError};

/// A key as the request path needs it: whose it is, what it may do, and its sealed secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKeyRecord {
    pub access_key: String,
    pub project_id: ProjectId,
    pub user_id: String,
    pub user_name: String,
    /// The user's role in the key's project now; `None` if it has none any more.
    pub role: Option<String>,
    /// `v1:…`, from the secret box.
    pub sealed_secret: String,
    pub created_at: i64,
}

impl std::fmt::Debug for AccessKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKeyRecord")
            .field("access_key", &self.access_key)
            .field("project_id", &self.project_id)
            .field("user_name", &self.user_name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A key as the operator lists it (no secret, sealed or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeySummary {
    pub access_key: String,
    pub project_id: ProjectId,
    pub project_name: String,
    pub user_name: String,
    pub created_at: i64,
}

fn project_id(row: &sqlx::any::AnyRow) -> Result<ProjectId, StoreError> {
    let id: String = row.try_get("project_id")?;
    ProjectId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    /// Stores a new key of `user_id` in `project_id`. A taken access key id answers
    /// [`StoreError::Conflict`].
    pub async fn create_access_key(
        &self,
        access_key: &str,
        project_id: &ProjectId,
        user_id: &str,
        sealed_secret: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO access_keys (access_key, project_id, user_id, sealed_secret, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(access_key)
        .bind(project_id.as_str())
        .bind(user_id)
        .bind(sealed_secret)
        .bind(now_unix())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The key `access_key` with its user and the user's current role in the key's project.
    pub async fn access_key(
        &self,
        access_key: &str,
    ) -> Result<Option<AccessKeyRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT k.access_key, k.project_id, k.user_id, u.name AS user_name, r.role, \
             k.sealed_secret, k.created_at \
             FROM access_keys k JOIN iam_users u ON u.id = k.user_id \
             LEFT JOIN project_roles r ON r.project_id = k.project_id AND r.user_id = k.user_id \
             WHERE k.access_key = $1",
        )
        .bind(access_key)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(AccessKeyRecord {
                access_key: r.try_get("access_key")?,
                project_id: project_id(&r)?,
                user_id: r.try_get("user_id")?,
                user_name: r.try_get("user_name")?,
                role: r.try_get("role")?,
                sealed_secret: r.try_get("sealed_secret")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    /// Every key, or a project's, by project name, user name and key.
    pub async fn list_access_keys(
        &self,
        project: Option<&ProjectId>,
    ) -> Result<Vec<AccessKeySummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT k.access_key, k.project_id, p.name AS project_name, u.name AS user_name, \
             k.created_at \
             FROM access_keys k JOIN iam_users u ON u.id = k.user_id \
             JOIN projects p ON p.id = k.project_id \
             WHERE $1 = '' OR k.project_id = $1 \
             ORDER BY p.name, u.name, k.access_key",
        )
        .bind(project.map(ProjectId::as_str).unwrap_or_default())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AccessKeySummary {
                    access_key: r.try_get("access_key")?,
                    project_id: project_id(r)?,
                    project_name: r.try_get("project_name")?,
                    user_name: r.try_get("user_name")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Deletes a key; whether it existed.
    pub async fn delete_access_key(&self, access_key: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM access_keys WHERE access_key = $1")
            .bind(access_key)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
