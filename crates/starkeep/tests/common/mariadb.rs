//! MariaDB for tests: the shared server on 127.0.0.1:3306 (root, empty password) and servers a
//! test starts of its own (own data dir, port and socket), driven with the `mariadb` client.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `mariadb` client arguments for root on the shared server.
pub const SHARED: [&str; 4] = ["-h127.0.0.1", "-P3306", "-uroot", "--protocol=TCP"];

/// The first of `names` found on the PATH (or given as an existing absolute path).
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

/// Runs SQL with the `mariadb` client; answers whether it succeeded.
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

/// The first value a query answers.
pub fn sql_value(conn: &[&str], statement: &str) -> String {
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
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Whether `user` logs in to 127.0.0.1:`port` with `password`.
pub fn can_log_in(port: u16, user: &str, password: &str) -> bool {
    sql(
        &[
            "-h127.0.0.1",
            &format!("-P{port}"),
            "--protocol=TCP",
            &format!("-u{user}"),
            &format!("-p{password}"),
        ],
        "SELECT 1",
    )
}

/// A MariaDB server of the test's own, stopped and removed when dropped.
pub struct OwnServer {
    child: Child,
    pub port: u16,
    socket: String,
    _dir: tempfile::TempDir,
}

impl OwnServer {
    /// Installs a data dir, starts the server on a free loopback port and waits until it
    /// answers; anonymous accounts are dropped, root keeps its socket login.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let socket = dir.path().join("sock").display().to_string();
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let installed = Command::new(which(&["mariadb-install-db", "mysql_install_db"]))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg(format!("--user={user}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(installed.success(), "mariadb-install-db");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(which(&["mariadbd", "mysqld", "/usr/sbin/mariadbd"]))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--port={port}"))
            .arg(format!("--socket={socket}"))
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
            .unwrap();
        let server = Self {
            child,
            port,
            socket,
            _dir: dir,
        };
        // Readiness, not timing: wait until it answers.
        let ready = (0..600).any(|_| {
            let up = server.root("SELECT 1");
            if !up {
                std::thread::sleep(Duration::from_millis(100));
            }
            up
        });
        assert!(ready, "the test's own MariaDB answers");
        let hostname = String::from_utf8(Command::new("hostname").output().unwrap().stdout)
            .unwrap_or_default();
        for host in ["localhost", "%", hostname.trim()] {
            server.root(&format!("DROP USER IF EXISTS ''@'{host}'"));
        }
        server
    }

    /// Runs SQL as root over the socket; answers whether it succeeded.
    pub fn root(&self, statement: &str) -> bool {
        sql(&["-S", &self.socket, "-uroot"], statement)
    }

    /// The first value a query answers, as root.
    pub fn root_value(&self, statement: &str) -> String {
        sql_value(&["-S", &self.socket, "-uroot"], statement)
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
