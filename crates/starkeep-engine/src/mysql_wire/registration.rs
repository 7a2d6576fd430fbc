//! Adding a `mysql` or `starrocks` instance: parse the DSN, prove that the admin account can
//! connect, create users and grant, then store the instance with its password sealed.
//!
//! The proof is behavioural: a throw-away account `starkeep_probe_<random>` is created, granted
//! one privilege and dropped. Reading `SHOW GRANTS` would tell what the server says the account
//! has; trying tells what it can do.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use starkeep_auth::SecretBox;
use starkeep_domain::{NativePasswordHash, ProjectId};
use starkeep_store::{InstanceRecord, NewInstance, Store, StoreError};
use zeroize::Zeroizing;

use super::backend_error::mysql_error_text;
use super::connection::{pool_for, MysqlWireSettings, WireTls};
use super::dialect::Scope;
use super::mapping::{Level, MappingError, PrivilegeMap};
use super::mysql::MysqlFlavor;
use crate::{EngineKind, WireDialect};

/// Where an admin connection goes (never the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
}

impl ConnectionTarget {
    /// Reads `mysql://USER@HOST[:PORT]`. A password in the DSN is refused: it would end up in
    /// shell history and process lists; it comes from stdin or an environment variable instead.
    pub fn parse(dsn: &str, default_port: u16) -> Result<Self, RegistrationError> {
        let bad =
            |why: &str| RegistrationError::Dsn(format!("{why} (expected mysql://USER@HOST:PORT)"));
        let url = url::Url::parse(dsn).map_err(|e| bad(&format!("not a URL: {e}")))?;
        if url.scheme() != "mysql" {
            return Err(bad(&format!("scheme {:?} is not mysql", url.scheme())));
        }
        if url.password().is_some() {
            return Err(RegistrationError::Dsn(
                "the DSN must not carry the password: give it on stdin or with --password-env"
                    .into(),
            ));
        }
        let user = percent_decode(url.username());
        if user.is_empty() {
            return Err(bad("no admin user"));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_matches(|c| c == '[' || c == ']')
            .to_owned();
        if url.path() != "" && url.path() != "/" {
            return Err(bad("a database in the DSN has no meaning here"));
        }
        Ok(Self {
            host,
            port: url.port().unwrap_or(default_port),
            user,
        })
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What adding an SQL instance takes.
pub struct AddSqlInstance {
    pub project_id: ProjectId,
    pub name: String,
    pub kind: EngineKind,
    pub dsn: String,
    pub password: Zeroizing<String>,
    /// An operator's privilege mapping (TOML).
    pub privilege_map: Option<String>,
    pub timeout: Duration,
}

/// Why an instance was not added.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("bad DSN: {0}")]
    Dsn(String),
    #[error("{0}")]
    Mapping(#[from] MappingError),
    #[error("cannot connect to {target}: {detail}")]
    Connect { target: String, detail: String },
    #[error("the admin account {user} cannot {what}: {detail}")]
    Privilege {
        user: String,
        what: &'static str,
        detail: String,
    },
    #[error("engine {0} has no SQL connection")]
    NotSql(EngineKind),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl AddSqlInstance {
    /// Checks the instance and stores it; nothing is stored if a check fails.
    pub async fn run(
        self,
        store: &Store,
        secrets: &SecretBox,
    ) -> Result<InstanceRecord, RegistrationError> {
        let default_port = match self.kind {
            EngineKind::Mysql => 3306,
            EngineKind::StarRocks => 9030,
            EngineKind::Embedded => return Err(RegistrationError::NotSql(self.kind)),
        };
        let target = ConnectionTarget::parse(&self.dsn, default_port)?;
        let tls = WireTls::from_dsn(&self.dsn).map_err(RegistrationError::Dsn)?;
        let shown = format!("{}@{}:{}", target.user, target.host, target.port);
        let pool = pool_for(&target, &self.password, 1);
        let within = |what: &'static str| {
            let shown = shown.clone();
            move |_| RegistrationError::Connect {
                target: shown,
                detail: format!("no answer within {:?} while {what}", self.timeout),
            }
        };
        let mut conn = tokio::time::timeout(self.timeout, pool.get_conn())
            .await
            .map_err(within("connecting"))?
            .map_err(|e| RegistrationError::Connect {
                target: shown.clone(),
                detail: mysql_error_text(&e),
            })?;
        // A StarRocks frontend's `VERSION()` answers the MySQL version it claims; its own is
        // `current_version()` ("3.3.2 <commit>").
        let version_query = match self.kind {
            EngineKind::StarRocks => "SELECT current_version()",
            _ => "SELECT VERSION()",
        };
        let version: Option<String> =
            tokio::time::timeout(self.timeout, conn.query_first(version_query))
                .await
                .map_err(within("reading the version"))?
                .map_err(|e| RegistrationError::Connect {
                    target: shown.clone(),
                    detail: mysql_error_text(&e),
                })?;
        let wire = match self.kind {
            EngineKind::Mysql => {
                WireDialect::Mysql(MysqlFlavor::from_version(version.as_deref().unwrap_or("")))
            }
            EngineKind::StarRocks => WireDialect::StarRocks,
            EngineKind::Embedded => return Err(RegistrationError::NotSql(self.kind)),
        };
        let flavor = wire.flavor();
        let dialect = wire.statements();
        let map = match &self.privilege_map {
            Some(text) => PrivilegeMap::from_toml(text, dialect.map_flavor())?,
            None => dialect.default_map(),
        };
        if self.kind == EngineKind::StarRocks {
            if let Some(version) = version.as_deref().and_then(major_minor) {
                map.validate_for_starrocks(version)?;
            }
        }

        // The probe: create, grant, drop.
        let probe = format!("starkeep_probe_{:08x}", rand::random::<u32>());
        let hash = NativePasswordHash::of(&format!("{:x}", rand::random::<u128>()));
        let privilege_error = |what: &'static str| {
            let user = target.user.clone();
            move |e: mysql_async::Error| RegistrationError::Privilege {
                user,
                what,
                detail: mysql_error_text(&e),
            }
        };
        let created = tokio::time::timeout(
            self.timeout,
            conn.query_drop(dialect.create_user(&probe, &hash)),
        )
        .await
        .map_err(within("creating a probe account"))?;
        if let Err(e) = created {
            let mut error = privilege_error("create users")(e);
            if self.kind == EngineKind::StarRocks {
                if let (RegistrationError::Privilege { detail, .. }, Some(hint)) = (
                    &mut error,
                    inactive_admin_role(&mut conn, &target.user).await,
                ) {
                    detail.push_str("; ");
                    detail.push_str(&hint);
                }
            }
            return Err(error);
        }
        let grant_scope = match self.kind {
            // MySQL accepts a grant on a database that does not exist yet.
            EngineKind::Mysql => Some(Scope::Database(format!("{probe}_db"))),
            // StarRocks needs a real one.
            _ => {
                let dbs = dialect.databases(&mut conn).await.unwrap_or_default();
                dbs.into_iter()
                    .find(|d| !dialect.is_reserved_database(d) && !dialect.is_implicit_database(d))
                    .map(Scope::Database)
            }
        };
        let mut granted = Ok(());
        if let Some(scope) = &grant_scope {
            let read: std::collections::BTreeSet<_> = map
                .read
                .iter()
                .filter(|(level, _)| *level != Level::Catalog)
                .cloned()
                .collect();
            for statement in dialect.grant(&probe, scope, &read) {
                if let Err(e) = conn.query_drop(statement).await {
                    granted = Err(e);
                    break;
                }
            }
        } else {
            tracing::warn!(
                "the instance has no user database yet: could not check that the admin may grant"
            );
        }
        let dropped = conn.query_drop(dialect.drop_user(&probe)).await;
        granted.map_err(privilege_error("grant privileges"))?;
        dropped.map_err(privilege_error("drop users"))?;
        drop(conn);
        pool.disconnect().await.ok();

        let settings = MysqlWireSettings {
            host: target.host.clone(),
            port: target.port,
            user: target.user.clone(),
            password: secrets.seal(self.password.as_bytes()),
            flavor: flavor.map(|f| f.as_str().to_owned()),
            privilege_map: self.privilege_map.as_ref().map(|_| map.to_toml()),
            pool_max: None,
            timeout_ms: Some(u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX)),
            source: None,
            tls,
        };
        let record = store
            .create_instance(
                &NewInstance {
                    project_id: self.project_id,
                    name: self.name,
                    engine: self.kind.as_str().to_owned(),
                    settings: serde_json::to_value(&settings).expect("settings serialise"),
                },
                &[],
            )
            .await?;
        Ok(record)
    }
}

/// (major, minor) of a StarRocks version as `current_version()` prints it ("3.3.2 6d81f75").
fn major_minor(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.split_whitespace().next()?.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Where a StarRocks admin holds `user_admin` (or `root`) but a new session does not activate
/// it, what to run so that one does. starkeep never sends `SET ROLE`: each pooled session has the
/// admin's default roles only (`qe/SetRoleExecutor.java` changes one session).
async fn inactive_admin_role(conn: &mut mysql_async::Conn, admin: &str) -> Option<String> {
    let rows: Vec<mysql_async::Row> = conn.query("SHOW GRANTS").await.ok()?;
    let granted: Vec<String> = rows
        .iter()
        .filter_map(|row| row.get_opt::<String, _>(2).and_then(Result::ok))
        .filter_map(|text| match super::starrocks::parse_grant(&text) {
            Some(super::starrocks::GrantLine::Roles(roles)) => Some(roles),
            _ => None,
        })
        .flatten()
        .collect();
    let active: Option<String> = conn.query_first("SELECT current_role()").await.ok()?;
    let active = active.unwrap_or_default();
    let is_active = |role: &str| active.split(',').any(|r| r.trim() == role);
    let role = ["user_admin", "root"]
        .into_iter()
        .find(|r| granted.iter().any(|g| g == r) && !is_active(r))?;
    Some(format!(
        "the role {role} is granted to {admin} but is not one of its default roles, and starkeep \
         never sends SET ROLE; run: SET DEFAULT ROLE {role} TO '{admin}'@'%'"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsn_forms() {
        assert_eq!(
            ConnectionTarget::parse("mysql://root@127.0.0.1:3306", 3306).unwrap(),
            ConnectionTarget {
                host: "127.0.0.1".into(),
                port: 3306,
                user: "root".into()
            }
        );
        assert_eq!(
            ConnectionTarget::parse("mysql://admin@fe.example", 9030)
                .unwrap()
                .port,
            9030
        );
        assert_eq!(
            ConnectionTarget::parse("mysql://a%40b@h", 3306)
                .unwrap()
                .user,
            "a@b"
        );
        let with_password = ConnectionTarget::parse("mysql://root:secret@h:1", 3306).unwrap_err();
        assert!(with_password
            .to_string()
            .contains("must not carry the password"));
        assert!(!with_password.to_string().contains("secret"));
        assert!(ConnectionTarget::parse("postgres://root@h", 3306).is_err());
        assert!(ConnectionTarget::parse("mysql://h:3306", 3306).is_err());
        assert!(ConnectionTarget::parse("mysql://root@h/db", 3306).is_err());
    }

    #[test]
    fn tls_parameters() {
        assert_eq!(WireTls::from_dsn("mysql://root@h:1").unwrap(), None);
        assert_eq!(
            WireTls::from_dsn("mysql://root@h:1?require_ssl=true").unwrap(),
            Some(WireTls {
                ca: None,
                verify: true
            })
        );
        assert_eq!(
            WireTls::from_dsn("mysql://root@h:1?require_ssl=true&ssl_ca=/etc/ca.pem").unwrap(),
            Some(WireTls {
                ca: Some("/etc/ca.pem".into()),
                verify: true
            })
        );
        assert_eq!(
            WireTls::from_dsn("mysql://root@h:1?require_ssl=1&verify_ca=false").unwrap(),
            Some(WireTls {
                ca: None,
                verify: false
            })
        );
        assert!(WireTls::from_dsn("mysql://root@h:1?require-ssl=true").is_err());
        assert!(WireTls::from_dsn("mysql://root@h:1?require_ssl=yes").is_err());
        assert!(WireTls::from_dsn("mysql://root@h:1?verify_ca=false").is_err());
    }

    /// Adds a `mysql` instance for the MariaDB on 127.0.0.1:3306 (root, empty password, as the
    /// tests' machine runs it) with `admin` as its admin account; answers the error's text.
    async fn add_as(admin: &str, password: &str) -> Result<InstanceRecord, String> {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let project = store.create_project("main").await.unwrap();
        let secrets = SecretBox::new(&rand::random());
        AddSqlInstance {
            project_id: project.id.clone(),
            name: "mariadb".into(),
            kind: EngineKind::Mysql,
            dsn: format!("mysql://{admin}@127.0.0.1:3306"),
            password: Zeroizing::new(password.to_owned()),
            privilege_map: None,
            timeout: Duration::from_secs(5),
        }
        .run(&store, &secrets)
        .await
        .map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn adding_an_instance_checks_the_admin() {
        let prefix = format!("t{:06x}", rand::random::<u32>() & 0xff_ffff);
        // No such password.
        let refused = add_as("root", "not-the-password")
            .await
            .expect_err("a wrong password is refused");
        assert!(refused.contains("cannot connect"), "{refused}");
        assert!(!refused.contains("not-the-password"), "{refused}");

        // An account that may log in but not create users.
        let weak = format!("{prefix}_weak");
        let root = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(3306)
            .user(Some("root"))
            .prefer_socket(false);
        let mut root_conn = mysql_async::Conn::new(root)
            .await
            .expect("MariaDB on 127.0.0.1:3306 as root with an empty password");
        root_conn
            .query_drop(format!(
                "CREATE USER '{weak}'@'%' IDENTIFIED BY 'Weak_1234'"
            ))
            .await
            .unwrap();
        let refused = add_as(&weak, "Weak_1234")
            .await
            .expect_err("an admin that cannot create users is refused");
        assert!(refused.contains("cannot create users"), "{refused}");
        root_conn
            .query_drop(format!("DROP USER '{weak}'@'%'"))
            .await
            .unwrap();
    }
}
