//! A MariaDB server of a test's own: its own data dir, port and socket (`mariadb-install-db`,
//! then `mariadbd --no-defaults`), driven as root over its socket with the `mariadb` client.
//! It can be killed (SIGKILL) and started again on the same data dir, and is stopped and
//! removed on drop. The shared server on 127.0.0.1:3306 is not here: tests reach it directly.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The first of `names` that is installed (an absolute path, or a name `which` finds).
pub fn which(names: &[&str]) -> PathBuf {
    for name in names {
        if Path::new(name).is_absolute() && Path::new(name).exists() {
            return PathBuf::from(name);
        }
        if let Ok(out) = Command::new("which").arg(name).output() {
            let found = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if out.status.success() && !found.is_empty() {
                return PathBuf::from(found);
            }
        }
    }
    panic!("none of {names:?} found (scripts/test installs MariaDB)");
}

/// Runs SQL with the `mariadb` client (`conn` are its connection options); answers whether it
/// succeeded.
pub fn sql(conn: &[&str], statement: &str) -> bool {
    Command::new(which(&["mariadb", "mysql"]))
        .arg("--no-defaults")
        .args(conn)
        .args(["-N", "-e", statement])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The rows a query answers, tab-separated, with the `mariadb` client; panics if it fails.
pub fn sql_rows(conn: &[&str], statement: &str) -> Vec<String> {
    let out = Command::new(which(&["mariadb", "mysql"]))
        .arg("--no-defaults")
        .args(conn)
        .args(["-N", "-B", "-e", statement])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{statement}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A MariaDB of the test's own.
pub struct OwnMariaDb {
    child: Option<Child>,
    pub port: u16,
    pub socket: String,
    data: PathBuf,
    dir: tempfile::TempDir,
}

impl OwnMariaDb {
    /// Installs a fresh data dir, starts the server on a free loopback port, waits until it
    /// answers, and drops the anonymous accounts (they would match before a `'%'` account).
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let socket = dir.path().join("sock").display().to_string();
        let installed = Command::new(which(&["mariadb-install-db", "mysql_install_db"]))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg(format!("--user={}", Self::os_user()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(installed.success(), "mariadb-install-db failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Self {
            child: None,
            port,
            socket,
            data,
            dir,
        };
        server.launch();
        for host in ["localhost", "%"] {
            server.root(&format!("DROP USER IF EXISTS ''@'{host}'"));
        }
        let hostname = String::from_utf8(Command::new("hostname").output().unwrap().stdout)
            .unwrap_or_default();
        server.root(&format!("DROP USER IF EXISTS ''@'{}'", hostname.trim()));
        server
    }

    fn os_user() -> String {
        std::env::var("USER").unwrap_or_else(|_| "root".into())
    }

    /// Starts `mariadbd` on the data dir and waits (readiness, not timing) until it answers.
    fn launch(&mut self) {
        let child = Command::new(which(&["mariadbd", "mysqld", "/usr/sbin/mariadbd"]))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.data.display()))
            .arg(format!("--port={}", self.port))
            .arg(format!("--socket={}", self.socket))
            .arg(format!(
                "--pid-file={}",
                self.dir.path().join("pid").display()
            ))
            .arg(format!(
                "--log-error={}",
                self.dir.path().join("err.log").display()
            ))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--user={}", Self::os_user()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        for _ in 0..600 {
            if self.root("SELECT 1") {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("mariadbd exited: {status}; see {}", self.error_log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("mariadbd did not answer within a minute");
    }

    /// The server's own error log (for failure messages).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("err.log")).unwrap_or_default()
    }

    /// SIGKILL, as a crash or an OOM kill would stop it, and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Starts the server again on the same data dir and port (after [`Self::kill`]).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        self.launch();
    }

    /// Runs SQL as root over the socket; answers whether it succeeded.
    pub fn root(&self, statement: &str) -> bool {
        sql(&["-S", &self.socket, "-uroot"], statement)
    }

    /// The rows a query answers as root, tab-separated.
    pub fn root_rows(&self, statement: &str) -> Vec<String> {
        sql_rows(&["-S", &self.socket, "-uroot"], statement)
    }
}

impl Drop for OwnMariaDb {
    fn drop(&mut self) {
        self.kill();
    }
}
