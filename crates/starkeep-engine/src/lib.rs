//! starkeep's account engines: accounts on servers.
//!
//! An engine is what makes an account real on one instance. Handlers see only the
//! [`AccountEngine`] trait, obtained from the [`Instances`] directory for a project's instance;
//! which engine serves it ([`EmbeddedEngine`], or [`MysqlWireEngine`] for servers that speak the
//! MySQL wire protocol: the MySQL family and StarRocks) is the instance's own setting, read once
//! into an [`EngineConfig`].
//!
//! Requests reach this crate already validated (`starkeep-domain` types); each engine checks what
//! only it can know (does the account exist, does the database exist) and maps its failures to
//! [`EngineError`]. Account sync, above this crate (`starkeep-sync`), reaches servers through the
//! [`AccountMirror`] surface the engines offer.

mod config;
mod databases;
mod embedded;
mod error;
mod instances;
mod mirror;
mod model;
pub mod mysql_wire;

use std::sync::Arc;

use async_trait::async_trait;
use starkeep_domain::{AccountName, AccountPassword};

pub use config::{EngineConfig, EngineKind, WireDialect};
pub use databases::resolve_databases;
pub use embedded::{EmbeddedEngine, EmbeddedSettings, DEFAULT_EMBEDDED_DATABASES};
pub use error::EngineError;
pub use instances::{Instances, MirrorPair};
pub use mirror::{AccountMirror, MirrorAccount, MirrorRead, MirrorSide, NATIVE_PLUGIN};
pub use model::{AccountPage, AccountQuery, AccountSummary, NewAccount, PrivilegeChange};
pub use mysql_wire::{MysqlWireEngine, MysqlWireSettings};

/// The operations of the account API, as one engine carries them out on one instance.
#[async_trait]
pub trait AccountEngine: Send + Sync {
    /// Which kind of engine this is.
    fn kind(&self) -> EngineKind;

    /// Creates an account. A taken name answers [`EngineError::AccountExists`]; a failure leaves
    /// no account behind.
    async fn create_account(&self, account: &NewAccount) -> Result<(), EngineError>;

    /// One page of accounts by name, and the number of all that match. Shared: an engine may
    /// hand the same page to several callers.
    async fn list_accounts(&self, query: &AccountQuery) -> Result<Arc<AccountPage>, EngineError>;

    /// Changes the privileges named in `change`; the others stay as they are.
    async fn change_privileges(&self, change: &PrivilegeChange) -> Result<(), EngineError>;

    /// Replaces an account's password.
    async fn change_password(
        &self,
        name: &AccountName,
        password: &AccountPassword,
    ) -> Result<(), EngineError>;

    /// Drops an account.
    async fn delete_account(&self, name: &AccountName) -> Result<(), EngineError>;
}
