//! [`SqlEngine`]: accounts that are real database accounts, on a MySQL-family server or a
//! StarRocks frontend, over the MySQL protocol.
//!
//! One engine, two dialects: connection pooling (bounded, per instance), the time limit on every
//! operation, compensation of a failed create, convergence of a permission change and the
//! mapping of backend errors live here; the statements and the way accounts are read back live in
//! [`mysql`] and [`starrocks`]. Account statements use the text protocol (StarRocks cannot prepare
//! all of them); every value in them went through [`quote`].
//!
//! A create is made crash-safe with a record in the store (`pending_creates`) written before the
//! `CREATE USER`. Its statements ([`Dialect::create_statements`]) go in one round trip where the
//! server takes batches, and leave the account unable to log in until the last one has run
//! (MariaDB: a placeholder hash that the last `GRANT` replaces; MySQL 8: `ACCOUNT LOCK`, unlocked
//! last), so an unfinished create can be told from a finished one. [`SqlEngine::repair`] drops the
//! unfinished ones that a timeout, a lost backend or a killed process left behind. Where the
//! server marks unfinished creates, the record of a finished one is cleared after the answer.

pub mod dialect;
pub mod mapping;
pub mod mysql;
mod quote;
mod registration;
pub mod starrocks;
pub mod sync;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Pool};
use serde::{Deserialize, Serialize};
use starkeep_auth::SecretBox;
use starkeep_domain::{
    AccountName, AccountPassword, DatabaseName, DatabaseSelection, Ddl, Dml, NativePasswordHash,
    Privileges,
};
use starkeep_store::{InstanceRecord, Store, StoreError};

use crate::{
    resolve_databases, AccountEngine, AccountPage, AccountQuery, AccountSummary, EngineError,
    EngineKind, NewAccount, PrivilegeChange,
};
use dialect::{Dialect, RawGrants, Scope};
use mapping::{GrantSet, MapFlavor, PrivilegeMap};
use mysql::{MysqlDialect, MysqlFlavor};
use starrocks::StarRocksDialect;

pub use registration::{AddSqlInstance, ConnectionTarget, RegistrationError};

/// How long an engine operation may take unless the instance says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections per instance unless the instance says otherwise.
pub const DEFAULT_POOL_MAX: usize = 8;

/// How long a read of the instance's database names serves creates and permission changes that
/// name only databases found in it (see [`SqlEngine::desired_scopes`]).
const DATABASES_FRESH_FOR: Duration = Duration::from_secs(2);

/// MySQL's "access denied … to database".
const ER_DBACCESS_DENIED: u16 = 1044;

/// How a SQL instance is reached, kept in the instance's settings (the password sealed).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SqlSettings {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The admin password, sealed with the store's secret key (`v1:...`).
    pub password: String,
    /// `mariadb` or `mysql` for the MySQL family; absent for StarRocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    /// An operator's privilege mapping (TOML), replacing the built-in groups it names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privilege_map: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_max: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Account sync: the TaurusDB (MySQL-family) server whose accounts this instance mirrors,
    /// reached the same way (its admin password sealed too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Box<SqlSettings>>,
}

impl fmt::Debug for SqlSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"<sealed>")
            .field("flavor", &self.flavor)
            .finish_non_exhaustive()
    }
}

/// The SQL engine of one instance.
pub struct SqlEngine {
    store: Store,
    instance: InstanceRecord,
    dialect: Arc<dyn Dialect>,
    map: PrivilegeMap,
    pool: Pool,
    admin_user: String,
    timeout: Duration,
    /// The store's secret key: account sync seals the hashes it applied with it.
    secrets: SecretBox,
    /// One change at a time per account in this process, so that concurrent permission changes
    /// end in one of the requested states, never a mix.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The instance's database names as last read, and when.
    databases: Mutex<Option<(Instant, Arc<[String]>)>>,
    /// Whether a create may set the password with its last `GRANT` (see
    /// [`Dialect::create_statements`]); cleared the first time the server refuses it.
    password_by_grant: AtomicBool,
}

impl fmt::Debug for SqlEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlEngine")
            .field("instance", &self.instance.id)
            .field("dialect", &self.dialect)
            .field("admin_user", &self.admin_user)
            .finish_non_exhaustive()
    }
}

fn corrupt(instance: &InstanceRecord, what: impl fmt::Display) -> EngineError {
    EngineError::Store(StoreError::Corrupt(format!(
        "settings of instance {}: {what}",
        instance.id
    )))
}

/// The dialect and mapping of a kind and flavor, with an operator's map applied.
pub(crate) fn dialect_for(kind: EngineKind, flavor: Option<&str>) -> Option<Arc<dyn Dialect>> {
    match kind {
        EngineKind::Mysql => {
            let flavor = match flavor {
                Some("mysql") => MysqlFlavor::Mysql,
                _ => MysqlFlavor::MariaDb,
            };
            Some(Arc::new(MysqlDialect::new(flavor)))
        }
        EngineKind::StarRocks => Some(Arc::new(StarRocksDialect)),
        EngineKind::Embedded => None,
    }
}

pub(crate) fn pool_for(target: &ConnectionTarget, password: &str, pool_max: usize) -> Pool {
    let constraints =
        mysql_async::PoolConstraints::new(0, pool_max.max(1)).expect("0 <= max and max >= 1");
    // No statement of the engines changes session state (no SET, USE, temporary table or
    // PREPARE), so a connection going back to the pool needs no COM_RESET_CONNECTION: one round
    // trip and a session reset on the server saved per operation.
    let pool_opts = mysql_async::PoolOpts::default()
        .with_reset_connection(false)
        .with_constraints(constraints)
        .with_inactive_connection_ttl(Duration::from_secs(60))
        .with_ttl_check_interval(Duration::from_secs(30));
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(target.host.clone())
        .tcp_port(target.port)
        .user(Some(target.user.clone()))
        .pass(Some(password.to_owned()))
        .prefer_socket(false)
        .pool_opts(pool_opts);
    Pool::new(opts)
}

/// A connection to the instance, taken from the pool the first time it is needed. A create
/// whose databases were read a moment ago sends nothing before its own statements, so it waits
/// for a connection once, not twice.
struct ConnWhenNeeded<'e> {
    engine: &'e SqlEngine,
    conn: Option<Conn>,
}

impl<'e> ConnWhenNeeded<'e> {
    fn new(engine: &'e SqlEngine) -> Self {
        Self { engine, conn: None }
    }

    /// The connection, taken now if it was not before.
    async fn get(&mut self) -> Result<&mut Conn, EngineError> {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.engine.conn().await?,
        };
        Ok(self.conn.insert(conn))
    }
}

/// Why a create stopped, and whether what it made is known to be gone.
struct CreateFailure {
    error: EngineError,
    clean: bool,
}

impl SqlEngine {
    /// The engine of a `mysql` or `starrocks` instance; `secrets` opens its admin password.
    pub fn new(
        store: Store,
        instance: InstanceRecord,
        secrets: &SecretBox,
    ) -> Result<Self, EngineError> {
        let kind: EngineKind = instance
            .engine
            .parse()
            .map_err(|e: String| corrupt(&instance, e))?;
        let settings: SqlSettings =
            serde_json::from_value(instance.settings.clone()).map_err(|e| corrupt(&instance, e))?;
        Self::from_settings(store, instance, kind, settings, secrets)
    }

    /// The engine of a server reached as `settings` say, on behalf of `instance`.
    fn from_settings(
        store: Store,
        instance: InstanceRecord,
        kind: EngineKind,
        settings: SqlSettings,
        secrets: &SecretBox,
    ) -> Result<Self, EngineError> {
        let dialect = dialect_for(kind, settings.flavor.as_deref())
            .ok_or_else(|| corrupt(&instance, "not a SQL engine"))?;
        let map = match &settings.privilege_map {
            Some(text) => PrivilegeMap::from_toml(text, dialect.map_flavor())
                .map_err(|e| corrupt(&instance, e))?,
            None => dialect.default_map(),
        };
        let password = secrets.open_string(&settings.password).map_err(|_| {
            EngineError::BackendUnavailable(format!(
                "the admin password of instance {} does not open with this store's secret key",
                instance.id
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
            admin_user: settings.user,
            instance,
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

    /// The privilege mapping in force on this instance.
    pub fn privilege_map(&self) -> &PrivilegeMap {
        &self.map
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
                "no answer from {} instance {} within {:?}",
                self.dialect.kind(),
                self.instance.id,
                self.timeout
            ))
            .into()),
        }
    }

    async fn conn(&self) -> Result<Conn, EngineError> {
        self.pool.get_conn().await.map_err(backend_error)
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

    /// The grants, by scope, that `privileges` on `databases` stand for on this instance. Names
    /// are matched against the instance's real databases before anything changes: against the
    /// list read in the last [`DATABASES_FRESH_FOR`] when every name is in it exactly, else
    /// against a new read. So a burst of creates reads the list once, a database made a moment
    /// ago is found, and the one thing a recent list can miss is a database dropped within that
    /// window, which MySQL itself lets a grant name. Only a new read takes a connection from
    /// `conn`.
    async fn desired_scopes(
        &self,
        conn: &mut ConnWhenNeeded<'_>,
        databases: &DatabaseSelection,
        privileges: Privileges,
    ) -> Result<BTreeMap<Scope, GrantSet>, EngineError> {
        let real = match databases {
            DatabaseSelection::All => None,
            DatabaseSelection::Named(names) => Some(match self.recent_databases_naming(names) {
                Some(list) => list,
                None => {
                    let list: Arc<[String]> = self
                        .dialect
                        .databases(conn.get().await?)
                        .await
                        .map_err(backend_error)?
                        .into();
                    *self.databases.lock().expect("database list poisoned") =
                        Some((Instant::now(), list.clone()));
                    list
                }
            }),
        };
        self.desired_scopes_among(databases, privileges, real.as_deref().unwrap_or_default())
    }

    /// The database names read in the last [`DATABASES_FRESH_FOR`], if each of `names` is among
    /// them as written.
    fn recent_databases_naming(&self, names: &BTreeSet<DatabaseName>) -> Option<Arc<[String]>> {
        let known = self.databases.lock().expect("database list poisoned");
        let (read_at, list) = known.as_ref()?;
        let holds_all = names.iter().all(|n| list.iter().any(|db| db == n.as_str()));
        (read_at.elapsed() < DATABASES_FRESH_FOR && holds_all).then(|| list.clone())
    }

    /// [`Self::desired_scopes`] against a list of the instance's databases read before (a sync
    /// run reads them once for all its accounts).
    fn desired_scopes_among(
        &self,
        databases: &DatabaseSelection,
        privileges: Privileges,
        real: &[String],
    ) -> Result<BTreeMap<Scope, GrantSet>, EngineError> {
        let mut scopes = BTreeMap::new();
        match databases {
            DatabaseSelection::All => {
                scopes.insert(Scope::All, self.map.encode(privileges, true));
            }
            DatabaseSelection::Named(names) => {
                if let Some(reserved) = names
                    .iter()
                    .find(|n| self.dialect.is_reserved_database(n.as_str()))
                {
                    return Err(EngineError::ReservedDatabase(reserved.as_str().to_owned()));
                }
                if let Some(why) = names
                    .iter()
                    .find_map(|n| self.dialect.refuses_database_name(n.as_str()))
                {
                    return Err(EngineError::UnaddressableDatabase(why));
                }
                let DatabaseSelection::Named(resolved) = resolve_databases(databases, real)? else {
                    unreachable!("named in, named out")
                };
                for db in resolved {
                    if self.dialect.is_implicit_database(db.as_str()) {
                        continue;
                    }
                    scopes.insert(
                        Scope::Database(db.as_str().to_owned()),
                        self.map.encode(privileges, false),
                    );
                }
            }
        }
        Ok(self.dialect.desired(scopes))
    }

    /// What an account's grants stand for.
    fn summarize(&self, name: String, raw: &RawGrants) -> AccountSummary {
        self.summary_of(name, || self.meaning_of(raw))
    }

    /// The summary of the account `name` whose grants mean what `meaning` works out (called
    /// only where the grants matter: not for root).
    fn summary_of(&self, name: String, meaning: impl FnOnce() -> GrantsMeaning) -> AccountSummary {
        let system = self.is_system(&name);
        let GrantsMeaning {
            databases,
            privileges,
            exact,
        } = if name == "root" {
            // As the contract's example shows it; root's real rights come from a built-in role.
            GrantsMeaning {
                databases: DatabaseSelection::All,
                privileges: Privileges::default(),
                exact: true,
            }
        } else {
            meaning()
        };
        AccountSummary {
            name,
            databases,
            privileges,
            exact,
            system,
        }
    }

    /// What `raw` stands for in the contract's terms, whoever holds it.
    fn meaning_of(&self, raw: &RawGrants) -> GrantsMeaning {
        let visible = self.dialect.visible(raw);
        let mut exact = !visible.foreign;
        let (databases, privileges) = if let Some(all) = visible.scopes.get(&Scope::All) {
            let decoded = self.map.decode(all, true);
            exact &= decoded.exact && visible.scopes.len() == 1;
            (DatabaseSelection::All, decoded.privileges)
        } else if visible.scopes.is_empty() {
            exact = false;
            (
                DatabaseSelection::Named(BTreeSet::new()),
                Privileges {
                    dml: Dml::ReadOnly,
                    ddl: Ddl::None,
                },
            )
        } else {
            let mut sets = visible.scopes.values();
            let first = sets.next().expect("not empty").clone();
            let mut common = first.clone();
            for set in sets {
                if *set != first {
                    exact = false;
                }
                common = common.intersection(set).cloned().collect();
            }
            let decoded = self.map.decode(&common, false);
            exact &= decoded.exact;
            let mut names = BTreeSet::new();
            for scope in visible.scopes.keys() {
                let db = match scope {
                    Scope::Database(db) => Some(db.clone()),
                    Scope::Pattern(stored) => Some(quote::unescape_grant_database(stored)),
                    Scope::All => None,
                };
                if let Some(db) = db {
                    match DatabaseName::parse(&db) {
                        Ok(n) => {
                            names.insert(n);
                        }
                        Err(_) => exact = false,
                    }
                }
            }
            (DatabaseSelection::Named(names), decoded.privileges)
        };
        GrantsMeaning {
            databases,
            privileges,
            exact,
        }
    }

    /// Grants what `desired` has and `current` lacks, then revokes what `current` has and
    /// `desired` lacks (only what was read, so no REVOKE names a grant that is not there).
    async fn converge(
        &self,
        conn: &mut Conn,
        name: &str,
        current: &BTreeMap<Scope, GrantSet>,
        desired: &BTreeMap<Scope, GrantSet>,
    ) -> Result<u64, mysql_async::Error> {
        let mut issued = 0;
        let empty = GrantSet::new();
        for (scope, want) in desired {
            let have = current.get(scope).unwrap_or(&empty);
            let missing: GrantSet = want.difference(have).cloned().collect();
            for statement in self.dialect.grant(name, scope, &missing) {
                conn.query_drop(statement).await?;
                issued += 1;
            }
        }
        for (scope, have) in current {
            let want = desired.get(scope).unwrap_or(&empty);
            let surplus: GrantSet = have
                .difference(want)
                .filter(|grant| self.dialect.may_revoke(grant, &self.map))
                .cloned()
                .collect();
            for statement in self.dialect.revoke(name, scope, &surplus) {
                issued += 1;
                match conn.query_drop(statement).await {
                    Err(mysql_async::Error::Server(e)) if self.dialect.says_no_such_grant(&e) => {}
                    other => other?,
                }
            }
        }
        Ok(issued)
    }

    async fn create_steps(
        &self,
        conn: &mut ConnWhenNeeded<'_>,
        name: &str,
        hash: &NativePasswordHash,
        desired: &BTreeMap<Scope, GrantSet>,
    ) -> Result<(), CreateFailure> {
        let unknown = |error| CreateFailure {
            error,
            clean: false,
        };
        let conn = conn
            .get()
            .await
            .map_err(|error| CreateFailure { error, clean: true })?;
        let mut steps = self.run_create(conn, name, hash, desired).await;
        if let Err(StepFailure {
            account_made: true,
            error: mysql_async::Error::Server(e),
        }) = &steps
        {
            if e.code == ER_DBACCESS_DENIED
                && e.message.contains("'mysql'")
                && self.password_by_grant.swap(false, Ordering::Relaxed)
            {
                // The admin may not set a password with GRANT: undo, and from now on set it
                // with ALTER USER.
                tracing::info!(
                    instance = %self.instance.id,
                    "the admin may not set passwords with GRANT; creates set them with ALTER USER"
                );
                steps = match conn.query_drop(self.dialect.drop_user(name)).await {
                    Ok(()) => self.run_create(conn, name, hash, desired).await,
                    Err(error) => Err(StepFailure {
                        account_made: true,
                        error,
                    }),
                };
            }
        }
        let e = match steps {
            Ok(()) => return Ok(()),
            Err(StepFailure {
                account_made: false,
                error: mysql_async::Error::Server(e),
            }) if self.dialect.says_account_exists(&e) => {
                return Err(CreateFailure {
                    error: EngineError::AccountExists(name.to_owned()),
                    clean: true,
                })
            }
            Err(StepFailure {
                account_made: false,
                error,
            }) => return Err(unknown(backend_error(error))),
            Err(StepFailure { error, .. }) => error,
        };
        let error = backend_error(e);
        tracing::warn!(
            instance = %self.instance.id, account = name, %error,
            "create failed after the account was made; dropping it"
        );
        let clean = conn.query_drop(self.dialect.drop_user(name)).await.is_ok();
        Err(CreateFailure { error, clean })
    }

    async fn run_create(
        &self,
        conn: &mut Conn,
        name: &str,
        hash: &NativePasswordHash,
        desired: &BTreeMap<Scope, GrantSet>,
    ) -> Result<(), StepFailure> {
        let by_grant = self.password_by_grant.load(Ordering::Relaxed);
        let statements = self
            .dialect
            .create_statements(name, hash, desired, by_grant);
        if self.dialect.takes_statement_batches() {
            run_batch(conn, statements.join(";\n")).await
        } else {
            run_each(conn, &statements).await
        }
    }

    /// Drops `name` if an unfinished create left it (as [`Dialect::is_unfinished`] tells; where
    /// the engine cannot tell, any account of that name). Answers whether it dropped something.
    pub async fn repair(&self, name: &str) -> Result<bool, EngineError> {
        let _guard = self.account_lock(name).await;
        self.bounded(async {
            let mut conn = self.conn().await?;
            if !self
                .dialect
                .account_exists(&mut conn, name)
                .await
                .map_err(backend_error)?
            {
                return Ok(false);
            }
            if !self
                .dialect
                .is_unfinished(&mut conn, name)
                .await
                .map_err(backend_error)?
            {
                return Ok(false);
            }
            match conn.query_drop(self.dialect.drop_user(name)).await {
                Ok(()) => Ok(true),
                Err(mysql_async::Error::Server(e)) if self.dialect.says_account_missing(&e) => {
                    Ok(false)
                }
                Err(e) => Err(backend_error(e)),
            }
        })
        .await
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

/// What a set of grants stands for: an [`AccountSummary`] without the account.
#[derive(Debug, Clone)]
struct GrantsMeaning {
    databases: DatabaseSelection,
    privileges: Privileges,
    exact: bool,
}

/// Clears the pending record of a create that ended; one left behind is the repair loop's.
async fn end_pending_create(store: &Store, attempt: &str) {
    if let Err(e) = store.end_pending_create(attempt).await {
        tracing::warn!(error = %e, "could not clear a pending create; repair will");
    }
}

/// Why the statements of a create stopped, and whether the account was made before they did.
struct StepFailure {
    account_made: bool,
    error: mysql_async::Error,
}

/// Runs `batch` (statements joined with `;`) in one round trip. The server stops at the first
/// statement that fails: the first one's answer comes with the query, the others' as the result
/// is read to its end.
async fn run_batch(conn: &mut Conn, batch: String) -> Result<(), StepFailure> {
    let result = conn.query_iter(batch).await.map_err(|error| StepFailure {
        account_made: false,
        error,
    })?;
    result.drop_result().await.map_err(|error| StepFailure {
        account_made: true,
        error,
    })
}

/// Runs `statements` one round trip each, stopping at the first that fails.
async fn run_each(conn: &mut Conn, statements: &[String]) -> Result<(), StepFailure> {
    for (i, statement) in statements.iter().enumerate() {
        conn.query_drop(statement)
            .await
            .map_err(|error| StepFailure {
                account_made: i > 0,
                error,
            })?;
    }
    Ok(())
}

/// A backend failure as an [`EngineError`]; the detail is for the log only.
fn backend_error(e: mysql_async::Error) -> EngineError {
    match e {
        mysql_async::Error::Server(s) => {
            let detail = format!("server error {} ({}): {}", s.code, s.state, s.message);
            // The admin credential itself refused: the instance is not usable.
            if s.code == 1045 {
                EngineError::BackendUnavailable(detail)
            } else {
                EngineError::Backend(detail)
            }
        }
        mysql_async::Error::Io(e) => EngineError::BackendUnavailable(format!("connection: {e}")),
        mysql_async::Error::Driver(e) => EngineError::BackendUnavailable(format!("driver: {e}")),
        other => EngineError::Backend(other.to_string()),
    }
}

/// A MySQL client error in one line, for an operator to read: the server's code and message,
/// or what the connection met. mysql_async wraps an I/O error in two layers that each say
/// "Input/output error"; this says it once.
pub fn mysql_error_text(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(s) => format!("server error {}: {}", s.code, s.message),
        mysql_async::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

#[async_trait]
impl AccountEngine for SqlEngine {
    fn kind(&self) -> EngineKind {
        self.dialect.kind()
    }

    async fn create_account(&self, account: &NewAccount) -> Result<(), EngineError> {
        self.check_changeable(&account.name)?;
        let name = account.name.as_str();
        let _guard = self.account_lock(name).await;
        let mut conn = ConnWhenNeeded::new(self);
        let desired = self
            .bounded(async {
                let desired = self
                    .desired_scopes(&mut conn, &account.databases, account.privileges)
                    .await?;
                // Where the server refuses a taken name itself, its refusal is the answer.
                if !self.dialect.refuses_taken_and_missing_names()
                    && self
                        .dialect
                        .account_exists(conn.get().await?, name)
                        .await
                        .map_err(backend_error)?
                {
                    return Err(EngineError::AccountExists(name.to_owned()));
                }
                Ok(desired)
            })
            .await?;
        let attempt = uuid::Uuid::new_v4().to_string();
        self.store
            .begin_pending_create(&self.instance.id, name, &attempt)
            .await?;
        let hash = account.password.native_hash();
        let outcome = match tokio::time::timeout(
            self.timeout,
            self.create_steps(&mut conn, name, &hash, &desired),
        )
        .await
        {
            Ok(outcome) => outcome,
            Err(_) => Err(CreateFailure {
                error: EngineError::BackendUnavailable(format!(
                    "no answer from instance {} within {:?}",
                    self.instance.id, self.timeout
                )),
                clean: false,
            }),
        };
        let clean = match &outcome {
            Ok(()) => true,
            Err(failure) => failure.clean,
        };
        if outcome.is_ok() && self.dialect.marks_unfinished() {
            // The account is finished, and the server says so: a record outliving the answer
            // only makes the repair loop look at the account and keep it. So it is cleared
            // after the answer, off the request's path.
            let store = self.store.clone();
            tokio::spawn(async move { end_pending_create(&store, &attempt).await });
        } else if clean {
            end_pending_create(&self.store, &attempt).await;
        }
        outcome.map_err(|f| f.error)
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

    async fn change_password(
        &self,
        name: &AccountName,
        password: &AccountPassword,
    ) -> Result<(), EngineError> {
        self.check_changeable(name)?;
        let _guard = self.account_lock(name.as_str()).await;
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

/// The flavor of map an engine kind uses.
pub fn map_flavor(kind: EngineKind) -> Option<MapFlavor> {
    match kind {
        EngineKind::Mysql => Some(MapFlavor::Mysql),
        EngineKind::StarRocks => Some(MapFlavor::StarRocks),
        EngineKind::Embedded => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_is_described_once() {
        // A loopback port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(port)
            .prefer_socket(false);
        let error = mysql_async::Conn::new(opts).await.unwrap_err();
        let text = mysql_error_text(&error);
        assert_eq!(text.matches("Input/output error").count(), 1, "{text}");
        assert!(text.contains("refused"), "{text}");
    }
}
