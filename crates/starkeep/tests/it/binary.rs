//! The real `starkeep` binary: first start, the printed curl run as pasted, the operator CLI,
//! log lines (and what they must never contain), graceful shutdown.

use std::process::Command;

use crate::common;
use crate::common::{cli, curl, Served, BIN};
use serde_json::Value;

#[test]
fn first_start_prints_a_curl_that_works_as_pasted_and_logs_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = Served::start(dir.path(), &[], &[]);
    let welcome = served.stdout.clone();
    assert!(welcome.contains("project   default"), "{welcome}");
    assert!(welcome.contains("engine: embedded"), "{welcome}");
    let password = welcome
        .lines()
        .find_map(|l| l.split("password ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the generated password is printed once")
        .to_owned();
    assert_eq!(password.len(), 20);

    // The printed lines, run by a shell exactly as printed.
    let script: String = welcome
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("export STARKEEP_TOKEN"))
        .map(|l| format!("{}\n", l.trim_start()))
        .collect();
    assert!(script.contains("curl"), "{welcome}");
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(printed.contains(r#"{"result":"SUCCESS"}"#), "{printed}");
    assert!(printed.contains(r#""user_name":"user_test""#), "{printed}");
    assert!(printed.contains(r#""total_count":2"#), "{printed}");

    // The generated password logs in.
    let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "password": password, "domain": {"name": "default"}}}},
        "scope": {"project": {"name": "default"}}}});
    let (code, _) = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        &body.to_string(),
        &format!("{}/v3/auth/tokens", served.base()),
    ]);
    assert_eq!(code, 201);

    // A second start of the same data dir bootstraps nothing and prints nothing.
    let token = common::welcome_token(&welcome);
    let logs = served.logs().join("\n");
    assert!(logs.contains("method=POST"), "one line per request: {logs}");
    assert!(logs.contains("status=200"));
    assert!(logs.contains("latency_ms="));
    assert!(logs.contains("request_id="));
    for secret in [password.as_str(), "Rds_1234", token.as_str()] {
        assert!(!logs.contains(secret), "a secret in the logs");
    }
    assert!(!logs.contains(starkeep_domain_hash("Rds_1234").as_str()));
    assert!(served.terminate().success(), "SIGTERM ends it cleanly");

    let again = Served::start(dir.path(), &[], &[]);
    assert!(again.stdout.is_empty(), "{}", again.stdout);
}

fn starkeep_domain_hash(pw: &str) -> String {
    // The MySQL-native form, computed independently of starkeep's own code.
    let out = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import hashlib;print('*'+hashlib.sha1(hashlib.sha1(b'{pw}').digest()).hexdigest().upper())"
        ))
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn operator_cli_is_scriptable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, id, err) = cli(d, &["project", "create", "analytics"], &[], None);
    assert!(ok, "{err}");
    let project_id = id.trim().to_owned();
    assert_eq!(project_id.len(), 32);
    assert!(project_id.chars().all(|c| c.is_ascii_alphanumeric()));
    let (ok, _, err) = cli(d, &["project", "create", "analytics"], &[], None);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");

    let (ok, out, _) = cli(d, &["project", "list", "--json"], &[], None);
    assert!(ok);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["name"], "analytics");

    // Password from an environment variable, then from stdin.
    let (ok, uid, err) = cli(
        d,
        &[
            "iam",
            "user",
            "create",
            "--project",
            "analytics",
            "--name",
            "ops",
            "--role",
            "admin",
            "--password-env",
            "OPS_PW",
        ],
        &[("OPS_PW", "Ops-passw0rd")],
        None,
    );
    assert!(ok, "{err}");
    assert_eq!(uid.trim().len(), 32);
    let (ok, out, err) = cli(
        d,
        &[
            "iam",
            "user",
            "create",
            "--project",
            "analytics",
            "--name",
            "viewer",
            "--role",
            "readonly",
            "--json",
        ],
        &[],
        Some("Viewer-passw0rd\n"),
    );
    assert!(ok, "{err}");
    let viewer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(viewer["role"], "readonly");
    let (ok, _, err) = cli(
        d,
        &[
            "iam",
            "user",
            "create",
            "--project",
            "analytics",
            "--name",
            "weak",
        ],
        &[],
        Some("short\n"),
    );
    assert!(!ok);
    assert!(err.contains("at least 8"), "{err}");
    let (ok, _, err) = cli(
        d,
        &["iam", "user", "create", "--project", "nope", "--name", "x"],
        &[],
        Some("Long-enough1\n"),
    );
    assert!(!ok);
    assert!(err.contains("no project named"), "{err}");

    let (ok, iid, err) = cli(
        d,
        &[
            "instance",
            "add",
            "--project",
            "analytics",
            "--engine",
            "embedded",
            "--databases",
            "orders,web",
        ],
        &[],
        None,
    );
    assert!(ok, "{err}");
    let instance_id = iid.trim().to_owned();
    assert!(
        instance_id.ends_with("in07") && instance_id.len() == 36,
        "{instance_id}"
    );
    let (ok, _, err) = cli(
        d,
        &[
            "instance",
            "add",
            "--project",
            "analytics",
            "--engine",
            "oracle",
        ],
        &[],
        None,
    );
    assert!(!ok);
    assert!(err.contains("unknown engine"), "{err}");
    let (ok, out, _) = cli(d, &["instance", "list", "--json"], &[], None);
    assert!(ok);
    let instances: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(instances[0]["id"], instance_id.as_str());
    assert_eq!(instances[0]["engine"], "embedded");
    assert_eq!(
        instances[0]["settings"]["databases"],
        serde_json::json!(["orders", "web"])
    );

    let (ok, token, err) = cli(
        d,
        &["token", "issue", "--project", "analytics", "--user", "ops"],
        &[],
        None,
    );
    assert!(ok, "{err}");
    let token = token.trim().to_owned();
    let (ok, ro_token, _) = cli(
        d,
        &[
            "token",
            "issue",
            "--project",
            "analytics",
            "--user",
            "viewer",
        ],
        &[],
        None,
    );
    assert!(ok);

    // The CLI's objects work through a served API, with JSON logs.
    let mut served = Served::start(d, &[], &["--log-format", "json"]);
    assert!(
        served.stdout.is_empty(),
        "an existing store is not bootstrapped again"
    );
    let users = format!(
        "{}/v3/{project_id}/instances/{instance_id}/starrocks/users",
        served.base()
    );
    let create =
        r#"{"user_name": "cli_user", "password": "Cli_pass1", "databases": ["orders"], "dml": 1}"#;
    let (code, body) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("X-Auth-Token: {token}"),
        "-d",
        create,
        &users,
    ]);
    assert_eq!((code, body["result"].as_str()), (200, Some("SUCCESS")));
    let (code, _) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("X-Auth-Token: {}", ro_token.trim()),
        "-d",
        create,
        &users,
    ]);
    assert_eq!(code, 403);
    let (code, body) = curl(&[
        "-H",
        &format!("X-Auth-Token: {}", ro_token.trim()),
        &format!("{users}?limit=10"),
    ]);
    assert_eq!(code, 200);
    assert_eq!(body["total_count"], 2);

    // The change is in the audit trail; the forbidden attempt and the read are not (the access
    // log has them).
    let (ok, out, err) = cli(d, &["audit", "--project", "analytics", "--json"], &[], None);
    assert!(ok, "{err}");
    let trail: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(trail.as_array().unwrap().len(), 1, "{trail}");
    assert_eq!(trail[0]["action"], "create_account");
    assert_eq!(trail[0]["account"], "cli_user");
    assert_eq!(trail[0]["actor"], "ops");
    assert!(!out.contains("Cli_pass1"));
    let (ok, table, _) = cli(d, &["audit"], &[], None);
    assert!(ok);
    assert!(
        table.contains("create_account") && table.contains("cli_user"),
        "{table}"
    );

    let logs = served.logs().to_vec();
    let access: Vec<Value> = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "starkeep::access")
        .collect();
    assert_eq!(access.len(), 3, "{logs:?}");
    for line in &access {
        for field in ["method", "path", "status", "latency_ms", "request_id"] {
            assert!(!line[field].is_null(), "{field} missing in {line}");
        }
    }
    assert_eq!(access[1]["status"], 403);
    assert_eq!(access[1]["error_code"], "DBS.200044");
    let all = logs.join("\n");
    for secret in [
        "Cli_pass1",
        "Ops-passw0rd",
        "Viewer-passw0rd",
        token.as_str(),
    ] {
        assert!(!all.contains(secret), "a secret in the logs");
    }
}

#[test]
fn help_explains_every_command() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for cmd in ["serve", "project", "iam", "token", "instance"] {
        assert!(help.contains(cmd), "{help}");
    }
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("--listen") && help.contains("STARKEEP_LISTEN"),
        "{help}"
    );
    assert!(
        help.contains("--data-dir") && help.contains("STARKEEP_DATA_DIR"),
        "{help}"
    );
}

#[test]
fn readme_walkthrough_works_as_pasted() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let block = readme
        .split("<!-- walkthrough:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- walkthrough:end -->").next())
        .expect("README has the walkthrough block");
    let script = block
        .trim()
        .trim_start_matches("```sh")
        .trim_end_matches("```")
        .to_owned();

    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &[], &[]);
    // Only the binary's path and the listening port differ from what a reader pastes.
    let script = script
        .replace("cargo run -q --release --", BIN)
        .replace("127.0.0.1:8800", &served.addr);
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("STARKEEP_DATA_DIR", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let answers: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        answers.len(),
        7,
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(answers[0], r#"{"result":"SUCCESS"}"#);
    let list: Value = serde_json::from_str(answers[1]).unwrap();
    assert_eq!(list["total_count"], 2);
    assert_eq!(
        list["user_details"][0]["user_name"], "report_reader",
        "listed by name"
    );
    assert_eq!(list["user_details"][0]["dml"], 1);
    assert_eq!(list["user_details"][1]["user_name"], "root");
    assert_eq!(answers[2], r#"{"result":"SUCCESS"}"#);
    assert_eq!(answers[3], r#"{"result":"SUCCESS"}"#);
    assert_eq!(answers[4], r#"{"success":true}"#);
    assert_eq!(answers[5], r#"{"result":"SUCCESS"}"#);
    assert_eq!(
        answers[6],
        r#"{"error_code":"DBS.200001","error_msg":"参数错误：user_name 长度必须为 2 到 32 个字符"}"#
    );
}
