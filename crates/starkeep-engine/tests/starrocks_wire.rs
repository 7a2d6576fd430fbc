//! The `starrocks` engine over the wire, against the test kit's StarRocks stand-in (a
//! MySQL-protocol server that answers as StarRocks' FE source says a frontend answers): the six
//! operations, repair of a cut-off create, read-back of grants made by hand, permission changes
//! racing a hand-made REVOKE, and registration's checks (server version, the admin's default
//! role). Account sync into a StarRocks target is `starkeep-sync`'s `tests/starrocks_target.rs`.
//!
//! Not here: whether a real StarRocks frontend answers as the stand-in does (README, StarRocks).

use std::time::Duration;

use mysql_async::prelude::Queryable;
use starkeep_auth::SecretBox;
use starkeep_domain::{
    AccountName, AccountPassword, DatabaseSelection, Ddl, Dml, NativePasswordHash, PageRequest,
    Privileges,
};
use starkeep_engine::mysql_wire::{AddSqlInstance, RegistrationError};
use starkeep_engine::{
    AccountEngine, AccountQuery, EngineError, EngineKind, Instances, MysqlWireEngine, NewAccount,
    PrivilegeChange,
};
use starkeep_store::{InstanceRecord, Store};
use starkeep_testkit::starrocks::{StandInConfig, StarRocksStandIn, StarRocksVersion, Trigger};
use zeroize::Zeroizing;

const ROOT_PASSWORD: &str = "Stand-in-root-1";

struct Fixture {
    stand_in: StarRocksStandIn,
    store: Store,
    instances: Instances,
    record: InstanceRecord,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn start(databases: &[&str]) -> Self {
        let stand_in = StarRocksStandIn::start(StandInConfig {
            root_password: ROOT_PASSWORD.into(),
            databases: databases.iter().map(|d| d.to_string()).collect(),
            ..StandInConfig::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let project = store.create_project("main").await.unwrap();
        let secrets = SecretBox::new(&rand::random());
        let record = AddSqlInstance {
            project_id: project.id.clone(),
            name: "htap".into(),
            kind: EngineKind::StarRocks,
            dsn: stand_in.root_dsn(),
            password: Zeroizing::new(ROOT_PASSWORD.to_owned()),
            privilege_map: None,
            timeout: Duration::from_secs(5),
        }
        .run(&store, &secrets)
        .await
        .unwrap();
        let instances = Instances::with_secrets(store.clone(), secrets.clone());
        Self {
            stand_in,
            store,
            instances,
            record,
            _dir: dir,
        }
    }

    fn engine(&self) -> std::sync::Arc<MysqlWireEngine> {
        self.instances
            .mysql_wire_engine(self.record.clone())
            .unwrap()
    }

    /// A root session of the stand-in, for what is done "by hand" behind starkeep's back.
    async fn by_hand(&self, statements: &[&str]) {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.stand_in.port())
            .user(Some("root"))
            .pass(Some(ROOT_PASSWORD))
            .prefer_socket(false);
        let mut conn = mysql_async::Conn::new(opts).await.unwrap();
        for s in statements {
            conn.query_drop(*s).await.unwrap();
        }
        conn.disconnect().await.unwrap();
    }
}

fn name(raw: &str) -> AccountName {
    AccountName::parse(raw).unwrap()
}

fn new_account(raw: &str, password: &str, dml: Dml, ddl: Ddl, dbs: &[&str]) -> NewAccount {
    let name = name(raw);
    NewAccount {
        password: AccountPassword::parse(password, &name).unwrap(),
        name,
        privileges: Privileges { dml, ddl },
        databases: if dbs == ["*"] {
            DatabaseSelection::All
        } else {
            DatabaseSelection::parse(dbs).unwrap()
        },
    }
}

/// Creates `raw` with `dml` and no DDL on `dbs`, which must succeed.
async fn create_ok(engine: &MysqlWireEngine, raw: &str, password: &str, dml: Dml, dbs: &[&str]) {
    engine
        .create_account(&new_account(raw, password, dml, Ddl::None, dbs))
        .await
        .unwrap();
}

async fn summary(engine: &MysqlWireEngine, raw: &str) -> starkeep_engine::AccountSummary {
    let page = engine
        .list_accounts(&AccountQuery {
            name: Some(raw.into()),
            page: PageRequest::new(10, 0).unwrap(),
        })
        .await
        .unwrap();
    page.accounts
        .iter()
        .find(|a| a.name == raw)
        .cloned()
        .unwrap_or_else(|| panic!("{raw} not listed: {page:?}"))
}

fn named(dbs: &[&str]) -> DatabaseSelection {
    DatabaseSelection::parse(dbs).unwrap()
}

#[tokio::test]
async fn the_six_operations_run_against_the_stand_in() {
    let f = Fixture::start(&["db1", "db2"]).await;
    let engine = f.engine();

    // Create: CREATE USER with the hash, then one GRANT per object kind.
    create_ok(&engine, "app", "App-pass-1", Dml::ReadWrite, &["db1"]).await;
    assert_eq!(
        f.stand_in.password_hash("app").unwrap(),
        NativePasswordHash::of("App-pass-1").as_str()
    );
    let lines = f.stand_in.grant_lines("app");
    assert!(lines.contains(
        &"GRANT DELETE, INSERT, SELECT, UPDATE ON ALL TABLES IN DATABASE db1 TO USER 'app'@'%'"
            .to_owned()
    ));
    // A taken name is StarRocks' "already exists", told as such.
    let again = engine
        .create_account(&new_account(
            "app",
            "App-pass-1",
            Dml::ReadOnly,
            Ddl::None,
            &["db1"],
        ))
        .await;
    assert!(
        matches!(again, Err(EngineError::AccountExists(_))),
        "{again:?}"
    );

    // List: read back exactly.
    let app = summary(&engine, "app").await;
    assert_eq!(app.databases, named(&["db1"]));
    assert_eq!(app.privileges.dml, Dml::ReadWrite);
    assert!(app.exact);
    let root = summary(&engine, "root").await;
    assert!(root.system);

    // Change privileges: moved to db2, read-only with DDL.
    engine
        .change_privileges(&PrivilegeChange {
            name: name("app"),
            databases: Some(named(&["db2"])),
            dml: Some(Dml::ReadOnly),
            ddl: Some(Ddl::Granted),
        })
        .await
        .unwrap();
    let app = summary(&engine, "app").await;
    assert_eq!(app.databases, named(&["db2"]));
    assert_eq!(
        app.privileges,
        Privileges {
            dml: Dml::ReadOnly,
            ddl: Ddl::Granted
        }
    );
    assert!(app.exact);
    assert!(f
        .stand_in
        .grant_lines("app")
        .iter()
        .all(|l| !l.contains("db1")));

    // Change password: ALTER USER with the new hash.
    let new_password = AccountPassword::parse("App-pass-2", &name("app")).unwrap();
    engine
        .change_password(&name("app"), &new_password)
        .await
        .unwrap();
    assert_eq!(
        f.stand_in.password_hash("app").unwrap(),
        NativePasswordHash::of("App-pass-2").as_str()
    );

    // Delete, and a second delete finds nothing.
    engine.delete_account(&name("app")).await.unwrap();
    assert!(!f.stand_in.has_user("app"));
    let gone = engine.delete_account(&name("app")).await;
    assert!(
        matches!(gone, Err(EngineError::AccountNotFound(_))),
        "{gone:?}"
    );
    let gone = engine.change_password(&name("app"), &new_password).await;
    assert!(
        matches!(gone, Err(EngineError::AccountNotFound(_))),
        "{gone:?}"
    );
    // No statement carried a password.
    assert!(f
        .stand_in
        .statements()
        .iter()
        .all(|s| !s.contains("App-pass")));
}

/// StarRocks answers a drop of a user that is already gone with its own error: an account
/// dropped by hand between starkeep's read and its DROP is "not found", not a backend failure.
#[tokio::test]
async fn an_account_dropped_behind_starkeeps_back_is_not_found() {
    let f = Fixture::start(&["db1"]).await;
    let engine = f.engine();
    create_ok(&engine, "gone", "Gone-pass-1", Dml::ReadOnly, &["db1"]).await;
    f.stand_in.on_statement(
        "DROP USER 'gone'",
        Trigger::Execute("DROP USER 'gone'@'%'".into()),
    );
    let result = engine.delete_account(&name("gone")).await;
    assert!(
        matches!(result, Err(EngineError::AccountNotFound(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_cut_off_create_is_repaired() {
    let f = Fixture::start(&["db1"]).await;
    let engine = f.engine();
    // The connection goes down after CREATE USER, at the first GRANT.
    f.stand_in.on_statement("GRANT", Trigger::CutConnection);
    let cut = engine
        .create_account(&new_account(
            "half",
            "Half-pass-1",
            Dml::ReadOnly,
            Ddl::None,
            &["db1"],
        ))
        .await;
    assert!(cut.is_err());
    assert!(
        f.stand_in.has_user("half"),
        "CREATE USER ran before the cut"
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    let report = f.instances.repair_pending(Duration::ZERO).await.unwrap();
    assert_eq!(report.dropped, 1, "{report:?}");
    assert!(!f.stand_in.has_user("half"));
    assert!(f
        .store
        .stale_pending_creates(i64::MAX)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn hand_made_grants_read_back_as_they_are() {
    let f = Fixture::start(&["db1", "db2"]).await;
    let engine = f.engine();
    f.by_hand(&[
        "CREATE USER 'wide'@'%' IDENTIFIED BY 'Wide-pass-1'",
        "GRANT SELECT ON ALL TABLES IN ALL DATABASES TO USER 'wide'@'%'",
        "GRANT SELECT ON ALL VIEWS IN ALL DATABASES TO USER 'wide'@'%'",
        "GRANT SELECT ON ALL MATERIALIZED VIEWS IN ALL DATABASES TO USER 'wide'@'%'",
        "CREATE USER 'cat'@'%' IDENTIFIED BY 'Cat-pass-1'",
        "GRANT USAGE ON CATALOG default_catalog TO USER 'cat'@'%'",
        "GRANT SELECT ON ALL TABLES IN DATABASE db1 TO USER 'cat'@'%'",
        "GRANT SELECT ON ALL VIEWS IN DATABASE db1 TO USER 'cat'@'%'",
        "GRANT SELECT ON ALL MATERIALIZED VIEWS IN DATABASE db1 TO USER 'cat'@'%'",
        "CREATE USER 'roled'@'%' IDENTIFIED BY 'Roled-pass-1'",
        "GRANT 'db_admin' TO USER 'roled'@'%'",
        "GRANT SELECT ON ALL TABLES IN DATABASE db2 TO USER 'roled'@'%'",
        "GRANT SELECT ON ALL VIEWS IN DATABASE db2 TO USER 'roled'@'%'",
        "GRANT SELECT ON ALL MATERIALIZED VIEWS IN DATABASE db2 TO USER 'roled'@'%'",
    ])
    .await;

    let wide = summary(&engine, "wide").await;
    assert_eq!(wide.databases, DatabaseSelection::All);
    assert_eq!(wide.privileges.dml, Dml::ReadOnly);
    assert!(wide.exact);

    // A catalog grant grants nothing on the databases: it must not read as "*".
    let cat = summary(&engine, "cat").await;
    assert_eq!(cat.databases, named(&["db1"]));
    assert_eq!(cat.privileges.dml, Dml::ReadOnly);
    assert!(
        !cat.exact,
        "a grant the map has no words for makes it inexact"
    );

    let roled = summary(&engine, "roled").await;
    assert_eq!(roled.databases, named(&["db2"]));
    assert!(!roled.exact, "a role besides public makes it inexact");

    // A change that leaves the databases out keeps db1: never widened to all databases, and
    // the catalog grant starkeep never made is left alone.
    engine
        .change_privileges(&PrivilegeChange {
            name: name("cat"),
            databases: None,
            dml: Some(Dml::ReadWrite),
            ddl: None,
        })
        .await
        .unwrap();
    let lines = f.stand_in.grant_lines("cat");
    assert!(
        lines.iter().all(|l| !l.contains("ALL DATABASES")),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"GRANT USAGE ON CATALOG default_catalog TO USER 'cat'@'%'".to_owned()),
        "{lines:?}"
    );
    let cat = summary(&engine, "cat").await;
    assert_eq!(cat.databases, named(&["db1"]));
    assert_eq!(cat.privileges.dml, Dml::ReadWrite);

    // Grants on a database dropped since are not shown (ShowGrantsExecutor skips them).
    f.by_hand(&["DROP DATABASE db2"]).await;
    let roled = summary(&engine, "roled").await;
    assert_eq!(
        roled.databases,
        DatabaseSelection::Named(Default::default())
    );
}

/// A REVOKE that meets a grant someone removed a moment before (between starkeep's SHOW GRANTS
/// and its REVOKE) is StarRocks' "There is no such grant defined": the change still ends where
/// it was asked to.
#[tokio::test]
async fn a_revoke_racing_a_hand_made_one_still_converges() {
    let f = Fixture::start(&["db1", "db2"]).await;
    let engine = f.engine();
    // Two databases: with table grants left on db2, a REVOKE on db1's tables that finds no
    // entry is an error (PrivilegeCollectionV2.revoke is silent only when the user holds
    // nothing of the object type at all).
    create_ok(
        &engine,
        "racer",
        "Racer-pass-1",
        Dml::ReadWrite,
        &["db1", "db2"],
    )
    .await;
    f.stand_in.on_statement(
        "REVOKE",
        Trigger::Execute(
            "REVOKE DELETE, INSERT, SELECT, UPDATE ON ALL TABLES IN DATABASE db1 FROM USER 'racer'@'%'"
                .into(),
        ),
    );
    engine
        .change_privileges(&PrivilegeChange {
            name: name("racer"),
            databases: None,
            dml: Some(Dml::ReadOnly),
            ddl: None,
        })
        .await
        .unwrap();
    let lines = f.stand_in.grant_lines("racer");
    assert!(lines.iter().all(|l| !l.contains("INSERT")), "{lines:?}");
}

/// A database name with a backtick cannot be sent to StarRocks (it drops backticks inside a
/// quoted name and would grant on another database): refused, nothing sent.
#[tokio::test]
async fn a_database_name_with_a_backtick_is_refused() {
    let f = Fixture::start(&["ab"]).await;
    let engine = f.engine();
    let sent_before = f.stand_in.statements().len();
    let refused = engine
        .create_account(&new_account(
            "tick",
            "Tick-pass-1",
            Dml::ReadOnly,
            Ddl::None,
            &["a`b"],
        ))
        .await;
    assert!(
        matches!(refused, Err(EngineError::UnaddressableDatabase(ref why)) if why.contains("backtick")),
        "{refused:?}"
    );
    assert!(f.stand_in.statements()[sent_before..]
        .iter()
        .all(|s| !s.starts_with("CREATE USER")));
    assert!(!f.stand_in.has_user("tick"));
}

const PIPE_MAP: &str = r#"
[read]
table = ["SELECT"]
[ddl]
database = ["CREATE TABLE", "CREATE PIPE"]
"#;

async fn register(
    stand_in: &StarRocksStandIn,
    user: &str,
    password: &str,
    map: Option<&str>,
) -> Result<InstanceRecord, RegistrationError> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(dir.path()).await.unwrap();
    let project = store.create_project("main").await.unwrap();
    AddSqlInstance {
        project_id: project.id.clone(),
        name: "htap".into(),
        kind: EngineKind::StarRocks,
        dsn: format!("mysql://{user}@127.0.0.1:{}", stand_in.port()),
        password: Zeroizing::new(password.to_owned()),
        privilege_map: map.map(str::to_owned),
        timeout: Duration::from_secs(5),
    }
    .run(&store, &SecretBox::new(&rand::random()))
    .await
}

/// `CREATE PIPE` exists from StarRocks 3.2 on: a map that uses it is refused on 3.1, taken on
/// 3.3.
#[tokio::test]
async fn registration_checks_the_map_against_the_server_version() {
    for (version, accepted) in [
        (StarRocksVersion::new(3, 1, 11), false),
        (StarRocksVersion::new(3, 3, 2), true),
    ] {
        let stand_in = StarRocksStandIn::start(StandInConfig {
            version,
            root_password: ROOT_PASSWORD.into(),
            databases: vec!["db1".into()],
        })
        .await
        .unwrap();
        let result = register(&stand_in, "root", ROOT_PASSWORD, Some(PIPE_MAP)).await;
        match (accepted, result) {
            (true, Ok(_)) => {}
            (false, Err(RegistrationError::Mapping(e))) => {
                assert!(e.to_string().contains("CREATE PIPE"), "{e}");
                assert!(e.to_string().contains("3.2"), "{e}");
            }
            (_, other) => panic!("{version:?}: {other:?}"),
        }
    }
}

/// An admin whose `user_admin` role is granted but not a default role cannot create users in a
/// new session (starkeep sends no SET ROLE): registration says what to run, and after it, the
/// admin registers.
#[tokio::test]
async fn registration_names_the_default_role_an_admin_lacks() {
    let stand_in = StarRocksStandIn::start(StandInConfig {
        root_password: ROOT_PASSWORD.into(),
        databases: vec!["db1".into()],
        ..StandInConfig::default()
    })
    .await
    .unwrap();
    let root = Fixture::root_conn(&stand_in).await;
    let mut root = root;
    root.query_drop("CREATE USER 'ops'@'%' IDENTIFIED BY 'Ops-pass-1'")
        .await
        .unwrap();
    root.query_drop("GRANT 'user_admin' TO USER 'ops'@'%'")
        .await
        .unwrap();
    let refused = register(&stand_in, "ops", "Ops-pass-1", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("SET DEFAULT ROLE user_admin TO 'ops'@'%'"),
        "{refused}"
    );
    root.query_drop("SET DEFAULT ROLE user_admin TO 'ops'@'%'")
        .await
        .unwrap();
    register(&stand_in, "ops", "Ops-pass-1", None)
        .await
        .unwrap();
}

impl Fixture {
    async fn root_conn(stand_in: &StarRocksStandIn) -> mysql_async::Conn {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(stand_in.port())
            .user(Some("root"))
            .pass(Some(ROOT_PASSWORD))
            .prefer_socket(false);
        mysql_async::Conn::new(opts).await.unwrap()
    }
}

/// root's password set through the engine whose admin is root: the stored credential follows,
/// and when the server never took the new password (the connection cut before the ALTER ran),
/// the old one is kept. Either way the engine built next still creates accounts.
#[tokio::test]
async fn the_admins_own_password_change_never_locks_starkeep_out() {
    let f = Fixture::start(&["db1"]).await;
    let root = name("root");
    let new_password = AccountPassword::parse("New-root-pw2", &root).unwrap();
    f.stand_in
        .on_statement("ALTER USER 'root'", Trigger::CutConnection);
    assert!(f
        .engine()
        .change_password(&root, &new_password)
        .await
        .is_err());
    let record = f
        .store
        .instance(&f.record.project_id, &f.record.id)
        .await
        .unwrap()
        .unwrap();
    let engine = f.instances.mysql_wire_engine(record).unwrap();
    create_ok(&engine, "kept", "Kept-pass-1", Dml::ReadOnly, &["db1"]).await;

    engine.change_password(&root, &new_password).await.unwrap();
    assert_eq!(
        f.stand_in.password_hash("root").unwrap(),
        NativePasswordHash::of("New-root-pw2").as_str()
    );
    let record = f
        .store
        .instance(&f.record.project_id, &f.record.id)
        .await
        .unwrap()
        .unwrap();
    f.instances
        .mysql_wire_engine(record)
        .unwrap()
        .create_account(&new_account(
            "after",
            "After-pass-1",
            Dml::ReadOnly,
            Ddl::None,
            &["db1"],
        ))
        .await
        .unwrap();
    assert!(f.stand_in.has_user("after"));
}
