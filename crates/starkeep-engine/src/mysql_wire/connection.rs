//! How a MySQL-wire instance is reached: its stored settings ([`MysqlWireSettings`]) and the
//! bounded pool of admin connections an engine keeps. The dialect the settings name is
//! [`crate::WireDialect`]'s; what the engine does over the connections lives beside this file.

use std::fmt;
use std::time::Duration;

use mysql_async::{Conn, Pool};
use serde::{Deserialize, Serialize};

use super::registration::ConnectionTarget;
use super::MysqlWireEngine;
use crate::EngineError;

/// How long an engine operation may take unless the instance says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections per instance unless the instance says otherwise.
pub const DEFAULT_POOL_MAX: usize = 8;

/// How a SQL instance is reached, kept in the instance's settings (the password sealed).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MysqlWireSettings {
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
    pub source: Option<Box<MysqlWireSettings>>,
}

impl fmt::Debug for MysqlWireSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlWireSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"<sealed>")
            .field("flavor", &self.flavor)
            .finish_non_exhaustive()
    }
}

pub(super) fn pool_for(target: &ConnectionTarget, password: &str, pool_max: usize) -> Pool {
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
pub(super) struct ConnWhenNeeded<'e> {
    engine: &'e MysqlWireEngine,
    conn: Option<Conn>,
}

impl<'e> ConnWhenNeeded<'e> {
    pub(super) fn new(engine: &'e MysqlWireEngine) -> Self {
        Self { engine, conn: None }
    }

    /// The connection, taken now if it was not before.
    pub(super) async fn get(&mut self) -> Result<&mut Conn, EngineError> {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.engine.conn().await?,
        };
        Ok(self.conn.insert(conn))
    }
}
