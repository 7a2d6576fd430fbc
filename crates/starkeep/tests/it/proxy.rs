//! `starkeep proxy` with real servers and real clients: the MariaDB on 127.0.0.1:3306 is the
//! TaurusDB source and row store, a MariaDB of the test's own is the column store (StarRocks
//! cannot run here). Both hold the same tables, loaded by the test, and a `marker` table whose
//! one row says which store answered. Account sync (switched on through the API of a running
//! `serve`) mirrors the test's account to the column store; the proxy serves it.
//!
//! Clients: the `mariadb` command-line client (with `-c`, which keeps comments, so hints reach
//! the proxy), pymysql (in a virtualenv made once under the target dir), and mysql_async.
//! Names at the shared server carry a random prefix and are dropped afterwards (also on panic).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use starkeep_testkit::mariadb::{
    sql_script, sql_value, which, OwnMariaDb, SharedLeftovers, SHARED,
};

use crate::common::{self, cli, eventually, provision_synced_instance, sync_switch, Served, BIN};
use mysql_async::prelude::Queryable;
use serde_json::Value;

const ADMIN: &str = "px_admin";
const ADMIN_PW: (&str, &str) = ("STARKEEP_TEST_TARGET_PW", "Column-admin-1");
const APP_PW: &str = "App-pw-1";
/// Rows of `big` on both stores: above the proxy's threshold (1,000 here) when read whole.
const BIG_ROWS: u32 = 3000;
/// A read the row store estimates at ~BIG_ROWS rows: the column store serves it by cost.
const BIG_READ: &str = "SELECT m.store, COUNT(*) FROM big b JOIN marker m GROUP BY m.store";
/// A read of one row: the row store serves it by cost.
const SMALL_READ: &str = "SELECT store FROM marker";

/// A running `starkeep proxy` and its log lines.
struct Proxy {
    child: Child,
    port: u16,
    metrics_port: u16,
    logs: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Proxy {
    fn start(data_dir: &Path, instance: &str, extra: &[&str]) -> Proxy {
        let mut child = Command::new(BIN)
            .args(["proxy", "--instance", instance, "--listen", "127.0.0.1:0"])
            .args(["--metrics-listen", "127.0.0.1:0", "--refresh-secs", "1"])
            .args(["--column-threshold", "1000", "--retry-down-secs", "1"])
            .args(extra)
            .arg("--data-dir")
            .arg(data_dir)
            .env("RUST_LOG", "info,starkeep_proxy=trace")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the proxy starts");
        let (tx, logs) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut proxy = Proxy {
            child,
            port: 0,
            metrics_port: 0,
            logs,
            seen: Vec::new(),
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while proxy.port == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the proxy never listened: {:?}",
                proxy.seen
            );
            if let Ok(line) = proxy.logs.recv_timeout(Duration::from_millis(100)) {
                let port = || -> u16 {
                    let rest = line.split("addr=127.0.0.1:").nth(1).unwrap();
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().unwrap()
                };
                if line.contains("metrics at /metrics") {
                    proxy.metrics_port = port();
                } else if line.contains("starkeep proxy listening") {
                    proxy.port = port();
                }
                proxy.seen.push(line);
            }
        }
        proxy
    }

    fn logs(&mut self) -> &[String] {
        while let Ok(line) = self.logs.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }

    fn metrics(&self) -> String {
        let out = Command::new("curl")
            .args([
                "-s",
                &format!("http://127.0.0.1:{}/metrics", self.metrics_port),
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The lines of the last statements may still be on their way.
            std::thread::sleep(Duration::from_millis(500));
            eprintln!("proxy log:\n{}", self.logs().join("\n"));
        }
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The `mariadb` client through the proxy (`-c`: comments kept), one connection for all of
/// `sql`; answers stdout (tab-separated, no headers) or stderr.
fn mariadb(port: u16, user: &str, password: &str, db: &str, sql: &str) -> Result<String, String> {
    mariadb_with(&[], port, user, password, db, sql)
}

/// [`mariadb`] with more client options.
fn mariadb_with(
    options: &[&str],
    port: u16,
    user: &str,
    password: &str,
    db: &str,
    sql: &str,
) -> Result<String, String> {
    let out = Command::new(which(&["mariadb", "mysql"]).unwrap())
        .args(["--no-defaults", "-c", "-N", "-B", "--protocol=TCP"])
        .args(options)
        .args(["-h127.0.0.1", &format!("-P{port}")])
        .args([
            &format!("-u{user}"),
            &format!("-p{password}"),
            "--local-infile=1",
        ])
        .args(["-D", db, "-e", sql])
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap().trim().to_owned())
    } else {
        Err(String::from_utf8(out.stderr).unwrap())
    }
}

/// Everything the tests of this file share: the stores, starkeep, the account.
struct World {
    _leftovers: SharedLeftovers,
    column: OwnMariaDb,
    dir: tempfile::TempDir,
    served: Served,
    instance: String,
    project_id: String,
    token: String,
    db: String,
    app: String,
    other: String,
}

fn load(script_runner: impl Fn(&str), db: &str, marker: &str, only_row: bool) {
    let mut script = format!(
        "CREATE DATABASE `{db}`; USE `{db}`;\n\
         CREATE TABLE marker (store VARCHAR(10));\n\
         INSERT INTO marker VALUES ('{marker}');\n\
         CREATE TABLE big (id INT PRIMARY KEY, v INT);\n\
         INSERT INTO big SELECT seq, seq % 7 FROM seq_1_to_{BIG_ROWS};\n\
         CREATE TABLE log (x INT);\n\
         ANALYZE TABLE big, marker;\n"
    );
    if only_row {
        script.push_str("CREATE TABLE only_row (x INT); INSERT INTO only_row VALUES (1);\n");
    }
    script_runner(&script);
}

fn sync_action(w: &World, action: &str) {
    let (code, body) = sync_switch(&w.served, &w.project_id, &w.instance, &w.token, action);
    assert!(code < 300, "{action}: {code} {body}");
}

/// Stops `serve`, and with it sync's runs; the switch stays on in the store.
fn stop_sync_runs(w: &mut World) {
    w.served.child.kill().unwrap();
    w.served.child.wait().unwrap();
}

fn world() -> (std::sync::MutexGuard<'static, ()>, World) {
    // Each mirrors every account of the shared source.
    let serial = crate::common::shared_server_turn();
    let prefix = format!("px{:08x}", rand::random::<u32>());
    let leftovers = SharedLeftovers::new(&prefix);
    let db = format!("{prefix}_db");
    let app = format!("{prefix}_app");
    let other = format!("{prefix}_other");
    let column = OwnMariaDb::start(ADMIN, ADMIN_PW.1);
    load(|s| sql_script(&SHARED, s), &db, "row", true);
    load(|s| column.root_script(s), &db, "column", false);
    sql_script(
        &SHARED,
        &format!(
            "CREATE USER '{app}'@'%' IDENTIFIED BY '{APP_PW}';\n\
             GRANT ALL ON `{db}`.* TO '{app}'@'%';\n\
             CREATE USER '{other}'@'%' IDENTIFIED BY '{APP_PW}';\n\
             GRANT ALL ON `{db}`.* TO '{other}'@'%';\n\
             CREATE PROCEDURE `{db}`.show_marker() SELECT store FROM `{db}`.marker;\n"
        ),
    );
    // `other` exists at the column store already, made by someone else: sync leaves it alone
    // (a conflict), so it is not mirrored.
    column.root_script(&format!(
        "CREATE USER '{other}'@'%' IDENTIFIED BY 'Someone-else-1';\n\
         GRANT SELECT ON `{db}`.* TO '{other}'@'%';\n"
    ));

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (instance, project_id, token) =
        provision_synced_instance(d, "px", column.port, ADMIN, ADMIN_PW);
    let served = Served::start(d, &[], &["--sync-interval-secs", "1"]);
    let w = World {
        _leftovers: leftovers,
        column,
        served,
        instance,
        project_id,
        token,
        db,
        app,
        other,
        dir,
    };
    sync_action(&w, "startSyncTaurusAccount");
    eventually("sync mirrors the account to the column store", || {
        w.column.root_value(&format!(
            "SELECT COUNT(*) FROM mysql.user WHERE User = '{}'",
            w.app
        )) == "1"
    });
    (serial, w)
}

#[test]
fn the_proxy_routes_each_statement_by_the_rules() {
    let (_serial, mut w) = world();
    let mut proxy = Proxy::start(w.dir.path(), &w.instance, &[]);
    let port = proxy.port;
    let (app, db) = (w.app.clone(), w.db.clone());
    let run =
        |sql: &str| mariadb(port, &app, APP_PW, &db, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));

    // Rule 4, both ways: a big read goes to the column store, a small one to the row store.
    eventually("the proxy sees the mirrored account", || {
        run(BIG_READ) == format!("column\t{BIG_ROWS}")
    });
    assert_eq!(run(SMALL_READ), "row");

    // Rule 2: hints outrank cost.
    assert_eq!(run(&format!("/*FORCE_COLUMN*/ {SMALL_READ}")), "column");
    assert_eq!(run(&format!("/*FORCE_IMCI_NODES*/ {SMALL_READ}")), "column");
    assert_eq!(
        run(&format!("/*FORCE_ROW*/ {BIG_READ}")),
        format!("row\t{BIG_ROWS}")
    );
    assert_eq!(
        run(&format!("/*FORCE_MASTER*/ {BIG_READ}")),
        format!("row\t{BIG_ROWS}")
    );
    // No replica: the row primary.
    assert_eq!(
        run(&format!("/*FORCE_SLAVE*/ {BIG_READ}")),
        format!("row\t{BIG_ROWS}")
    );

    // Rule 3: a table the column store lacks keeps the read on the row store, whatever its cost.
    assert_eq!(
        run("SELECT m.store, COUNT(*) FROM big b JOIN marker m JOIN only_row o GROUP BY m.store"),
        format!("row\t{BIG_ROWS}")
    );

    // Rule 1: writes (a hint cannot move them), locking reads, user variables, temporary
    // tables, stored routines, LOAD DATA, multi-statements.
    run("/*FORCE_COLUMN*/ INSERT INTO log VALUES (1)");
    assert_eq!(
        w.column
            .root_value(&format!("SELECT COUNT(*) FROM `{db}`.log")),
        "0"
    );
    assert_eq!(
        sql_value(&SHARED, &format!("SELECT COUNT(*) FROM `{db}`.log")),
        "1"
    );
    assert_eq!(
        run(&format!("/*FORCE_COLUMN*/ {SMALL_READ} FOR UPDATE")),
        "row"
    );
    assert_eq!(
        run(&format!("/*FORCE_COLUMN*/ {SMALL_READ} LOCK IN SHARE MODE")),
        "row"
    );
    assert_eq!(
        run("SET @x = 1; /*FORCE_COLUMN*/ SELECT store, @x FROM marker"),
        "row\t1"
    );
    assert_eq!(
        run("CREATE TEMPORARY TABLE marker (store VARCHAR(10)); \
             INSERT INTO marker VALUES ('temp'); /*FORCE_COLUMN*/ SELECT store FROM marker"),
        "temp"
    );
    assert_eq!(run("CALL show_marker()"), "row");
    let file = w.dir.path().join("rows.tsv");
    std::fs::write(&file, "7\n8\n9\n").unwrap();
    run(&format!(
        "LOAD DATA LOCAL INFILE '{}' INTO TABLE log",
        file.display()
    ));
    assert_eq!(
        sql_value(&SHARED, &format!("SELECT COUNT(*) FROM `{db}`.log")),
        "4"
    );

    // A transaction, and autocommit off, keep everything on the row primary until it ends.
    assert_eq!(
        run(&format!("BEGIN; {BIG_READ}; COMMIT; {BIG_READ}")),
        format!("row\t{BIG_ROWS}\ncolumn\t{BIG_ROWS}")
    );
    assert_eq!(
        run(&format!(
            "SET autocommit = 0; {BIG_READ}; SET autocommit = 1; {BIG_READ}"
        )),
        format!("row\t{BIG_ROWS}\ncolumn\t{BIG_ROWS}")
    );

    // Session state follows the client: the database (USE) and session variables.
    assert_eq!(
        mariadb(
            port,
            &app,
            APP_PW,
            "information_schema",
            &format!("USE `{db}`; {BIG_READ}")
        )
        .unwrap(),
        format!("column\t{BIG_ROWS}")
    );
    assert_eq!(
        run("SET SESSION sql_select_limit = 2; /*FORCE_COLUMN*/ SELECT id FROM big ORDER BY id"),
        "1\n2"
    );

    // The binary protocol and multi-statements (mysql_async), and pymysql's text protocol.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // mysql_async would move to the server's own socket (`@@socket`), around the proxy.
        let url = format!("mysql://{app}:{APP_PW}@127.0.0.1:{port}/{db}?prefer_socket=false");
        let pool = mysql_async::Pool::new(url.as_str());
        let mut conn = pool.get_conn().await.unwrap();
        let stores: Vec<String> = conn
            .exec(
                "/*FORCE_COLUMN*/ SELECT store FROM marker WHERE ? = 1",
                (1,),
            )
            .await
            .unwrap();
        assert_eq!(
            stores,
            ["row"],
            "prepared statements stay on the row primary"
        );
        let mut result = conn
            .query_iter("/*FORCE_COLUMN*/ SELECT store FROM marker; SELECT 2")
            .await
            .unwrap();
        let first: Vec<String> = result.collect().await.unwrap();
        let second: Vec<i64> = result.collect().await.unwrap();
        assert_eq!((first, second), (vec!["row".to_owned()], vec![2]));
        let big: Vec<(String, i64)> = conn.query(BIG_READ).await.unwrap();
        assert_eq!(big, [("column".to_owned(), i64::from(BIG_ROWS))]);
        drop(conn);
        pool.disconnect().await.unwrap();
    });
    let requirements =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/proxy-tests/requirements.txt");
    let python = common::python_venv(&requirements, "proxy-venv");
    // pymysql turns autocommit off unless told: then everything stays on the row primary.
    let script = format!(
        "import pymysql\n\
         c = pymysql.connect(host='127.0.0.1', port={port}, user='{app}', password='{APP_PW}', database='{db}', autocommit=True)\n\
         cur = c.cursor()\n\
         cur.execute(\"{BIG_READ}\")\n\
         print(cur.fetchall())\n\
         cur.execute(\"{SMALL_READ}\")\n\
         print(cur.fetchall())\n\
         c.autocommit(False)\n\
         cur.execute(\"{BIG_READ}\")\n\
         print(cur.fetchall())\n"
    );
    let out = Command::new(&python)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("(('column', {BIG_ROWS}),)\n(('row',),)\n(('row', {BIG_ROWS}),)\n")
    );

    // Several proxies may serve one instance.
    let second = Proxy::start(w.dir.path(), &w.instance, &[]);
    assert_eq!(
        mariadb(second.port, &app, APP_PW, &db, BIG_READ).unwrap(),
        format!("column\t{BIG_ROWS}")
    );
    drop(second);

    // An account sync did not mirror: the row store only.
    assert_eq!(
        mariadb(port, &w.other, APP_PW, &db, BIG_READ).unwrap(),
        format!("row\t{BIG_ROWS}")
    );

    // `proxy explain` names the route, the rule and the estimate; the debug log has a line
    // per statement with the same; the metrics count them.
    let (ok, out, err) = cli(
        w.dir.path(),
        &[
            "proxy",
            "explain",
            "--instance",
            &w.instance,
            "--database",
            &db,
            "--column-threshold",
            "1000",
            "--json",
            BIG_READ,
        ],
        &[],
        None,
    );
    assert!(ok, "{err}");
    let explained: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(explained["route"], "column");
    assert_eq!(explained["rule"], "cost_above");
    assert!(
        explained["estimated_rows"].as_f64().unwrap() > 1000.0,
        "{explained}"
    );
    let logs = proxy.logs().join("\n");
    assert!(logs.contains(r#"route="column" rule=cost_above"#), "{logs}");
    assert!(
        logs.contains(r#"route="row_primary" rule=not_mirrored"#),
        "{logs}"
    );
    assert!(
        logs.contains(
            r#"route="row_primary" rule=pinned_prepared_statement estimate=None statement=COM_STMT_EXECUTE"#
        ),
        "{logs}"
    );
    let metrics = proxy.metrics();
    for line in [
        r#"starkeep_proxy_statements_total{route="row_primary",rule="pinned_prepared_statement"}"#,
        r#"starkeep_proxy_statements_total{route="column",rule="cost_above"}"#,
        r#"starkeep_proxy_statements_total{route="row_primary",rule="hint_force_row"}"#,
        r#"starkeep_proxy_logins_total{outcome="ok"}"#,
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    // The big read was decided by cost many times, with one EXPLAIN.
    eventually("the decision cache's hits are published", || {
        proxy.metrics().lines().any(|l| {
            l.strip_prefix("starkeep_proxy_decision_cache_hits_total ")
                .is_some_and(|v| v.parse::<f64>().unwrap() >= 5.0)
        })
    });

    // The column store stopped: reads fall back to the row store; back when it is.
    w.column.kill();
    assert_eq!(run(BIG_READ), format!("row\t{BIG_ROWS}"));
    assert_eq!(run(&format!("/*FORCE_COLUMN*/ {SMALL_READ}")), "row");
    assert!(proxy
        .metrics()
        .contains(r#"starkeep_proxy_fallbacks_total{from="column"}"#));
    w.column.restart();
    eventually("the column store serves again", || {
        run(BIG_READ) == format!("column\t{BIG_ROWS}")
    });

    // Sync switched off: everything to the row store.
    sync_action(&w, "stopSyncTaurusAccount");
    eventually("the proxy sees the switch off", || {
        run(BIG_READ) == format!("row\t{BIG_ROWS}")
    });
    assert_eq!(run(&format!("/*FORCE_COLUMN*/ {SMALL_READ}")), "row");
}

#[test]
fn replicas_many_clients_tls_passwords_and_a_client_killed_mid_result() {
    let (_serial, w) = world();
    // A row read replica (the source itself stands in for one): reads the rules keep on the
    // row store, and `/*FORCE_SLAVE*/`, go there.
    let d = w.dir.path();
    let node = [
        "instance",
        "node",
        "set",
        "--instance",
        &w.instance,
        "--kind",
        "row-replica",
    ];
    let (ok, _, err) = cli(
        d,
        &[&node[..], &["--addr", "127.0.0.1:3306", "--weight", "2"]].concat(),
        &[],
        None,
    );
    assert!(ok, "{err}");
    let (ok, out, err) = cli(
        d,
        &[
            "instance",
            "node",
            "list",
            "--instance",
            &w.instance,
            "--json",
        ],
        &[],
        None,
    );
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        serde_json::json!([{"kind": "row_replica", "addr": "127.0.0.1:3306", "weight": 2}])
    );
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_path = w.dir.path().join("cert.pem");
    let key_path = w.dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let mut proxy = Proxy::start(
        w.dir.path(),
        &w.instance,
        &[
            "--auth-failure-burst",
            "3",
            "--auth-failure-interval-secs",
            "60",
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    );
    let port = proxy.port;
    let (app, db) = (w.app.clone(), w.db.clone());
    eventually("the proxy sees the mirrored account", || {
        mariadb(port, &app, APP_PW, &db, BIG_READ).as_deref() == Ok(&format!("column\t{BIG_ROWS}"))
    });

    assert_eq!(
        mariadb(
            port,
            &app,
            APP_PW,
            &db,
            &format!("/*FORCE_SLAVE*/ {BIG_READ}")
        )
        .unwrap(),
        format!("row\t{BIG_ROWS}")
    );

    // 64 clients at once, each reading both stores over its own connection.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // mysql_async would move to the server's own socket (`@@socket`), around the proxy.
        let url = format!("mysql://{app}:{APP_PW}@127.0.0.1:{port}/{db}?prefer_socket=false");
        let opts = mysql_async::Opts::from_url(&url).unwrap();
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let opts = opts.clone();
            tasks.push(tokio::spawn(async move {
                let mut conn = mysql_async::Conn::new(opts).await.unwrap();
                for _ in 0..10 {
                    let small: Vec<String> = conn.query(SMALL_READ).await.unwrap();
                    assert_eq!(small, ["row"]);
                    let big: Vec<(String, i64)> = conn.query(BIG_READ).await.unwrap();
                    assert_eq!(big, [("column".to_owned(), i64::from(BIG_ROWS))]);
                }
                conn.disconnect().await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });

    // A client killed in the middle of a long result: its backend statement ends, and the
    // proxy serves the next client.
    let mut reader = Command::new(which(&["mariadb", "mysql"]).unwrap())
        .args(["--no-defaults", "-N", "-B", "--protocol=TCP", "--quick"])
        .args(["-h127.0.0.1", &format!("-P{port}")])
        .args([&format!("-u{app}"), &format!("-p{APP_PW}"), "-D", &db])
        .args(["-e", "/*FORCE_ROW*/ SELECT a.id, b.id FROM big a, big b"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(reader.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty(), "rows started to arrive");
    reader.kill().unwrap();
    reader.wait().unwrap();
    eventually("the backend statement of the killed client ends", || {
        sql_value(
            &SHARED,
            &format!(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE User = '{app}' \
                 AND INFO LIKE '%big a, big b%'"
            ),
        ) == "0"
    });
    assert_eq!(mariadb(port, &app, APP_PW, &db, SMALL_READ).unwrap(), "row");

    let logs = proxy.logs().join("\n");
    assert!(
        logs.contains(r#"route="row_replica" rule=hint_force_slave"#),
        "{logs}"
    );
    assert!(
        logs.contains(r#"route="row_replica" rule=cost_below"#),
        "{logs}"
    );

    // TLS toward the client, when it asks: the client's own status says so.
    let text = mariadb_with(
        &["--ssl"],
        port,
        &app,
        APP_PW,
        &db,
        &format!("status; {BIG_READ}"),
    )
    .unwrap();
    assert!(text.contains("Cipher in use is"), "{text}");
    assert!(text.contains(&format!("column\t{BIG_ROWS}")), "{text}");

    // A client that answers with another plugin (as MySQL 8 clients do) is switched to
    // mysql_native_password.
    let options = ["--default-auth=caching_sha2_password"];
    assert_eq!(
        mariadb_with(&options, port, &app, APP_PW, &db, SMALL_READ).unwrap(),
        "row"
    );
    let logs = proxy.logs().join("\n");
    assert!(
        logs.contains("switching it to mysql_native_password plugin=caching_sha2_password"),
        "{logs}"
    );

    // A password changed at the source works at once (the hash is read again after one
    // failure), and the old one stops working.
    sql_script(
        &SHARED,
        &format!("ALTER USER '{app}'@'%' IDENTIFIED BY 'App-pw-2';"),
    );
    assert_eq!(
        mariadb(port, &app, "App-pw-2", &db, SMALL_READ).unwrap(),
        "row"
    );
    let err = mariadb(port, &app, APP_PW, &db, SMALL_READ).unwrap_err();
    assert!(
        err.contains("ERROR 1045 (28000): Access denied for user"),
        "{err}"
    );

    // A wrong password and an unknown account: MySQL's error 1045; after the burst (the
    // old password above was the first failure), the address is refused for a while, even
    // with the right password.
    let err = mariadb(port, &app, "wrong", &db, SMALL_READ).unwrap_err();
    assert!(
        err.contains("ERROR 1045 (28000): Access denied for user"),
        "{err}"
    );
    let err = mariadb(port, &format!("{app}_nobody"), APP_PW, &db, SMALL_READ).unwrap_err();
    assert!(err.contains("ERROR 1045 (28000)"), "{err}");
    let err = mariadb(port, &app, "App-pw-2", &db, SMALL_READ).unwrap_err();
    assert!(err.contains("ERROR 1129"), "{err}");
}

#[test]
fn nodes_changed_while_running_and_an_account_sync_has_not_created_yet() {
    let (_serial, mut w) = world();
    let mut proxy = Proxy::start(w.dir.path(), &w.instance, &[]);
    let port = proxy.port;
    let (app, db) = (w.app.clone(), w.db.clone());
    eventually("the proxy sees the mirrored account", || {
        mariadb(port, &app, APP_PW, &db, BIG_READ).as_deref() == Ok(&format!("column\t{BIG_ROWS}"))
    });
    let slave_read = format!("/*FORCE_SLAVE*/ {SMALL_READ}");
    // No replica: the row primary answers.
    assert_eq!(
        mariadb(port, &app, APP_PW, &db, &slave_read).unwrap(),
        "row"
    );

    // Sync stops running (its switch stays on), so nothing but this test writes ownership.
    stop_sync_runs(&mut w);
    // An account sync is only about to create at the column store: its ownership row is
    // pending, and it does not exist there.
    let third = format!("{}_third", w._leftovers.prefix);
    sql_script(
        &SHARED,
        &format!(
            "CREATE USER '{third}'@'%' IDENTIFIED BY '{APP_PW}';\n\
             GRANT ALL ON `{db}`.* TO '{third}'@'%';\n"
        ),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt
        .block_on(starkeep_store::Store::open_sqlite(w.dir.path()))
        .unwrap();
    let instance_id = starkeep_domain::InstanceId::parse(&w.instance).unwrap();
    rt.block_on(store.mark_owned(&instance_id, &third, false))
        .unwrap();

    // A row replica added while the proxy runs (the column server stands in for one: its
    // marker tells it apart) is used without a restart.
    let column_addr = format!("127.0.0.1:{}", w.column.port);
    let node = |action: &str, addr: &str, extra: &[&str]| {
        let mut args = vec![
            "instance",
            "node",
            action,
            "--instance",
            &w.instance,
            "--kind",
            "row-replica",
            "--addr",
            addr,
        ];
        args.extend_from_slice(extra);
        let (ok, _, err) = cli(w.dir.path(), &args, &[], None);
        assert!(ok, "node {action}: {err}");
    };
    node("set", &column_addr, &["--weight", "1"]);
    eventually("the running proxy uses the new replica", || {
        mariadb(port, &app, APP_PW, &db, &slave_read).as_deref() == Ok("column")
    });

    // The refresh that found the replica also read the pending ownership (written before it):
    // the account is served by the row store alone, with no column login attempted.
    let before = proxy.logs().len();
    assert_eq!(
        mariadb(port, &third, APP_PW, &db, BIG_READ).unwrap(),
        format!("row\t{BIG_ROWS}")
    );
    std::thread::sleep(Duration::from_millis(300));
    let lines = proxy.logs()[before..].join("\n");
    assert!(lines.contains("rule=not_mirrored"), "{lines}");
    assert!(!lines.contains("backend refused the session"), "{lines}");

    // A session that uses a replica leaves it once it is removed while the proxy runs.
    let url = format!("mysql://{app}:{APP_PW}@127.0.0.1:{port}/{db}?prefer_socket=false");
    let mut session = rt
        .block_on(mysql_async::Conn::new(
            mysql_async::Opts::from_url(&url).unwrap(),
        ))
        .unwrap();
    let mut slave_read_in_session =
        || -> Vec<String> { rt.block_on(session.query(slave_read.as_str())).unwrap() };
    assert_eq!(slave_read_in_session(), ["column"]);
    node("set", "127.0.0.1:3306", &[]);
    node("remove", &column_addr, &[]);
    let only_the_source = r#"replicas=[NodeSpec { addr: "127.0.0.1:3306", weight: 1 }]"#;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !proxy.logs().iter().any(|l| l.contains(only_the_source)) {
        assert!(
            std::time::Instant::now() < deadline,
            "the running proxy never read the replicas again"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(slave_read_in_session(), ["row"]);
}

/// Makes a CA and a certificate it signs for 127.0.0.1 (with `openssl`) in `dir`; answers the
/// paths of the CA's certificate, the server's certificate and the server's key.
fn tls_files(dir: &Path) -> [String; 3] {
    let path = |name: &str| dir.join(name).display().to_string();
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=starkeep test CA",
            "-keyout",
            &path("ca.key"),
            "-out",
            &path("ca.pem"),
        ],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &path("server.key"),
            "-out",
            &path("server.csr"),
        ],
        &[
            "x509",
            "-req",
            "-days",
            "1",
            "-in",
            &path("server.csr"),
            "-CA",
            &path("ca.pem"),
            "-CAkey",
            &path("ca.key"),
            "-CAcreateserial",
            "-extfile",
            &path("san.ext"),
            "-out",
            &path("server.pem"),
        ],
    ];
    for args in steps {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    }
    [path("ca.pem"), path("server.pem"), path("server.key")]
}

#[test]
fn tls_toward_a_backend_as_its_dsn_says() {
    let (_serial, mut w) = world();
    // Sync stops running: the source is about to be a server that holds only this test's
    // account, and the column store must keep its accounts.
    stop_sync_runs(&mut w);
    let [ca, cert, key] = tls_files(w.dir.path());
    let options = [format!("--ssl-cert={cert}"), format!("--ssl-key={key}")];
    let row = OwnMariaDb::try_start_with(ADMIN, ADMIN_PW.1, &options).unwrap();
    assert_eq!(row.root_value("SELECT @@have_ssl"), "YES");
    let (app, db) = (w.app.clone(), w.db.clone());
    load(|s| row.root_script(s), &db, "tls", false);
    row.root_script(&format!(
        "CREATE USER '{app}'@'%' IDENTIFIED BY '{APP_PW}' REQUIRE SSL;\n\
         GRANT ALL ON `{db}`.* TO '{app}'@'%';\n"
    ));
    // The account logs in over TLS only.
    let plain = Command::new(which(&["mariadb", "mysql"]).unwrap())
        .args([
            "--no-defaults",
            "--skip-ssl",
            "--protocol=TCP",
            "-h127.0.0.1",
        ])
        .args([&format!("-P{}", row.port), &format!("-u{app}")])
        .args([&format!("-p{APP_PW}"), "-e", "SELECT 1"])
        .output()
        .unwrap();
    assert!(!plain.status.success(), "a plain login worked");

    // The row store is the TLS server, reached as each DSN says; a new proxy each time.
    let read = "/*FORCE_ROW*/ SELECT m.store, s.VARIABLE_VALUE <> '' FROM marker m \
                JOIN information_schema.SESSION_STATUS s WHERE s.VARIABLE_NAME = 'Ssl_cipher'";
    let through_proxy_with = |params: &str| -> Result<String, String> {
        let dsn = format!("mysql://{ADMIN}@127.0.0.1:{}{params}", row.port);
        let (ok, _, err) = cli(
            w.dir.path(),
            &[
                "instance",
                "set-source",
                "--instance",
                &w.instance,
                "--taurus-dsn",
                &dsn,
                "--taurus-password-env",
                ADMIN_PW.0,
            ],
            &[ADMIN_PW],
            None,
        );
        assert!(ok, "set-source {dsn}: {err}");
        let proxy = Proxy::start(w.dir.path(), &w.instance, &[]);
        mariadb(proxy.port, &app, APP_PW, &db, read)
    };
    // Verified against the DSN's CA: the statement is served over TLS.
    let ca_param = format!("?require_ssl=true&ssl_ca={ca}");
    assert_eq!(through_proxy_with(&ca_param).unwrap(), "tls\t1");
    // Verified by default: against the Mozilla roots, the test CA is unknown.
    let err = through_proxy_with("?require_ssl=true").unwrap_err();
    assert!(err.contains("certificate"), "{err}");
    // The explicit opt-out.
    assert_eq!(
        through_proxy_with("?require_ssl=true&verify_ca=false").unwrap(),
        "tls\t1"
    );
    // Without TLS in the DSN, the account's REQUIRE SSL refuses the proxy's login.
    let err = through_proxy_with("").unwrap_err();
    assert!(err.contains("1045"), "{err}");
}
