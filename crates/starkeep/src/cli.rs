//! The command line: what each subcommand takes, and which function carries it out.
//!
//! Commands are scriptable: a create command prints the new id alone on stdout, `--json` prints
//! JSON, and errors go to stderr with a non-zero exit.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use starkeep_store::SqliteSync;

use crate::context::StoreConfig;
use crate::logging::LogFormat;
use crate::{admin, proxy, serve};

/// starkeep manages the database accounts of TaurusDB + StarRocks HTAP deployments through the
/// cloud's "StarRocks database accounts" API.
#[derive(Debug, Parser)]
#[command(name = "starkeep", version, about, long_about = None)]
pub struct Cli {
    /// Where starkeep keeps its store and keys.
    #[arg(
        long,
        global = true,
        env = "STARKEEP_DATA_DIR",
        default_value = "./starkeep-data"
    )]
    pub data_dir: PathBuf,

    /// The store: a PostgreSQL URL (postgres://USER@HOST:PORT/DB) for several replicas sharing
    /// one store. Unset: the SQLite file in the data dir.
    #[arg(
        long,
        global = true,
        env = "STARKEEP_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// With a PostgreSQL store: a file holding the master key (64 hex digits) that seals the
    /// shared keys. `STARKEEP_MASTER_KEY` may hold the key itself instead.
    #[arg(long, global = true, env = "STARKEEP_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,

    /// With the SQLite store: when a commit reaches the disk. `normal`: every commit survives
    /// starkeep crashing or being killed, and the store is never left half-written; a power
    /// loss or an OS crash can take back the last commits. `full`: every commit is also flushed
    /// to disk before the request goes on (one fsync each, which slows every change).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "STARKEEP_SQLITE_SYNC",
        default_value_t = SqliteSyncArg::Normal
    )]
    pub sqlite_sync: SqliteSyncArg,

    /// Log line format (logs go to stderr).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// `--sqlite-sync`: the command line's names for [`SqliteSync`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SqliteSyncArg {
    Normal,
    Full,
}

impl From<SqliteSyncArg> for SqliteSync {
    fn from(arg: SqliteSyncArg) -> Self {
        match arg {
            SqliteSyncArg::Normal => SqliteSync::Normal,
            SqliteSyncArg::Full => SqliteSync::Full,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API. On the first start with an empty store, creates the project
    /// `default`, the IAM user `admin` and an embedded demo instance, and prints a curl to try.
    Serve(ServeArgs),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Manage IAM users (who get tokens).
    #[command(subcommand)]
    Iam(IamCommand),
    /// Issue tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage database instances.
    #[command(subcommand)]
    Instance(InstanceCommand),
    /// Show the audit trail of changes made through the API, newest first.
    Audit {
        /// Only this project's (name).
        #[arg(long)]
        project: Option<String>,
        /// Only this instance's (id).
        #[arg(long)]
        instance: Option<String>,
        /// How many events.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Account sync.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Serve one instance over the MySQL protocol, sending each statement to the row store
    /// (its TaurusDB source) or the column store (its StarRocks): writes, transactions and
    /// small reads to the row store, large reads to the column store. Clients log in with
    /// their TaurusDB account. `starkeep proxy explain` shows where a statement would go.
    Proxy(ProxyCli),
}

#[derive(Debug, Args)]
#[command(subcommand_negates_reqs = true, args_conflicts_with_subcommands = true)]
pub struct ProxyCli {
    #[command(flatten)]
    pub run: ProxyArgs,
    #[command(subcommand)]
    pub command: Option<ProxyCommand>,
}

#[derive(Debug, Subcommand)]
pub enum ProxyCommand {
    /// Print where a statement would go (route), why (rule) and the row store's estimate of
    /// rows read when cost decided, for a mirrored account in a new session. Runs `EXPLAIN`
    /// at the TaurusDB source as its admin when cost decides; runs nothing else.
    Explain {
        /// The instance id.
        #[arg(long)]
        instance: String,
        /// The session's current database (as `USE` or the client's connect option sets it).
        #[arg(long)]
        database: Option<String>,
        /// Estimated rows read above which a read goes to the column store.
        #[arg(long, default_value_t = 50_000.0)]
        column_threshold: f64,
        #[arg(long)]
        json: bool,
        /// The statement, as a client would send it (hints included).
        sql: String,
    },
}

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// The instance to serve (id): a mysql or starrocks instance with a TaurusDB source
    /// (`instance add --taurus-dsn` or `instance set-source`).
    #[arg(long, env = "STARKEEP_PROXY_INSTANCE", required = true)]
    pub instance: Option<String>,
    /// Address to listen on for MySQL clients.
    #[arg(long, env = "STARKEEP_PROXY_LISTEN", default_value = "127.0.0.1:3307")]
    pub listen: SocketAddr,
    /// Offer TLS to clients: a PEM certificate chain (with --tls-key), as `serve` takes it.
    #[arg(long, env = "STARKEEP_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "STARKEEP_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics (connections, statements by route and
    /// rule, backend errors, fallbacks, decision-cache hits). Unset: no metrics endpoint.
    #[arg(long, env = "STARKEEP_PROXY_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Estimated rows read (from the row store's EXPLAIN) above which a read goes to the
    /// column store; at or below it, to the row store. PolarDB's default.
    #[arg(
        long,
        env = "STARKEEP_PROXY_COLUMN_THRESHOLD",
        default_value_t = 50_000.0
    )]
    pub column_threshold: f64,
    /// Seconds a cost decision is reused for the same statement (literals aside) in the same
    /// database, so a repeated query pays no EXPLAIN.
    #[arg(long, default_value_t = 30)]
    pub decision_ttl_secs: u64,
    /// Most statements whose cost decision is kept.
    #[arg(long, default_value_t = 10_000)]
    pub decision_cache_capacity: usize,
    /// How often the store (sync switch, mirrored accounts, changed hashes, row replicas and
    /// column nodes; skipped while nothing committed to it) and the column store's table list
    /// are read again, in seconds.
    #[arg(long, default_value_t = 5)]
    pub refresh_secs: u64,
    /// Longest wait for a backend connection and login, in seconds.
    #[arg(long, default_value_t = 5)]
    pub connect_timeout_secs: u64,
    /// Seconds a column node or row replica that failed is left alone before it is tried
    /// again (its reads go to the row store meanwhile).
    #[arg(long, default_value_t = 10)]
    pub retry_down_secs: u64,
    /// Most client connections at once; more are closed on arrival.
    #[arg(long, default_value_t = 4096)]
    pub max_connections: usize,
    /// Failed logins in a row from one address before it is refused (error 1129) for a
    /// while; 0 turns this off.
    #[arg(long, default_value_t = 20)]
    pub auth_failure_burst: u32,
    /// Seconds after which one failed login is forgiven.
    #[arg(long, default_value_t = 3)]
    pub auth_failure_interval_secs: u64,
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Show, per SQL instance, the sync switch and the last reconcile: time, duration, outcome,
    /// counts, and the reasons for skipped and conflicting accounts.
    Status {
        /// Only this instance (id).
        #[arg(long)]
        instance: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "STARKEEP_LISTEN", default_value = "127.0.0.1:8800")]
    pub listen: SocketAddr,
    /// Longest time one request may take, in seconds.
    #[arg(long, env = "STARKEEP_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Largest request body, in bytes.
    #[arg(long, env = "STARKEEP_BODY_LIMIT", default_value_t = 64 * 1024)]
    pub body_limit: usize,
    /// Serve HTTPS: a PEM certificate chain (with --tls-key).
    #[arg(long, env = "STARKEEP_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Serve HTTPS: the PEM private key of --tls-cert.
    #[arg(long, env = "STARKEEP_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Most connections served at once; more are closed on arrival.
    #[arg(long, env = "STARKEEP_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (also the idle limit of a kept-alive
    /// connection), so slow or idle clients do not hold the server.
    #[arg(long, env = "STARKEEP_HEADER_TIMEOUT", default_value_t = 10)]
    pub header_read_timeout_secs: u64,
    /// Lifetime of issued tokens, in seconds.
    #[arg(long, env = "STARKEEP_TOKEN_TTL", default_value_t = 24 * 3600)]
    pub token_ttl_secs: u64,
    /// How often to look for account creates that a timeout, a lost database server or a crash
    /// left unfinished, and drop what they made, in seconds.
    #[arg(long, env = "STARKEEP_REPAIR_INTERVAL", default_value_t = 30)]
    pub repair_interval_secs: u64,
    /// A Keystone-v3-compatible IAM (e.g. another starkeep) that validates tokens starkeep did
    /// not issue itself: `GET {URL}/v3/auth/tokens`. starkeep's own tokens keep working.
    #[arg(long, env = "STARKEEP_IAM_URL", value_name = "URL")]
    pub iam_url: Option<String>,
    /// Authentication failures in a row from one address (or with one access key) before it
    /// is answered 429 with Retry-After; 0 turns this off.
    #[arg(long, env = "STARKEEP_AUTH_FAILURE_BURST", default_value_t = 20)]
    pub auth_failure_burst: u32,
    /// Seconds after which one authentication failure is forgiven (after the burst, a failing
    /// caller gets one try per interval).
    #[arg(long, env = "STARKEEP_AUTH_FAILURE_INTERVAL", default_value_t = 3)]
    pub auth_failure_interval_secs: u64,
    /// How often account sync reconciles each instance whose switch is on, in seconds. Replicas
    /// check every quarter of it, and one takes over a dead replica's instances within it.
    #[arg(long, env = "STARKEEP_SYNC_INTERVAL", default_value_t = 30)]
    pub sync_interval_secs: u64,
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project; prints its id.
    Create {
        /// The project's name (unique).
        name: String,
        /// Its id (32 letters or digits), e.g. the id an external IAM knows it by; new if unset.
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List projects.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum IamCommand {
    /// Manage IAM users.
    #[command(subcommand)]
    User(IamUserCommand),
    /// Manage access keys (AK/SK) for requests signed as the cloud's SDKs sign them.
    #[command(subcommand)]
    Credential(IamCredentialCommand),
}

#[derive(Debug, Subcommand)]
pub enum IamCredentialCommand {
    /// Make an access key pair for a user in a project; prints the AK and the SK. The SK is
    /// shown this once (starkeep keeps it encrypted, to check signatures).
    Create {
        /// The project (name) the key acts in.
        #[arg(long)]
        project: String,
        /// The user (name) whose role the key acts with.
        #[arg(long)]
        user: String,
        /// Print {"ak": …, "sk": …, "project_id": …}.
        #[arg(long)]
        json: bool,
    },
    /// List access keys (never their secrets).
    List {
        /// Only this project's (name).
        #[arg(long)]
        project: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete an access key; requests signed with it are refused from then on.
    Delete {
        /// The access key id (AK).
        access_key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum IamUserCommand {
    /// Create a user with a role in a project; prints its id. The password is read from the
    /// first line of stdin, or from the environment variable named by --password-env.
    Create {
        /// The project (name) the user gets a role in.
        #[arg(long)]
        project: String,
        /// The user's name (unique).
        #[arg(long)]
        name: String,
        /// `admin` (everything) or `readonly` (GET only).
        #[arg(long, default_value = "admin")]
        role: starkeep_auth::Role,
        /// Read the password from this environment variable instead of stdin.
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Give an existing user a role in a(nother) project.
    Grant {
        #[arg(long)]
        project: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: starkeep_auth::Role,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token for a user in a project (no password needed: you hold the data dir);
    /// prints the token.
    Issue {
        /// The project (name).
        #[arg(long)]
        project: String,
        /// The user's name.
        #[arg(long)]
        user: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 24 * 3600)]
        ttl_secs: u64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum InstanceCommand {
    /// Add an instance to a project; prints its id.
    Add {
        /// The project (name).
        #[arg(long)]
        project: String,
        /// The engine that serves its accounts. `embedded` keeps them in starkeep's store (no
        /// database server; for first runs, demos and client tests).
        #[arg(long, default_value = "embedded")]
        engine: String,
        /// A display name.
        #[arg(long, default_value = "starrocks")]
        name: String,
        /// Embedded engine: the databases the instance has (comma-separated).
        #[arg(long, value_delimiter = ',', default_values_t = starkeep_engine::DEFAULT_EMBEDDED_DATABASES.map(String::from))]
        databases: Vec<String>,
        /// mysql and starrocks engines: the admin connection, `mysql://ADMIN@HOST:PORT` (port
        /// 3306 / 9030 by default). The admin must be able to create users and grant; this is
        /// checked before the instance is added. The password is not part of the DSN: it is read
        /// from stdin, or from the variable named by --password-env, and stored encrypted.
        /// TLS parameters (used by `starkeep proxy` toward this server): `?require_ssl=true`,
        /// `&ssl_ca=PATH` (default: the Mozilla roots), `&verify_ca=false` (no certificate check).
        #[arg(long)]
        dsn: Option<String>,
        /// Read the admin password from this environment variable instead of stdin.
        #[arg(long)]
        password_env: Option<String>,
        /// A TOML file replacing the built-in privilege groups (see docs/privileges.md §5).
        #[arg(long)]
        privilege_map: Option<PathBuf>,
        /// Longest time one operation on the database server may take, in seconds.
        #[arg(long, default_value_t = 5)]
        timeout_secs: u64,
        /// Account sync: the TaurusDB source whose accounts this instance mirrors,
        /// `mysql://ADMIN@HOST:PORT`. Its password is read from stdin (after the admin password)
        /// or from the variable named by --taurus-password-env, and stored encrypted. TLS
        /// parameters as for --dsn.
        #[arg(long)]
        taurus_dsn: Option<String>,
        /// Read the TaurusDB source password from this environment variable instead of stdin.
        #[arg(long)]
        taurus_password_env: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Name (or replace) the TaurusDB source of a mysql or starrocks instance, for account sync.
    /// The source must answer and let its admin read accounts; nothing changes otherwise.
    SetSource {
        /// The instance id.
        #[arg(long)]
        instance: String,
        /// `mysql://ADMIN@HOST:PORT` (TLS parameters as for `instance add --dsn`); the password
        /// from stdin or --taurus-password-env.
        #[arg(long)]
        taurus_dsn: String,
        #[arg(long)]
        taurus_password_env: Option<String>,
        /// Longest time the check may take, in seconds.
        #[arg(long, default_value_t = 5)]
        timeout_secs: u64,
    },
    /// List instances.
    List {
        /// Only this project's (name).
        #[arg(long)]
        project: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Backends `starkeep proxy` shares reads among, besides the instance's TaurusDB source
    /// (row primary) and own server (column store): row read replicas and more column nodes.
    /// A proxy reads them when it starts.
    #[command(subcommand)]
    Node(NodeCommand),
}

/// The kinds of extra proxy backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NodeKindArg {
    /// A read replica of the TaurusDB source: serves `/*FORCE_SLAVE*/` and reads the rules
    /// keep on the row store.
    RowReplica,
    /// Another StarRocks frontend of the instance (or the instance's own server, to weigh it).
    Column,
}

impl NodeKindArg {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKindArg::RowReplica => "row_replica",
            NodeKindArg::Column => "column",
        }
    }
}

/// One backend of an instance.
#[derive(Debug, Args)]
pub struct NodeTarget {
    /// The instance id.
    #[arg(long)]
    pub instance: String,
    #[arg(long, value_enum)]
    pub kind: NodeKindArg,
    /// `host:port` of the server; the proxy logs in there as each client's account.
    #[arg(long)]
    pub addr: String,
}

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Add a backend, or set the weight of one the instance has.
    Set {
        #[command(flatten)]
        node: NodeTarget,
        /// Its share of its kind's load: a node of weight 2 gets twice the sessions of a node
        /// of weight 1.
        #[arg(long, default_value_t = 1)]
        weight: u32,
    },
    /// Remove a backend.
    Remove(NodeTarget),
    /// List an instance's extra backends.
    List {
        #[arg(long)]
        instance: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = StoreConfig {
        data_dir: cli.data_dir,
        database_url: cli.database_url,
        master_key_file: cli.master_key_file,
        sqlite_sync: cli.sqlite_sync.into(),
    };
    let config = &config;
    match cli.command {
        Command::Serve(args) => serve::run(config, args).await,
        Command::Project(ProjectCommand::Create { name, id, json }) => {
            admin::project_create(config, &name, id.as_deref(), json).await
        }
        Command::Project(ProjectCommand::List { json }) => admin::project_list(config, json).await,
        Command::Iam(IamCommand::User(IamUserCommand::Create {
            project,
            name,
            role,
            password_env,
            json,
        })) => {
            admin::user_create(config, &project, &name, role, password_env.as_deref(), json).await
        }
        Command::Iam(IamCommand::User(IamUserCommand::Grant {
            project,
            name,
            role,
        })) => admin::user_grant(config, &project, &name, role).await,
        Command::Iam(IamCommand::Credential(IamCredentialCommand::Create {
            project,
            user,
            json,
        })) => admin::credential_create(config, &project, &user, json).await,
        Command::Iam(IamCommand::Credential(IamCredentialCommand::List { project, json })) => {
            admin::credential_list(config, project.as_deref(), json).await
        }
        Command::Iam(IamCommand::Credential(IamCredentialCommand::Delete { access_key })) => {
            admin::credential_delete(config, &access_key).await
        }
        Command::Token(TokenCommand::Issue {
            project,
            user,
            ttl_secs,
            json,
        }) => {
            admin::token_issue(config, &project, &user, Duration::from_secs(ttl_secs), json).await
        }
        Command::Instance(InstanceCommand::Add {
            project,
            engine,
            name,
            databases,
            dsn,
            password_env,
            privilege_map,
            timeout_secs,
            taurus_dsn,
            taurus_password_env,
            json,
        }) => {
            let spec = admin::InstanceSpec {
                project: &project,
                engine: &engine,
                name: &name,
                databases: &databases,
                dsn: dsn.as_deref(),
                password_env: password_env.as_deref(),
                privilege_map: privilege_map.as_deref(),
                timeout: Duration::from_secs(timeout_secs.max(1)),
                taurus_dsn: taurus_dsn.as_deref(),
                taurus_password_env: taurus_password_env.as_deref(),
            };
            admin::instance_add(config, spec, json).await
        }
        Command::Instance(InstanceCommand::SetSource {
            instance,
            taurus_dsn,
            taurus_password_env,
            timeout_secs,
        }) => {
            admin::instance_set_source(
                config,
                &instance,
                &taurus_dsn,
                taurus_password_env.as_deref(),
                Duration::from_secs(timeout_secs.max(1)),
            )
            .await
        }
        Command::Sync(SyncCommand::Status { instance, json }) => {
            admin::sync_status(config, instance.as_deref(), json).await
        }
        Command::Audit {
            project,
            instance,
            limit,
            json,
        } => admin::audit(config, project.as_deref(), instance, limit, json).await,
        Command::Instance(InstanceCommand::List { project, json }) => {
            admin::instance_list(config, project.as_deref(), json).await
        }
        Command::Instance(InstanceCommand::Node(NodeCommand::Set { node, weight })) => {
            let record = starkeep_store::InstanceNode {
                kind: node.kind.as_str().to_owned(),
                addr: node.addr,
                weight,
            };
            admin::instance_node_set(config, &node.instance, record).await
        }
        Command::Instance(InstanceCommand::Node(NodeCommand::Remove(node))) => {
            admin::instance_node_remove(config, &node.instance, node.kind.as_str(), &node.addr)
                .await
        }
        Command::Instance(InstanceCommand::Node(NodeCommand::List { instance, json })) => {
            admin::instance_node_list(config, &instance, json).await
        }
        Command::Proxy(ProxyCli {
            command:
                Some(ProxyCommand::Explain {
                    instance,
                    database,
                    column_threshold,
                    json,
                    sql,
                }),
            ..
        }) => {
            proxy::explain(
                config,
                &instance,
                database.as_deref(),
                column_threshold,
                &sql,
                json,
            )
            .await
        }
        Command::Proxy(ProxyCli { run, command: None }) => proxy::run(config, run).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
