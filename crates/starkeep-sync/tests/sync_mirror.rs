//! Account sync between two real MariaDB servers: the TaurusDB source is the MariaDB on
//! 127.0.0.1:3306 (root, empty password); the target (engine `mysql`) is a second MariaDB this
//! test starts on its own port and data dir. Accounts are made by hand at the source, reconciled,
//! and proven at the target by logging in with the source password starkeep never saw.
//!
//! The source is shared with other tests and holds accounts of its own: names carry a random
//! prefix, assertions are about the test's own names wherever the source's other accounts could
//! count, and what the test made at the source is dropped afterwards, also when it panics. The
//! no-op run is checked while the source's grant tables are unchanged (their checksum before and
//! after), so another process changing accounts at the source cannot fake or hide a write.

use starkeep_testkit::mariadb;

use std::time::Duration;

use mariadb::{OwnMariaDb, SharedLeftovers};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};
use starkeep_auth::SecretBox;
use starkeep_domain::InstanceId;
use starkeep_engine::mysql_wire::{connect_source, set_source, AddSqlInstance};
use starkeep_engine::{EngineError, EngineKind, Instances};
use starkeep_store::{InstanceRecord, Store};
use starkeep_sync::{AccountReason, AccountSync, SyncReport};
use zeroize::Zeroizing;

const SOURCE_PORT: u16 = 3306;
const TARGET_ADMIN: &str = "sync_admin";
const TARGET_ADMIN_PASSWORD: &str = "Target-admin-1";

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

fn reason_of(report: &SyncReport, name: &str) -> Option<String> {
    report
        .skipped
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.reason.clone())
}

/// The checksums of the source's grant tables: equal before and after a run means no account
/// or grant changed at the source meanwhile.
async fn source_fingerprint(conn: &mut Conn) -> Vec<(String, Option<u64>)> {
    conn.query(
        "CHECKSUM TABLE mysql.global_priv, mysql.db, mysql.tables_priv, mysql.columns_priv, \
         mysql.roles_mapping",
    )
    .await
    .unwrap()
}

/// The target server's own count of account-changing statements (`Com_*` status counters:
/// CREATE/ALTER/DROP USER, GRANT, REVOKE, SET PASSWORD), whoever sent them.
async fn account_writes_seen_by(server: &mut Conn) -> u64 {
    let rows: Vec<(String, String)> = server
        .query(
            "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_create_user', 'Com_alter_user', \
             'Com_drop_user', 'Com_grant', 'Com_revoke', 'Com_revoke_all', 'Com_rename_user')",
        )
        .await
        .unwrap();
    rows.iter()
        .map(|(_, value)| value.parse::<u64>().unwrap())
        .sum()
}

/// A run over a source unchanged since before the run before it, with the account-changing
/// statements the target server counted during that run. If the source was quiet from `since`
/// (taken before the previous run) to now, that is the run straight after; otherwise (another
/// process changed accounts at the shared source) a settling run and the run after it,
/// repeated until the source holds still for both.
async fn unchanged_source_run(
    sync: &AccountSync,
    record: &InstanceRecord,
    target_root: &mut Conn,
    source_root: &mut Conn,
    since: Vec<(String, Option<u64>)>,
) -> (SyncReport, u64) {
    let mut before = since;
    let counted = account_writes_seen_by(target_root).await;
    let mut run = sync.reconcile(record.clone()).await.unwrap();
    let mut seen = account_writes_seen_by(target_root).await - counted;
    for _ in 0..20 {
        if source_fingerprint(source_root).await == before {
            return (run, seen);
        }
        eprintln!("another process changed the source's accounts during the runs; again");
        before = source_fingerprint(source_root).await;
        sync.reconcile(record.clone()).await.unwrap();
        let counted = account_writes_seen_by(target_root).await;
        run = sync.reconcile(record.clone()).await.unwrap();
        seen = account_writes_seen_by(target_root).await - counted;
    }
    panic!("the shared source never held still for two runs");
}

/// Reconciles, now, every instance whose switch is on and whose lease `holder` gets (or keeps),
/// as the reconciler does when runs are due, and answers the instances reconciled.
async fn sync_pass(sync: &AccountSync, holder: &str, lease: Duration) -> Vec<InstanceId> {
    let store = sync.store();
    let ttl_ms = i64::try_from(lease.as_millis()).unwrap();
    let records = store.list_instances(None).await.unwrap();
    let mut done = Vec::new();
    for id in store.sync_enabled_instances().await.unwrap() {
        let Some(record) = records.iter().find(|r| r.id == id).cloned() else {
            continue;
        };
        if store
            .take_sync_lease(&id, holder, ttl_ms)
            .await
            .unwrap()
            .is_none()
        {
            continue;
        }
        if sync
            .run_held(record, holder, lease)
            .await
            .unwrap()
            .is_some()
        {
            done.push(id);
        }
    }
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_accounts_are_mirrored_with_their_passwords_and_privileges() {
    let target_server = OwnMariaDb::start(TARGET_ADMIN, TARGET_ADMIN_PASSWORD);
    let port = target_server.port;
    let prefix = format!("s{:06x}", rand::random::<u32>() & 0xff_ffff);
    let _leftovers = SharedLeftovers::new(&prefix);
    let (db_a, db_b) = (format!("{prefix}_a"), format!("{prefix}_b"));
    let name = |s: &str| format!("{prefix}_{s}");
    let ours = |list: &[AccountReason]| -> Vec<String> {
        list.iter()
            .map(|r| r.name.clone())
            .filter(|n| n.starts_with(&format!("{prefix}_")))
            .collect()
    };

    // The same databases on both sides.
    let mut source_root = connect(SOURCE_PORT, "root", "")
        .await
        .expect("MariaDB on 127.0.0.1:3306 as root with an empty password");
    let mut target_root = connect(port, TARGET_ADMIN, TARGET_ADMIN_PASSWORD)
        .await
        .unwrap();
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
                "CREATE USER '{}'@'%' IDENTIFIED VIA unix_socket",
                name("sock")
            ),
            format!(
                "CREATE USER '{}'@'%' IDENTIFIED BY 'Src-clash-1'",
                name("clash")
            ),
            // Server-wide: data privileges only (mirrored onto all databases), and with
            // administrative ones (skipped).
            format!(
                "CREATE USER '{}'@'%' IDENTIFIED BY 'Src-wide-1'",
                name("wide")
            ),
            format!("GRANT SELECT ON *.* TO '{}'@'%'", name("wide")),
            format!(
                "CREATE USER '{}'@'%' IDENTIFIED BY 'Src-ops-11'",
                name("ops")
            ),
            format!("GRANT SELECT, PROCESS ON *.* TO '{}'@'%'", name("ops")),
            format!(
                "CREATE USER '{}'@'%' IDENTIFIED BY 'Src-grant-1'",
                name("granter")
            ),
            format!(
                "GRANT USAGE ON *.* TO '{}'@'%' WITH GRANT OPTION",
                name("granter")
            ),
            // Host-restricted only (skipped), and with a '%' row besides (that row mirrored).
            format!(
                "CREATE USER '{}'@'10.%' IDENTIFIED BY 'Src-net-11'",
                name("net")
            ),
            format!("GRANT SELECT ON `{db_a}`.* TO '{}'@'10.%'", name("net")),
            format!(
                "CREATE USER '{}'@'%' IDENTIFIED BY 'Src-multi-1'",
                name("multi")
            ),
            format!("GRANT SELECT ON `{db_b}`.* TO '{}'@'%'", name("multi")),
            format!(
                "CREATE USER '{}'@'localhost' IDENTIFIED BY 'Src-multi-2'",
                name("multi")
            ),
        ],
    )
    .await;
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

    // The target instance, with the shared MariaDB as its source.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(dir.path()).await.unwrap();
    let project = store.create_project("main").await.unwrap();
    let secrets = SecretBox::new(&rand::random());
    let record = AddSqlInstance {
        project_id: project.id.clone(),
        name: "target".into(),
        kind: EngineKind::Mysql,
        dsn: format!("mysql://{TARGET_ADMIN}@127.0.0.1:{port}"),
        password: Zeroizing::new(TARGET_ADMIN_PASSWORD.to_owned()),
        privilege_map: None,
        timeout: Duration::from_secs(5),
    }
    .run(&store, &secrets)
    .await
    .unwrap();
    let source_settings = connect_source(
        &format!("mysql://root@127.0.0.1:{SOURCE_PORT}"),
        &Zeroizing::new(String::new()),
        Duration::from_secs(5),
        &secrets,
    )
    .await
    .unwrap();
    let source_settings_copy = source_settings.clone();
    let record = set_source(&store, &record, source_settings).await.unwrap();
    let instances = Instances::with_secrets(store.clone(), secrets);
    let sync = AccountSync::new(instances);

    // First run: the mirrorable accounts are made; the others are reported.
    let before_first = source_fingerprint(&mut source_root).await;
    let first = sync.reconcile(record.clone()).await.unwrap();
    assert!(first.created >= 4, "{first:?}");
    assert!(first.failed.is_empty(), "{:?}", first.failed);
    for user in ["app", "ro", "wide", "multi"] {
        assert!(target_hash(&mut target_root, &name(user)).await.is_some());
    }
    assert_eq!(ours(&first.conflicts), [name("clash")]);
    assert_eq!(
        ours(&first.skipped),
        [
            name("granter"),
            name("net"),
            name("nopw"),
            name("ops"),
            name("sock")
        ],
        "{:?}",
        first.skipped
    );
    assert!(reason_of(&first, &name("ops"))
        .unwrap()
        .contains("administrative privileges held server-wide (PROCESS)"));
    assert!(reason_of(&first, &name("granter"))
        .unwrap()
        .contains("GRANT OPTION"));
    assert!(reason_of(&first, &name("net"))
        .unwrap()
        .contains("host-restricted (host 10.%)"));
    let net_rows: Option<u64> = target_root
        .query_first(format!(
            "SELECT COUNT(*) FROM mysql.user WHERE User = '{}'",
            name("net")
        ))
        .await
        .unwrap();
    assert_eq!(net_rows, Some(0), "no row of any host made at the target");
    // The '%' row is the one mirrored: its password and its grants.
    let mut multi = connect(port, &name("multi"), "Src-multi-1").await.unwrap();
    multi
        .query_drop(format!("SELECT * FROM `{db_b}`.t"))
        .await
        .unwrap();
    drop(multi);
    assert!(reason_of(&first, &name("nopw"))
        .unwrap()
        .contains("no well-formed mysql_native_password hash"));
    assert!(reason_of(&first, &name("sock"))
        .unwrap()
        .contains("unix_socket"));
    assert!(
        reason_of(&first, "root").unwrap().contains("system"),
        "the source's root is not mirrored"
    );
    for user in ours(&first.skipped) {
        assert_eq!(target_hash(&mut target_root, &user).await, None, "{user}");
    }

    // A client logs in at the target with the source password and has the source privileges.
    let mut app = connect(port, &name("app"), "Src-pass-1")
        .await
        .expect("the mirrored account takes the source password");
    app.query_drop(format!("INSERT INTO `{db_a}`.t VALUES (1)"))
        .await
        .unwrap();
    assert!(app
        .query_drop(format!("SELECT * FROM `{db_b}`.t"))
        .await
        .is_err());
    let mut ro = connect(port, &name("ro"), "Src-ro-11").await.unwrap();
    ro.query_drop(format!("SELECT * FROM `{db_b}`.t"))
        .await
        .unwrap();
    assert!(ro
        .query_drop(format!("INSERT INTO `{db_a}`.t VALUES (2)"))
        .await
        .is_err());
    assert!(connect(port, &name("nopw"), "").await.is_err());
    // Server-wide SELECT at the source: read-only on every database at the target, granted as
    // the mysql dialect grants "*" (`%`.* and its guard rows), never ON *.*.
    let mut wide = connect(port, &name("wide"), "Src-wide-1").await.unwrap();
    for db in [&db_a, &db_b] {
        wide.query_drop(format!("SELECT * FROM `{db}`.t"))
            .await
            .unwrap();
    }
    assert!(wide
        .query_drop(format!("INSERT INTO `{db_a}`.t VALUES (4)"))
        .await
        .is_err());
    let wide_rows: Vec<String> = target_root
        .query(format!(
            "SELECT Db FROM mysql.db WHERE User = '{}' AND Select_priv = 'Y'",
            name("wide")
        ))
        .await
        .unwrap();
    assert_eq!(wide_rows, ["%"]);
    let wide_global: Vec<String> = target_root
        .query(format!(
            "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES \
             WHERE GRANTEE = CONCAT(QUOTE('{}'), '@', QUOTE('%'))",
            name("wide")
        ))
        .await
        .unwrap();
    assert_eq!(wide_global, ["USAGE"]);
    drop((app, ro, wide));

    // Nothing changed at the source: no write at all.
    let (idle, statements) = unchanged_source_run(
        &sync,
        &record,
        &mut target_root,
        &mut source_root,
        before_first,
    )
    .await;
    assert_eq!(idle.writes, 0, "{idle:?}");
    // And by the target server's own count, not only by ours.
    assert_eq!(
        statements, 0,
        "account statements the target counted in a no-op run"
    );
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
    let counted = account_writes_seen_by(&mut target_root).await;
    let changed = sync.reconcile(record.clone()).await.unwrap();
    assert!(changed.updated >= 1 && changed.writes >= 1, "{changed:?}");
    // The counter that saw nothing in the no-op run sees this one's write.
    assert!(account_writes_seen_by(&mut target_root).await > counted);
    assert!(connect(port, &name("app"), "Src-pass-1").await.is_err());
    let mut app = connect(port, &name("app"), "Src-pass-2").await.unwrap();

    // A grant change at the source converges at the target.
    exec(
        &mut source_root,
        &[format!(
            "REVOKE INSERT, UPDATE, DELETE ON `{db_a}`.* FROM '{}'@'%'",
            name("app")
        )],
    )
    .await;
    let regranted = sync.reconcile(record.clone()).await.unwrap();
    assert!(regranted.updated >= 1, "{regranted:?}");
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
    let dropped = sync.reconcile(record.clone()).await.unwrap();
    assert!(dropped.dropped >= 1, "{dropped:?}");
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
    connect(port, &name("clash"), "Target-own-1")
        .await
        .expect("the target's own account keeps its password");

    // The switch: start with an unreachable source is refused and changes nothing; start and
    // stop are harmless when repeated.
    let mut unreachable = source_settings_copy.clone();
    unreachable.port = 1;
    let unreachable_record = set_source(&store, &record, unreachable).await.unwrap();
    let refused = sync
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
        sync.set_sync(&project.id, &record.id, true).await.unwrap();
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
    let reconciled = sync_pass(&sync, "replica-a", lease).await;
    assert_eq!(reconciled, std::slice::from_ref(&record.id));
    assert!(sync_pass(&sync, "replica-b", lease).await.is_empty());
    let run = store.last_sync_run(&record.id).await.unwrap().unwrap();
    assert_eq!(run.outcome, "ok");
    let report: serde_json::Value = serde_json::from_str(&run.report).unwrap();
    assert!(report["writes"].is_u64(), "{report}");
    assert!(
        report["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == name("clash")),
        "{report}"
    );
    for _ in 0..2 {
        sync.set_sync(&project.id, &record.id, false).await.unwrap();
    }
    exec(
        &mut source_root,
        &[format!("DROP USER '{}'@'%'", name("app"))],
    )
    .await;
    assert!(sync_pass(&sync, "replica-a", lease).await.is_empty());
    assert!(
        target_hash(&mut target_root, &name("app")).await.is_some(),
        "stopped: source changes are not mirrored and mirrored accounts stay"
    );
}
