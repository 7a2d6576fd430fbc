//! [`MysqlWireEngine`]: accounts that are real database accounts on a server that speaks the MySQL
//! wire protocol — a MySQL-family server (TaurusDB, MySQL 8, MariaDB) or a StarRocks frontend.
//!
//! One engine, two dialects. This file holds the engine and its [`AccountEngine`]
//! implementation: per-account locking, the time limit on every operation, and the list, change
//! and drop operations. Beside it, one concept a file:
//!
//! - [`connection`]: the stored settings, the dialect they name and the pool of admin
//!   connections;
//! - [`grants`]: what grants mean (desired grants of a `dml`/`ddl` value, the value of grants read
//!   back) and their convergence;
//! - [`create`]: the crash-safe create protocol, its compensation and the repair of unfinished
//!   creates;
//! - [`backend_error`]: the mapping of backend errors;
//! - [`dialect`], [`mysql`], [`starrocks`]: what differs between the two families (statements and
//!   read-back), with [`mapping`] (the privilege groups) and [`quote`] (the only way request text
//!   reaches SQL; account statements use the text protocol, as StarRocks cannot prepare all of
//!   them);
//! - [`registration`]: adding an instance.
//!
//! An engine that speaks another protocol goes beside this module, not inside it.

mod backend_error;
mod connection;
mod create;
pub mod dialect;
mod grants;
pub mod mapping;
mod mirror;
pub mod mysql;
mod quote;
mod registration;
mod source;
pub mod starrocks;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Pool};
use starkeep_auth::SecretBox;
use starkeep_domain::{AccountName, AccountPassword, Privileges};
use starkeep_store::{InstanceRecord, Store, StoreError};

use crate::config::{EngineConfig, WireDialect};
use crate::{
    AccountEngine, AccountPage, AccountQuery, EngineError, EngineKind, NewAccount, PrivilegeChange,
};
use backend_error::backend_error;
use connection::{pool_for, ConnWhenNeeded};
use dialect::Dialect;
use mapping::PrivilegeMap;

pub use backend_error::mysql_error_text;
pub use connection::{MysqlWireSettings, WireTls, DEFAULT_POOL_MAX, DEFAULT_TIMEOUT};
pub use registration::{AddSqlInstance, ConnectionTarget, RegistrationError};
pub use source::{connect_source, set_source};

/// Which server an engine reaches on behalf of its instance.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Server {
    /// The instance's own server.
    Instance,
    /// The instance's TaurusDB source, as `user@host:port`.
    SyncSource(String),
}

/// The MySQL-wire engine of one instance (or of its TaurusDB source).
pub struct MysqlWireEngine {
    store: Store,
    instance: InstanceRecord,
    server: Server,
    dialect: Arc<dyn Dialect>,
    map: PrivilegeMap,
    pool: Pool,
    admin_user: String,
    timeout: Duration,
    /// The store's secret key, which opens the source's admin password.
    secrets: SecretBox,
    /// How the instance's TaurusDB source is reached, if it has one.
    source_settings: Option<MysqlWireSettings>,
    /// The source's engine once built: kept with this one, so that its connections live as long
    /// as the instance's settings do, not one sync run.
    source: Mutex<Option<Arc<MysqlWireEngine>>>,
    /// One change at a time per account in this process, so that concurrent permission changes
    /// end in one of the requested states, never a mix.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The instance's database names as last read, and when.
    databases: Mutex<Option<(Instant, Arc<[String]>)>>,
    /// Whether a create may set the password with its last `GRANT` (see
    /// [`Dialect::create_statements`]); cleared the first time the server refuses it.
    password_by_grant: AtomicBool,
}

impl fmt::Debug for MysqlWireEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlWireEngine")
            .field("instance", &self.instance.id)
            .field("server", &self.server)
            .field("dialect", &self.dialect)
            .field("admin_user", &self.admin_user)
            .finish_non_exhaustive()
    }
}

/// The built-in superuser of both engine families: listed, never changed, except its password.
const ROOT: &str = "root";

impl Server {
    /// The server in a message: `instance ID`, or the TaurusDB source of one.
    fn name(&self, instance: &InstanceRecord) -> String {
        match self {
            Server::Instance => format!("instance {}", instance.id),
            Server::SyncSource(at) => {
                format!("the TaurusDB source {at} of instance {}", instance.id)
            }
        }
    }

    /// [`Server::name`] with the engine kind before an instance's own server.
    fn name_with_kind(&self, instance: &InstanceRecord, kind: EngineKind) -> String {
        match self {
            Server::Instance => format!("{kind} {}", self.name(instance)),
            Server::SyncSource(_) => self.name(instance),
        }
    }

    /// `error` as this server's: a source's failures name the source, so they are not taken for
    /// the instance's own (whose failures read as before).
    fn names_its_errors(&self, instance: &InstanceRecord, error: EngineError) -> EngineError {
        let Server::SyncSource(_) = self else {
            return error;
        };
        let named = |detail: String| format!("{}: {detail}", self.name(instance));
        match error {
            EngineError::BackendUnavailable(d) => EngineError::BackendUnavailable(named(d)),
            EngineError::Backend(d) => EngineError::Backend(named(d)),
            other => other,
        }
    }
}

fn corrupt(instance: &InstanceRecord, what: impl fmt::Display) -> EngineError {
    EngineError::Store(StoreError::Corrupt(format!(
        "settings of instance {}: {what}",
        instance.id
    )))
}

impl MysqlWireEngine {
    /// The engine of a `mysql` or `starrocks` instance; `secrets` opens its admin password.
    pub fn new(
        store: Store,
        instance: InstanceRecord,
        secrets: &SecretBox,
    ) -> Result<Self, EngineError> {
        let EngineConfig::MysqlWire { dialect, settings } = EngineConfig::of(&instance)? else {
            return Err(corrupt(&instance, "not a MySQL-wire engine"));
        };
        Self::from_settings(
            store,
            instance,
            Server::Instance,
            dialect,
            settings,
            secrets,
        )
    }

    /// The engine of a server reached as `settings` say, on behalf of `instance`.
    fn from_settings(
        store: Store,
        instance: InstanceRecord,
        server: Server,
        dialect: WireDialect,
        mut settings: MysqlWireSettings,
        secrets: &SecretBox,
    ) -> Result<Self, EngineError> {
        let dialect = dialect.statements();
        let map = match &settings.privilege_map {
            Some(text) => PrivilegeMap::from_toml(text, dialect.map_flavor())
                .map_err(|e| corrupt(&instance, e))?,
            None => dialect.default_map(),
        };
        let password = secrets.open_string(&settings.password).map_err(|_| {
            EngineError::BackendUnavailable(format!(
                "the admin password of {} does not open with this store's secret key",
                server.name(&instance)
            ))
        })?;
        let target = ConnectionTarget {
            host: settings.host.clone(),
            port: settings.port,
            user: settings.user.clone(),
        };
        let pool = pool_for(
            &target,
            &password,
            settings.pool_max.unwrap_or(DEFAULT_POOL_MAX),
        );
        Ok(Self {
            store,
            timeout: settings
                .timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_TIMEOUT),
            source_settings: settings.source.take().map(|s| *s),
            source: Mutex::new(None),
            admin_user: settings.user,
            instance,
            server,
            dialect,
            map,
            pool,
            secrets: secrets.clone(),
            locks: Mutex::new(HashMap::new()),
            databases: Mutex::new(None),
            password_by_grant: AtomicBool::new(true),
        })
    }

    /// The instance this engine serves.
    pub fn instance(&self) -> &InstanceRecord {
        &self.instance
    }

    /// Runs `op` within the instance's time limit.
    async fn bounded<T, E>(
        &self,
        op: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E>
    where
        E: From<EngineError>,
    {
        match tokio::time::timeout(self.timeout, op).await {
            Ok(result) => result,
            Err(_) => Err(EngineError::BackendUnavailable(format!(
                "no answer from {} within {:?}",
                self.server
                    .name_with_kind(&self.instance, self.dialect.kind()),
                self.timeout
            ))
            .into()),
        }
    }

    async fn conn(&self) -> Result<Conn, EngineError> {
        self.pool.get_conn().await.map_err(|e| {
            self.server
                .names_its_errors(&self.instance, backend_error(e))
        })
    }

    async fn account_lock(&self, name: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().expect("lock map poisoned");
            locks.retain(|_, l| Arc::strong_count(l) > 1);
            locks.entry(name.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }

    fn is_system(&self, name: &str) -> bool {
        name == self.admin_user || self.dialect.is_system_account(name)
    }

    fn check_changeable(&self, name: &AccountName) -> Result<(), EngineError> {
        if self.is_system(name.as_str()) {
            return Err(EngineError::SystemAccount(name.as_str().to_owned()));
        }
        Ok(())
    }

    /// Sets the password of the instance's own admin account, the one starkeep connects as,
    /// without ever leaving starkeep holding a password the server does not take: the new
    /// password is sealed into the instance's settings first (the engine built from them next
    /// connects with it), then set on the server. If the server's answer is an error or is lost,
    /// a connection with the new password tells whether it took; if not, the old credential is
    /// put back.
    async fn change_admin_password(
        &self,
        name: &AccountName,
        password: &AccountPassword,
    ) -> Result<(), EngineError> {
        let record = self
            .store
            .instance(&self.instance.project_id, &self.instance.id)
            .await?
            .unwrap_or_else(|| self.instance.clone());
        let mut settings: MysqlWireSettings =
            serde_json::from_value(record.settings).map_err(|e| corrupt(&self.instance, e))?;
        let old_sealed = std::mem::replace(
            &mut settings.password,
            self.secrets.seal(password.expose().as_bytes()),
        );
        self.store_settings(&settings).await?;
        let set = self
            .bounded(async {
                let mut conn = self.conn().await?;
                self.require_account(&mut conn, name).await?;
                conn.query_drop(
                    self.dialect
                        .set_password(name.as_str(), &password.native_hash()),
                )
                .await
                .map_err(backend_error)
            })
            .await;
        let Err(error) = set else {
            return Ok(());
        };
        let target = ConnectionTarget {
            host: settings.host.clone(),
            port: settings.port,
            user: settings.user.clone(),
        };
        let probe = pool_for(&target, password.expose(), 1);
        let taken = tokio::time::timeout(self.timeout, probe.get_conn())
            .await
            .is_ok_and(|conn| conn.is_ok());
        probe.disconnect().await.ok();
        if taken {
            return Ok(());
        }
        settings.password = old_sealed;
        if let Err(restore) = self.store_settings(&settings).await {
            tracing::error!(
                instance = %self.instance.id, error = %restore,
                "the admin's password was not changed, and its old credential could not be put back"
            );
        }
        Err(error)
    }

    async fn store_settings(&self, settings: &MysqlWireSettings) -> Result<(), EngineError> {
        let value = serde_json::to_value(settings).expect("settings serialise");
        self.store
            .set_instance_settings(&self.instance.id, &value)
            .await?;
        Ok(())
    }

    async fn require_account(
        &self,
        conn: &mut Conn,
        name: &AccountName,
    ) -> Result<(), EngineError> {
        if self
            .dialect
            .account_exists(conn, name.as_str())
            .await
            .map_err(backend_error)?
        {
            Ok(())
        } else {
            Err(EngineError::AccountNotFound(name.as_str().to_owned()))
        }
    }
}

#[async_trait]
impl AccountEngine for MysqlWireEngine {
    fn kind(&self) -> EngineKind {
        self.dialect.kind()
    }

    async fn create_account(&self, account: &NewAccount) -> Result<(), EngineError> {
        self.create(account).await
    }

    async fn list_accounts(&self, query: &AccountQuery) -> Result<Arc<AccountPage>, EngineError> {
        self.bounded(async {
            let mut conn = self.conn().await?;
            let (names, total) = self
                .dialect
                .account_names(
                    &mut conn,
                    query.name.as_deref(),
                    query.page.limit(),
                    query.page.offset(),
                )
                .await
                .map_err(backend_error)?;
            let mut grants = self
                .dialect
                .grants(&mut conn, &names, &self.map)
                .await
                .map_err(backend_error)?;
            let accounts = names
                .into_iter()
                .map(|name| {
                    let raw = grants.remove(&name).unwrap_or_default();
                    self.summarize(name, &raw)
                })
                .collect();
            Ok(Arc::new(AccountPage::new(accounts, total)))
        })
        .await
    }

    async fn change_privileges(&self, change: &PrivilegeChange) -> Result<(), EngineError> {
        self.check_changeable(&change.name)?;
        let name = change.name.as_str();
        let _guard = self.account_lock(name).await;
        self.bounded(async {
            let mut when_needed = ConnWhenNeeded::new(self);
            let conn = when_needed.get().await?;
            self.require_account(conn, &change.name).await?;
            let mut read = self
                .dialect
                .grants(conn, &[name.to_owned()], &self.map)
                .await
                .map_err(backend_error)?;
            let raw = read.remove(name).unwrap_or_default();
            let now = self.summarize(name.to_owned(), &raw);
            let privileges = Privileges {
                dml: change.dml.unwrap_or(now.privileges.dml),
                ddl: change.ddl.unwrap_or(now.privileges.ddl),
            };
            let databases = change.databases.as_ref().unwrap_or(&now.databases);
            let desired = self
                .desired_scopes(&mut when_needed, databases, privileges)
                .await?;
            let conn = when_needed.get().await?;
            if let Err(e) = self.converge(conn, name, &raw.scopes, &desired).await {
                let error = backend_error(e);
                tracing::warn!(
                    instance = %self.instance.id, account = name, %error,
                    "permission change failed half-way; restoring the grants read before it"
                );
                let mut after = self
                    .dialect
                    .grants(conn, &[name.to_owned()], &self.map)
                    .await
                    .map_err(backend_error)?;
                let after = after.remove(name).unwrap_or_default();
                if let Err(e) = self.converge(conn, name, &after.scopes, &raw.scopes).await {
                    tracing::error!(
                        instance = %self.instance.id, account = name, error = %backend_error(e),
                        "could not restore the grants; the account needs a new permission change"
                    );
                }
                return Err(error);
            }
            Ok(())
        })
        .await
    }

    /// root's password may be set like any account's (the cloud API allows it: Terraform's
    /// StarRocks instance resource sets `db_root_pwd` so); other system accounts may not. Where
    /// the account is the instance's own admin, its sealed credential is replaced in the same step
    /// ([`Self::change_admin_password`]).
    async fn change_password(
        &self,
        name: &AccountName,
        password: &AccountPassword,
    ) -> Result<(), EngineError> {
        if name.as_str() != ROOT {
            self.check_changeable(name)?;
        }
        let _guard = self.account_lock(name.as_str()).await;
        if name.as_str() == self.admin_user {
            return self.change_admin_password(name, password).await;
        }
        self.bounded(async {
            let mut conn = self.conn().await?;
            self.require_account(&mut conn, name).await?;
            let statement = self
                .dialect
                .set_password(name.as_str(), &password.native_hash());
            match conn.query_drop(statement).await {
                Ok(()) => Ok(()),
                Err(mysql_async::Error::Server(e)) if self.dialect.says_account_missing(&e) => {
                    Err(EngineError::AccountNotFound(name.as_str().to_owned()))
                }
                Err(e) => Err(backend_error(e)),
            }
        })
        .await
    }

    async fn delete_account(&self, name: &AccountName) -> Result<(), EngineError> {
        self.check_changeable(name)?;
        let _guard = self.account_lock(name.as_str()).await;
        self.bounded(async {
            let mut conn = self.conn().await?;
            if !self.dialect.refuses_taken_and_missing_names() {
                self.require_account(&mut conn, name).await?;
            }
            match conn.query_drop(self.dialect.drop_user(name.as_str())).await {
                Ok(()) => Ok(()),
                Err(mysql_async::Error::Server(e)) if self.dialect.says_account_missing(&e) => {
                    Err(EngineError::AccountNotFound(name.as_str().to_owned()))
                }
                Err(e) => Err(backend_error(e)),
            }
        })
        .await
    }
}
