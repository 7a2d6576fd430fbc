//! The floor of scenario 2: a bare HTTP front for MariaDB, started as a process of its own, that
//! does per request only what any service in starkeep's place must do: read the request, send
//! the account's statements over a pooled TCP connection, answer.
//!
//! No authentication, validation, store, audit trail or crash safety: what it measures is the
//! cost of putting an HTTP exchange and a process in front of each statement batch, on this
//! machine, in the same run. starkeep cannot go faster than it; how far the floor itself sits
//! from raw SQL says how much of the target a perfect service could reach.
//!
//! `POST /users?name=<name>` makes the account (one round trip: `CREATE USER …; GRANT …`, as
//! [`AccountStatements`]),
//! `DELETE /users?name=<name>` drops it; the names are the bench's own (`[a-z0-9_]`).
//! `starkeep-bench floor-server --mysql-url …` runs it; [`Floor::start`] starts it for a run.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use mysql_async::prelude::Queryable as _;
use starkeep_domain::{Ddl, Dml, NativePasswordHash, Privileges};
use starkeep_engine::mysql_wire::dialect::{Dialect as _, Scope};
use starkeep_engine::mysql_wire::mapping::{GrantSet, PrivilegeMap};
use starkeep_engine::mysql_wire::mysql::{MysqlDialect, MysqlFlavor};
use tokio::net::TcpListener;

/// What the floor server prints first on stdout, followed by its address.
const LISTENING: &str = "floor listening on ";

/// What the bench's accounts may do: `"dml": 1, "ddl": 0` in the API's terms (read only).
pub const PRIVILEGES: Privileges = Privileges {
    dml: Dml::ReadOnly,
    ddl: Ddl::None,
};

/// The statements of the bench's accounts (password [`crate::seed::PASSWORD`], [`PRIVILEGES`]
/// on one database), for the raw-SQL side and the floor: the ones starkeep's MySQL engine sends
/// to MariaDB for such an account, taken from the engine's own dialect so the three sides cannot
/// drift apart. On MariaDB a create is `CREATE USER` with a hash no password has (which marks an
/// unfinished create) and a `GRANT` that sets the real one. The grants and the hash are worked
/// out once, as the engine does, so a reference side spends per account only the formatting.
#[derive(Clone)]
pub struct AccountStatements {
    dialect: MysqlDialect,
    desired: BTreeMap<Scope, GrantSet>,
    hash: NativePasswordHash,
}

impl AccountStatements {
    pub fn new(database: &str) -> Self {
        let dialect = MysqlDialect::new(MysqlFlavor::MariaDb);
        let grants = PrivilegeMap::mysql_default().encode(PRIVILEGES, false);
        let desired = dialect.desired(BTreeMap::from([(
            Scope::Database(database.to_owned()),
            grants,
        )]));
        Self {
            dialect,
            desired,
            hash: NativePasswordHash::of(crate::seed::PASSWORD),
        }
    }

    /// The statements that make account `name`.
    pub fn create(&self, name: &str) -> Vec<String> {
        self.dialect
            .create_statements(name, &self.hash, &self.desired, true)
    }

    /// The statement that drops account `name`.
    pub fn drop_user(&self, name: &str) -> String {
        self.dialect.drop_user(name)
    }
}

/// Serves the floor on a free loopback port until the process is killed; prints
/// [`LISTENING`] and the address first. Accounts get the bench's password ([`crate::seed`]).
pub async fn serve(mysql_url: &str, database: &str) -> anyhow::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("{LISTENING}{}", listener.local_addr()?);
    run(listener, Accounts::new(mysql_url, database)?).await
}

/// Answers the connections `listener` accepts, each on a task of its own.
async fn run(listener: TcpListener, accounts: Accounts) -> anyhow::Result<()> {
    let accounts = Arc::new(accounts);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let accounts = accounts.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let accounts = accounts.clone();
                async move { Ok::<_, Infallible>(accounts.answer(request).await) }
            });
            // Ends when the client closes the connection.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

struct Accounts {
    pool: mysql_async::Pool,
    statements: AccountStatements,
}

impl Accounts {
    fn new(mysql_url: &str, database: &str) -> anyhow::Result<Self> {
        Ok(Self {
            pool: crate::mariadb::pool_over_tcp(mysql_url)?,
            statements: AccountStatements::new(database),
        })
    }

    async fn answer(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let name = request
            .uri()
            .query()
            .and_then(|q| q.strip_prefix("name="))
            .filter(|n| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            })
            .map(str::to_owned);
        let batch = match (request.method(), name) {
            (&Method::POST, Some(name)) => self.statements.create(&name).join(";"),
            (&Method::DELETE, Some(name)) => self.statements.drop_user(&name),
            _ => return reply(StatusCode::BAD_REQUEST, "{\"error\":\"bad request\"}"),
        };
        // Read the body as a server must, though nothing in it is needed.
        if request.into_body().collect().await.is_err() {
            return reply(StatusCode::BAD_REQUEST, "{\"error\":\"unreadable body\"}");
        }
        let sent = async {
            let mut conn = self.pool.get_conn().await?;
            conn.query_drop(batch).await
        };
        match sent.await {
            Ok(()) => reply(StatusCode::OK, "{}"),
            Err(_) => reply(StatusCode::INTERNAL_SERVER_ERROR, "{\"error\":\"sql\"}"),
        }
    }
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A floor server of this run, killed when dropped.
pub struct Floor {
    child: Child,
    pub addr: SocketAddr,
}

/// Where `floor-server` finds the MariaDB URL when [`Floor::start`] starts it: in the
/// environment, which only this user can read, rather than in the arguments.
pub const MYSQL_URL_ENV: &str = "STARKEEP_BENCH_FLOOR_MYSQL";

impl Floor {
    /// Starts this program's `floor-server` on `mysql_url` and waits for its address.
    pub fn start(mysql_url: &str, database: &str) -> anyhow::Result<Self> {
        let mut child = Command::new(this_program()?)
            .args(["floor-server", "--database", database])
            .env(MYSQL_URL_ENV, mysql_url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the floor server")?;
        let stdout = child.stdout.take().context("the floor server's stdout")?;
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first)?;
        match first.trim().strip_prefix(LISTENING).map(str::parse) {
            Some(Ok(addr)) => Ok(Self { child, addr }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the floor server did not start: {first:?}")
            }
        }
    }
}

/// This program's binary. A run rebuilds it in place when the source changed
/// ([`crate::server::locate_binary`]); then the running file is gone and the path it was
/// started as names the new one.
fn this_program() -> anyhow::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    if exe.is_file() {
        return Ok(exe);
    }
    std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .context("this program's path")
}

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Call, Conn};

    /// The MariaDB every machine of this project runs (README, `.ci/run`).
    const MYSQL_URL: &str = "mysql://root@127.0.0.1:3306";
    const DATABASE: &str = "starkeep_bench_floor_test";

    async fn account_count(pool: &mysql_async::Pool, name: &str) -> u64 {
        let mut conn = pool.get_conn().await.unwrap();
        conn.query_first(format!(
            "SELECT COUNT(*) FROM mysql.user WHERE User = '{name}'"
        ))
        .await
        .unwrap()
        .unwrap()
    }

    #[tokio::test]
    async fn makes_and_drops_real_accounts_and_refuses_what_it_does_not_serve() {
        let pool = crate::mariadb::pool_over_tcp(MYSQL_URL).unwrap();
        let mut admin = pool.get_conn().await.unwrap();
        admin
            .query_drop(format!("CREATE DATABASE IF NOT EXISTS `{DATABASE}`"))
            .await
            .unwrap();
        let name = format!("skfloor_{}", std::process::id());
        admin
            .query_drop(format!("DROP USER IF EXISTS '{name}'@'%'"))
            .await
            .unwrap();
        drop(admin);

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(run(listener, Accounts::new(MYSQL_URL, DATABASE).unwrap()));
        let mut conn = Conn::connect(addr).await.unwrap();
        let at = |method: Method, path: &str| Call::new(method, path, None).unwrap();
        let users = format!("/users?name={name}");

        let (status, _) = conn.send(&at(Method::POST, &users)).await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(account_count(&pool, &name).await, 1);
        // The grant went with it, in the same round trip.
        let mut admin = pool.get_conn().await.unwrap();
        let grants: Vec<String> = admin
            .query(format!("SHOW GRANTS FOR '{name}'@'%'"))
            .await
            .unwrap();
        assert!(
            grants
                .iter()
                .any(|g| g.starts_with("GRANT SELECT ON `starkeep\\_bench\\_floor\\_test`.*")),
            "{grants:?}"
        );
        drop(admin);

        // A second create of the same name fails on the server and says so.
        let (status, _) = conn.send(&at(Method::POST, &users)).await.unwrap();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

        for refused in [
            at(Method::POST, "/users?name=Bad'name"),
            at(Method::POST, "/users"),
            at(Method::GET, &users),
        ] {
            let (status, _) = conn.send(&refused).await.unwrap();
            assert_eq!(status, StatusCode::BAD_REQUEST, "{refused:?}");
        }

        let (status, _) = conn.send(&at(Method::DELETE, &users)).await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(account_count(&pool, &name).await, 0);

        server.abort();
        pool.disconnect().await.unwrap();
    }
}
