//! IAM users (starkeep's own users, who get tokens) and their role in each project.
//!
//! Passwords arrive here already hashed (argon2, by `starkeep-auth`); roles are stored as their
//! names and parsed by the caller.

use sqlx::Row;
use starkeep_domain::ProjectId;

use crate::{now_unix, random_id_bytes, Store, StoreError};

/// An IAM user.
#[derive(Clone, PartialEq, Eq)]
pub struct IamUser {
    pub id: String,
    pub name: String,
    /// The argon2 PHC string.
    pub password_hash: String,
}

impl std::fmt::Debug for IamUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IamUser")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A user's role in one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleBinding {
    pub project_id: ProjectId,
    pub user_id: String,
    pub role: String,
}

impl Store {
    /// Creates a user and binds it to `project_id` with `role`, in one transaction.
    /// A taken name answers [`StoreError::Conflict`].
    pub async fn create_user(
        &self,
        name: &str,
        password_hash: &str,
        project_id: &ProjectId,
        role: &str,
    ) -> Result<IamUser, StoreError> {
        let user = IamUser {
            id: hex_id(),
            name: name.to_owned(),
            password_hash: password_hash.to_owned(),
        };
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO iam_users (id, name, password_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&user.id)
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(now_unix())
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO project_roles (project_id, user_id, role) VALUES ($1, $2, $3)")
            .bind(project_id.as_str())
            .bind(&user.id)
            .bind(role)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Sets (or replaces) a user's role in a project.
    pub async fn bind_role(
        &self,
        project_id: &ProjectId,
        user_id: &str,
        role: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO project_roles (project_id, user_id, role) VALUES ($1, $2, $3) \
             ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(project_id.as_str())
        .bind(user_id)
        .bind(role)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Whether any IAM user exists (a store without one has not been bootstrapped).
    pub async fn has_users(&self) -> Result<bool, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT id FROM iam_users LIMIT 1")
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<IamUser>, StoreError> {
        let row = sqlx::query("SELECT id, name, password_hash FROM iam_users WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(IamUser {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                password_hash: r.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    /// The user's role in the project, if it has one.
    pub async fn role_of(
        &self,
        project_id: &ProjectId,
        user_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT role FROM project_roles WHERE project_id = $1 AND user_id = $2")
                .bind(project_id.as_str())
                .bind(user_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(r,)| r))
    }
}

fn hex_id() -> String {
    random_id_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
