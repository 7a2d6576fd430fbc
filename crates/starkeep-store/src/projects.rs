//! Projects: the tenants that own instances.

use sqlx::Row;
use starkeep_domain::ProjectId;

use crate::{now_unix, random_id_bytes, Store, StoreError};

/// A project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub created_at: i64,
}

fn project_from_row(row: &sqlx::any::AnyRow) -> Result<Project, StoreError> {
    let id: String = row.try_get("id")?;
    Ok(Project {
        id: ProjectId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Creates a project with a new id. A taken name answers [`StoreError::Conflict`].
    pub async fn create_project(&self, name: &str) -> Result<Project, StoreError> {
        self.create_project_with_id(name, ProjectId::from_random(random_id_bytes()))
            .await
    }

    /// Creates a project with a given id (the id an external IAM knows it by). A taken name or
    /// id answers [`StoreError::Conflict`].
    pub async fn create_project_with_id(
        &self,
        name: &str,
        id: ProjectId,
    ) -> Result<Project, StoreError> {
        let project = Project {
            id,
            name: name.to_owned(),
            created_at: now_unix(),
        };
        sqlx::query("INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(project.id.as_str())
            .bind(&project.name)
            .bind(project.created_at)
            .execute(self.pool())
            .await?;
        Ok(project)
    }

    pub async fn project_by_name(&self, name: &str) -> Result<Option<Project>, StoreError> {
        sqlx::query("SELECT id, name, created_at FROM projects WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(project_from_row)
            .transpose()
    }

    pub async fn project_by_id(&self, id: &ProjectId) -> Result<Option<Project>, StoreError> {
        sqlx::query("SELECT id, name, created_at FROM projects WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(project_from_row)
            .transpose()
    }

    /// Every project, by name.
    pub async fn list_projects(&self) -> Result<Vec<Project>, StoreError> {
        sqlx::query("SELECT id, name, created_at FROM projects ORDER BY name")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(project_from_row)
            .collect()
    }
}
