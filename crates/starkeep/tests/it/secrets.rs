//! No secret in plain text anywhere starkeep writes. A realistic session runs against the real
//! binary with JSON logs at debug level — bootstrap with a chosen admin password, logins (one
//! with a wrong password), an IAM user made with the CLI, tokens from the API and the CLI, a
//! forged token, accounts created with known passwords (both spellings, one refused), password
//! changes, a delete — and then every captured log line (server and CLI) and every file under
//! the data dir (the SQLite file, its WAL, the key files) is searched for every secret, raw and
//! as hex, upper-case hex, base64 and base64url.
//!
//! The one place a secret belongs is its own key file (`keys/*.key`, mode 0600): the signing key
//! is not searched for there. The welcome text on stdout shows a token once, by design; it is
//! not a log. A second session does the same on a PostgreSQL store reached through a URL with a
//! password, with a master key: the logs, the data dir and a dump of the database hold neither
//! the URL's password, nor the master key, nor the unsealed signing key, nor any password.

use std::path::Path;
use std::process::Command;

use crate::common;
use crate::common::{cli, Served};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

const ADMIN_PASSWORD: &str = "Boot-admin-Passw0rd";
const OPS_PASSWORD: &str = "Ops-iam-Passw0rd#1";
const WRONG_GUESS: &str = "Guess-wrong-Passw0rd";
const ACCOUNT_PASSWORDS: [&str; 3] = ["Acct_first_Pw1", "Acct+second+Pw2", "Acct~third~Pw3"];
const CHANGED_PASSWORDS: [&str; 2] = ["Changed_once_Pw4", "Changed^twice^Pw5"];
/// Refused (the user name reversed is not allowed): still a secret.
const REFUSED_PASSWORD: &str = "Rds_12345";

/// A secret and what it is, for the failure message.
struct Secret {
    what: String,
    bytes: Vec<u8>,
}

fn secret(what: &str, bytes: impl AsRef<[u8]>) -> Secret {
    Secret {
        what: what.to_owned(),
        bytes: bytes.as_ref().to_vec(),
    }
}

/// The forms a secret could be written in.
fn encodings(raw: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("raw", raw.to_vec()),
        ("hex", hex::encode(raw).into_bytes()),
        ("HEX", hex::encode_upper(raw).into_bytes()),
        ("base64", STANDARD.encode(raw).into_bytes()),
        ("base64 unpadded", STANDARD_NO_PAD.encode(raw).into_bytes()),
        ("base64url", URL_SAFE_NO_PAD.encode(raw).into_bytes()),
    ]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every (secret, encoding) found in `text`, named after `place`.
fn leaks(place: &str, text: &[u8], secrets: &[Secret]) -> Vec<String> {
    let mut found = Vec::new();
    for s in secrets {
        for (form, needle) in encodings(&s.bytes) {
            if contains(text, &needle) {
                found.push(format!("{} ({form}) in {place}", s.what));
            }
        }
    }
    found
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Leaks in every file under `dir`; a key file is not searched for the key it holds.
fn leaks_in_dir(dir: &Path, secrets: &[Secret], own_key: Option<(&Path, &[u8])>) -> Vec<String> {
    let mut found = Vec::new();
    for file in files_under(dir) {
        let bytes = std::fs::read(&file).unwrap();
        let searched: Vec<Secret> = secrets
            .iter()
            .filter(|s| own_key != Some((file.as_path(), s.bytes.as_slice())))
            .map(|s| secret(&s.what, &s.bytes))
            .collect();
        found.extend(leaks(&file.display().to_string(), &bytes, &searched));
    }
    found
}

async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = client.request(method, url).json(&body);
    if let Some(t) = token {
        req = req.header("X-Auth-Token", t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn login_body(user: &str, password: &str) -> Value {
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "password": password, "domain": {"name": "default"}}}},
        "scope": {"project": {"name": "default"}}}})
}

/// The API part of a session, the same on both stores. Returns the tokens it was given.
async fn api_session(base: &str, project: &str, instance: &str, cli_token: &str) -> Vec<String> {
    let client = reqwest::Client::new();
    let tokens_url = format!("{base}/v3/auth/tokens");
    let (status, headers, _) = send(
        &client,
        reqwest::Method::POST,
        &tokens_url,
        None,
        login_body("admin", ADMIN_PASSWORD),
    )
    .await;
    assert_eq!(status, 201);
    let token = headers["x-subject-token"].to_str().unwrap().to_owned();
    let (status, _, _) = send(
        &client,
        reqwest::Method::POST,
        &tokens_url,
        None,
        login_body("admin", WRONG_GUESS),
    )
    .await;
    assert_eq!(status, 401);
    let (status, headers, _) = send(
        &client,
        reqwest::Method::POST,
        &tokens_url,
        None,
        login_body("ops", OPS_PASSWORD),
    )
    .await;
    assert_eq!(status, 201);
    let ops_token = headers["x-subject-token"].to_str().unwrap().to_owned();

    let starrocks = format!("{base}/v3/{project}/instances/{instance}/starrocks");
    let users = format!("{starrocks}/users");
    for (i, password) in ACCOUNT_PASSWORDS.iter().enumerate() {
        let body = if i % 2 == 0 {
            json!({"user_name": format!("secret_{i}"), "password": password, "databases": ["*"]})
        } else {
            json!({"userName": format!("secret_{i}"), "passWord": password, "dataBases": ["sales"], "dml": 1})
        };
        let t = if i == 2 { cli_token } else { &token };
        let (status, _, body) = send(&client, reqwest::Method::POST, &users, Some(t), body).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _, _) = send(
        &client,
        reqwest::Method::POST,
        &users,
        Some(&ops_token),
        json!({"user_name": "54321_sdr", "password": REFUSED_PASSWORD, "databases": ["*"]}),
    )
    .await;
    assert_eq!(status, 400);
    for (i, password) in CHANGED_PASSWORDS.iter().enumerate() {
        let (status, _, body) = send(
            &client,
            reqwest::Method::PUT,
            &format!("{users}/password"),
            Some(&ops_token),
            json!({"user_name": format!("secret_{i}"), "password": password}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let forged = format!("{}x", &token[..token.len() - 1]);
    let (status, _, _) = send(
        &client,
        reqwest::Method::GET,
        &format!("{users}?limit=10"),
        Some(&forged),
        Value::Null,
    )
    .await;
    assert_eq!(status, 401);
    let (status, _, body) = send(
        &client,
        reqwest::Method::GET,
        &format!("{users}?limit=10"),
        Some(&token),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["total_count"], 4, "{body}");
    let (status, _, _) = send(
        &client,
        reqwest::Method::DELETE,
        &format!("{starrocks}/user?user_name=secret_2"),
        Some(&token),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    vec![token, ops_token, forged]
}

fn password_secrets() -> Vec<Secret> {
    let mut secrets = vec![
        secret("the admin password", ADMIN_PASSWORD),
        secret("an IAM user's password", OPS_PASSWORD),
        secret("a wrong login password", WRONG_GUESS),
        secret("a refused account password", REFUSED_PASSWORD),
    ];
    secrets.extend(ACCOUNT_PASSWORDS.map(|p| secret("an account password", p)));
    secrets.extend(CHANGED_PASSWORDS.map(|p| secret("a changed account password", p)));
    secrets
}

/// Makes the IAM user `ops` and issues it a token, with the CLI; returns the token and the
/// CLI's stderr.
fn cli_part(dir: &Path, envs: &[(&str, &str)]) -> (String, String) {
    let mut logs = String::new();
    let with_json: Vec<(&str, &str)> = envs.to_vec();
    let (ok, _, err) = cli(
        dir,
        &[
            "--log-format",
            "json",
            "iam",
            "user",
            "create",
            "--project",
            "default",
            "--name",
            "ops",
            "--role",
            "admin",
        ],
        &with_json,
        Some(&format!("{OPS_PASSWORD}\n")),
    );
    assert!(ok, "{err}");
    logs.push_str(&err);
    let (ok, token, err) = cli(
        dir,
        &[
            "--log-format",
            "json",
            "token",
            "issue",
            "--project",
            "default",
            "--user",
            "ops",
        ],
        &with_json,
        None,
    );
    assert!(ok, "{err}");
    logs.push_str(&err);
    (token.trim().to_owned(), logs)
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_in_logs_or_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let envs = [
        ("STARKEEP_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("RUST_LOG", "debug"),
    ];
    let mut served = Served::start(dir.path(), &envs, &["--log-format", "json"]);
    let (welcome_token, project, instance) = common::welcome_facts(&served.stdout);
    let (cli_token, cli_logs) = cli_part(dir.path(), &envs);
    let tokens = api_session(&served.base(), &project, &instance, &cli_token).await;
    // A connection that sends nothing, for a debug line: the debug level is really on.
    drop(std::net::TcpStream::connect(&served.addr).unwrap());

    let key_file = dir.path().join("keys").join("token-signing.key");
    let signing_key = std::fs::read(&key_file).unwrap();
    assert_eq!(signing_key.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is private");
    }
    let mut secrets = password_secrets();
    secrets.push(secret("the token signing key", &signing_key));
    secrets.push(secret("the welcome token", &welcome_token));
    secrets.push(secret("the CLI's token", &cli_token));
    for t in &tokens {
        secrets.push(secret("a token", t));
    }

    // While the server runs, with the WAL as it is; then after a clean stop.
    let own_key = Some((key_file.as_path(), signing_key.as_slice()));
    let mut found = leaks_in_dir(dir.path(), &secrets, own_key);
    assert!(
        files_under(dir.path())
            .iter()
            .any(|f| f.to_string_lossy().ends_with("-wal")),
        "the WAL was searched"
    );
    assert!(served.terminate().success());
    found.extend(leaks_in_dir(dir.path(), &secrets, own_key));
    let logs = served.logs().join("\n");
    let debug_lines = logs
        .lines()
        .filter(|l| l.contains(r#""level":"DEBUG""#))
        .count();
    assert!(debug_lines > 0, "debug logging was on: {logs}");
    assert!(logs.contains("/users/password"), "the session was logged");
    found.extend(leaks("the server's log", logs.as_bytes(), &secrets));
    found.extend(leaks("the CLI's log", cli_logs.as_bytes(), &secrets));
    assert!(
        found.is_empty(),
        "secrets written in plain text: {found:#?}"
    );
}

/// A database of the test's own on 127.0.0.1:5432, dropped after it.
struct Database {
    name: String,
}

impl Database {
    fn create() -> Database {
        let name = format!("starkeep_secrets_{:016x}", rand::random::<u64>());
        psql(&format!("CREATE DATABASE {name}"));
        Database { name }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn psql(sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-Atqc",
            sql,
        ])
        .output()
        .expect("psql, and PostgreSQL on 127.0.0.1:5432 (scripts/test starts it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_in_logs_data_dir_or_database_on_a_shared_store() {
    let db = Database::create();
    // PostgreSQL here trusts loopback, so it ignores the password; starkeep must still keep it
    // to itself.
    let dsn_password = "Store-dsn-Passw0rd";
    let url = format!(
        "postgres://postgres:{dsn_password}@127.0.0.1:5432/{}",
        db.name
    );
    let master: [u8; 32] = rand::random();
    let master_hex = hex::encode(master);
    let envs = [
        ("STARKEEP_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("STARKEEP_DATABASE_URL", url.as_str()),
        ("STARKEEP_MASTER_KEY", master_hex.as_str()),
        ("RUST_LOG", "debug"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut served = Served::start(dir.path(), &envs, &["--log-format", "json"]);
    let (welcome_token, project, instance) = common::welcome_facts(&served.stdout);
    let (cli_token, cli_logs) = cli_part(dir.path(), &envs);
    let tokens = api_session(&served.base(), &project, &instance, &cli_token).await;
    assert!(served.terminate().success());

    let sealed = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", &db.name, "-Atqc"])
        .arg("SELECT sealed FROM replica_keys WHERE name = 'token-signing'")
        .output()
        .unwrap();
    let sealed = String::from_utf8(sealed.stdout).unwrap();
    let signing_key = starkeep_auth::SecretBox::from_slice(&master)
        .open(sealed.trim())
        .expect("the shared signing key opens with the master key");
    let dump = Command::new("pg_dump")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", &db.name])
        .output()
        .expect("pg_dump");
    assert!(dump.status.success());
    assert!(
        contains(&dump.stdout, b"embedded_accounts"),
        "the dump has the data"
    );

    let mut secrets = password_secrets();
    secrets.push(secret("the store URL's password", dsn_password));
    secrets.push(secret("the master key", master));
    secrets.push(secret("the master key as given", &master_hex));
    secrets.push(secret("the token signing key", signing_key.as_slice()));
    secrets.push(secret("the welcome token", &welcome_token));
    secrets.push(secret("the CLI's token", &cli_token));
    for t in &tokens {
        secrets.push(secret("a token", t));
    }
    let mut found = leaks_in_dir(dir.path(), &secrets, None);
    found.extend(leaks("the database dump", &dump.stdout, &secrets));
    found.extend(leaks(
        "the server's log",
        served.logs().join("\n").as_bytes(),
        &secrets,
    ));
    found.extend(leaks("the CLI's log", cli_logs.as_bytes(), &secrets));
    assert!(
        found.is_empty(),
        "secrets written in plain text: {found:#?}"
    );
}
