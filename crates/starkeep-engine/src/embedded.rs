//! [`EmbeddedEngine`]: accounts kept in starkeep's own store.
//!
//! This is the zero-setup engine for first runs, demos and client testing. It behaves like a
//! StarRocks instance as far as the API can see (unique names, a built-in `root`, grants only on
//! the instance's databases, passwords kept as MySQL-native hashes), but no database server is
//! behind it: nobody can log in with these accounts. It says so in its kind, `embedded`.
//!
//! An engine is built for the store's data version at which its instance was read
//! ([`Store::data_version`]) and keeps the pages it lists for that version. It is a handle for
//! one operation: [`crate::Instances::engine`] hands out the same engine only while the store is
//! still at that version, so any commit, by this process or another, ends the use of the pages
//! for every request that begins after it. (A request that began before a commit may answer
//! from before it, as if it had been served first.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use starkeep_domain::{
    AccountName, AccountPassword, DatabaseSelection, NativePasswordHash, PageRequest, Privileges,
    ProjectId,
};
use starkeep_store::{
    AccountWrite, InstanceRecord, NewInstance, NewStoredAccount, Store, StoreError,
};

use crate::{
    resolve_databases, AccountEngine, AccountPage, AccountQuery, AccountSummary, EngineError,
    EngineKind, NewAccount, PrivilegeChange,
};

/// The databases an embedded instance has when none are named.
pub const DEFAULT_EMBEDDED_DATABASES: [&str; 2] = ["default", "information_schema"];

/// The built-in account every embedded instance is born with, as on StarRocks.
const ROOT: &str = "root";

/// The settings of an embedded instance, stored as the instance's JSON settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddedSettings {
    /// The databases this instance pretends to have; grants may name only these.
    pub databases: Vec<String>,
}

/// The most pages one engine keeps; when full, it starts over.
const MAX_KEPT_PAGES: usize = 256;

/// A list query as a key: the name filter and the page.
type PageKey = (Option<String>, PageRequest);

/// The embedded engine for one instance.
#[derive(Debug)]
pub struct EmbeddedEngine {
    store: Store,
    instance: InstanceRecord,
    settings: EmbeddedSettings,
    /// The store's data version read before `instance` was; `None`: keep nothing.
    version: Option<u64>,
    /// Pages read while the store was at `version`.
    pages: Mutex<HashMap<PageKey, Arc<AccountPage>>>,
}

impl EmbeddedEngine {
    /// The engine of `instance` with its `settings`, read from the store at data version `version`.
    pub(crate) fn new(
        store: Store,
        instance: InstanceRecord,
        settings: EmbeddedSettings,
        version: Option<u64>,
    ) -> Self {
        Self {
            store,
            instance,
            settings,
            version,
            pages: Mutex::default(),
        }
    }

    /// Adds an embedded instance with the given databases (deduplicated, kept in order) and its
    /// built-in `root` account, in one transaction.
    pub async fn provision(
        store: &Store,
        project_id: &ProjectId,
        name: &str,
        databases: &[String],
    ) -> Result<InstanceRecord, EngineError> {
        let mut unique: Vec<String> = Vec::new();
        for db in databases.iter().map(|d| d.trim()).filter(|d| !d.is_empty()) {
            if !unique.iter().any(|u| u == db) {
                unique.push(db.to_owned());
            }
        }
        let settings = EmbeddedSettings { databases: unique };
        // root's password is random and never shown: the embedded root is listed, not used.
        let root_password: [u8; 24] = rand::random();
        let root = NewStoredAccount {
            name: ROOT.to_owned(),
            password_hash: NativePasswordHash::of(&format!("{root_password:?}"))
                .as_str()
                .to_owned(),
            privileges: Privileges::default(),
            databases: DatabaseSelection::All,
            system: true,
        };
        let new = NewInstance {
            project_id: project_id.clone(),
            name: name.to_owned(),
            engine: EngineKind::Embedded.as_str().to_owned(),
            settings: serde_json::to_value(&settings).expect("settings serialize"),
        };
        Ok(store.create_instance(&new, &[root]).await?)
    }

    fn resolve(&self, requested: &DatabaseSelection) -> Result<DatabaseSelection, EngineError> {
        resolve_databases(requested, &self.settings.databases)
    }

    fn outcome(write: AccountWrite, name: &AccountName) -> Result<(), EngineError> {
        match write {
            AccountWrite::Done => Ok(()),
            AccountWrite::Missing => Err(EngineError::AccountNotFound(name.to_string())),
            AccountWrite::System => Err(EngineError::SystemAccount(name.to_string())),
        }
    }
}

#[async_trait]
impl AccountEngine for EmbeddedEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Embedded
    }

    async fn create_account(&self, account: &NewAccount) -> Result<(), EngineError> {
        let databases = self.resolve(&account.databases)?;
        let row = NewStoredAccount {
            name: account.name.to_string(),
            password_hash: account.password.native_hash().as_str().to_owned(),
            privileges: account.privileges,
            databases,
            system: false,
        };
        match self.store.insert_account(&self.instance.id, &row).await {
            Err(StoreError::Conflict) => Err(EngineError::AccountExists(account.name.to_string())),
            other => Ok(other?),
        }
    }

    async fn list_accounts(&self, query: &AccountQuery) -> Result<Arc<AccountPage>, EngineError> {
        let key = (query.name.clone(), query.page);
        // The directory checked the version when it handed this engine out.
        let current = self.version.is_some();
        if current {
            if let Some(page) = self.pages.lock().expect("page cache poisoned").get(&key) {
                return Ok(page.clone());
            }
        }
        let page = self
            .store
            .list_accounts(&self.instance.id, query.name.as_deref(), query.page)
            .await?;
        let accounts = page
            .accounts
            .into_iter()
            .map(|a| AccountSummary {
                name: a.name,
                databases: a.databases,
                privileges: a.privileges,
                exact: true,
                system: a.system,
            })
            .collect();
        let page = Arc::new(AccountPage::new(accounts, page.total));
        if current {
            let mut pages = self.pages.lock().expect("page cache poisoned");
            if pages.len() >= MAX_KEPT_PAGES {
                pages.clear();
            }
            pages.insert(key, page.clone());
        }
        Ok(page)
    }

    async fn change_privileges(&self, change: &PrivilegeChange) -> Result<(), EngineError> {
        let databases = change
            .databases
            .as_ref()
            .map(|d| self.resolve(d))
            .transpose()?;
        let write = self
            .store
            .update_account_privileges(
                &self.instance.id,
                change.name.as_str(),
                change.dml,
                change.ddl,
                databases.as_ref(),
            )
            .await?;
        Self::outcome(write, &change.name)
    }

    async fn change_password(
        &self,
        name: &AccountName,
        password: &AccountPassword,
    ) -> Result<(), EngineError> {
        let write = self
            .store
            .update_account_password(
                &self.instance.id,
                name.as_str(),
                password.native_hash().as_str(),
            )
            .await?;
        Self::outcome(write, name)
    }

    async fn delete_account(&self, name: &AccountName) -> Result<(), EngineError> {
        let write = self
            .store
            .delete_account(&self.instance.id, name.as_str())
            .await?;
        Self::outcome(write, name)
    }
}
