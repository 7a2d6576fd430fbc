//! A MariaDB server of the bench's own: `mariadb-install-db` into a temporary data dir, then
//! `mariadbd` on a free loopback port, with an admin account starkeep connects as. It is killed
//! and its data dir removed when dropped, so nothing the bench does there outlives the run.
//!
//! Scenario 3 fills one with 100,000 accounts and scenario 4 mirrors into one; the shared
//! MariaDB on 127.0.0.1:3306 is left to what needs it (scenario 2, the sync source).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

/// The admin account the bench makes on its own servers.
pub const ADMIN: &str = "skbench_admin";
pub const ADMIN_PASSWORD: &str = "Bench-admin-1";

/// A pool on the server at `url` that connects over TCP, as the URL says. mysql_async would
/// otherwise move a loopback connection to the server's Unix socket, which starkeep's engines
/// never do: a reference measured that way would not take the same path to the server.
pub fn pool_over_tcp(url: &str) -> anyhow::Result<mysql_async::Pool> {
    let opts = OptsBuilder::from_opts(mysql_async::Opts::from_url(url)?).prefer_socket(false);
    Ok(mysql_async::Pool::new(opts))
}

/// `text` with the password of a URL in it (`mysql://user:password@host`) shown as `***`; for
/// anything the bench prints or records about the URL it was given (`--mysql-url=…` included).
pub fn redacted(text: &str) -> String {
    match around_password(text) {
        Some((before, _, after)) => format!("{before}:***{after}"),
        None => text.to_owned(),
    }
}

/// `url` without its password, and the password (decoded; empty when there is none): for
/// `starkeep instance add`, which takes the password on stdin rather than in its arguments, where
/// any user of the machine could read it.
pub fn split_password(url: &str) -> (String, String) {
    let password = mysql_async::Opts::from_url(url)
        .ok()
        .and_then(|opts| opts.pass().map(str::to_owned))
        .unwrap_or_default();
    match around_password(url) {
        Some((before, _, after)) => (format!("{before}{after}"), password),
        None => (url.to_owned(), password),
    }
}

/// The text around the password of a URL in `text`: up to the user name, the password, and from
/// the `@` on; `None` when the URL has no password.
fn around_password(text: &str) -> Option<(&str, &str, &str)> {
    let start = text.find("://")? + "://".len();
    let at = start + text[start..].find('@')?;
    let colon = start + text[start..at].find(':')?;
    Some((&text[..colon], &text[colon + 1..at], &text[at..]))
}

/// Why a scenario that needs the shared MariaDB at `url` did not run, and what starts it.
pub fn unreachable(url: &str, error: &anyhow::Error) -> String {
    let error = match error.downcast_ref::<mysql_async::Error>() {
        Some(e) => starkeep_engine::mysql_wire::mysql_error_text(e),
        None => error.to_string(),
    };
    format!(
        "MariaDB at {} is not reachable ({error}); `./scripts/test` starts it, or point \
         --mysql-url at another",
        redacted(url)
    )
}

/// A running MariaDB of this run.
pub struct OwnMariadb {
    child: Child,
    pub port: u16,
    socket: PathBuf,
    dir: tempfile::TempDir,
}

fn find_binary(names: &[&str]) -> anyhow::Result<PathBuf> {
    for name in names {
        let path = Path::new(name);
        if path.is_absolute() && path.exists() {
            return Ok(path.to_owned());
        }
        if let Ok(out) = Command::new("which").arg(name).output() {
            let found = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if out.status.success() && !found.is_empty() {
                return Ok(PathBuf::from(found));
            }
        }
    }
    bail!("none of {names:?} found (scripts/test installs MariaDB)")
}

impl OwnMariadb {
    /// Installs and starts a fresh server, and makes [`ADMIN`] with every privilege.
    pub async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("starkeep-bench-mariadb-")
            .tempdir()?;
        let data = dir.path().join("data");
        let socket = dir.path().join("sock");
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let install = Command::new(find_binary(&["mariadb-install-db", "mysql_install_db"])?)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg(format!("--user={user}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        anyhow::ensure!(install.success(), "mariadb-install-db failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(find_binary(&["mariadbd", "mysqld", "/usr/sbin/mariadbd"])?)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--port={port}"))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()))
            .arg(format!(
                "--log-error={}",
                dir.path().join("err.log").display()
            ))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--user={user}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting mariadbd")?;
        let mut server = Self {
            child,
            port,
            socket,
            dir,
        };
        let mut root = None;
        for _ in 0..600 {
            if let Ok(conn) = server.root().await {
                root = Some(conn);
                break;
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("the bench's MariaDB exited: {status}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut root = root.context("the bench's MariaDB did not accept connections in 60 s")?;
        // Anonymous accounts would match before the admin's '%' row.
        let anonymous: Vec<String> = root
            .query("SELECT Host FROM mysql.user WHERE User = ''")
            .await?;
        for host in anonymous {
            root.query_drop(format!("DROP USER ''@'{host}'")).await?;
        }
        root.query_drop(format!(
            "CREATE USER '{ADMIN}'@'%' IDENTIFIED BY '{ADMIN_PASSWORD}'"
        ))
        .await?;
        root.query_drop(format!(
            "GRANT ALL ON *.* TO '{ADMIN}'@'%' WITH GRANT OPTION"
        ))
        .await?;
        Ok(server)
    }

    /// `root` over the server's socket.
    pub async fn root(&self) -> Result<Conn, mysql_async::Error> {
        let opts = OptsBuilder::default()
            .socket(Some(self.socket.display().to_string()))
            .user(Some("root"));
        Conn::new(opts).await
    }

    /// The DSN of the admin account, as `starkeep instance add --dsn` takes it.
    pub fn admin_dsn(&self) -> String {
        format!("mysql://{ADMIN}@127.0.0.1:{}", self.port)
    }

    /// A file path inside the server's own temporary directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for OwnMariadb {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(
            redacted("mysql://bench:S3cret-pw@127.0.0.1:3399"),
            "mysql://bench:***@127.0.0.1:3399"
        );
        assert_eq!(
            redacted("--mysql-url=mysql://bench:S3cret-pw@h:1/db"),
            "--mysql-url=mysql://bench:***@h:1/db"
        );
        for unchanged in ["mysql://root@127.0.0.1:3306", "--quick", "/tmp/out"] {
            assert_eq!(redacted(unchanged), unchanged);
        }
        let why = unreachable(
            "mysql://bench:S3cret-pw@127.0.0.1:3399",
            &anyhow::anyhow!("refused"),
        );
        assert!(why.contains("mysql://bench:***@127.0.0.1:3399"), "{why}");
        assert!(why.contains("refused"), "{why}");
        assert!(!why.contains("S3cret-pw"), "{why}");
    }

    #[test]
    fn a_password_is_taken_out_of_a_url() {
        assert_eq!(
            split_password("mysql://bench:S3cret%40pw@127.0.0.1:3399/db"),
            (
                "mysql://bench@127.0.0.1:3399/db".to_owned(),
                "S3cret@pw".to_owned()
            )
        );
        assert_eq!(
            split_password("mysql://root@127.0.0.1:3306"),
            ("mysql://root@127.0.0.1:3306".to_owned(), String::new())
        );
    }
}
