//! The `mysql` engine against the real MariaDB on 127.0.0.1:3306 (root, empty password), through
//! the HTTP API: accounts made through starkeep are logged in with, and their privileges proven by
//! what they can and cannot do.
//!
//! Each test works in its own databases and account names (a random prefix) and removes them at
//! the end, so tests can run in parallel on the one server.

use std::collections::BTreeSet;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use starkeep_api::{router, AppState, AuthOptions, Limits};
use starkeep_auth::{password, Iam, Role, SecretBox, TokenSigner};
use starkeep_engine::mysql_wire::mysql::UNFINISHED_HASH;
use starkeep_engine::mysql_wire::AddSqlInstance;
use starkeep_engine::{EngineKind, Instances};
use starkeep_store::{InstanceRecord, Store};
use zeroize::Zeroizing;

use starkeep_testkit::mariadb;

const MARIADB_HOST: &str = "127.0.0.1";
const MARIADB_PORT: u16 = 3306;

async fn connect(user: &str, password: &str) -> Result<Conn, mysql_async::Error> {
    let opts = OptsBuilder::default()
        .ip_or_hostname(MARIADB_HOST)
        .tcp_port(MARIADB_PORT)
        .user(Some(user))
        .pass(Some(password))
        .prefer_socket(false);
    Conn::new(opts).await
}

async fn root() -> Conn {
    connect("root", "")
        .await
        .expect("MariaDB on 127.0.0.1:3306 as root with an empty password (scripts/test starts it)")
}

/// One test's corner of the server: two databases with a table each, a name prefix, a starkeep
/// with a `mysql` instance on it.
struct Fixture {
    prefix: String,
    db_a: String,
    db_b: String,
    base: String,
    token: String,
    path: String,
    client: reqwest::Client,
    store: Store,
    instance: InstanceRecord,
    instances: Instances,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: StatusCode,
    body: Value,
}

impl Reply {
    fn code(&self) -> &str {
        self.body["error_code"].as_str().unwrap_or("")
    }
}

impl Fixture {
    async fn new(admin: Option<(&str, &str)>) -> Self {
        let prefix = format!("t{:06x}", rand::random::<u32>() & 0xff_ffff);
        let db_a = format!("{prefix}_a");
        let db_b = format!("{prefix}_b");
        let mut conn = root().await;
        for db in [&db_a, &db_b] {
            conn.query_drop(format!("CREATE DATABASE `{db}`"))
                .await
                .unwrap();
            conn.query_drop(format!("CREATE TABLE `{db}`.t (id INT)"))
                .await
                .unwrap();
            conn.query_drop(format!("INSERT INTO `{db}`.t VALUES (1), (2)"))
                .await
                .unwrap();
        }
        let fixture = Self::serve(prefix, db_a, db_b, admin).await;
        fixture.expect("serving")
    }

    async fn serve(
        prefix: String,
        db_a: String,
        db_b: String,
        admin: Option<(&str, &str)>,
    ) -> Result<Self, String> {
        Self::serve_on(MARIADB_PORT, prefix, db_a, db_b, admin).await
    }

    /// A starkeep whose `mysql` instance is the MariaDB on 127.0.0.1:`port`.
    async fn serve_on(
        port: u16,
        prefix: String,
        db_a: String,
        db_b: String,
        admin: Option<(&str, &str)>,
    ) -> Result<Self, String> {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let project = store.create_project("main").await.unwrap();
        let user = store
            .create_user(
                "admin",
                &password::hash("Iam-admin-Passw0rd"),
                &project.id,
                Role::Admin.as_str(),
            )
            .await
            .unwrap();
        let secrets = SecretBox::new(&rand::random());
        let (admin_user, admin_password) = admin.unwrap_or(("root", ""));
        let instance = AddSqlInstance {
            project_id: project.id.clone(),
            name: "mariadb".into(),
            kind: EngineKind::Mysql,
            dsn: format!("mysql://{admin_user}@{MARIADB_HOST}:{port}"),
            password: Zeroizing::new(admin_password.to_owned()),
            privilege_map: None,
            timeout: Duration::from_secs(5),
        }
        .run(&store, &secrets)
        .await
        .map_err(|e| e.to_string())?;
        let signer = TokenSigner::new(&[7; 32]);
        let iam = Iam::new(store.clone(), signer, Duration::from_secs(3600));
        let token = iam.issue(&project, &user.id, "admin").await.unwrap().0;
        let instances = Instances::with_secrets(store.clone(), secrets);
        let app = router(
            AppState::new(
                store.clone(),
                iam,
                instances.clone(),
                AuthOptions::default(),
            ),
            Limits::default(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Ok(Self {
            path: format!("/v3/{}/instances/{}/starrocks", project.id, instance.id),
            base: format!("http://{addr}"),
            prefix,
            db_a,
            db_b,
            token,
            client: reqwest::Client::new(),
            store,
            instance,
            instances,
            _dir: dir,
        })
    }

    fn name(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.prefix)
    }

    async fn call(&self, method: Method, tail: &str, body: Option<Value>) -> Reply {
        let mut req = self
            .client
            .request(method, format!("{}{}{tail}", self.base, self.path))
            .header("X-Auth-Token", &self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let body = resp.json().await.unwrap_or(Value::Null);
        Reply { status, body }
    }

    async fn create(&self, body: Value) -> Reply {
        self.call(Method::POST, "/users", Some(body)).await
    }

    /// `GET …/users?{query}`, which must answer 200: its body.
    async fn list(&self, query: &str) -> Value {
        let r = self
            .call(Method::GET, &format!("/users?{query}"), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    }

    async fn listed(&self, name: &str) -> Value {
        let body = self.list(&format!("limit=10&user_name={name}")).await;
        let users = body["user_details"].as_array().unwrap();
        users
            .iter()
            .find(|u| u["user_name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    }

    async fn cleanup(&self) {
        let mut conn = root().await;
        let users: Vec<(String, String)> = conn
            .query(format!(
                "SELECT User, Host FROM mysql.user WHERE User LIKE '{}\\_%'",
                self.prefix
            ))
            .await
            .unwrap();
        for (user, host) in users {
            conn.query_drop(format!("DROP USER '{user}'@'{host}'"))
                .await
                .unwrap();
        }
        for db in [&self.db_a, &self.db_b] {
            conn.query_drop(format!("DROP DATABASE IF EXISTS `{db}`"))
                .await
                .unwrap();
        }
    }
}

/// What a logged-in account can do on one database.
#[derive(Debug, PartialEq, Eq)]
struct Abilities {
    select: bool,
    insert: bool,
    update: bool,
    delete: bool,
    lock: bool,
    create_table: bool,
}

async fn try_sql(conn: &mut Conn, sql: String) -> bool {
    conn.query_drop(sql).await.is_ok()
}

async fn abilities(conn: &mut Conn, db: &str) -> Abilities {
    let select = try_sql(conn, format!("SELECT id FROM `{db}`.t")).await;
    let insert = try_sql(conn, format!("INSERT INTO `{db}`.t VALUES (9)")).await;
    let update = try_sql(conn, format!("UPDATE `{db}`.t SET id = 8 WHERE id = 9")).await;
    let delete = try_sql(conn, format!("DELETE FROM `{db}`.t WHERE id = 8")).await;
    let lock = try_sql(conn, format!("LOCK TABLES `{db}`.t READ")).await;
    if lock {
        conn.query_drop("UNLOCK TABLES").await.unwrap();
    }
    let create_table = try_sql(conn, format!("CREATE TABLE `{db}`.made (id INT)")).await;
    if create_table {
        conn.query_drop(format!("DROP TABLE `{db}`.made"))
            .await
            .unwrap();
    }
    Abilities {
        select,
        insert,
        update,
        delete,
        lock,
        create_table,
    }
}

fn expected(dml: u8, ddl: u8) -> Abilities {
    let writes = dml == 0 || dml == 3;
    Abilities {
        select: true,
        insert: writes,
        update: writes,
        delete: writes,
        lock: dml == 2 || dml == 3,
        create_table: ddl == 1,
    }
}

const NOTHING: Abilities = Abilities {
    select: false,
    insert: false,
    update: false,
    delete: false,
    lock: false,
    create_table: false,
};

#[tokio::test]
async fn every_dml_and_ddl_is_proven_by_logging_in() {
    let fx = Fixture::new(None).await;
    for dml in 0..=3u8 {
        for ddl in 0..=1u8 {
            let name = fx.name(&format!("p{dml}{ddl}"));
            let r = fx
                .create(json!({
                    "user_name": name, "password": "Rds_1234", "databases": [fx.db_a],
                    "dml": dml, "ddl": ddl,
                }))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);

            let mut conn = connect(&name, "Rds_1234").await.expect("login");
            assert_eq!(
                abilities(&mut conn, &fx.db_a).await,
                expected(dml, ddl),
                "dml {dml} ddl {ddl} on the granted database"
            );
            assert_eq!(
                abilities(&mut conn, &fx.db_b).await,
                NOTHING,
                "dml {dml} ddl {ddl} on a database not granted"
            );
            drop(conn);

            let listed = fx.listed(&name).await;
            assert_eq!(listed["databases"], json!([fx.db_a]), "{listed}");
            assert_eq!(listed["dml"], dml, "{listed}");
            assert_eq!(listed["ddl"], ddl, "{listed}");
            assert!(listed.get("privileges_inexact").is_none(), "{listed}");
        }
    }
    fx.cleanup().await;
}

#[tokio::test]
async fn change_permissions_password_and_delete_are_real() {
    let fx = Fixture::new(None).await;
    let name = fx.name("life");
    let r = fx
        .create(
            json!({"user_name": name, "password": "Rds_1234", "databases": [fx.db_a], "dml": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Move to the other database with read/write + DDL; only the sent fields change.
    let r = fx
        .call(
            Method::PUT,
            "/users/permission",
            Some(json!({"user_name": name, "databases": [fx.db_b], "dml": 0, "ddl": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut conn = connect(&name, "Rds_1234").await.unwrap();
    assert_eq!(abilities(&mut conn, &fx.db_a).await, NOTHING);
    assert_eq!(abilities(&mut conn, &fx.db_b).await, expected(0, 1));
    drop(conn);

    // Only dml sent: databases and ddl stay.
    let r = fx
        .call(
            Method::PUT,
            "/users/permission",
            Some(json!({"user_name": name, "dml": 2})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut conn = connect(&name, "Rds_1234").await.unwrap();
    assert_eq!(abilities(&mut conn, &fx.db_b).await, expected(2, 1));
    drop(conn);

    // All databases, then back: the system schemas stay out of reach.
    let r = fx
        .call(
            Method::PUT,
            "/users/permission",
            Some(json!({"user_name": name, "databases": ["*"], "dml": 0, "ddl": 0})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut conn = connect(&name, "Rds_1234").await.unwrap();
    assert_eq!(abilities(&mut conn, &fx.db_a).await, expected(0, 0));
    assert_eq!(abilities(&mut conn, &fx.db_b).await, expected(0, 0));
    assert!(
        !try_sql(&mut conn, "SELECT * FROM mysql.global_priv".into()).await,
        "\"*\" must not reach the password hashes"
    );
    assert!(!try_sql(&mut conn, format!("CREATE USER '{}'@'%'", fx.name("evil"))).await);
    drop(conn);
    let listed = fx.listed(&name).await;
    assert_eq!(listed["databases"], json!(["*"]), "{listed}");
    assert_eq!(listed["dml"], 0);
    assert!(listed.get("privileges_inexact").is_none(), "{listed}");
    let r = fx
        .call(
            Method::PUT,
            "/users/permission",
            Some(json!({"user_name": name, "databases": [fx.db_a]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut conn = connect(&name, "Rds_1234").await.unwrap();
    assert_eq!(abilities(&mut conn, &fx.db_b).await, NOTHING);
    assert_eq!(abilities(&mut conn, &fx.db_a).await, expected(0, 0));
    drop(conn);
    let mut admin = root().await;
    let rows: Vec<String> = admin
        .query(format!("SELECT Db FROM mysql.db WHERE User = '{name}'"))
        .await
        .unwrap();
    assert_eq!(
        rows,
        [fx.db_a.replace('_', "\\_")],
        "guards and % row revoked"
    );

    // Password: the old one stops working, the new one works.
    let r = fx
        .call(
            Method::PUT,
            "/users/password",
            Some(json!({"user_name": name, "password": "Rds_5678"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(connect(&name, "Rds_1234").await.is_err());
    let mut conn = connect(&name, "Rds_5678").await.unwrap();
    assert_eq!(abilities(&mut conn, &fx.db_a).await, expected(0, 0));
    drop(conn);

    // Delete: login fails, the user is gone from the grant tables.
    let r = fx
        .call(Method::DELETE, &format!("/users?user_name={name}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(connect(&name, "Rds_5678").await.is_err());
    let left: Option<u64> = admin
        .query_first(format!(
            "SELECT COUNT(*) FROM mysql.user WHERE User = '{name}'"
        ))
        .await
        .unwrap();
    assert_eq!(left, Some(0));
    fx.cleanup().await;
}

#[tokio::test]
async fn errors_change_nothing() {
    let fx = Fixture::new(None).await;
    let name = fx.name("err");
    let body = json!({"user_name": name, "password": "Rds_1234", "databases": [fx.db_a]});
    assert_eq!(fx.create(body.clone()).await.status, StatusCode::OK);
    let again = fx.create(body).await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::BAD_REQUEST, "DBS.280001")
    );

    let missing_db = fx
        .create(json!({"user_name": fx.name("nodb"), "password": "Rds_1234", "databases": ["no_such_db_here"]}))
        .await;
    assert_eq!(missing_db.code(), "DBS.280004", "{}", missing_db.body);
    let system_db = fx
        .create(
            json!({"user_name": fx.name("sysdb"), "password": "Rds_1234", "databases": ["mysql"]}),
        )
        .await;
    assert_eq!(system_db.code(), "DBS.280006", "{}", system_db.body);
    let mut admin = root().await;
    let made: Option<u64> = admin
        .query_first(format!(
            "SELECT COUNT(*) FROM mysql.user WHERE User IN ('{}', '{}')",
            fx.name("nodb"),
            fx.name("sysdb")
        ))
        .await
        .unwrap();
    assert_eq!(made, Some(0), "a refused create makes nothing");

    for (method, tail, body) in [
        (
            Method::PUT,
            "/users/password",
            json!({"user_name": fx.name("ghost"), "password": "Rds_1234"}),
        ),
        (
            Method::PUT,
            "/users/permission",
            json!({"user_name": fx.name("ghost"), "dml": 1}),
        ),
    ] {
        let r = fx.call(method, tail, Some(body)).await;
        assert_eq!(r.code(), "DBS.280002", "{}", r.body);
    }
    let r = fx
        .call(
            Method::DELETE,
            &format!("/users?user_name={}", fx.name("ghost")),
            None,
        )
        .await;
    assert_eq!(r.code(), "DBS.280002");

    // root is listed as the contract shows it; its privileges are never changed and it is never
    // deleted (400, not 403). (Its password may be set: that is tested on servers of the tests'
    // own, never on the shared one.)
    let root_listed = fx.listed("root").await;
    assert_eq!(root_listed["databases"], json!(["*"]));
    let r = fx
        .call(
            Method::PUT,
            "/users/permission",
            Some(json!({"user_name": "root", "dml": 1})),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "DBS.280003")
    );
    let r = fx.call(Method::DELETE, "/users?user_name=root", None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "DBS.280003")
    );

    // A permission change naming a missing database changes nothing.
    let r = fx
        .call(
            Method::PUT,
            "/users/permission",
            Some(json!({"user_name": name, "databases": [fx.db_b, "no_such_db_here"], "dml": 0})),
        )
        .await;
    assert_eq!(r.code(), "DBS.280004");
    let listed = fx.listed(&name).await;
    assert_eq!(listed["databases"], json!([fx.db_a]));
    assert_eq!(listed["dml"], 2);
    fx.cleanup().await;
}

/// The engine reuses a database list it read a moment ago; a name not in it is looked up
/// afresh, so a database made just before the create is found, and an unknown one still refused.
#[tokio::test]
async fn a_database_made_a_moment_ago_is_found() {
    let fx = Fixture::new(None).await;
    let first = fx
        .create(
            json!({"user_name": fx.name("early"), "password": "Rds_1234", "databases": [fx.db_a]}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let db_c = format!("{}_c", fx.prefix);
    let mut admin = root().await;
    admin
        .query_drop(format!("CREATE DATABASE `{db_c}`"))
        .await
        .unwrap();
    let late = fx
        .create(json!({"user_name": fx.name("late"), "password": "Rds_1234", "databases": [db_c]}))
        .await;
    let unknown = fx
        .create(json!({"user_name": fx.name("nowhere"), "password": "Rds_1234", "databases": [format!("{}_d", fx.prefix)]}))
        .await;
    admin
        .query_drop(format!("DROP DATABASE `{db_c}`"))
        .await
        .unwrap();
    assert_eq!(late.status, StatusCode::OK, "{}", late.body);
    assert_eq!(
        fx.listed(&fx.name("late")).await["databases"],
        json!([db_c])
    );
    assert_eq!(unknown.code(), "DBS.280004", "{}", unknown.body);
    fx.cleanup().await;
}

#[tokio::test]
async fn accounts_made_by_hand_show_their_real_privileges() {
    let fx = Fixture::new(None).await;
    let name = fx.name("hand");
    let mut admin = root().await;
    admin
        .query_drop(format!(
            "CREATE USER '{name}'@'%' IDENTIFIED BY 'Hand_1234'"
        ))
        .await
        .unwrap();
    admin
        .query_drop(format!("GRANT SELECT ON `{}`.* TO '{name}'@'%'", fx.db_a))
        .await
        .unwrap();
    let listed = fx.listed(&name).await;
    assert_eq!(listed["databases"], json!([fx.db_a]), "{listed}");
    assert_eq!(
        (listed["dml"].clone(), listed["ddl"].clone()),
        (json!(1), json!(0))
    );
    assert!(listed.get("privileges_inexact").is_none(), "{listed}");

    // A grant that matches no value: the nearest one, flagged.
    admin
        .query_drop(format!("GRANT INSERT ON `{}`.* TO '{name}'@'%'", fx.db_a))
        .await
        .unwrap();
    let listed = fx.listed(&name).await;
    assert_eq!(listed["dml"], 1, "{listed}");
    assert_eq!(listed["privileges_inexact"], true, "{listed}");

    // Completed by hand to read/write: exact again.
    admin
        .query_drop(format!(
            "GRANT UPDATE, DELETE ON `{}`.* TO '{name}'@'%'",
            fx.db_a
        ))
        .await
        .unwrap();
    let listed = fx.listed(&name).await;
    assert_eq!(listed["dml"], 0, "{listed}");
    assert!(listed.get("privileges_inexact").is_none(), "{listed}");

    // And the API can manage it from there.
    let r = fx
        .call(
            Method::PUT,
            "/users/permission",
            Some(json!({"user_name": name, "dml": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut conn = connect(&name, "Hand_1234").await.unwrap();
    assert_eq!(abilities(&mut conn, &fx.db_a).await, expected(1, 0));
    drop(conn);
    fx.cleanup().await;
}

#[tokio::test]
async fn a_create_that_fails_at_the_grant_step_leaves_no_user() {
    // An admin that may create users and grant SELECT, but not INSERT.
    let prefix = format!("t{:06x}", rand::random::<u32>() & 0xff_ffff);
    let admin_name = format!("{prefix}_admin");
    let mut root_conn = root().await;
    root_conn
        .query_drop(format!(
            "CREATE USER '{admin_name}'@'%' IDENTIFIED BY 'Adm_12345'"
        ))
        .await
        .unwrap();
    root_conn
        .query_drop(format!("GRANT CREATE USER ON *.* TO '{admin_name}'@'%'"))
        .await
        .unwrap();
    root_conn
        .query_drop(format!(
            "GRANT SELECT ON *.* TO '{admin_name}'@'%' WITH GRANT OPTION"
        ))
        .await
        .unwrap();
    let db_a = format!("{prefix}_a");
    let db_b = format!("{prefix}_b");
    for db in [&db_a, &db_b] {
        root_conn
            .query_drop(format!("CREATE DATABASE `{db}`"))
            .await
            .unwrap();
    }
    let fx = Fixture::serve(prefix, db_a, db_b, Some((&admin_name, "Adm_12345")))
        .await
        .expect("a limited admin that can create users and grant SELECT is accepted");

    let name = fx.name("half");
    let r = fx
        .create(
            json!({"user_name": name, "password": "Rds_1234", "databases": [fx.db_a], "dml": 0}),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    assert_eq!(r.code(), "DBS.280501", "{}", r.body);
    let left: Option<u64> = root_conn
        .query_first(format!(
            "SELECT COUNT(*) FROM mysql.user WHERE User = '{name}'"
        ))
        .await
        .unwrap();
    assert_eq!(left, Some(0), "the half-made user was dropped");
    let pending = fx.store.stale_pending_creates(i64::MAX).await.unwrap();
    assert!(
        pending.is_empty(),
        "nothing left for the repair loop: {pending:?}"
    );

    // What the admin may grant still works.
    let r = fx
        .create(
            json!({"user_name": name, "password": "Rds_1234", "databases": [fx.db_a], "dml": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let _ = &fx.instance;
    fx.cleanup().await;
}

#[tokio::test]
async fn an_unfinished_create_is_repaired() {
    let fx = Fixture::new(None).await;
    // What a create killed between CREATE USER and its last GRANT leaves on MariaDB: a user with
    // the placeholder hash and no grants, and its pending record.
    let name = fx.name("cut");
    let mut admin = root().await;
    admin
        .query_drop(format!(
            "CREATE USER '{name}'@'%' IDENTIFIED WITH mysql_native_password AS '{UNFINISHED_HASH}'"
        ))
        .await
        .unwrap();
    fx.store
        .begin_pending_create(&fx.instance.id, &name, "attempt-cut")
        .await
        .unwrap();
    // A finished account with a stale record (the record's removal was lost) must survive.
    let whole = fx.name("whole");
    let r = fx
        .create(json!({"user_name": whole, "password": "Rds_1234", "databases": [fx.db_a]}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    fx.store
        .begin_pending_create(&fx.instance.id, &whole, "attempt-whole")
        .await
        .unwrap();
    // On MariaDB a lock is not the mark of an unfinished create: an operator's lock is kept.
    let locked = fx.name("locked");
    let r = fx
        .create(json!({"user_name": locked, "password": "Rds_1234", "databases": [fx.db_a]}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    admin
        .query_drop(format!("ALTER USER '{locked}'@'%' ACCOUNT LOCK"))
        .await
        .unwrap();
    fx.store
        .begin_pending_create(&fx.instance.id, &locked, "attempt-locked")
        .await
        .unwrap();
    // The creates' own records are cleared after their answers; wait for that.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while fx
        .store
        .stale_pending_creates(i64::MAX)
        .await
        .unwrap()
        .len()
        > 3
    {
        assert!(
            std::time::Instant::now() < deadline,
            "records never cleared"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    tokio::time::sleep(Duration::from_millis(20)).await;
    let report = fx.instances.repair_pending(Duration::ZERO).await.unwrap();
    assert_eq!(report.dropped, 1, "{report:?}");
    assert_eq!(report.cleared, 2, "{report:?}");
    let users: Vec<String> = admin
        .query(format!(
            "SELECT User FROM mysql.user WHERE User IN ('{name}', '{whole}', '{locked}') \
             ORDER BY User"
        ))
        .await
        .unwrap();
    let mut kept = vec![whole.clone(), locked.clone()];
    kept.sort();
    assert_eq!(users, kept);
    assert!(fx
        .store
        .stale_pending_creates(i64::MAX)
        .await
        .unwrap()
        .is_empty());
    assert!(connect(&whole, "Rds_1234").await.is_ok());
    fx.cleanup().await;
}

#[tokio::test]
async fn a_silent_backend_answers_a_clear_500_in_bounded_time() {
    // A server that accepts connections and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let fx = Fixture::new(None).await;
    let secrets = SecretBox::new(&rand::random());
    let settings = starkeep_engine::MysqlWireSettings {
        host: "127.0.0.1".into(),
        port,
        user: "root".into(),
        password: secrets.seal(b""),
        flavor: Some("mariadb".into()),
        privilege_map: None,
        pool_max: None,
        timeout_ms: Some(1_000),
        source: None,
        tls: None,
    };
    let record = fx
        .store
        .create_instance(
            &starkeep_store::NewInstance {
                project_id: fx.instance.project_id.clone(),
                name: "silent".into(),
                engine: "mysql".into(),
                settings: serde_json::to_value(&settings).unwrap(),
            },
            &[],
        )
        .await
        .unwrap();
    let instances = Instances::with_secrets(fx.store.clone(), secrets);
    let engine = instances
        .engine(&record.project_id, &record.id)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let err = engine
        .list_accounts(&starkeep_engine::AccountQuery {
            name: None,
            page: starkeep_domain::PageRequest::parse(Some("10"), None).unwrap(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, starkeep_engine::EngineError::BackendUnavailable(_)),
        "{err:?}"
    );
    // Bounded by the instance's limit (1 s), not by the client's patience.
    assert!(started.elapsed() < Duration::from_secs(30));
    let api = starkeep_api::error::ApiError::from(err);
    assert_eq!(api.code.code(), "DBS.280500");
    fx.cleanup().await;
}

/// Pages name each account of the server once (an account on two hosts is one name, a role is no
/// account), in byte order, and together they are the whole list. On a MariaDB of the test's own,
/// so that every account on it is known and no other test adds or drops one between pages.
#[tokio::test]
async fn pages_name_each_account_once_in_byte_order() {
    let server = mariadb::OwnMariaDb::start("list_admin", "List-admin-1");
    let mut script: String = (0..150)
        .map(|i| format!("CREATE USER 'acct_{i:03}'@'%';"))
        .collect();
    script.push_str(
        "CREATE USER 'twice'@'%'; CREATE USER 'twice'@'localhost'; \
         CREATE USER 'Upper'@'%'; CREATE USER 'a-dash'@'%'; CREATE ROLE 'a_role';",
    );
    server.root_script(&script);
    // What the list must be, worked out here from the server's rows: users, not roles, each
    // name once, sorted by their bytes.
    let expected: Vec<String> = server
        .root_rows("SELECT User, is_role FROM mysql.user")
        .iter()
        .filter_map(|row| row.split_once('\t'))
        .filter(|(_, is_role)| *is_role == "N")
        .map(|(user, _)| user.as_bytes().to_vec())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|bytes| String::from_utf8(bytes).unwrap())
        .collect();
    assert!(expected.len() > 150, "{expected:?}");
    assert_eq!(expected.iter().filter(|n| *n == "twice").count(), 1);
    assert!(!expected.iter().any(|n| n == "a_role"));

    let fx = Fixture::serve_on(
        server.port,
        "unused".into(),
        "unused_a".into(),
        "unused_b".into(),
        Some(("list_admin", "List-admin-1")),
    )
    .await
    .expect("serving");
    let mut listed = Vec::new();
    for offset in [0, 100, 200] {
        let body = fx.list(&format!("limit=100&offset={offset}")).await;
        assert_eq!(body["total_count"], json!(expected.len()), "{body}");
        let page: Vec<String> = body["user_details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["user_name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(page.len(), expected.len().saturating_sub(offset).min(100));
        listed.extend(page);
    }
    assert_eq!(listed, expected);
    // Byte order: capitals before lower case, `-` before digits and letters.
    let at = |name: &str| listed.iter().position(|n| n == name).unwrap();
    assert!(at("Upper") < at("a-dash") && at("a-dash") < at("acct_000"));

    // A name filter finds the account on two hosts once, and no role.
    let body = fx.list("limit=10&user_name=twice").await;
    assert_eq!(body["total_count"], 1, "{body}");
    assert_eq!(body["user_details"].as_array().unwrap().len(), 1);
    let body = fx.list("limit=10&user_name=a_role").await;
    assert_eq!(body["total_count"], 0, "{body}");
}
