//! Several `starkeep` processes on one PostgreSQL store (127.0.0.1:5432, a database of the
//! test's own): each with an empty data dir of its own, they bootstrap once, share their keys
//! through the store, accept each other's tokens and access keys, and answer a create race
//! exactly once. Account sync on them: one replica reconciles an instance, and when it is killed
//! another takes over within one interval.

use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::common;
use crate::common::{curl, Served};
use serde_json::Value;
use starkeep_testkit::mariadb::{self, OwnMariaDb, SharedLeftovers};
use time::OffsetDateTime;

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

    let token = common::welcome_token(&first.stdout);
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

/// The reconciler's interval in the sync test. Its lease is half of it, renewed every quarter:
/// at 2 s a holder stalled for half a second on a loaded 2-core machine lost its lease to a
/// survivor (seen once while benchmarks ran beside the suite), so the test gives it 4 s.
const INTERVAL: Duration = Duration::from_secs(4);

/// Accounts and a database made at the shared MariaDB (the sync source); they and anything else
/// named with the prefix are dropped afterwards, also if the test panics.
struct SourceAccounts {
    names: Vec<String>,
    database: String,
    _leftovers: SharedLeftovers,
}

impl SourceAccounts {
    fn create(count: usize) -> SourceAccounts {
        let prefix = format!("rp{:06x}", rand::random::<u32>() & 0xff_ffff);
        let leftovers = SharedLeftovers::new(&prefix);
        let database = format!("{prefix}_db");
        let names: Vec<String> = (0..count).map(|i| format!("{prefix}_u{i}")).collect();
        let mut script = format!("CREATE DATABASE `{database}`;");
        for (i, name) in names.iter().enumerate() {
            script.push_str(&format!(
                "CREATE USER '{name}'@'%' IDENTIFIED BY 'Src-pass-{i}'; \
                 GRANT SELECT ON `{database}`.* TO '{name}'@'%';"
            ));
        }
        mariadb::sql_script(&mariadb::SHARED, &script);
        SourceAccounts {
            names,
            database,
            _leftovers: leftovers,
        }
    }
}

/// One `account sync run` log line of a replica.
#[derive(Debug, Clone)]
struct LoggedRun {
    holder: String,
    /// When the run began: the line's time less the run's duration.
    began: OffsetDateTime,
    created: u64,
    updated: u64,
    dropped: u64,
    unchanged: u64,
    skipped: u64,
    conflicts: u64,
    failed: u64,
}

/// A JSON log line's time.
fn logged_at(line: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(
        line["timestamp"].as_str().expect("a timestamp"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

/// The JSON log lines of `replica` with `message` about `instance`.
fn logged(replica: &mut Served, message: &str, instance: &str) -> Vec<Value> {
    replica
        .logs()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == message && v["instance"] == instance)
        .collect()
}

/// The sync runs of `instance` that `replica` logged.
fn runs(replica: &mut Served, instance: &str) -> Vec<LoggedRun> {
    let count = |v: &Value, field: &str| v[field].as_u64().unwrap();
    logged(replica, "account sync run", instance)
        .iter()
        .map(|v| LoggedRun {
            holder: v["holder"].as_str().unwrap().to_owned(),
            began: logged_at(v) - Duration::from_millis(count(v, "duration_ms")),
            created: count(v, "created"),
            updated: count(v, "updated"),
            dropped: count(v, "dropped"),
            unchanged: count(v, "unchanged"),
            skipped: count(v, "skipped"),
            conflicts: count(v, "conflicts"),
            failed: count(v, "failed"),
        })
        .collect()
}

/// The value of the Prometheus sample `name{labels}` (0 when absent) in `/metrics` text.
fn sample(metrics: &str, name: &str, labels: &str) -> u64 {
    let key = format!("{name}{{{labels}}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&key))
        .map_or(0, |v| v.trim().parse::<f64>().unwrap() as u64)
}

/// A replica's sync counters: runs by outcome (ok, partial, failed, abandoned), then accounts by
/// result (created, updated, dropped, unchanged, skipped, conflicts, failed).
fn sync_counters(replica: &Served) -> Vec<u64> {
    let out = Command::new("curl")
        .args(["-sf", &format!("{}/metrics", replica.base())])
        .output()
        .unwrap();
    assert!(out.status.success(), "GET /metrics");
    let text = String::from_utf8(out.stdout).unwrap();
    let runs = ["ok", "partial", "failed", "abandoned"].map(|o| {
        sample(
            &text,
            "starkeep_sync_runs_total",
            &format!("outcome=\"{o}\""),
        )
    });
    let accounts = [
        "created",
        "updated",
        "dropped",
        "unchanged",
        "skipped",
        "conflicts",
        "failed",
    ]
    .map(|r| {
        sample(
            &text,
            "starkeep_sync_accounts_total",
            &format!("result=\"{r}\""),
        )
    });
    runs.into_iter().chain(accounts).collect()
}

/// Waits (readiness, not timing) until `check` holds.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..300 {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("never happened: {what}");
}

#[test]
fn a_killed_replicas_sync_is_taken_over_within_one_interval() {
    let _turn = crate::common::shared_server_turn();
    let db = Database::create();
    let url = db.url();
    let key = master_key();
    // The target: a MariaDB of the test's own, with an admin for starkeep.
    let target = OwnMariaDb::start("starkeep", "Target-admin-1");
    let source = SourceAccounts::create(3);
    assert!(target.root(&format!("CREATE DATABASE `{}`", source.database)));
    let env = [
        ("STARKEEP_DATABASE_URL", url.as_str()),
        ("STARKEEP_MASTER_KEY", key.as_str()),
        ("STARKEEP_TEST_TARGET_PW", "Target-admin-1"),
        ("STARKEEP_TEST_EMPTY", ""),
    ];
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let interval = INTERVAL.as_secs().to_string();
    let args = ["--sync-interval-secs", &interval, "--log-format", "json"];
    let mut replicas: Vec<Served> = dirs
        .iter()
        .map(|d| Served::start(d.path(), &env, &args))
        .collect();
    let (token, project, _) = common::welcome_facts(&replicas[0].stdout);

    // An instance whose target is the test's MariaDB and whose source is the shared one.
    let (ok, id, err) = common::cli(
        dirs[0].path(),
        &[
            "instance",
            "add",
            "--project",
            "default",
            "--engine",
            "mysql",
            "--dsn",
            &format!("mysql://starkeep@127.0.0.1:{}", target.port),
            "--password-env",
            "STARKEEP_TEST_TARGET_PW",
            "--taurus-dsn",
            "mysql://root@127.0.0.1:3306",
            "--taurus-password-env",
            "STARKEEP_TEST_EMPTY",
        ],
        &env,
        None,
    );
    assert!(ok, "{err}");
    let id = id.trim().to_owned();

    // Switched on through the second replica.
    let (code, body) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("X-Auth-Token: {token}"),
        "-d",
        r#"{"action": "startSyncTaurusAccount"}"#,
        &format!(
            "{}/v3/{project}/instances/{id}/starrocks/users/sync",
            replicas[1].base()
        ),
    ]);
    assert_eq!((code, &body), (200, &serde_json::json!({"success": true})));
    eventually("the source accounts are mirrored", || {
        target.login(&source.names[0], "Src-pass-0")
    });

    // Over three intervals, one replica reconciles the instance, once per interval.
    std::thread::sleep(INTERVAL * 3);
    let seen: Vec<Vec<LoggedRun>> = replicas.iter_mut().map(|r| runs(r, &id)).collect();
    let holders: Vec<usize> = (0..3).filter(|&i| !seen[i].is_empty()).collect();
    assert_eq!(holders.len(), 1, "exactly one replica reconciles: {seen:?}");
    let first = holders[0];
    let first_runs = &seen[first];
    assert!(first_runs.len() >= 3, "{first_runs:?}");
    for pair in first_runs.windows(2) {
        let gap = pair[1].began - pair[0].began;
        assert!(
            gap >= INTERVAL - Duration::from_millis(100),
            "runs once per interval, not more: {gap} between {pair:?}"
        );
    }
    assert!(
        first_runs[0].created >= 3,
        "the first run created the test's accounts: {first_runs:?}"
    );
    assert!(
        first_runs[1..]
            .iter()
            .all(|r| r.created == 0 && r.unchanged >= 3),
        "later runs find the accounts in place: {first_runs:?}"
    );
    // The holder's counters add up to the runs it logged (read between two equal scrapes, so
    // that no run ends in between).
    let holder = &mut replicas[first];
    let (counters, logged_runs) = (0..10)
        .find_map(|_| {
            let before = sync_counters(holder);
            let logged_runs = runs(holder, &id);
            (sync_counters(holder) == before).then_some((before, logged_runs))
        })
        .expect("two equal scrapes around reading the log");
    let sum = |f: fn(&LoggedRun) -> u64| logged_runs.iter().map(f).sum::<u64>();
    let runs_with = |partial: bool| {
        let n = logged_runs
            .iter()
            .filter(|r| (r.failed > 0) == partial)
            .count();
        u64::try_from(n).unwrap()
    };
    assert_eq!(
        counters,
        vec![
            runs_with(false),
            runs_with(true),
            0,
            0,
            sum(|r| r.created),
            sum(|r| r.updated),
            sum(|r| r.dropped),
            sum(|r| r.unchanged),
            sum(|r| r.skipped),
            sum(|r| r.conflicts),
            sum(|r| r.failed),
        ],
        "the holder's /metrics against its runs {logged_runs:?}"
    );
    assert!(counters[4] >= 3, "at least the test's accounts created");
    println!(
        "the holder's sync counters: runs ok/partial/failed/abandoned {:?}, \
         accounts created/updated/dropped/unchanged/skipped/conflicts/failed {:?}",
        &counters[..4],
        &counters[4..]
    );

    let (ok, out, err) = common::cli(
        dirs[2].path(),
        &["sync", "status", "--instance", &id, "--json"],
        &env,
        None,
    );
    assert!(ok, "{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        status[0]["last_run"]["holder"].as_str(),
        Some(first_runs[0].holder.as_str()),
        "the store records the run's holder: {status}"
    );
    let (code, body) = curl(&[
        "-H",
        &format!("X-Auth-Token: {token}"),
        &format!(
            "{}/v3/{project}/instances/{id}/starrocks/users/sync",
            replicas[2].base()
        ),
    ]);
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body["last_run"]["holder"].as_str(),
        Some(first_runs[0].holder.as_str()),
        "{body}"
    );

    // SIGKILL the holder; another replica takes the instance over within one interval.
    replicas[first].child.kill().unwrap();
    let killed_at = OffsetDateTime::from(SystemTime::now());
    replicas[first].child.wait().unwrap();
    let survivors: Vec<usize> = (0..3).filter(|&i| i != first).collect();
    let mut takeover = None;
    eventually("a surviving replica reconciles the instance", || {
        takeover = survivors.iter().find_map(|&i| {
            let run = runs(&mut replicas[i], &id).into_iter().next()?;
            Some((i, run))
        });
        takeover.is_some()
    });
    let (second, taken_run) = takeover.unwrap();
    let lease_taken = logged(&mut replicas[second], "took the account sync lease", &id)
        .iter()
        .map(logged_at)
        .find(|at| *at >= killed_at)
        .expect("the new holder logged taking the lease");
    let to_lease = lease_taken - killed_at;
    let to_run = taken_run.began - killed_at;
    println!(
        "interval {INTERVAL:?}: after SIGKILL of the holder, another replica took the lease in \
         {:.3} s and began its first run in {:.3} s",
        to_lease.as_seconds_f64(),
        to_run.as_seconds_f64()
    );
    let bound = INTERVAL + Duration::from_millis(500);
    assert!(to_lease <= bound, "lease taken over in {to_lease}");
    assert!(
        to_run <= bound,
        "first run of the new holder {to_run} after the kill"
    );
    assert_ne!(taken_run.holder, first_runs[0].holder);

    // The new holder mirrors source changes; the other survivor stays out of it.
    assert!(mariadb::sql(
        &mariadb::SHARED,
        &format!(
            "ALTER USER '{}'@'%' IDENTIFIED BY 'Src-pass-new'; DROP USER '{}'@'%'",
            source.names[1], source.names[2]
        )
    ));
    eventually("the new password and the drop are mirrored", || {
        target.login(&source.names[1], "Src-pass-new")
            && target.root_value(&format!(
                "SELECT COUNT(*) FROM mysql.user WHERE user = '{}'",
                source.names[2]
            )) == "0"
    });
    std::thread::sleep(INTERVAL * 2);
    let other = survivors.into_iter().find(|&i| i != second).unwrap();
    assert!(
        runs(&mut replicas[other], &id).is_empty(),
        "one replica at a time"
    );
    let after: Vec<LoggedRun> = runs(&mut replicas[second], &id);
    assert!(after.iter().any(|r| r.updated >= 1) && after.iter().any(|r| r.dropped >= 1));

    // A clean stop (SIGTERM) gives the lease up: the last replica takes it at its next check
    // (every quarter of the interval) after the stop.
    let stopped_at = OffsetDateTime::from(SystemTime::now());
    assert!(replicas[second].terminate().success());
    assert!(replicas[second]
        .logs()
        .iter()
        .any(|l| l.contains("handed the account sync leases over")));
    let mut handed = None;
    eventually("the last replica takes the lease", || {
        handed = logged(&mut replicas[other], "took the account sync lease", &id)
            .first()
            .map(logged_at);
        handed.is_some()
    });
    let to_handover = handed.unwrap() - stopped_at;
    println!(
        "after SIGTERM of the holder, the last replica took the lease in {:.3} s",
        to_handover.as_seconds_f64()
    );
    assert!(to_handover <= INTERVAL / 2, "handed over in {to_handover}");
    eventually("the last replica reconciles", || {
        !runs(&mut replicas[other], &id).is_empty()
    });
}
