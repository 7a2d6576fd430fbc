//! MariaDB for tests and the benchmark suite, driven with the `mariadb` client: a server of a
//! test's own ([`OwnMariaDb`]: own data dir, port and socket, gone when dropped), and the shared
//! server on 127.0.0.1:3306 ([`SHARED`]) with a guard ([`SharedLeftovers`]) that drops a test's
//! accounts and databases there (also when the test panics).
//!
//! Statements go through the `mariadb` command-line client; [`OwnMariaDb::root_conn`] is the one
//! protocol connection offered, for callers that already speak `mysql_async`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The client arguments for root on the shared server at 127.0.0.1:3306 (empty password).
pub const SHARED: [&str; 4] = ["-h127.0.0.1", "-P3306", "-uroot", "--protocol=TCP"];

/// The first of `names` found as an absolute path or on `PATH`.
pub fn which(names: &[&str]) -> Result<PathBuf, String> {
    for name in names {
        if Path::new(name).is_absolute() && Path::new(name).exists() {
            return Ok(PathBuf::from(name));
        }
        if let Ok(out) = Command::new("which").arg(name).output() {
            let found = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if out.status.success() && !found.is_empty() {
                return Ok(PathBuf::from(found));
            }
        }
    }
    Err(format!(
        "none of {names:?} found (scripts/test installs MariaDB)"
    ))
}

fn client() -> Command {
    let client = which(&["mariadb", "mysql"]).unwrap_or_else(|why| panic!("{why}"));
    let mut cmd = Command::new(client);
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

/// The rows a query answers, tab-separated, no headers; panics if it fails.
pub fn sql_rows(conn: &[&str], statement: &str) -> Vec<String> {
    sql_value(conn, statement)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A MariaDB of a test's (or a benchmark run's) own, with an admin account `'<admin>'@'%'`
/// holding every privilege. It can be killed (SIGKILL) and started again on the same data dir
/// and port; killed, and its data dir removed, on drop.
pub struct OwnMariaDb {
    child: Option<Child>,
    pub port: u16,
    pub socket: String,
    data: PathBuf,
    admin: String,
    dir: tempfile::TempDir,
}

impl OwnMariaDb {
    /// Installs a fresh data dir, starts the server on a free loopback port, waits until it
    /// answers, drops the anonymous accounts (they would match a login before the `'%'` rows)
    /// and makes the admin account. Panics when it cannot ([`Self::try_start`] answers why).
    pub fn start(admin: &str, admin_password: &str) -> Self {
        Self::try_start(admin, admin_password).unwrap_or_else(|why| panic!("{why}"))
    }

    /// [`Self::start`], answering why the server could not be started instead of panicking.
    /// It blocks while the server starts (seconds): from async code, call it on a blocking
    /// thread.
    pub fn try_start(admin: &str, admin_password: &str) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("starkeep-mariadb-")
            .tempdir()
            .map_err(|e| format!("a temporary directory: {e}"))?;
        let data = dir.path().join("data");
        let socket = dir.path().join("sock").display().to_string();
        install(&data)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("a free port: {e}"))?
            .port();
        let mut server = Self {
            child: None,
            port,
            socket,
            data,
            admin: admin.to_owned(),
            dir,
        };
        server.try_launch()?;
        let anonymous = server.root_value("SELECT Host FROM mysql.user WHERE User = ''");
        for host in anonymous.lines().filter(|h| !h.is_empty()) {
            if !server.root(&format!("DROP USER ''@'{host}'")) {
                return Err(format!("could not drop the anonymous account at {host}"));
            }
        }
        if !server.root(&format!(
            "CREATE USER '{admin}'@'%' IDENTIFIED BY '{admin_password}'; \
             GRANT ALL ON *.* TO '{admin}'@'%' WITH GRANT OPTION"
        )) {
            return Err(format!("could not make the admin account {admin}"));
        }
        Ok(server)
    }

    /// The DSN of the admin account (no password), as `starkeep instance add --dsn` takes it.
    pub fn admin_dsn(&self) -> String {
        format!("mysql://{}@127.0.0.1:{}", self.admin, self.port)
    }

    /// `root` over the server's socket, as a `mysql_async` connection.
    pub async fn root_conn(&self) -> Result<mysql_async::Conn, mysql_async::Error> {
        let opts = mysql_async::OptsBuilder::default()
            .socket(Some(self.socket.clone()))
            .user(Some("root"));
        mysql_async::Conn::new(opts).await
    }

    /// Starts `mariadbd` on the data dir and waits (readiness, not timing) until it answers.
    fn try_launch(&mut self) -> Result<(), String> {
        let child = Command::new(which(&["mariadbd", "mysqld", "/usr/sbin/mariadbd"])?)
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
            .arg(format!("--user={}", os_user()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting mariadbd: {e}"))?;
        self.child = Some(child);
        for _ in 0..600 {
            if self.root("SELECT 1") {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(format!(
                    "mariadbd exited: {status}; its log:\n{}",
                    self.error_log()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "mariadbd did not answer within a minute; its log:\n{}",
            self.error_log()
        ))
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
        self.try_launch().unwrap_or_else(|why| panic!("{why}"));
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

    /// The rows a query answers as root, tab-separated.
    pub fn root_rows(&self, statement: &str) -> Vec<String> {
        let args = self.root_args();
        sql_rows(&[&args[0], &args[1]], statement)
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
        self.kill();
    }
}

fn os_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "root".into())
}

/// `mariadb-install-db` into `data`, tried twice (a loaded machine has been seen to fail it
/// once); the second failure answers what the tool printed.
fn install(data: &Path) -> Result<(), String> {
    let tool = which(&["mariadb-install-db", "mysql_install_db"])?;
    let mut last = String::new();
    for _ in 0..2 {
        let out = Command::new(&tool)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg(format!("--user={}", os_user()))
            .output()
            .map_err(|e| format!("running {}: {e}", tool.display()))?;
        if out.status.success() {
            return Ok(());
        }
        last = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::remove_dir_all(data).ok();
    }
    Err(format!("mariadb-install-db failed twice:\n{last}"))
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
