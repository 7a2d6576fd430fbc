//! MariaDB for tests, driven with the `mariadb` client: a server of the test's own (own data dir,
//! port and socket, gone when dropped), and the shared server on 127.0.0.1:3306 with a guard that
//! drops a test's accounts and databases there (also when the test panics).
//!
//! Used by this crate's tests through `common`, and by `starkeep-api`'s sync test by path. No
//! mysql protocol of its own: callers that want a connection use the port or socket.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The client arguments for root on the shared server at 127.0.0.1:3306 (empty password).
pub const SHARED: [&str; 4] = ["-h127.0.0.1", "-P3306", "-uroot", "--protocol=TCP"];

/// The first of `names` found as an absolute path or on `PATH`.
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

fn client() -> Command {
    let mut cmd = Command::new(which(&["mariadb", "mysql"]));
    cmd.arg("--no-defaults");
    cmd
}

/// Runs SQL (one or more statements); answers whether it succeeded.
pub fn sql(conn: &[&str], statement: &str) -> bool {
    client()
        .args(conn)
        .args(["-N", "-e", statement])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Runs a long script over one connection, fed on stdin; panics if it fails.
pub fn sql_script(conn: &[&str], script: &str) {
    use std::io::Write;
    let mut child = client()
        .args(conn)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The output of a query (tab-separated, no headers), trimmed; panics if it fails.
pub fn sql_value(conn: &[&str], statement: &str) -> String {
    let out = client()
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

/// A MariaDB of the test's own, with an admin account `'<admin>'@'%'` holding every privilege.
/// Killed, and its data dir removed, on drop.
pub struct OwnMariaDb {
    child: Child,
    pub port: u16,
    pub socket: String,
    _dir: tempfile::TempDir,
}

impl OwnMariaDb {
    pub fn start(admin: &str, admin_password: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let socket = dir.path().join("sock").display().to_string();
        let user = std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "root".into());
        let installed = Command::new(which(&["mariadb-install-db", "mysql_install_db"]))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg(format!("--user={user}"))
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
        let mut server = Self {
            child,
            port,
            socket,
            _dir: dir,
        };
        // Readiness, not timing: wait until it answers.
        let mut ready = false;
        for _ in 0..600 {
            if server.root("SELECT 1") {
                ready = true;
                break;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the test's MariaDB exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(ready, "the test's MariaDB answers");
        // Anonymous accounts would match a login before the '%' rows.
        let anonymous = server.root_value("SELECT Host FROM mysql.user WHERE User = ''");
        for host in anonymous.lines().filter(|h| !h.is_empty()) {
            assert!(server.root(&format!("DROP USER ''@'{host}'")));
        }
        assert!(server.root(&format!(
            "CREATE USER '{admin}'@'%' IDENTIFIED BY '{admin_password}'; \
             GRANT ALL ON *.* TO '{admin}'@'%' WITH GRANT OPTION"
        )));
        server
    }

    /// Client arguments for root over the socket.
    pub fn root_args(&self) -> [String; 2] {
        [format!("-S{}", self.socket), "-uroot".to_owned()]
    }

    /// Runs SQL as root; answers whether it succeeded.
    pub fn root(&self, statement: &str) -> bool {
        let args = self.root_args();
        sql(&[&args[0], &args[1]], statement)
    }

    /// A query's output as root.
    pub fn root_value(&self, statement: &str) -> String {
        let args = self.root_args();
        sql_value(&[&args[0], &args[1]], statement)
    }

    /// A script as root, over one connection.
    pub fn root_script(&self, script: &str) {
        let args = self.root_args();
        sql_script(&[&args[0], &args[1]], script)
    }

    /// Whether `user` logs in over TCP with `password`.
    pub fn login(&self, user: &str, password: &str) -> bool {
        login(self.port, user, password)
    }
}

impl Drop for OwnMariaDb {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Whether `user` logs in at 127.0.0.1:`port` with `password`.
pub fn login(port: u16, user: &str, password: &str) -> bool {
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

/// Drops, when dropped, every account and database at the shared server whose name starts with
/// `<prefix>_`: what a test made there is gone even if it panicked.
pub struct SharedLeftovers {
    pub prefix: String,
}

impl SharedLeftovers {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// Drops the test's accounts and databases now (also done on drop).
    pub fn clean(&self) {
        let like = format!("{}\\\\_%", self.prefix);
        // One statement per kind, so thousands of accounts go in one round trip.
        let users = sql_value(
            &SHARED,
            &format!(
                "SET SESSION group_concat_max_len = 1073741824; \
                 SELECT IFNULL(GROUP_CONCAT(CONCAT(QUOTE(User), '@', QUOTE(Host))), '') \
                 FROM mysql.user WHERE User LIKE '{like}'"
            ),
        );
        let databases = sql_value(
            &SHARED,
            &format!(
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA \
                 WHERE SCHEMA_NAME LIKE '{like}'"
            ),
        );
        let mut script = String::new();
        if !users.is_empty() {
            script.push_str(&format!("DROP USER IF EXISTS {users};\n"));
        }
        for db in databases.lines().filter(|d| !d.is_empty()) {
            script.push_str(&format!("DROP DATABASE IF EXISTS `{db}`;\n"));
        }
        if !script.is_empty() {
            sql_script(&SHARED, &script);
        }
    }
}

impl Drop for SharedLeftovers {
    fn drop(&mut self) {
        // Never a second panic while unwinding.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.clean())).is_err() {
            eprintln!(
                "could not drop the {}_* accounts and databases at 127.0.0.1:3306",
                self.prefix
            );
        }
    }
}
