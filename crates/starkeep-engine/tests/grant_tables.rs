//! The MySQL dialect's two readings of accounts agree on a MariaDB of the test's own: the grant
//! tables (`mysql.global_priv`, `mysql.db`, `mysql.tables_priv`, `mysql.columns_priv`) and
//! `information_schema` with the `mysql.user` view give the same names, counts and grants on
//! every page, with hand-made accounts (several hosts, other hosts only, roles, odd names) and
//! partial grants (grant option only, patterns, tables, columns, server-wide) among generated
//! ones. An admin who may not read the grant tables gets the `information_schema` reading.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use starkeep_engine::mysql_wire::dialect::Dialect;
use starkeep_engine::mysql_wire::mapping::PrivilegeMap;
use starkeep_engine::mysql_wire::mysql::{MysqlDialect, MysqlFlavor};
use starkeep_testkit::mariadb::OwnMariaDb;

const ADMIN: &str = "gt_admin";
const ADMIN_PASSWORD: &str = "Gt_admin_pw_1";
/// More than a grants read names one by one (200), so the whole-table reading runs too.
const GENERATED: u32 = 430;

async fn connect(port: u16, user: &str, password: &str) -> Conn {
    let url = format!("mysql://{user}:{password}@127.0.0.1:{port}?prefer_socket=false");
    Conn::from_url(url)
        .await
        .expect("connect to the test's MariaDB")
}

/// Generated accounts written straight into the grant tables (as the benchmark seeds its
/// server), and hand-made ones made with statements.
fn seed(db: &OwnMariaDb) {
    db.root_script(&format!(
        "CREATE DATABASE sales; CREATE DATABASE `d_1`; CREATE DATABASE dx;
         CREATE TABLE sales.t (a INT, b INT);
         USE sales;
         INSERT INTO mysql.global_priv (Host, User, Priv)
           SELECT '%', CONCAT('gen_', LPAD(seq, 4, '0')),
           '{{\"access\":0,\"plugin\":\"mysql_native_password\",\"authentication_string\":\"\"}}'
           FROM seq_1_to_{GENERATED};
         INSERT INTO mysql.db (Host, Db, User, Select_priv, Insert_priv)
           SELECT '%', 'sales', CONCAT('gen_', LPAD(seq, 4, '0')), 'Y', IF(seq % 3 = 0, 'Y', 'N')
           FROM seq_1_to_{GENERATED};
         FLUSH PRIVILEGES;
         CREATE USER 'dup'@'%'; CREATE USER 'dup'@'localhost';
         CREATE USER 'gen_0100x'@'localhost';
         CREATE USER 'aaa_local'@'localhost'; CREATE USER 'aaa_local'@'10.0.0.1';
         CREATE USER 'zzz_far'@'10.0.0.2';
         CREATE ROLE 'gen_role'; CREATE ROLE 'dup_role';
         CREATE USER 'O''Brien'@'%'; CREATE USER 'Zed'@'%'; CREATE USER 'äsa'@'%';
         GRANT SELECT, UPDATE ON sales.* TO 'dup'@'%';
         GRANT USAGE ON sales.* TO 'O''Brien'@'%' WITH GRANT OPTION;
         GRANT SELECT ON `d\\_1`.* TO 'Zed'@'%';
         GRANT SELECT ON `d%`.* TO 'Zed'@'%';
         GRANT CREATE TEMPORARY TABLES, LOCK TABLES ON dx.* TO 'äsa'@'%';
         GRANT SELECT ON sales.t TO 'gen_0007'@'%';
         GRANT SELECT (a) ON sales.t TO 'gen_0008'@'%';
         GRANT USAGE ON sales.t TO 'gen_0009'@'%' WITH GRANT OPTION;
         GRANT RELOAD ON *.* TO 'gen_0010'@'%';
         GRANT USAGE ON *.* TO 'gen_0011'@'%' WITH GRANT OPTION;
         GRANT SELECT ON *.* TO 'dup'@'localhost';
         GRANT 'gen_role' TO 'gen_0012'@'%';"
    ));
}

/// Every page of `limit` (and one past the end), by both readings, for `name` (or all).
async fn pages_agree(
    conn: &mut Conn,
    fast: &MysqlDialect,
    slow: &MysqlDialect,
    name: Option<&str>,
    limit: u32,
) -> u64 {
    let map = PrivilegeMap::mysql_default();
    let mut offset = 0u64;
    loop {
        let page = fast.account_names(conn, name, limit, offset).await.unwrap();
        let expected = slow.account_names(conn, name, limit, offset).await.unwrap();
        assert_eq!(page, expected, "{name:?}: page of {limit} at {offset}");
        let grants = fast.grants(conn, &page.0, &map).await.unwrap();
        let expected = slow.grants(conn, &page.0, &map).await.unwrap();
        assert_eq!(grants, expected, "{name:?}: grants of the page at {offset}");
        if offset > page.1 {
            return page.1;
        }
        offset += u64::from(limit);
    }
}

#[tokio::test]
async fn grant_tables_and_information_schema_agree_on_every_page() {
    let db = OwnMariaDb::start(ADMIN, ADMIN_PASSWORD);
    seed(&db);
    let fast = MysqlDialect::new(MysqlFlavor::MariaDb);
    let slow = MysqlDialect::reading_information_schema(MysqlFlavor::MariaDb);
    let mut conn = connect(db.port, ADMIN, ADMIN_PASSWORD).await;
    assert!(db.root("SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = 1"));

    for limit in [100, 7] {
        let total = pages_agree(&mut conn, &fast, &slow, None, limit).await;
        // The generated, the hand-made (roles left out), root, mariadb.sys and the admin.
        let users =
            db.root_value("SELECT COUNT(DISTINCT User) FROM mysql.user WHERE is_role = 'N'");
        assert_eq!(total.to_string(), users, "limit {limit}");
        assert!(total > u64::from(GENERATED) + 6);
    }
    for name in [
        "dup",
        "aaa_local",
        "zzz_far",
        "gen_role",
        "O'Brien",
        "nobody",
    ] {
        pages_agree(&mut conn, &fast, &slow, Some(name), 10).await;
    }
    // Every account at once: the reads that take whole tables.
    let (names, _) = fast
        .account_names(&mut conn, None, 10_000, 0)
        .await
        .unwrap();
    let map = PrivilegeMap::mysql_default();
    let all = fast.grants(&mut conn, &names, &map).await.unwrap();
    assert_eq!(all, slow.grants(&mut conn, &names, &map).await.unwrap());
    assert!(all["gen_0007"].foreign && all["gen_0008"].foreign && !all["gen_0009"].foreign);
    assert!(all["gen_0010"].server_wide.contains("RELOAD"));
    assert!(all["gen_0011"].server_wide.contains("GRANT OPTION"));
    assert!(all["O'Brien"].foreign, "grant option on a database");
    assert_eq!(all["Zed"].scopes.len(), 2, "an escaped name and a pattern");

    // A server-wide grant made after the rows of the account's old bits were learnt is read.
    assert!(db.root("GRANT PROCESS ON *.* TO 'gen_0010'@'%'"));
    let changed = fast
        .grants(&mut conn, &["gen_0010".to_owned()], &map)
        .await
        .unwrap();
    assert_eq!(
        changed,
        slow.grants(&mut conn, &["gen_0010".to_owned()], &map)
            .await
            .unwrap()
    );
    assert!(changed["gen_0010"].server_wide.contains("PROCESS"));

    // The readings above went to the grant tables (the server's log of the admin's queries).
    let read = db.root_value(&format!(
        "SELECT COUNT(*) FROM mysql.general_log WHERE user_host LIKE '{ADMIN}%' \
         AND argument LIKE '%FROM mysql.global_priv%'"
    ));
    assert_ne!(read, "0", "the fast reading never read mysql.global_priv");
    // `USER_PRIVILEGES` was read once for each `access` value of a server-wide holder (the
    // admin's, RELOAD, the grant option, then RELOAD and PROCESS), not for every page.
    let learnt = db.root_value(&format!(
        "SELECT COUNT(*) FROM mysql.general_log WHERE user_host LIKE '{ADMIN}%' \
         AND argument LIKE '%FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = %'"
    ));
    assert_eq!(learnt, "4", "USER_PRIVILEGES reads for learning");
    assert!(db.root("SET GLOBAL general_log = 0"));
}

/// An admin that may read `mysql.user` but not the grant tables behind it gets what
/// `information_schema` shows it, without an error.
#[tokio::test]
async fn an_admin_who_cannot_read_the_grant_tables_reads_information_schema() {
    let db = OwnMariaDb::start(ADMIN, ADMIN_PASSWORD);
    seed(&db);
    assert!(db.root(
        "CREATE USER 'limited'@'%' IDENTIFIED BY 'Limited_pw_1'; \
         GRANT SELECT ON mysql.user TO 'limited'@'%'; \
         GRANT SELECT ON sales.* TO 'limited'@'%'"
    ));
    let mut conn = connect(db.port, "limited", "Limited_pw_1").await;
    assert!(
        conn.query_drop("SELECT 1 FROM mysql.global_priv LIMIT 1")
            .await
            .is_err(),
        "the grant table is closed to this admin"
    );
    let fast = MysqlDialect::new(MysqlFlavor::MariaDb);
    let slow = MysqlDialect::reading_information_schema(MysqlFlavor::MariaDb);
    let total = pages_agree(&mut conn, &fast, &slow, None, 100).await;
    assert!(
        total > u64::from(GENERATED),
        "{total} names through the view"
    );
}
