//! Several `starkeep` processes on one PostgreSQL store (127.0.0.1:5432, a database of the
//! test's own): each with an empty data dir of its own, they bootstrap once, share their keys
//! through the store, accept each other's tokens and access keys, and answer a create race
//! exactly once.

mod common;

use std::process::Command;

use common::{curl, Served};
use serde_json::Value;

/// A database made for one test and dropped after it.
struct Database {
    name: String,
}

impl Database {
    fn create() -> Database {
        let name = format!("starkeep_replicas_{:016x}", rand::random::<u64>());
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc"])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .expect("psql, and PostgreSQL on 127.0.0.1:5432 (scripts/test starts it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Database { name }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc"])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .output();
    }
}

fn master_key() -> String {
    (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

#[test]
fn replicas_share_one_postgres_store() {
    let db = Database::create();
    let url = db.url();
    let key = master_key();
    let env = [
        ("STARKEEP_DATABASE_URL", url.as_str()),
        ("STARKEEP_MASTER_KEY", key.as_str()),
    ];
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();

    let first = Served::start(dirs[0].path(), &env, &[]);
    let second = Served::start(dirs[1].path(), &env, &[]);
    assert!(first.stdout.contains("first start"), "{}", first.stdout);
    assert!(
        second.stdout.is_empty(),
        "only one replica bootstraps: {}",
        second.stdout
    );
    for dir in &dirs[..2] {
        assert!(
            !dir.path().join("keys").exists(),
            "a replica keeps no keys in its data dir"
        );
    }

    let token = first
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("export STARKEEP_TOKEN='"))
        .map(|t| t.trim_end_matches('\''))
        .unwrap()
        .to_owned();
    let path = first
        .stdout
        .lines()
        .find_map(|l| {
            l.split('\'')
                .find(|part| part.starts_with("http://") && part.ends_with("/users"))
        })
        .map(|u| u.split_once("/v3/").unwrap().1.to_owned())
        .unwrap();
    let users = |s: &Served| format!("{}/v3/{path}", s.base());
    let auth = format!("X-Auth-Token: {token}");

    // A token issued by the first replica works on the second, and on a third started later.
    let third = Served::start(dirs[2].path(), &env, &[]);
    for s in [&first, &second, &third] {
        let (code, body) = curl(&["-H", &auth, &format!("{}?limit=10", users(s))]);
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["user_details"][0]["user_name"], "root");
    }
    // A forged token is refused everywhere.
    let forged = format!("X-Auth-Token: {}x", &token[..token.len() - 1]);
    let (code, _) = curl(&["-H", &forged, &format!("{}?limit=10", users(&second))]);
    assert_eq!(code, 401);

    // An access key made through one replica's CLI signs requests that every replica accepts:
    // its SK is sealed with the shared secrets key, and a wrong SK is refused everywhere.
    let (ok, out, err) = common::cli(
        dirs[0].path(),
        &[
            "iam",
            "credential",
            "create",
            "--project",
            "default",
            "--user",
            "admin",
            "--json",
        ],
        &env,
        None,
    );
    assert!(ok, "{err}");
    let pair: Value = serde_json::from_str(out.trim()).unwrap();
    let (ak, sk) = (pair["ak"].as_str().unwrap(), pair["sk"].as_str().unwrap());
    for s in [&first, &second, &third] {
        let url = format!("{}?limit=10", users(s));
        let (code, body) = common::signed_curl("GET", &url, "", ak, sk);
        assert_eq!(code, 200, "{body}");
        let (code, _) = common::signed_curl("GET", &url, "", ak, "not-the-sk");
        assert_eq!(code, 401);
    }

    // Written through one replica, read through another.
    let body = r#"{"user_name": "shared_acct", "password": "Rds_1234", "databases": ["sales"]}"#;
    let (code, _) = curl(&["-X", "POST", "-H", &auth, "-d", body, &users(&first)]);
    assert_eq!(code, 200);
    let (_, listed) = curl(&[
        "-H",
        &auth,
        &format!("{}?limit=10&user_name=shared_acct", users(&third)),
    ]);
    assert_eq!(listed["total_count"], 1);

    // 20 creates of one account, spread over two replicas: exactly one succeeds.
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let target = if i % 2 == 0 {
                users(&first)
            } else {
                users(&second)
            };
            let auth = auth.clone();
            std::thread::spawn(move || {
                let body = format!(
                    r#"{{"user_name": "raced", "password": "Rds_{i:04}", "databases": ["sales"]}}"#
                );
                curl(&["-X", "POST", "-H", &auth, "-d", &body, &target])
            })
        })
        .collect();
    let answers: Vec<(u16, Value)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let won = answers.iter().filter(|(code, _)| *code == 200).count();
    assert_eq!(won, 1, "{answers:?}");
    for (code, body) in answers.iter().filter(|(code, _)| *code != 200) {
        assert_eq!(
            (*code, body["error_code"].as_str()),
            (400, Some("DBS.280001"))
        );
    }

    // A replica with the wrong master key refuses to start instead of minting other keys.
    let other_key = master_key();
    let out = Command::new(common::BIN)
        .args(["token", "issue", "--project", "default", "--user", "admin"])
        .env("STARKEEP_DATABASE_URL", &url)
        .env("STARKEEP_MASTER_KEY", &other_key)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not open with this master key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And without any master key, it says what to set.
    let out = Command::new(common::BIN)
        .args(["project", "list"])
        .env("STARKEEP_DATABASE_URL", &url)
        .env_remove("STARKEEP_MASTER_KEY")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("STARKEEP_MASTER_KEY"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
