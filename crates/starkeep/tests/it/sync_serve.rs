//! The account-sync reconciler inside the real `serve`: switched on through the API, it mirrors a
//! source account at once, and after a restart it goes on (the switch lives in the store); killed
//! with SIGKILL in the middle of a reconcile of thousands of accounts, it converges after a
//! restart.
//!
//! The TaurusDB source is the MariaDB on 127.0.0.1:3306 (root, empty password); the target
//! (engine `mysql`) is a second MariaDB each test starts on its own port and data dir. The source
//! is shared with other tests: names carry a random prefix, what a test makes there is dropped
//! afterwards (also on panic), and assertions are about the test's own names. The tests of this
//! file run one at a time, so one's accounts never show in the other's counts.

use std::time::{Duration, Instant};

use crate::common::{
    cli, curl, eventually, provision_synced_instance, shared_server_turn, sync_switch, Served,
};
use serde_json::Value;
use starkeep_testkit::mariadb::{sql, sql_script, sql_value, OwnMariaDb, SharedLeftovers, SHARED};

const ADMIN: &str = "sync_admin";
const ADMIN_PW: (&str, &str) = ("STARKEEP_TEST_TARGET_PW", "Target-admin-1");

fn source_root(statement: &str) -> bool {
    sql(&SHARED, statement)
}

#[test]
fn serve_reconciles_switched_on_instances_and_goes_on_after_a_restart() {
    let _turn = shared_server_turn();
    let target = OwnMariaDb::start(ADMIN, ADMIN_PW.1);
    let prefix = format!("v{:06x}", rand::random::<u32>() & 0xff_ffff);
    let leftovers = SharedLeftovers::new(&prefix);
    let db = format!("{prefix}_a");
    let app = format!("{prefix}_app");
    assert!(target.root(&format!("CREATE DATABASE `{db}`")));
    assert!(source_root(&format!(
        "CREATE DATABASE `{db}`; CREATE USER '{app}'@'%' IDENTIFIED BY 'Src-pass-1'; \
         GRANT SELECT ON `{db}`.* TO '{app}'@'%'"
    )));

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (id, project_id, token) =
        provision_synced_instance(d, "sync", target.port, ADMIN, ADMIN_PW);

    let served = Served::start(d, &[], &["--sync-interval-secs", "1"]);
    let (code, body) = sync_switch(&served, &project_id, &id, &token, "startSyncTaurusAccount");
    assert_eq!((code, &body), (200, &serde_json::json!({"success": true})));
    eventually("the source account is mirrored", || {
        target.login(&app, "Src-pass-1")
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
        &format!("X-Auth-Token: {token}"),
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
    assert!(source_root(&format!(
        "ALTER USER '{app}'@'%' IDENTIFIED BY 'Src-pass-2'"
    )));
    let _served = Served::start(d, &[], &["--sync-interval-secs", "1"]);
    eventually("the new password is mirrored after a restart", || {
        target.login(&app, "Src-pass-2")
    });
    leftovers.clean();
}

#[test]
fn a_reconcile_killed_with_sigkill_converges_after_a_restart() {
    const N: usize = 3000;
    /// Accounts per CREATE USER / GRANT statement at the source.
    const BATCH: usize = 250;
    let _turn = shared_server_turn();
    let target = OwnMariaDb::start(ADMIN, ADMIN_PW.1);
    let prefix = format!("k{:06x}", rand::random::<u32>() & 0xff_ffff);
    let leftovers = SharedLeftovers::new(&prefix);
    let db = format!("{prefix}_a");
    let own = format!("{prefix}_own");
    assert!(target.root(&format!(
        "CREATE DATABASE `{db}`; CREATE USER '{own}'@'%' IDENTIFIED BY 'Target-own-1'"
    )));
    let own_hash = target.root_value(&format!(
        "SELECT authentication_string FROM mysql.user WHERE User = '{own}'"
    ));
    // Thousands of accounts at the source over one connection, many per statement.
    let mut script =
        format!("CREATE DATABASE `{db}`; CREATE USER '{own}'@'%' IDENTIFIED BY 'Src-own-1';\n");
    let names: Vec<String> = (0..N).map(|i| format!("{prefix}_{i}")).collect();
    for (batch, chunk) in names.chunks(BATCH).enumerate() {
        let users: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(j, n)| format!("'{n}'@'%' IDENTIFIED BY 'Pw-{}-x'", batch * BATCH + j))
            .collect();
        let grantees: Vec<String> = chunk.iter().map(|n| format!("'{n}'@'%'")).collect();
        script.push_str(&format!(
            "CREATE USER {};\nGRANT SELECT ON `{db}`.* TO {};\n",
            users.join(", "),
            grantees.join(", ")
        ));
    }
    sql_script(&SHARED, &script);

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (id, project_id, token) =
        provision_synced_instance(d, "sync", target.port, ADMIN, ADMIN_PW);
    let target_args = target.root_args();
    let target_conn = [target_args[0].as_str(), target_args[1].as_str()];
    let mirrored = || -> usize {
        sql_value(
            &target_conn,
            &format!("SELECT COUNT(*) FROM mysql.user WHERE User LIKE '{prefix}\\_%' AND User <> '{own}'"),
        )
        .parse()
        .unwrap()
    };

    let mut served = Served::start(d, &[], &["--sync-interval-secs", "1"]);
    let (code, _) = sync_switch(&served, &project_id, &id, &token, "startSyncTaurusAccount");
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
    // Convergence, not speed: wait as long as accounts keep arriving (a loaded machine mirrors
    // a few dozen a second), and fail only when it stops moving short of all of them.
    let mut last = (mirrored(), Instant::now());
    while last.0 < N {
        std::thread::sleep(Duration::from_millis(200));
        let now = mirrored();
        if now > last.0 {
            last = (now, Instant::now());
        }
        assert!(
            last.1.elapsed() < Duration::from_secs(30),
            "the restarted reconcile stopped at {} of {N} accounts",
            last.0
        );
    }
    // Other accounts at the shared source are mirrored too, so `unchanged` counts them as well.
    eventually("a clean run after convergence", || {
        let (_, out, _) = cli(
            d,
            &["sync", "status", "--instance", &id, "--json"],
            &[],
            None,
        );
        let status: Value = serde_json::from_str(&out).unwrap();
        let report = &status[0]["last_run"]["report"];
        report["unchanged"].as_u64().is_some_and(|u| u >= N as u64) && report["writes"] == 0
    });
    assert!(target.login(&format!("{prefix}_0"), "Pw-0-x"));
    assert!(target.login(&format!("{prefix}_{}", N - 1), &format!("Pw-{}-x", N - 1)));
    // The target's own account of the clashing name is untouched.
    assert_eq!(
        target.root_value(&format!(
            "SELECT authentication_string FROM mysql.user WHERE User = '{own}'"
        )),
        own_hash
    );
    drop(_served);
    leftovers.clean();
}
