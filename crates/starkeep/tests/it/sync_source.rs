//! Naming an instance's TaurusDB source from the CLI (`instance add --taurus-dsn`,
//! `instance set-source`): the source is checked before anything is stored, and its password is
//! stored sealed. The MariaDB on 127.0.0.1:3306 (root, empty password) stands in for both sides.

use crate::common::cli;
use serde_json::Value;

const EMPTY: (&str, &str) = ("STARKEEP_TEST_EMPTY_PASSWORD", "");

fn add(d: &std::path::Path, taurus_dsn: &str) -> (bool, String, String) {
    cli(
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
            taurus_dsn,
            "--taurus-password-env",
            EMPTY.0,
            "--json",
        ],
        &[EMPTY],
        None,
    )
}

fn instances(d: &std::path::Path) -> Value {
    let (ok, out, err) = cli(d, &["instance", "list", "--json"], &[], None);
    assert!(ok, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn the_source_is_checked_and_stored_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, _, err) = cli(d, &["project", "create", "sync"], &[], None);
    assert!(ok, "{err}");

    // Nothing listens on port 1: refused, and no instance is added.
    let (ok, _, err) = add(d, "mysql://root@127.0.0.1:1");
    assert!(!ok);
    assert!(err.contains("TaurusDB source"), "{err}");
    assert_eq!(instances(d), serde_json::json!([]));

    let (ok, out, err) = add(d, "mysql://root@127.0.0.1:3306");
    assert!(ok, "{err}");
    let added: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(added["settings"]["source"]["password"], "<sealed>");
    let id = added["id"].as_str().unwrap().to_owned();
    let listed = instances(d);
    let source = &listed[0]["settings"]["source"];
    assert_eq!(source["host"], "127.0.0.1");
    assert_eq!(source["port"], 3306);
    assert_eq!(source["user"], "root");
    assert!(source["password"].as_str().unwrap().starts_with("v1:"));

    // Status: the switch is off and nothing has run yet.
    let (ok, out, err) = cli(
        d,
        &["sync", "status", "--instance", &id, "--json"],
        &[],
        None,
    );
    assert!(ok, "{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        status,
        serde_json::json!([{"instance_id": id, "sync_enabled": false, "has_source": true, "last_run": null}])
    );
    let (ok, out, _) = cli(d, &["sync", "status"], &[], None);
    assert!(ok);
    assert!(
        out.contains("sync off  source set") && out.contains("no run yet"),
        "{out}"
    );
    let (ok, _, err) = cli(d, &["sync", "status", "--instance", "nope"], &[], None);
    assert!(!ok);
    assert!(err.contains("no instance"), "{err}");

    // set-source: an unreachable source changes nothing.
    let (ok, _, err) = cli(
        d,
        &[
            "instance",
            "set-source",
            "--instance",
            &id,
            "--taurus-dsn",
            "mysql://root@127.0.0.1:1",
            "--taurus-password-env",
            EMPTY.0,
        ],
        &[EMPTY],
        None,
    );
    assert!(!ok);
    assert!(err.contains("source not set"), "{err}");
    assert_eq!(instances(d)[0]["settings"]["source"]["port"], 3306);
    let (ok, _, err) = cli(
        d,
        &[
            "instance",
            "set-source",
            "--instance",
            &id,
            "--taurus-dsn",
            "mysql://root@localhost:3306",
            "--taurus-password-env",
            EMPTY.0,
        ],
        &[EMPTY],
        None,
    );
    assert!(ok, "{err}");
    assert_eq!(instances(d)[0]["settings"]["source"]["host"], "localhost");
}
