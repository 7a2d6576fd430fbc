//! `GET /metrics` of a real `starkeep serve`: Prometheus text, no credential needed, and the
//! HTTP request counters move by exactly the requests made, under their route templates and
//! status classes. (The sync counters are checked against logged runs in `replicas.rs`.)

use std::process::Command;

use crate::common;
use crate::common::{curl, Served};

/// The `/metrics` text and its Content-Type.
fn scrape(served: &Served) -> (String, String) {
    let out = Command::new("curl")
        .args(["-s", "-D", "-", &format!("{}/metrics", served.base())])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    (body.to_owned(), content_type)
}

/// The value of the sample `name{labels}` (0 when absent).
fn sample(metrics: &str, name: &str, labels: &str) -> u64 {
    let key = format!("{name}{{{labels}}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&key))
        .map_or(0, |v| v.trim().parse::<f64>().unwrap() as u64)
}

const REQUESTS: &str = "starkeep_http_requests_total";
const USERS_ROUTE: &str = "/v3/{project_id}/instances/{instance_id}/starrocks/users";

fn requests(metrics: &str, method: &str, route: &str, status: &str) -> u64 {
    sample(
        metrics,
        REQUESTS,
        &format!("method=\"{method}\",route=\"{route}\",status=\"{status}\""),
    )
}

#[test]
fn metrics_count_requests_by_route_and_status_class() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &[], &[]);
    let (token, project, instance) = common::welcome_facts(&served.stdout);
    let users = format!(
        "{}/v3/{project}/instances/{instance}/starrocks/users",
        served.base()
    );
    let auth = format!("X-Auth-Token: {token}");

    let (before, content_type) = scrape(&served);
    assert!(content_type.starts_with("text/plain"), "{content_type}");

    for _ in 0..3 {
        let (code, _) = curl(&["-H", &auth, &format!("{users}?limit=10&offset=0")]);
        assert_eq!(code, 200);
    }
    for _ in 0..2 {
        let (code, _) = curl(&["-H", "X-Auth-Token: not-a-token", &users]);
        assert_eq!(code, 401);
    }
    let body = r#"{"user_name": "metered", "password": "Rds_1234", "databases": ["sales"]}"#;
    let (code, _) = curl(&["-X", "POST", "-H", &auth, "-d", body, &users]);
    assert_eq!(code, 200);
    let (code, _) = curl(&[&format!("{}/no/such/route", served.base())]);
    assert_eq!(code, 404);

    let (after, _) = scrape(&served);
    let moved = |method: &str, route: &str, status: &str| {
        requests(&after, method, route, status) - requests(&before, method, route, status)
    };
    assert_eq!(moved("GET", USERS_ROUTE, "2xx"), 3, "{after}");
    assert_eq!(moved("GET", USERS_ROUTE, "4xx"), 2, "{after}");
    assert_eq!(moved("POST", USERS_ROUTE, "2xx"), 1, "{after}");
    assert_eq!(moved("GET", "unmatched", "4xx"), 1, "{after}");
    // The first scrape itself is counted (after it answered), and needed no credential.
    assert_eq!(moved("GET", "/metrics", "2xx"), 1, "{after}");
    assert!(
        after.contains(&format!("# TYPE {REQUESTS} counter")),
        "{after}"
    );
    // No sync ran in this process: its counters are absent or zero.
    assert_eq!(
        sample(&after, "starkeep_sync_runs_total", "outcome=\"ok\""),
        0
    );
}
