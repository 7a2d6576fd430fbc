//! Concurrent changes of one account on the embedded engine: parallel permission changes each
//! set a whole state (databases, dml, ddl), and the account always shows exactly one of the
//! requested states — to readers during the race and at the end — never fields of two requests.

use std::collections::BTreeSet;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use starkeep_testkit::server::start;

/// The state a permission change asks for, as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Shown {
    databases: Vec<String>,
    dml: i64,
    ddl: i64,
}

impl Shown {
    fn of(detail: &Value) -> Shown {
        Shown {
            databases: detail["databases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_owned())
                .collect(),
            dml: detail["dml"].as_i64().unwrap(),
            ddl: detail["ddl"].as_i64().unwrap(),
        }
    }
}

/// Eight whole states in which every field differs from the same field of every other state
/// where it can (dml has four values, ddl two, the databases eight), so any mix of two shows.
fn requested_states() -> Vec<Shown> {
    let databases: [&[&str]; 8] = [
        &["sales"],
        &["default"],
        &["information_schema"],
        &["*"],
        &["default", "sales"],
        &["default", "information_schema"],
        &["information_schema", "sales"],
        &["default", "information_schema", "sales"],
    ];
    databases
        .iter()
        .enumerate()
        .map(|(i, dbs)| Shown {
            databases: dbs.iter().map(|d| d.to_string()).collect(),
            dml: (i % 4) as i64,
            ddl: (i / 4) as i64,
        })
        .collect()
}

#[tokio::test]
async fn parallel_permission_changes_end_in_one_requested_state() {
    let s = Arc::new(start().await);
    s.create_ok("contended").await;
    let initial = Shown::of(&s.list("limit=10&user_name=contended").await.body["user_details"][0]);
    let states = requested_states();
    let permission = format!("{}/users/permission", s.starrocks());

    for round in 0..8 {
        let mut writers = Vec::new();
        // Each state asked for twice, from separate tasks, in an order that changes per round.
        for k in 0..2 * states.len() {
            let state = states[(k * 3 + round) % states.len()].clone();
            let (s, path) = (s.clone(), permission.clone());
            writers.push(tokio::spawn(async move {
                let a = s
                    .admin(
                        Method::PUT,
                        &path,
                        Some(
                            json!({"user_name": "contended", "databases": state.databases,
                                    "dml": state.dml, "ddl": state.ddl}),
                        ),
                    )
                    .await;
                assert_eq!(a.status, StatusCode::OK, "{}", a.text);
            }));
        }
        // Readers while the writers run: every state they see is a whole one.
        let mut readers = Vec::new();
        for _ in 0..4 {
            let s = s.clone();
            readers.push(tokio::spawn(async move {
                let mut seen = BTreeSet::new();
                for _ in 0..5 {
                    let a = s.list("limit=10&user_name=contended").await;
                    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
                    assert_eq!(a.body["total_count"], 1);
                    seen.insert(Shown::of(&a.body["user_details"][0]));
                }
                seen
            }));
        }
        for w in writers {
            w.await.unwrap();
        }
        for r in readers {
            for shown in r.await.unwrap() {
                assert!(
                    shown == initial || states.contains(&shown),
                    "round {round}: a reader saw a mixed state {shown:?}"
                );
            }
        }
        let last = Shown::of(&s.list("limit=10&user_name=contended").await.body["user_details"][0]);
        assert!(
            states.contains(&last),
            "round {round}: the account ended in {last:?}, which nobody asked for"
        );
    }
}

#[tokio::test]
async fn null_privilege_fields_keep_their_value() {
    let s = start().await;
    s.create_ok("keeper").await;
    let before = s.list("limit=10&user_name=keeper").await.body["user_details"][0].clone();
    let a = s
        .admin(
            Method::PUT,
            &format!("{}/users/permission", s.starrocks()),
            Some(json!({"user_name": "keeper", "databases": null, "dml": null, "ddl": 1})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let after = s.list("limit=10&user_name=keeper").await.body["user_details"][0].clone();
    assert_eq!(after["ddl"], 1);
    assert_eq!(after["dml"], before["dml"]);
    assert_eq!(after["databases"], before["databases"]);
}
