//! What the logs say about a request: the access line names the route's declared operation, and
//! a failure logged while the request is served carries the request's id.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{json, Value};
use starkeep_store::NewInstance;
use starkeep_testkit::server::start;

/// Log output collected in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn a_failure_is_logged_with_the_request_id_and_the_access_line_names_the_operation() {
    let s = start().await;
    // An instance whose engine this build does not serve: the handler logs why it failed.
    let elsewhere = s
        .store
        .create_instance(
            &NewInstance {
                project_id: s.project.id.clone(),
                name: "elsewhere".into(),
                engine: "no_such_engine".into(),
                settings: json!({}),
            },
            &[],
        )
        .await
        .unwrap();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    // The test's runtime has one thread, which also runs the server: the subscriber sees it.
    let _guard = tracing::subscriber::set_default(subscriber);

    let path = format!(
        "/v3/{}/instances/{}/starrocks/users",
        s.project.id, elsewhere.id
    );
    // Another test's thread may have been registering a callsite (the request span's) while
    // no thread had a subscriber of its own: tracing-core then computes its interest from the
    // global dispatcher alone and may store "never" after this subscriber's own rebuild.
    // Rebuilding again once that registration has ended (just before the requests) gives
    // every callsite this subscriber's view.
    tracing::callsite::rebuild_interest_cache();
    let answer = s
        .admin(
            Method::POST,
            &path,
            Some(json!({"user_name": "logged", "password": "Rds_1234", "databases": ["sales"]})),
        )
        .await;
    assert_eq!(answer.error_code(), "DBS.280005", "{}", answer.text);
    let request_id = answer.request_id.clone().unwrap();
    let listed = s
        .admin(
            Method::GET,
            &format!("{}/users?limit=1", s.starrocks()),
            None,
        )
        .await;

    let lines = captured.lines();
    let failure = lines
        .iter()
        .find(|l| l["fields"]["message"] == "instance engine not available")
        .unwrap_or_else(|| panic!("no failure line in {lines:?}"));
    assert_eq!(failure["span"]["name"], "request", "{failure}");
    assert_eq!(
        failure["span"]["request_id"],
        request_id.as_str(),
        "{failure}"
    );

    let access = |id: &str| {
        lines
            .iter()
            .find(|l| l["target"] == "starkeep::access" && l["fields"]["request_id"] == id)
            .unwrap_or_else(|| panic!("no access line for {id} in {lines:?}"))
            .clone()
    };
    assert_eq!(access(&request_id)["fields"]["operation"], "create_account");
    assert_eq!(
        access(listed.request_id.as_deref().unwrap())["fields"]["operation"],
        "list_accounts"
    );
}
