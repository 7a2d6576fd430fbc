//! MariaDB stopped (SIGKILL) in the middle of a run of concurrent creates on a `mysql` instance
//! of the real `starkeep serve`. The MariaDB is the test's own (own data dir, port and socket),
//! so it can be killed and started again on the same data dir.
//!
//! While it is down every create answers within the instance's time limit, either 200 (it was
//! whole before the kill) or 500 with the contract's backend-unavailable code, and starkeep keeps
//! answering `/health`. Once it is back and the repair loop has run, the grant tables
//! (`mysql.user` for the placeholder hash of an unfinished create, `mysql.global_priv` for a lock,
//! `mysql.db` for the grants) hold every account either completely — finished, with the same
//! grants as an account made before the fault — or not at all, and every create that answered 200
//! is there.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common;
use crate::common::{cli, Served};
use serde_json::{json, Value};
use starkeep_engine::mysql_wire::mysql::UNFINISHED_HASH;
use starkeep_testkit::mariadb::OwnMariaDb;

const ADMIN: &str = "fault_admin";
const ADMIN_PASSWORD: &str = "Fault-admin-pw-1";
const DATABASE: &str = "faultdb";
/// The instance's time limit per operation (`instance add --timeout-secs`).
const INSTANCE_TIMEOUT: Duration = Duration::from_secs(2);
/// The server's request time limit; pending creates are repaired after twice this.
const REQUEST_TIMEOUT_SECS: u64 = 3;
const CONCURRENCY: usize = 16;
/// MariaDB is killed once this many creates have answered 200.
const KILL_AFTER: usize = 40;
/// Creates each worker still sends after the kill.
const AFTER_KILL: usize = 4;
/// The contract's code for "the database instance is unavailable".
const BACKEND_UNAVAILABLE: &str = "DBS.280500";

/// What one create answered, and how long it took.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    code: Option<String>,
    took: Duration,
    after_kill: bool,
}

fn create_body(name: &str) -> Value {
    json!({"user_name": name, "password": "Fault_pw_123", "databases": [DATABASE], "dml": 0, "ddl": 1})
}

/// Creates `prefix_<worker>_<n>` from `CONCURRENCY` workers until `KILL_AFTER` have answered
/// 200, then kills MariaDB, and lets each worker send `AFTER_KILL` more.
fn creates_with_a_kill(
    mariadb: &mut OwnMariaDb,
    users: &str,
    token: &str,
    prefix: &str,
) -> BTreeMap<String, Answer> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let answers = Arc::new(Mutex::new(BTreeMap::new()));
    let ok = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let enough = Arc::new(tokio::sync::Notify::new());
    runtime.block_on(async {
        let mut workers = Vec::new();
        for w in 0..CONCURRENCY {
            let (client, users, token, prefix) = (
                client.clone(),
                users.to_owned(),
                token.to_owned(),
                prefix.to_owned(),
            );
            let (answers, ok, killed, enough) =
                (answers.clone(), ok.clone(), killed.clone(), enough.clone());
            workers.push(tokio::spawn(async move {
                let mut after = 0;
                for n in 0.. {
                    let after_kill = killed.load(Ordering::SeqCst);
                    if after_kill {
                        if after == AFTER_KILL {
                            break;
                        }
                        after += 1;
                    }
                    let name = format!("{prefix}_{w}_{n}");
                    let started = Instant::now();
                    let response = client
                        .post(&users)
                        .header("X-Auth-Token", &token)
                        .json(&create_body(&name))
                        .send()
                        .await
                        .expect("starkeep answers");
                    let status = response.status().as_u16();
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    let took = started.elapsed();
                    if status == 200 && ok.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                        enough.notify_one();
                    }
                    let code = body["error_code"].as_str().map(str::to_owned);
                    answers.lock().unwrap().insert(
                        name,
                        Answer {
                            status,
                            code,
                            took,
                            after_kill,
                        },
                    );
                }
            }));
        }
        enough.notified().await;
        mariadb.kill();
        killed.store(true, Ordering::SeqCst);
        for w in workers {
            w.await.unwrap();
        }
    });
    Arc::try_unwrap(answers).unwrap().into_inner().unwrap()
}

/// Per account of `prefix`: whether it is an unfinished create — the placeholder hash that the
/// create's last GRANT replaces, or locked (from `mysql.global_priv`, where MariaDB keeps the
/// lock; `mysql.user` is a view without it).
fn accounts(mariadb: &OwnMariaDb, prefix: &str) -> BTreeMap<String, bool> {
    // One statement, so that the repair loop cannot drop an account between two reads.
    mariadb
        .root_rows(&format!(
            "SELECT u.User, IF(IFNULL(JSON_EXTRACT(g.Priv, '$.account_locked'), 'false') = 'true' \
             OR u.authentication_string = '{UNFINISHED_HASH}', 'unfinished', 'whole') \
             FROM mysql.user u JOIN mysql.global_priv g ON g.User = u.User AND g.Host = u.Host \
             WHERE u.User LIKE '{prefix}\\_%' AND u.Host = '%'"
        ))
        .into_iter()
        .map(|row| {
            let (user, state) = row.split_once('\t').unwrap();
            (user.to_owned(), state == "unfinished")
        })
        .collect()
}

/// Per account of `prefix`: its `mysql.db` rows, each as the database and every privilege
/// column.
fn db_grants(mariadb: &OwnMariaDb, prefix: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in mariadb.root_rows(&format!(
        "SELECT * FROM mysql.db WHERE User LIKE '{prefix}\\_%' AND Host = '%' ORDER BY Db"
    )) {
        // Host, Db, User, then the privilege columns.
        let fields: Vec<&str> = row.split('\t').collect();
        let privileges = format!("{} {}", fields[1], fields[3..].join(""));
        out.entry(fields[2].to_owned())
            .or_default()
            .push(privileges);
    }
    out
}

#[test]
fn mariadb_killed_during_creates_leaves_each_account_whole_or_absent() {
    let mut mariadb = OwnMariaDb::start(ADMIN, ADMIN_PASSWORD);
    assert!(mariadb.root(&format!("CREATE DATABASE {DATABASE}")));

    let dir = tempfile::tempdir().unwrap();
    let mut served = Served::start(
        dir.path(),
        &[],
        &[
            "--repair-interval-secs",
            "1",
            "--request-timeout-secs",
            &REQUEST_TIMEOUT_SECS.to_string(),
        ],
    );
    let token = common::welcome_token(&served.stdout);
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
            &format!("mysql://{ADMIN}@127.0.0.1:{}", mariadb.port),
            "--password-env",
            "SK_FAULT_ADMIN_PW",
            "--timeout-secs",
            &INSTANCE_TIMEOUT.as_secs().to_string(),
            "--json",
        ],
        &[("SK_FAULT_ADMIN_PW", ADMIN_PASSWORD)],
        None,
    );
    assert!(ok, "{out}{err}");
    let added: Value = serde_json::from_str(out.trim()).unwrap();
    let users = format!(
        "{}/v3/{}/instances/{}/starrocks/users",
        served.base(),
        added["project_id"].as_str().unwrap(),
        added["id"].as_str().unwrap()
    );

    // An account made before the fault: what "complete" looks like in the grant tables.
    let (code, answer) = common::curl(&[
        "-X",
        "POST",
        "-H",
        &format!("X-Auth-Token: {token}"),
        "-H",
        "Content-Type: application/json",
        "-d",
        &create_body("ref_complete").to_string(),
        &users,
    ]);
    assert_eq!(code, 200, "{answer}");
    let reference = db_grants(&mariadb, "ref")["ref_complete"].clone();
    assert!(
        reference[0].starts_with(&format!("{DATABASE} YYYY")),
        "the reference account holds SELECT, INSERT, UPDATE, DELETE on {DATABASE}: {reference:?}"
    );

    let prefix = format!("f{:05x}", rand::random::<u32>() & 0xf_ffff);
    let answers = creates_with_a_kill(&mut mariadb, &users, &token, &prefix);

    // While MariaDB is down: clear answers within the time limit, and starkeep is up.
    let limit = INSTANCE_TIMEOUT * 2 + Duration::from_secs(1);
    let mut failed = 0;
    for (name, a) in &answers {
        match (a.status, a.code.as_deref()) {
            (200, None) => assert!(!a.after_kill, "{name} answered 200 with MariaDB down"),
            (500, Some(BACKEND_UNAVAILABLE)) => failed += 1,
            other => panic!("{name} answered {other:?}, not 200 or 500 {BACKEND_UNAVAILABLE}"),
        }
        // The create checks the account (one time limit), then makes it (another).
        assert!(
            a.took <= limit,
            "{name} took {:?}, over {limit:?} (twice the instance's time limit, plus 1 s)",
            a.took
        );
    }
    let after_kill = answers.values().filter(|a| a.after_kill).count();
    assert_eq!(after_kill, CONCURRENCY * AFTER_KILL);
    assert!(failed >= after_kill, "every create after the kill failed");
    let slowest = answers.values().map(|a| a.took).max().unwrap();
    let (code, _) = common::curl(&[&format!("{}/health", served.base())]);
    assert_eq!(code, 200, "starkeep answers /health while MariaDB is down");

    // MariaDB back on the same data dir; the repair loop drops what the kill left half-made.
    mariadb.restart();
    let deadline = Instant::now() + Duration::from_secs(REQUEST_TIMEOUT_SECS * 2 + 60);
    let unfinished_at_restart = accounts(&mariadb, &prefix).values().filter(|u| **u).count();
    let mut unfinished: Vec<String>;
    loop {
        unfinished = accounts(&mariadb, &prefix)
            .into_iter()
            .filter_map(|(name, unfinished)| unfinished.then_some(name))
            .collect();
        if unfinished.is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        unfinished,
        Vec::<String>::new(),
        "half-made accounts are still there after the repair"
    );

    let present = accounts(&mariadb, &prefix);
    let grants = db_grants(&mariadb, &prefix);
    for (name, a) in &answers {
        let exists = present.contains_key(name);
        if a.status == 200 {
            assert!(exists, "{name} answered 200 but is not in mysql.user");
        }
        if exists {
            assert_eq!(
                grants.get(name),
                Some(&reference),
                "{name} exists without all its grants; it answered {a:?}; {unfinished_at_restart} \
                 were unfinished at the restart"
            );
        } else {
            assert!(
                !grants.contains_key(name),
                "{name} has grants in mysql.db but no account"
            );
        }
    }
    for name in grants.keys() {
        assert!(answers.contains_key(name), "{name} was never asked for");
    }

    // MariaDB is usable again through starkeep.
    let (code, answer) = common::curl(&[
        "-X",
        "POST",
        "-H",
        &format!("X-Auth-Token: {token}"),
        "-H",
        "Content-Type: application/json",
        "-d",
        &create_body(&format!("{prefix}_after")).to_string(),
        &users,
    ]);
    assert_eq!(code, 200, "{answer}");

    let ok = answers.values().filter(|a| a.status == 200).count();
    let logs = served.logs().to_vec();
    let repaired = logs
        .iter()
        .filter(|l| l.contains("dropped an account an unfinished create left behind"))
        .count();
    for line in logs.iter().filter(|l| l.contains("repair")) {
        println!("faults: log: {line}");
    }
    let kept_after_5xx = answers
        .iter()
        .filter(|(n, a)| a.status != 200 && present.contains_key(*n))
        .count();
    println!(
        "faults: {} creates at concurrency {CONCURRENCY}, MariaDB SIGKILLed after {KILL_AFTER} \
         answered 200: {ok} answered 200, {failed} answered 500 {BACKEND_UNAVAILABLE} \
         (slowest answer {slowest:?}); at restart {unfinished_at_restart} unfinished (half-made); \
         after the repair {} accounts exist ({kept_after_5xx} of them answered 500 but were \
         whole), {repaired} half-made dropped by the repair loop, none unfinished, none partial",
        answers.len(),
        present.len(),
    );
    assert!(served.terminate().success());
}
