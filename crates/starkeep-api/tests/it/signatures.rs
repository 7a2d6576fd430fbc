//! Requests signed with an access key (`SDK-HMAC-SHA256`), over a real socket: a key acts with
//! its user's role in its own project only; an unknown key, a wrong secret, a request changed
//! after signing, an old date, an unsigned Host and a malformed header are refused with 401 and
//! a reason, never the expected signature; and repeated failures are slowed down per address and
//! per key without touching anyone else.
//!
//! The client side signs with the same canonical-request code the server checks with; that code
//! is pinned to the official SDK's signer by `starkeep-auth/tests/sdk_vectors.rs`, and the SDK
//! itself talks to the binary in `crates/starkeep/tests/it/sdk.rs`.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use starkeep_api::throttle::FailureLimit;
use starkeep_api::Limits;
use starkeep_auth::NewKeyPair;
use starkeep_testkit::sdk::{sdk_date, Unsigned};
use starkeep_testkit::server::{self as common, start, Answer, TestServer};

/// A request to sign and send.
#[derive(Clone)]
struct Signed {
    method: Method,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Signed {
    /// A request with the headers the SDK signs: Content-Type, Host, X-Project-Id (from the
    /// path) and X-Sdk-Date.
    fn new(s: &TestServer, method: Method, target: &str, body: Option<Value>) -> Signed {
        let project = target.split('/').nth(2).unwrap_or_default().to_owned();
        Signed {
            method,
            target: target.to_owned(),
            headers: vec![
                (
                    "content-type".into(),
                    "application/json;charset=utf-8".into(),
                ),
                ("host".into(), s.base.trim_start_matches("http://").into()),
                ("x-project-id".into(), project),
                ("x-sdk-date".into(), sdk_date(0)),
            ],
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        }
    }

    fn set(mut self, name: &str, value: &str) -> Signed {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.into(), value.into()));
        self.headers.sort();
        self
    }

    /// Signs every header it has, and returns it with its `Authorization` and the signature.
    fn sign(&self, ak: &str, sk: &str) -> (Signed, String) {
        let (path, query) = self.target.split_once('?').unwrap_or((&self.target, ""));
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let (authorization, signature) = Unsigned {
            method: self.method.as_str(),
            path,
            query,
            headers: &headers,
            body: &self.body,
        }
        .sign(ak, sk);
        let mut signed = self.clone();
        signed.headers.push(("authorization".into(), authorization));
        (signed, signature)
    }

    async fn send(&self, s: &TestServer, from: Option<IpAddr>) -> Answer {
        let client = match from {
            Some(ip) => reqwest::Client::builder()
                .local_address(ip)
                .build()
                .unwrap(),
            None => s.client.clone(),
        };
        let mut req = client.request(self.method.clone(), format!("{}{}", s.base, self.target));
        for (n, v) in &self.headers {
            req = req.header(n, v);
        }
        if !self.body.is_empty() {
            req = req.body(self.body.clone());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let request_id = resp
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned());
        let retry_after = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = resp.text().await.unwrap();
        let mut body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if let (Some(r), Value::Object(map)) = (retry_after, &mut body) {
            map.insert("__retry_after".into(), Value::String(r));
        }
        Answer {
            status,
            request_id,
            body,
            text,
        }
    }
}

async fn key_for(s: &TestServer, user: &str, project: &starkeep_store::Project) -> NewKeyPair {
    let found = s.store.user_by_name(user).await.unwrap().unwrap();
    s.access_keys.create(&project.id, &found.id).await.unwrap()
}

fn users(s: &TestServer) -> String {
    format!("{}/users", s.starrocks())
}

#[tokio::test]
async fn a_key_acts_with_its_users_role_in_its_own_project() {
    let s = start().await;
    let admin = key_for(&s, "admin", &s.project).await;
    let create = Signed::new(
        &s,
        Method::POST,
        &users(&s),
        Some(json!({"user_name": "signed_user", "password": "Rds_1234", "databases": ["sales"]})),
    );
    let (req, _) = create.sign(&admin.access_key, &admin.secret_key);
    let a = req.send(&s, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["result"], "SUCCESS");
    let list = Signed::new(
        &s,
        Method::GET,
        &format!("{}?limit=10&offset=0&user_name=signed_user", users(&s)),
        None,
    );
    let (req, _) = list.sign(&admin.access_key, &admin.secret_key);
    let a = req.send(&s, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["total_count"], 1);
    assert_eq!(a.body["user_details"][0]["data_bases"], json!(["sales"]));

    // The audit trail names the key's user.
    let events = s
        .store
        .list_audit(&starkeep_store::AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events[0].actor, "admin");
    assert_eq!(events[0].account.as_deref(), Some("signed_user"));

    // A readonly user's key reads but never writes.
    let reader = key_for(&s, "reader", &s.project).await;
    let (req, _) = list.sign(&reader.access_key, &reader.secret_key);
    assert_eq!(req.send(&s, None).await.status, StatusCode::OK);
    let (req, _) = create.sign(&reader.access_key, &reader.secret_key);
    let a = req.send(&s, None).await;
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::FORBIDDEN, "DBS.200044")
    );

    // Another project's key is refused here, though its signature is right.
    let outsider = key_for(&s, "outsider", &s.other_project).await;
    let (req, _) = list.sign(&outsider.access_key, &outsider.secret_key);
    let a = req.send(&s, None).await;
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::FORBIDDEN, "DBS.200044"),
        "{}",
        a.text
    );

    // A signed X-Project-Id must be the path's project.
    let lying = list
        .clone()
        .set("x-project-id", s.other_project.id.as_str());
    let (req, _) = lying.sign(&admin.access_key, &admin.secret_key);
    let a = req.send(&s, None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    assert!(a.error_msg().contains("X-Project-Id"), "{}", a.error_msg());

    // A role taken away, or a key deleted, applies at once.
    let reader_user = s.store.user_by_name("reader").await.unwrap().unwrap();
    s.store
        .bind_role(&s.project.id, &reader_user.id, "admin")
        .await
        .unwrap();
    let (req, _) = create
        .clone()
        .set("x-sdk-date", &sdk_date(0))
        .sign(&reader.access_key, &reader.secret_key);
    assert_eq!(
        req.send(&s, None).await.error_code(),
        "DBS.280001",
        "now an admin: the create reaches the engine (and finds the name taken)"
    );
    assert!(s.store.delete_access_key(&admin.access_key).await.unwrap());
    let (req, _) = list.sign(&admin.access_key, &admin.secret_key);
    let a = req.send(&s, None).await;
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::UNAUTHORIZED, "APIGW.0301")
    );
}

#[tokio::test]
async fn bad_signatures_get_401_with_a_reason_and_never_the_expected_signature() {
    let s = start().await;
    let key = key_for(&s, "admin", &s.project).await;
    let body = json!({"user_name": "victim", "dml": 1});
    let base = Signed::new(
        &s,
        Method::PUT,
        &format!("{}/users/permission", s.starrocks()),
        Some(body),
    );
    let (good, expected) = base.sign(&key.access_key, &key.secret_key);

    let mut body_changed = good.clone();
    body_changed.body = br#"{"user_name": "victim", "dml": 3}"#.to_vec();
    let list = Signed::new(&s, Method::GET, &format!("{}?limit=1", users(&s)), None);
    let (list_good, _) = list.sign(&key.access_key, &key.secret_key);
    let mut query_changed = list_good.clone();
    query_changed.target = format!("{}?limit=100", users(&s));
    let (wrong_sk, _) = base.sign(&key.access_key, "not-the-secret-key");
    let (unknown_ak, _) = base.sign("NOSUCHACCESSKEY00000", &key.secret_key);
    let (old, _) = base
        .clone()
        .set("x-sdk-date", &sdk_date(-16 * 60))
        .sign(&key.access_key, &key.secret_key);
    let (future, _) = base
        .clone()
        .set("x-sdk-date", &sdk_date(16 * 60))
        .sign(&key.access_key, &key.secret_key);
    let mut host_unsigned = base.clone();
    host_unsigned.headers.retain(|(n, _)| n != "host");
    let (host_unsigned, _) = host_unsigned.sign(&key.access_key, &key.secret_key);
    let mut malformed = good.clone();
    malformed.headers.retain(|(n, _)| n != "authorization");
    malformed.headers.push((
        "authorization".into(),
        format!("SDK-HMAC-SHA256 Access={}, Signature=abc", key.access_key),
    ));

    // Host left out of the signature, as the Go SDK of the cloud's Terraform provider signs
    // (chnsz/golangsdk, signer/signer.go): taken (the account it names does not exist).
    let a = host_unsigned.send(&s, None).await;
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::BAD_REQUEST, "DBS.280002"),
        "{}",
        a.text
    );

    for (req, words) in [
        (&body_changed, "signature does not match"),
        (&query_changed, "signature does not match"),
        (&wrong_sk, "signature does not match"),
        (&unknown_ak, "access key (AK) does not exist"),
        (&old, "expired"),
        (&future, "expired"),
        (&malformed, "not a valid SDK-HMAC-SHA256"),
    ] {
        let a = req.send(&s, None).await;
        assert_eq!(
            (a.status, a.error_code()),
            (StatusCode::UNAUTHORIZED, "APIGW.0301"),
            "{words}: {}",
            a.text
        );
        assert!(a.error_msg().contains(words), "{words}: {}", a.error_msg());
        assert!(a.request_id.is_some());
        assert!(!a.text.contains(&expected), "the expected signature leaked");
        assert!(!a.text.contains(key.secret_key.as_str()));
    }
    assert_eq!(
        s.list("user_name=victim&limit=1").await.body["total_count"],
        0,
        "nothing was done"
    );

    // In the caller's language.
    let a = wrong_sk
        .clone()
        .set("x-language", "zh-cn")
        .send(&s, None)
        .await;
    assert!(a.error_msg().contains("签名"), "{}", a.error_msg());

    // The unaltered request works (it names an account that does not exist: the engine says so).
    let a = good.send(&s, None).await;
    assert_eq!(a.error_code(), "DBS.280002", "{}", a.text);
    let a = list_good.send(&s, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}

#[tokio::test]
async fn a_signed_body_over_the_limit_is_refused_before_the_key_is_looked_up() {
    let s = TestServer::builder()
        .limits(Limits {
            body_bytes: 1024,
            ..Limits::default()
        })
        .start()
        .await;
    let key = key_for(&s, "admin", &s.project).await;
    let big = json!({"user_name": "big", "password": "Rds_1234", "databases": ["x".repeat(2000)]});
    let (req, _) =
        Signed::new(&s, Method::POST, &users(&s), Some(big)).sign(&key.access_key, &key.secret_key);
    let a = req.send(&s, None).await;
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "DBS.200413")
    );
}

fn ip(last: u8) -> Option<IpAddr> {
    Some(IpAddr::from([127, 0, 0, last]))
}

async fn throttled_server() -> TestServer {
    TestServer::builder()
        .failure_limit(FailureLimit {
            burst: 3,
            interval: Duration::from_secs(3600),
        })
        .start()
        .await
}

fn assert_throttled(a: &Answer) {
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::TOO_MANY_REQUESTS, "APIGW.0308"),
        "{}",
        a.text
    );
    let wait: u64 = a.body["__retry_after"].as_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait), "Retry-After {wait}");
    assert!(a.request_id.is_some());
}

#[tokio::test]
async fn failing_addresses_are_slowed_down_and_nobody_else_is() {
    let s = throttled_server().await;
    let list = |token: &str| {
        let mut req = Signed::new(&s, Method::GET, &format!("{}?limit=1", users(&s)), None);
        req.headers.push(("x-auth-token".into(), token.to_owned()));
        req
    };
    // Successes cost nothing.
    for _ in 0..10 {
        assert_eq!(
            list(&s.admin_token).send(&s, ip(3)).await.status,
            StatusCode::OK
        );
    }
    // Three failures from one address answer 401; the fourth request waits, even with a good
    // token.
    for _ in 0..3 {
        let a = list("forged").send(&s, ip(2)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    assert_throttled(&list("forged").send(&s, ip(2)).await);
    assert_throttled(&list(&s.admin_token).send(&s, ip(2)).await);
    // Other addresses are not affected, for good or bad credentials.
    assert_eq!(
        list(&s.admin_token).send(&s, ip(3)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        list("forged").send(&s, ip(4)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Password guessing at the token endpoint is charged to the address too.
    let login = |password: &str| {
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "password": password, "domain": {"name": "default"}}}},
            "scope": {"project": {"name": "main"}}}})
    };
    let post = |password: &str, from: Option<IpAddr>| {
        let body = login(password);
        let base = s.base.clone();
        async move {
            reqwest::Client::builder()
                .local_address(from.unwrap())
                .build()
                .unwrap()
                .post(format!("{base}/v3/auth/tokens"))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        assert_eq!(
            post("guess", ip(5)).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let refused = post(common::ADMIN_PASSWORD, ip(5)).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(
        !refused.headers().contains_key("x-subject-token"),
        "a throttled address learns nothing, even with the right password"
    );
    assert_eq!(
        post(common::ADMIN_PASSWORD, ip(6)).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_key_whose_signatures_keep_failing_is_slowed_down_but_its_owner_is_not() {
    let s = throttled_server().await;
    let key = key_for(&s, "admin", &s.project).await;
    let other = key_for(&s, "reader", &s.project).await;
    let list = Signed::new(&s, Method::GET, &format!("{}?limit=1", users(&s)), None);
    let (bad, _) = list.sign(&key.access_key, "wrong-secret");
    // Three failures with one key, each from a different address (so no address is throttled).
    for last in 10..13 {
        assert_eq!(
            bad.send(&s, ip(last)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // The key's next failure waits, wherever it comes from.
    assert_throttled(&bad.send(&s, ip(13)).await);
    // The key's owner, signing correctly, is not slowed down.
    let (good, _) = list.sign(&key.access_key, &key.secret_key);
    assert_eq!(good.send(&s, ip(14)).await.status, StatusCode::OK);
    // Another key's failure is just a failure.
    let (other_bad, _) = list.sign(&other.access_key, "wrong-secret");
    assert_eq!(
        other_bad.send(&s, ip(15)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Made-up keys are charged to the address only (they cannot fill the key map).
    for n in 0..5 {
        let (made_up, _) = list.sign(&format!("MADEUP{n:014}"), "x");
        let a = made_up.send(&s, ip(16 + n)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.text);
    }
}
