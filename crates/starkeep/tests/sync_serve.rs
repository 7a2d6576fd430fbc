//! The account-sync reconciler inside the real `serve`: switched on through the API, it mirrors a
//! source account at once, and after a restart it goes on (the switch lives in the store).
//!
//! The target is the MariaDB on 127.0.0.1:3306 (root, empty password); the TaurusDB source is a
//! second MariaDB this test starts on its own port and data dir (`common::mariadb`), driven
//! with the `mariadb` client. Names carry a random prefix.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::mariadb::{sql, which, OwnMariaDb};
use common::{cli, curl, Served};
use serde_json::Value;

const ADMIN_PW: (&str, &str) = ("STARKEEP_TEST_SOURCE_PW", "Source-admin-1");
const EMPTY: (&str, &str) = ("STARKEEP_TEST_EMPTY_PASSWORD", "");

/// Runs a long script with the `mariadb` client, fed on stdin.
fn sql_script(conn: &[&str], script: &str) {
    use std::io::Write;
    let mut child = Command::new(which(&["mariadb", "mysql"]))
        .arg("--no-defaults")
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

/// The first value a query answers, with the `mariadb` client.
fn sql_value(conn: &[&str], statement: &str) -> String {
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

const TARGET: [&str; 4] = ["-h127.0.0.1", "-P3306", "-uroot", "--protocol=TCP"];

/// The TaurusDB source: a MariaDB of the test's own, with the admin starkeep syncs from.
fn start_source() -> OwnMariaDb {
    let source = OwnMariaDb::start();
    assert!(source.root(&format!(
        "CREATE USER 'sync_admin'@'%' IDENTIFIED BY '{}'; \
         GRANT ALL ON *.* TO 'sync_admin'@'%' WITH GRANT OPTION",
        ADMIN_PW.1
    )));
    source
}

fn target_root(statement: &str) -> bool {
    sql(
        &["-h127.0.0.1", "-P3306", "-uroot", "--protocol=TCP"],
        statement,
    )
}

fn target_login(user: &str, password: &str) -> bool {
    sql(
        &[
            "-h127.0.0.1",
            "-P3306",
            "--protocol=TCP",
            &format!("-u{user}"),
            &format!("-p{password}"),
        ],
        "SELECT 1",
    )
}

/// Waits (readiness, not timing) until `check` holds.
fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..300 {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("never happened: {what}");
}

#[test]
fn serve_reconciles_switched_on_instances_and_goes_on_after_a_restart() {
    let source = start_source();
    let prefix = format!("v{:06x}", rand::random::<u32>() & 0xff_ffff);
    let db = format!("{prefix}_a");
    let app = format!("{prefix}_app");
    assert!(target_root(&format!("CREATE DATABASE `{db}`")));
    assert!(source.root(&format!(
        "CREATE DATABASE `{db}`; CREATE USER '{app}'@'%' IDENTIFIED BY 'Src-pass-1'; \
         GRANT SELECT ON `{db}`.* TO '{app}'@'%'"
    )));

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let envs = [
        ADMIN_PW,
        EMPTY,
        ("STARKEEP_TEST_IAM_PW", "Iam-admin-Passw0rd"),
    ];
    assert!(cli(d, &["project", "create", "sync"], &[], None).0);
    let (ok, id, err) = cli(
        d,
        &[
            "instance",
            "add",
            "--project",
            "sync",
            "--engine",
            "mysql",
            "--dsn",
            "mysql://root@127.0.0.1:3306",
            "--password-env",
            EMPTY.0,
            "--taurus-dsn",
            &format!("mysql://sync_admin@127.0.0.1:{}", source.port),
            "--taurus-password-env",
            ADMIN_PW.0,
        ],
        &envs,
        None,
    );
    assert!(ok, "{err}");
    let id = id.trim().to_owned();
    let (ok, _, err) = cli(
        d,
        &[
            "iam",
            "user",
            "create",
            "--project",
            "sync",
            "--name",
            "ops",
            "--password-env",
            "STARKEEP_TEST_IAM_PW",
        ],
        &envs,
        None,
    );
    assert!(ok, "{err}");
    let (ok, token, err) = cli(
        d,
        &["token", "issue", "--project", "sync", "--user", "ops"],
        &[],
        None,
    );
    assert!(ok, "{err}");
    let (_, out, _) = cli(d, &["project", "list", "--json"], &[], None);
    let projects: Value = serde_json::from_str(&out).unwrap();
    let project_id = projects
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sync")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let served = Served::start(d, &[], &["--sync-interval-secs", "1"]);
    let (code, body) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("X-Auth-Token: {}", token.trim()),
        "-d",
        r#"{"action": "startSyncTaurusAccount"}"#,
        &format!(
            "{}/v3/{project_id}/instances/{id}/starrocks/users/sync",
            served.base()
        ),
    ]);
    assert_eq!((code, &body), (200, &serde_json::json!({"success": true})));
    eventually("the source account is mirrored", || {
        target_login(&app, "Src-pass-1")
    });
    let (ok, out, _) = cli(
        d,
        &["sync", "status", "--instance", &id, "--json"],
        &[],
        None,
    );
    assert!(ok);
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status[0]["sync_enabled"], true);
    assert!(status[0]["last_run"]["outcome"] == "ok", "{status}");
    let (code, body) = curl(&[
        "-H",
        &format!("X-Auth-Token: {}", token.trim()),
        &format!(
            "{}/v3/{project_id}/instances/{id}/starrocks/users/sync",
            served.base()
        ),
    ]);
    assert_eq!(code, 200);
    assert_eq!(
        (&body["sync_enabled"], &body["has_source"]),
        (&Value::Bool(true), &Value::Bool(true))
    );
    assert_eq!(body["last_run"]["outcome"], "ok", "{body}");
    assert!(
        body["last_run"]["report"]["unchanged"].as_u64().is_some(),
        "{body}"
    );
    drop(served);

    // Changed while starkeep is down; followed after the restart.
    assert!(source.root(&format!(
        "ALTER USER '{app}'@'%' IDENTIFIED BY 'Src-pass-2'"
    )));
    let _served = Served::start(d, &[], &["--sync-interval-secs", "1"]);
    eventually("the new password is mirrored after a restart", || {
        target_login(&app, "Src-pass-2")
    });

    target_root(&format!("DROP USER IF EXISTS '{app}'@'%'"));
    target_root(&format!("DROP DATABASE IF EXISTS `{db}`"));
}

/// Sets up a project, a `mysql` instance on 3306 with `source` as its TaurusDB source, an admin
/// token; answers (instance id, project id, token).
fn provision(d: &Path, source: &OwnMariaDb) -> (String, String, String) {
    let envs = [
        ADMIN_PW,
        EMPTY,
        ("STARKEEP_TEST_IAM_PW", "Iam-admin-Passw0rd"),
    ];
    assert!(cli(d, &["project", "create", "sync"], &[], None).0);
    let (ok, id, err) = cli(
        d,
        &[
            "instance",
            "add",
            "--project",
            "sync",
            "--engine",
            "mysql",
            "--dsn",
            "mysql://root@127.0.0.1:3306",
            "--password-env",
            EMPTY.0,
            "--taurus-dsn",
            &format!("mysql://sync_admin@127.0.0.1:{}", source.port),
            "--taurus-password-env",
            ADMIN_PW.0,
        ],
        &envs,
        None,
    );
    assert!(ok, "{err}");
    let (ok, _, err) = cli(
        d,
        &[
            "iam",
            "user",
            "create",
            "--project",
            "sync",
            "--name",
            "ops",
            "--password-env",
            "STARKEEP_TEST_IAM_PW",
        ],
        &envs,
        None,
    );
    assert!(ok, "{err}");
    let (ok, token, err) = cli(
        d,
        &["token", "issue", "--project", "sync", "--user", "ops"],
        &[],
        None,
    );
    assert!(ok, "{err}");
    let (_, out, _) = cli(d, &["project", "list", "--json"], &[], None);
    let projects: Value = serde_json::from_str(&out).unwrap();
    let project_id = projects
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sync")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (id.trim().to_owned(), project_id, token.trim().to_owned())
}

#[test]
fn a_reconcile_killed_with_sigkill_converges_after_a_restart() {
    const N: usize = 3000;
    let source = start_source();
    let prefix = format!("k{:06x}", rand::random::<u32>() & 0xff_ffff);
    let db = format!("{prefix}_a");
    let own = format!("{prefix}_own");
    assert!(target_root(&format!(
        "CREATE DATABASE `{db}`; CREATE USER '{own}'@'%' IDENTIFIED BY 'Target-own-1'"
    )));
    let own_hash = sql_value(
        &TARGET,
        &format!("SELECT authentication_string FROM mysql.user WHERE User = '{own}'"),
    );
    let mut script =
        format!("CREATE DATABASE `{db}`; CREATE USER '{own}'@'%' IDENTIFIED BY 'Src-own-1';");
    for i in 0..N {
        script.push_str(&format!(
            "CREATE USER '{prefix}_{i}'@'%' IDENTIFIED BY 'Pw-{i}-x'; GRANT SELECT ON `{db}`.* TO '{prefix}_{i}'@'%';"
        ));
    }
    sql_script(&["-S", &source.socket, "-uroot"], &script);

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (id, project_id, token) = provision(d, &source);
    let mirrored = || -> usize {
        sql_value(
            &TARGET,
            &format!("SELECT COUNT(*) FROM mysql.user WHERE User LIKE '{prefix}\\_%' AND User <> '{own}'"),
        )
        .parse()
        .unwrap()
    };

    let mut served = Served::start(d, &[], &["--sync-interval-secs", "1"]);
    let (code, _) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("X-Auth-Token: {token}"),
        "-d",
        r#"{"action": "startSyncTaurusAccount"}"#,
        &format!(
            "{}/v3/{project_id}/instances/{id}/starrocks/users/sync",
            served.base()
        ),
    ]);
    assert_eq!(code, 200);
    // Kill it in the middle of its first reconcile.
    let mut seen = 0;
    for _ in 0..3000 {
        seen = mirrored();
        if seen >= N / 10 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    served.child.kill().unwrap();
    served.child.wait().unwrap();
    let at_kill = mirrored();
    eprintln!("killed with {at_kill} of {N} accounts mirrored");
    assert!(
        seen >= N / 10 && at_kill < N,
        "killed mid-run: {at_kill} of {N} mirrored"
    );

    let _served = Served::start(d, &[], &["--sync-interval-secs", "1"]);
    eventually("every account is mirrored after the restart", || {
        mirrored() == N
    });
    eventually("a clean run after convergence", || {
        let (_, out, _) = cli(
            d,
            &["sync", "status", "--instance", &id, "--json"],
            &[],
            None,
        );
        let status: Value = serde_json::from_str(&out).unwrap();
        let report = &status[0]["last_run"]["report"];
        report["unchanged"] == N as u64 && report["writes"] == 0
    });
    assert!(target_login(&format!("{prefix}_0"), "Pw-0-x"));
    assert!(target_login(
        &format!("{prefix}_{}", N - 1),
        &format!("Pw-{}-x", N - 1)
    ));
    // The target's own account of the clashing name is untouched.
    assert_eq!(
        sql_value(
            &TARGET,
            &format!("SELECT authentication_string FROM mysql.user WHERE User = '{own}'")
        ),
        own_hash
    );
    drop(_served);

    let mut cleanup = format!("DROP USER IF EXISTS '{own}'@'%'; DROP DATABASE IF EXISTS `{db}`;");
    for i in 0..N {
        cleanup.push_str(&format!("DROP USER IF EXISTS '{prefix}_{i}'@'%';"));
    }
    sql_script(&TARGET, &cleanup);
}
