//! Account sync between two real MariaDB servers: the target is the `mysql` instance on
//! 127.0.0.1:3306 (root, empty password); the TaurusDB source is a second MariaDB this test
//! starts on its own port and data dir. Accounts are made by hand at the source, reconciled, and
//! proven at the target by logging in with the source password starkeep never saw.
//!
//! Names carry a random prefix so the test shares the 3306 server with others.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};
use starkeep_auth::SecretBox;
use starkeep_engine::sql::sync::{connect_source, set_source, SyncReport};
use starkeep_engine::sql::AddSqlInstance;
use starkeep_engine::{EngineError, EngineKind, Instances};
use starkeep_store::Store;
use zeroize::Zeroizing;

const TARGET_PORT: u16 = 3306;
const SOURCE_ADMIN: &str = "sync_admin";
const SOURCE_ADMIN_PASSWORD: &str = "Source-admin-1";

/// A MariaDB of the test's own, removed with its data dir on drop.
struct SourceServer {
    child: Child,
    port: u16,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

fn find_binary(names: &[&str]) -> PathBuf {
    for name in names {
        let path = Path::new(name);
        if path.is_absolute() && path.exists() {
            return path.to_owned();
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

impl SourceServer {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let socket = dir.path().join("sock");
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let install = Command::new(find_binary(&["mariadb-install-db", "mysql_install_db"]))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg(format!("--user={user}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(install.success(), "mariadb-install-db failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(find_binary(&["mariadbd", "mysqld", "/usr/sbin/mariadbd"]))
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
            .unwrap();
        let mut server = Self {
            child,
            port,
            socket,
            _dir: dir,
        };
        // Readiness, not timing: wait for the server to accept connections.
        let mut root = None;
        for _ in 0..600 {
            if let Ok(conn) = server.root().await {
                root = Some(conn);
                break;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the source MariaDB exited: {status}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut root = root.expect("the source MariaDB accepts connections");
        // Anonymous accounts would match before the admin's '%' row.
        let anonymous: Vec<String> = root
            .query("SELECT Host FROM mysql.user WHERE User = ''")
            .await
            .unwrap();
        for host in anonymous {
            root.query_drop(format!("DROP USER ''@'{host}'"))
                .await
                .unwrap();
        }
        for statement in [
            format!("CREATE USER '{SOURCE_ADMIN}'@'%' IDENTIFIED BY '{SOURCE_ADMIN_PASSWORD}'"),
            format!("GRANT ALL ON *.* TO '{SOURCE_ADMIN}'@'%' WITH GRANT OPTION"),
        ] {
            root.query_drop(statement).await.unwrap();
        }
        server
    }

    async fn root(&self) -> Result<Conn, mysql_async::Error> {
        let opts = OptsBuilder::default()
            .socket(Some(self.socket.display().to_string()))
            .user(Some("root"));
        Conn::new(opts).await
    }
}

impl Drop for SourceServer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

async fn connect(port: u16, user: &str, password: &str) -> Result<Conn, mysql_async::Error> {
    let opts = OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some(user))
        .pass(Some(password))
        .prefer_socket(false);
    Conn::new(opts).await
}

async fn exec(conn: &mut Conn, statements: &[String]) {
    for statement in statements {
        conn.query_drop(statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

/// The stored hash of `'<name>'@'%'` at the target.
async fn target_hash(conn: &mut Conn, name: &str) -> Option<String> {
    conn.query_first(format!(
        "SELECT authentication_string FROM mysql.user WHERE User = '{name}' AND Host = '%'"
    ))
    .await
    .unwrap()
}

fn reasons(list: &[starkeep_engine::sql::sync::AccountReason]) -> Vec<(String, String)> {
    list.iter()
        .map(|r| (r.name.clone(), r.reason.clone()))
        .collect()
}

fn reason_of(report: &SyncReport, name: &str) -> Option<String> {
    report
        .skipped
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.reason.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_accounts_are_mirrored_with_their_passwords_and_privileges() {
    let source = SourceServer::start().await;
    let prefix = format!("s{:06x}", rand::random::<u32>() & 0xff_ffff);
    let (db_a, db_b) = (format!("{prefix}_a"), format!("{prefix}_b"));
    let name = |s: &str| format!("{prefix}_{s}");

    // The same databases on both sides.
    let mut target_root = connect(TARGET_PORT, "root", "")
        .await
        .expect("MariaDB on 127.0.0.1:3306 as root with an empty password");
    let mut source_root = source.root().await.unwrap();
    for conn in [&mut target_root, &mut source_root] {
        exec(
            conn,
            &[
                format!("CREATE DATABASE `{db_a}`"),
                format!("CREATE DATABASE `{db_b}`"),
                format!("CREATE TABLE `{db_a}`.t (id INT)"),
                format!("CREATE TABLE `{db_b}`.t (id INT)"),
            ],
        )
        .await;
    }
    // Accounts made by hand at the source.
    exec(
        &mut source_root,
        &[
            format!(
                "CREATE USER '{}'@'%' IDENTIFIED BY 'Src-pass-1'",
                name("app")
            ),
            format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON `{db_a}`.* TO '{}'@'%'",
                name("app")
            ),
            format!("CREATE USER '{}'@'%' IDENTIFIED BY 'Src-ro-11'", name("ro")),
            format!("GRANT SELECT ON `{db_a}`.* TO '{}'@'%'", name("ro")),
            format!("GRANT SELECT ON `{db_b}`.* TO '{}'@'%'", name("ro")),
            format!("CREATE USER '{}'@'%'", name("nopw")),
            format!(
                "CREATE USER '{}'@'%' IDENTIFIED BY 'Src-clash-1'",
                name("clash")
            ),
        ],
    )
    .await;
    let ed25519 = source_root
        .query_drop("INSTALL SONAME 'auth_ed25519'")
        .await
        .is_ok()
        && source_root
            .query_drop(format!(
                "CREATE USER '{}'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('Src-ed-1')",
                name("ed")
            ))
            .await
            .is_ok();
    // A target account of the same name that starkeep did not make.
    exec(
        &mut target_root,
        &[format!(
            "CREATE USER '{}'@'%' IDENTIFIED BY 'Target-own-1'",
            name("clash")
        )],
    )
    .await;
    let clash_hash = target_hash(&mut target_root, &name("clash")).await;

    // The target instance, with the test's MariaDB as its source.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(dir.path()).await.unwrap();
    let project = store.create_project("main").await.unwrap();
    let secrets = SecretBox::new(&rand::random());
    let record = AddSqlInstance {
        project_id: project.id.clone(),
        name: "target".into(),
        kind: EngineKind::Mysql,
        dsn: format!("mysql://root@127.0.0.1:{TARGET_PORT}"),
        password: Zeroizing::new(String::new()),
        privilege_map: None,
        timeout: Duration::from_secs(5),
    }
    .run(&store, &secrets)
    .await
    .unwrap();
    let source_settings = connect_source(
        &format!("mysql://{SOURCE_ADMIN}@127.0.0.1:{}", source.port),
        &Zeroizing::new(SOURCE_ADMIN_PASSWORD.to_owned()),
        Duration::from_secs(5),
        &secrets,
    )
    .await
    .unwrap();
    assert!(!serde_json::to_string(&source_settings)
        .unwrap()
        .contains(SOURCE_ADMIN_PASSWORD));
    let source_settings_copy = source_settings.clone();
    let record = set_source(&store, &record, source_settings).await.unwrap();
    let instances = Instances::with_secrets(store.clone(), secrets);
    let (target, source_engine) = instances.sync_pair(record.clone()).unwrap();

    // First run: the mirrorable accounts are made; the others are reported.
    let first = target.reconcile_from(&source_engine).await.unwrap();
    assert_eq!(first.created, 2, "{first:?}");
    assert!(first.failed.is_empty(), "{first:?}");
    assert_eq!(
        reasons(&first.conflicts)
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>(),
        [name("clash")]
    );
    assert!(reason_of(&first, &name("nopw"))
        .unwrap()
        .contains("no well-formed mysql_native_password hash"));
    if ed25519 {
        assert!(reason_of(&first, &name("ed")).unwrap().contains("ed25519"));
    }
    assert!(
        reason_of(&first, SOURCE_ADMIN).is_some(),
        "the admin is not mirrored"
    );

    // A client logs in at the target with the source password and has the source privileges.
    let mut app = connect(TARGET_PORT, &name("app"), "Src-pass-1")
        .await
        .expect("the mirrored account takes the source password");
    app.query_drop(format!("INSERT INTO `{db_a}`.t VALUES (1)"))
        .await
        .unwrap();
    assert!(app
        .query_drop(format!("SELECT * FROM `{db_b}`.t"))
        .await
        .is_err());
    let mut ro = connect(TARGET_PORT, &name("ro"), "Src-ro-11")
        .await
        .unwrap();
    ro.query_drop(format!("SELECT * FROM `{db_b}`.t"))
        .await
        .unwrap();
    assert!(ro
        .query_drop(format!("INSERT INTO `{db_a}`.t VALUES (2)"))
        .await
        .is_err());
    assert!(connect(TARGET_PORT, &name("nopw"), "").await.is_err());
    drop((app, ro));

    // Nothing changed at the source: no write at all.
    let idle = target.reconcile_from(&source_engine).await.unwrap();
    assert_eq!(idle.writes, 0, "{idle:?}");
    assert_eq!((idle.created, idle.updated, idle.dropped), (0, 0, 0));
    assert!(idle.unchanged >= 2);

    // A password change at the source is followed.
    exec(
        &mut source_root,
        &[format!(
            "ALTER USER '{}'@'%' IDENTIFIED BY 'Src-pass-2'",
            name("app")
        )],
    )
    .await;
    let changed = target.reconcile_from(&source_engine).await.unwrap();
    assert_eq!((changed.updated, changed.writes), (1, 1), "{changed:?}");
    assert!(connect(TARGET_PORT, &name("app"), "Src-pass-1")
        .await
        .is_err());
    let mut app = connect(TARGET_PORT, &name("app"), "Src-pass-2")
        .await
        .unwrap();

    // A grant change at the source converges at the target.
    exec(
        &mut source_root,
        &[format!(
            "REVOKE INSERT, UPDATE, DELETE ON `{db_a}`.* FROM '{}'@'%'",
            name("app")
        )],
    )
    .await;
    let regranted = target.reconcile_from(&source_engine).await.unwrap();
    assert_eq!(regranted.updated, 1, "{regranted:?}");
    assert!(regranted.writes >= 1);
    app.query_drop(format!("SELECT * FROM `{db_a}`.t"))
        .await
        .unwrap();
    assert!(app
        .query_drop(format!("INSERT INTO `{db_a}`.t VALUES (3)"))
        .await
        .is_err());
    drop(app);

    // A drop at the source drops the mirrored account.
    exec(
        &mut source_root,
        &[format!("DROP USER '{}'@'%'", name("ro"))],
    )
    .await;
    let dropped = target.reconcile_from(&source_engine).await.unwrap();
    assert_eq!(dropped.dropped, 1, "{dropped:?}");
    assert_eq!(target_hash(&mut target_root, &name("ro")).await, None);
    assert!(!store
        .owned_accounts(&record.id)
        .await
        .unwrap()
        .contains(&name("ro")));

    // The target's own account was never touched.
    assert_eq!(
        target_hash(&mut target_root, &name("clash")).await,
        clash_hash
    );
    connect(TARGET_PORT, &name("clash"), "Target-own-1")
        .await
        .expect("the target's own account keeps its password");

    // The switch: start with an unreachable source is refused and changes nothing; start and
    // stop are harmless when repeated.
    let mut unreachable = source_settings_copy.clone();
    unreachable.port = 1;
    let unreachable_record = set_source(&store, &record, unreachable).await.unwrap();
    let refused = instances
        .set_sync(&project.id, &unreachable_record.id, true)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, EngineError::SyncSourceUnavailable(_)),
        "{refused:?}"
    );
    assert!(
        !store
            .instance(&project.id, &record.id)
            .await
            .unwrap()
            .unwrap()
            .sync_enabled
    );
    let record = set_source(&store, &record, source_settings_copy)
        .await
        .unwrap();
    for _ in 0..2 {
        instances
            .set_sync(&project.id, &record.id, true)
            .await
            .unwrap();
    }
    assert!(
        store
            .instance(&project.id, &record.id)
            .await
            .unwrap()
            .unwrap()
            .sync_enabled
    );

    // The reconciler: one holder of the lease at a time; the run is recorded; stop ends it.
    let lease = Duration::from_secs(60);
    let reconciled = instances.sync_pass("replica-a", lease).await.unwrap();
    assert_eq!(reconciled, std::slice::from_ref(&record.id));
    assert!(instances
        .sync_pass("replica-b", lease)
        .await
        .unwrap()
        .is_empty());
    let run = store.last_sync_run(&record.id).await.unwrap().unwrap();
    assert_eq!(run.outcome, "ok");
    let report: serde_json::Value = serde_json::from_str(&run.report).unwrap();
    assert_eq!(report["writes"], 0, "{report}");
    assert_eq!(report["conflicts"][0]["name"], name("clash"));
    for _ in 0..2 {
        instances
            .set_sync(&project.id, &record.id, false)
            .await
            .unwrap();
    }
    exec(
        &mut source_root,
        &[format!("DROP USER '{}'@'%'", name("app"))],
    )
    .await;
    assert!(instances
        .sync_pass("replica-a", lease)
        .await
        .unwrap()
        .is_empty());
    assert!(
        target_hash(&mut target_root, &name("app")).await.is_some(),
        "stopped: source changes are not mirrored and mirrored accounts stay"
    );

    for user in ["app", "ro", "clash"] {
        target_root
            .query_drop(format!("DROP USER IF EXISTS '{}'@'%'", name(user)))
            .await
            .unwrap();
    }
    for db in [&db_a, &db_b] {
        target_root
            .query_drop(format!("DROP DATABASE `{db}`"))
            .await
            .unwrap();
    }
}
