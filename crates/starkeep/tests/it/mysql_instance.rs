//! `starkeep instance add --engine mysql` with the real binary against the MariaDB on
//! 127.0.0.1:3306: the admin password comes from an environment variable or stdin, is checked,
//! stored sealed, and never printed or logged; the instance then serves real accounts.

use std::process::Command;

use crate::common;
use crate::common::{cli, curl, Served};

fn mariadb(sql: &str) {
    let out = Command::new("mysql")
        .args([
            "--protocol=TCP",
            "-h127.0.0.1",
            "-P3306",
            "-uroot",
            "-e",
            sql,
        ])
        .output()
        .expect("the mysql client is installed (scripts/test installs mariadb)");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn mariadb_value(sql: &str) -> String {
    let out = Command::new("mysql")
        .args([
            "--protocol=TCP",
            "-h127.0.0.1",
            "-P3306",
            "-uroot",
            "-N",
            "-B",
            "-e",
            sql,
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    hits.push(path.display().to_string());
                }
            }
        }
    }
    hits
}

#[test]
fn a_mysql_instance_is_added_checked_and_served() {
    let _turn = crate::common::shared_server_turn();
    let prefix = format!("t{:06x}", rand::random::<u32>() & 0xff_ffff);
    let admin = format!("{prefix}_adm");
    let admin_password: String = format!("Adm{:016x}", rand::random::<u64>());
    let db = format!("{prefix}_db");
    mariadb(&format!(
        "CREATE USER '{admin}'@'%' IDENTIFIED BY '{admin_password}'; \
         GRANT ALL PRIVILEGES ON *.* TO '{admin}'@'%' WITH GRANT OPTION; \
         CREATE DATABASE `{db}`;"
    ));

    let dir = tempfile::tempdir().unwrap();
    let mut served = Served::start(dir.path(), &[("RUST_LOG", "debug")], &[]);
    let token = common::welcome_token(&served.stdout);
    let dsn = format!("mysql://{admin}@127.0.0.1:3306");

    // A wrong password (on stdin) is refused, and not echoed.
    let (ok, out, err) = cli(
        dir.path(),
        &[
            "instance",
            "add",
            "--project",
            "default",
            "--engine",
            "mysql",
            "--dsn",
            &dsn,
        ],
        &[],
        Some("not-the-password\n"),
    );
    assert!(!ok, "{out}");
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!err.contains("not-the-password") && !out.contains("not-the-password"));

    // A password in the DSN is refused before anything is tried.
    let (ok, _, err) = cli(
        dir.path(),
        &[
            "instance",
            "add",
            "--project",
            "default",
            "--engine",
            "mysql",
            "--dsn",
            &format!("mysql://{admin}:{admin_password}@127.0.0.1:3306"),
        ],
        &[],
        Some(""),
    );
    assert!(!ok);
    assert!(err.contains("must not carry the password"), "{err}");
    assert!(!err.contains(&admin_password), "{err}");

    // The right one, from an environment variable.
    let (ok, out, err) = cli(
        dir.path(),
        &[
            "instance",
            "add",
            "--project",
            "default",
            "--engine",
            "mysql",
            "--name",
            "mariadb",
            "--dsn",
            &dsn,
            "--password-env",
            "SK_TEST_ADMIN_PW",
            "--json",
        ],
        &[("SK_TEST_ADMIN_PW", &admin_password)],
        None,
    );
    assert!(ok, "{err}");
    assert!(!out.contains(&admin_password) && !err.contains(&admin_password));
    let added: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(added["engine"], "mysql");
    assert_eq!(added["settings"]["password"], "<sealed>");
    assert_eq!(added["settings"]["flavor"], "mariadb");
    let instance = added["id"].as_str().unwrap().to_owned();
    let project = added["project_id"].as_str().unwrap().to_owned();

    // The instance serves real accounts.
    let base = format!(
        "{}/v3/{project}/instances/{instance}/starrocks",
        served.base()
    );
    let account = format!("{prefix}_app");
    let body = serde_json::json!({"user_name": account, "password": "Rds_1234", "databases": [db], "dml": 0});
    let (code, answer) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("X-Auth-Token: {token}"),
        "-H",
        "Content-Type: application/json",
        "-d",
        &body.to_string(),
        &format!("{base}/users"),
    ]);
    assert_eq!(code, 200, "{answer}");
    assert_eq!(
        mariadb_value(&format!(
            "SELECT COUNT(*) FROM mysql.db WHERE User = '{account}' AND Insert_priv = 'Y'"
        )),
        "1"
    );
    let (code, answer) = curl(&[
        "-H",
        &format!("X-Auth-Token: {token}"),
        &format!("{base}/users?limit=10&user_name={account}"),
    ]);
    assert_eq!(code, 200);
    assert_eq!(answer["user_details"][0]["dml"], 0, "{answer}");

    // The admin password is nowhere in plain text: not in the data dir, not in the logs.
    assert!(served.terminate().success());
    let logs = served.logs().join("\n");
    assert!(logs.contains("method=POST"), "logs were captured: {logs}");
    assert!(
        !logs.contains(&admin_password),
        "admin password in the logs"
    );
    assert_eq!(
        files_containing(dir.path(), admin_password.as_bytes()),
        Vec::<String>::new(),
        "admin password in the data dir"
    );

    mariadb(&format!(
        "DROP USER IF EXISTS '{account}'@'%'; DROP USER '{admin}'@'%'; DROP DATABASE `{db}`;"
    ));
}
