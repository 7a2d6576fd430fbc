//! Every change request that passed authentication is in the audit trail with who, where, what,
//! when, the request id and the outcome, and never a password.

use reqwest::{Method, StatusCode};
use serde_json::json;
use starkeep_store::AuditFilter;
use starkeep_testkit::server::{self as common, start};

#[tokio::test]
async fn changes_are_recorded_without_passwords() {
    let s = start().await;
    let base = s.starrocks();
    let created = s
        .create(json!({"user_name": "audited", "password": "Audit_pw1", "databases": ["sales"]}))
        .await;
    assert_eq!(created.status, StatusCode::OK);
    let dup = s
        .create(json!({"userName": "audited", "passWord": "Audit_pw2", "dataBases": ["sales"]}))
        .await;
    assert_eq!(dup.error_code(), "DBS.280001");
    s.admin(
        Method::PUT,
        &format!("{base}/users/password"),
        Some(json!({"user_name": "audited", "password": "Audit_pw3"})),
    )
    .await;
    s.admin(
        Method::PUT,
        &format!("{base}/users/permission"),
        Some(json!({"user_name": "audited", "dml": 1})),
    )
    .await;
    s.admin(
        Method::POST,
        &format!("{base}/users/sync"),
        Some(json!({"action": "startSyncTaurusAccount"})),
    )
    .await;
    s.admin(
        Method::DELETE,
        &format!("{base}/user?user_name=audited"),
        None,
    )
    .await;
    // Reads and unauthenticated or forbidden requests are not changes.
    s.list("limit=10").await;
    s.send_raw(
        Method::POST,
        &format!("{base}/users"),
        Some(b"{}".to_vec()),
        None,
        None,
    )
    .await;
    s.send_raw(
        Method::DELETE,
        &format!("{base}/users?user_name=x"),
        None,
        Some(&s.readonly_token),
        None,
    )
    .await;

    let events = s
        .store
        .list_audit(&AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut events: Vec<_> = events.into_iter().rev().collect();
    events.sort_by_key(|e| e.at_ms);
    let summary: Vec<(&str, Option<&str>, u16, Option<&str>)> = events
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.account.as_deref(),
                e.status,
                e.error_code.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("create_account", Some("audited"), 200, None),
            ("create_account", Some("audited"), 400, Some("DBS.280001")),
            ("change_password", Some("audited"), 200, None),
            ("change_privileges", Some("audited"), 200, None),
            // The embedded instance has no TaurusDB source: refused, and recorded as refused.
            ("start_sync", None, 400, Some("DBS.280010")),
            ("delete_account", Some("audited"), 200, None),
        ]
    );
    for e in &events {
        assert_eq!(e.actor, "admin");
        assert_eq!(e.project_id, s.project.id.as_str());
        assert_eq!(e.instance_id, s.instance.id.as_str());
        assert!(!e.request_id.is_empty());
        let all = format!("{e:?}");
        for pw in ["Audit_pw1", "Audit_pw2", "Audit_pw3"] {
            assert!(!all.contains(pw));
        }
    }
    assert_eq!(Some(events[0].request_id.clone()), created.request_id);
}

/// Runs SQL on the server's SQLite store from outside, as another process would.
fn store_sql(s: &common::TestServer, sql: &str) {
    let db = s.dir.path().join(starkeep_store::SQLITE_FILE);
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()")
        .arg(&db)
        .arg(sql)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The event is written before the change: when it cannot be, the change is refused and not
/// made; when only the outcome cannot be written, the change is made and its event stays at
/// status 0 ("outcome unknown").
#[tokio::test]
async fn a_change_whose_event_cannot_be_written_is_refused() {
    let s = start().await;
    store_sql(
        &s,
        "CREATE TRIGGER no_new_events BEFORE INSERT ON audit_events \
         BEGIN SELECT RAISE(ABORT, 'the audit trail is full'); END;",
    );
    let refused = s
        .create(json!({"user_name": "unrecorded", "password": "Audit_pw1", "databases": ["sales"]}))
        .await;
    assert_eq!(refused.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(refused.error_code(), "DBS.200500");
    let listed = s.list("limit=10&user_name=unrecorded").await;
    assert_eq!(listed.body["total_count"], 0, "{}", listed.text);

    store_sql(
        &s,
        "DROP TRIGGER no_new_events; \
         CREATE TRIGGER no_outcomes BEFORE UPDATE ON audit_events \
         BEGIN SELECT RAISE(ABORT, 'the audit trail is read-only'); END;",
    );
    let created = s
        .create(json!({"user_name": "recorded", "password": "Audit_pw2", "databases": ["sales"]}))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let events = s
        .store
        .list_audit(&AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let summary: Vec<(&str, Option<&str>, u16)> = events
        .iter()
        .map(|e| (e.action.as_str(), e.account.as_deref(), e.status))
        .collect();
    assert_eq!(summary, vec![("create_account", Some("recorded"), 0)]);
    assert_eq!(Some(events[0].request_id.clone()), created.request_id);
}
