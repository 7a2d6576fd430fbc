//! Accounts of embedded instances.
//!
//! Each write is one statement, so it is atomic on its own: creating a taken name fails on the
//! primary key, and changes to system accounts are excluded by the statement itself (`is_system
//! = 0`), not by a read before it. A write that matched nothing says why ([`AccountWrite`]).

use sqlx::Row;
use starkeep_domain::{DatabaseSelection, Ddl, Dml, InstanceId, PageRequest, Privileges};

use crate::{now_unix, Store, StoreError};

/// An account as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAccount {
    pub name: String,
    pub privileges: Privileges,
    pub databases: DatabaseSelection,
    pub system: bool,
}

/// One page of accounts and the number of all that match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAccountPage {
    pub accounts: Vec<StoredAccount>,
    pub total: u64,
}

/// An account to insert. The password is already hashed (MySQL-native form).
#[derive(Debug, Clone)]
pub struct NewStoredAccount {
    pub name: String,
    pub password_hash: String,
    pub privileges: Privileges,
    pub databases: DatabaseSelection,
    pub system: bool,
}

/// What a change to an existing account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountWrite {
    Done,
    /// No account of that name.
    Missing,
    /// The account is a system account, which is never changed.
    System,
}

fn databases_to_text(d: &DatabaseSelection) -> String {
    serde_json::to_string(&d.to_wire()).expect("a list of strings serializes")
}

fn account_from_row(row: &sqlx::any::AnyRow) -> Result<StoredAccount, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(e.to_string());
    let databases: String = row.try_get("databases")?;
    let databases: Vec<String> = serde_json::from_str(&databases).map_err(|e| corrupt(&e))?;
    Ok(StoredAccount {
        name: row.try_get("name")?,
        privileges: Privileges {
            dml: Dml::from_wire(row.try_get("dml")?).map_err(|e| corrupt(&e))?,
            ddl: Ddl::from_wire(row.try_get("ddl")?).map_err(|e| corrupt(&e))?,
        },
        databases: DatabaseSelection::parse(&databases).map_err(|e| corrupt(&e))?,
        system: row.try_get::<i64, _>("is_system")? != 0,
    })
}

pub(crate) async fn insert_account<'e, E>(
    executor: E,
    instance: &InstanceId,
    account: &NewStoredAccount,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let now = now_unix();
    sqlx::query(
        "INSERT INTO embedded_accounts \
         (instance_id, name, password_hash, dml, ddl, databases, is_system, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(instance.as_str())
    .bind(&account.name)
    .bind(&account.password_hash)
    .bind(account.privileges.dml.wire() as i64)
    .bind(account.privileges.ddl.wire() as i64)
    .bind(databases_to_text(&account.databases))
    .bind(account.system as i64)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(())
}

impl Store {
    /// Inserts an account; a taken name answers [`StoreError::Conflict`].
    pub async fn insert_account(
        &self,
        instance: &InstanceId,
        account: &NewStoredAccount,
    ) -> Result<(), StoreError> {
        // An audited create's event is in the store before the account (crate::audit).
        self.write_event_ahead().await?;
        insert_account(self.pool(), instance, account).await
    }

    /// One page of the instance's accounts by name, optionally only those named `name`, and
    /// the count of all that match, read in one transaction so the two agree.
    pub async fn list_accounts(
        &self,
        instance: &InstanceId,
        name: Option<&str>,
        page: PageRequest,
    ) -> Result<StoredAccountPage, StoreError> {
        let mut tx = self.pool().begin().await?;
        let (total,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM embedded_accounts \
             WHERE instance_id = $1 AND (CAST($2 AS TEXT) IS NULL OR name = $2)",
        )
        .bind(instance.as_str())
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
        let rows = sqlx::query(
            "SELECT name, dml, ddl, databases, is_system FROM embedded_accounts \
             WHERE instance_id = $1 AND (CAST($2 AS TEXT) IS NULL OR name = $2) \
             ORDER BY name LIMIT $3 OFFSET $4",
        )
        .bind(instance.as_str())
        .bind(name)
        .bind(page.limit() as i64)
        .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(StoredAccountPage {
            accounts: rows
                .iter()
                .map(account_from_row)
                .collect::<Result<_, _>>()?,
            total: total as u64,
        })
    }

    /// Changes the given privileges of a non-system account; `None` keeps what it has.
    pub async fn update_account_privileges(
        &self,
        instance: &InstanceId,
        name: &str,
        dml: Option<Dml>,
        ddl: Option<Ddl>,
        databases: Option<&DatabaseSelection>,
    ) -> Result<AccountWrite, StoreError> {
        let done = sqlx::query(
            "UPDATE embedded_accounts SET dml = COALESCE($3, dml), ddl = COALESCE($4, ddl), \
             databases = COALESCE($5, databases), updated_at = $6 \
             WHERE instance_id = $1 AND name = $2 AND is_system = 0",
        )
        .bind(instance.as_str())
        .bind(name)
        .bind(dml.map(|d| d.wire() as i64))
        .bind(ddl.map(|d| d.wire() as i64))
        .bind(databases.map(databases_to_text))
        .bind(now_unix())
        .execute(self.pool())
        .await?;
        self.write_outcome(instance, name, done.rows_affected())
            .await
    }

    /// Replaces the password hash of a non-system account, or of root (the cloud API lets a
    /// caller set root's password).
    pub async fn update_account_password(
        &self,
        instance: &InstanceId,
        name: &str,
        password_hash: &str,
    ) -> Result<AccountWrite, StoreError> {
        let done = sqlx::query(
            "UPDATE embedded_accounts SET password_hash = $3, updated_at = $4 \
             WHERE instance_id = $1 AND name = $2 AND (is_system = 0 OR name = 'root')",
        )
        .bind(instance.as_str())
        .bind(name)
        .bind(password_hash)
        .bind(now_unix())
        .execute(self.pool())
        .await?;
        self.write_outcome(instance, name, done.rows_affected())
            .await
    }

    /// Deletes a non-system account.
    pub async fn delete_account(
        &self,
        instance: &InstanceId,
        name: &str,
    ) -> Result<AccountWrite, StoreError> {
        let done = sqlx::query(
            "DELETE FROM embedded_accounts WHERE instance_id = $1 AND name = $2 AND is_system = 0",
        )
        .bind(instance.as_str())
        .bind(name)
        .execute(self.pool())
        .await?;
        self.write_outcome(instance, name, done.rows_affected())
            .await
    }

    /// The stored MySQL-native hash of an account's password, for checks and sync.
    pub async fn account_password_hash(
        &self,
        instance: &InstanceId,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT password_hash FROM embedded_accounts WHERE instance_id = $1 AND name = $2",
        )
        .bind(instance.as_str())
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| r.try_get("password_hash").map_err(StoreError::from))
            .transpose()
    }

    async fn write_outcome(
        &self,
        instance: &InstanceId,
        name: &str,
        rows: u64,
    ) -> Result<AccountWrite, StoreError> {
        if rows > 0 {
            return Ok(AccountWrite::Done);
        }
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT is_system FROM embedded_accounts WHERE instance_id = $1 AND name = $2",
        )
        .bind(instance.as_str())
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(_) => AccountWrite::System,
            None => AccountWrite::Missing,
        })
    }
}
