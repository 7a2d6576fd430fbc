//! Whatever a client sends, it gets a JSON error body with a catalogue code and an
//! `X-Request-Id`: bad JSON, wrong types, oversized bodies, unknown routes, wrong methods,
//! Chinese messages on request. The OpenAPI document and the router list the same operations.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use starkeep_api::{AppState, AuthOptions, Limits};
use starkeep_auth::Iam;
use starkeep_engine::Instances;
use starkeep_testkit::server::{start, TestServer};

#[tokio::test]
async fn malformed_bodies_get_json_errors() {
    let s = start().await;
    let path = format!("{}/users", s.starrocks());
    for body in [
        &b"{"[..],
        b"not json",
        b"[1, 2]",
        b"null",
        b"",
        b"{\"user_name\": 12}",
        b"{\"user_name\": \"ab\", \"userName\": \"cd\", \"password\": \"Rds_1234\", \"databases\": [\"*\"]}",
        b"\xff\xfe",
    ] {
        let a = s
            .send_raw(Method::POST, &path, Some(body.to_vec()), Some(&s.admin_token), None)
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{:?}: {}", String::from_utf8_lossy(body), a.text);
        assert_eq!(a.error_code(), "DBS.200001");
        assert!(a.request_id.is_some());
    }
}

#[tokio::test]
async fn oversized_bodies_get_413_json() {
    let s = TestServer::builder()
        .limits(Limits {
            body_bytes: 1024,
            ..Limits::default()
        })
        .start()
        .await;
    let big = json!({"user_name": "big_one", "password": "Rds_1234", "databases": vec!["x".repeat(60); 40]});
    let a = s.create(big).await;
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "DBS.200413")
    );
    assert_eq!(
        s.list("limit=10&user_name=big_one").await.body["total_count"],
        0
    );
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_json_errors() {
    let s = start().await;
    let base = s.starrocks();
    for path in [
        "/",
        "/v3",
        "/v3/auth",
        &format!("{base}/nope"),
        &format!("{base}/users/permission/x"),
    ] {
        let a = s.admin(Method::GET, path, None).await;
        assert_eq!(
            (a.status, a.error_code()),
            (StatusCode::NOT_FOUND, "APIGW.0101"),
            "{path}"
        );
        assert!(a.request_id.is_some());
    }
    for (method, path) in [
        (Method::PATCH, format!("{base}/users")),
        (Method::GET, format!("{base}/users/permission")),
        (Method::POST, format!("{base}/user")),
        (Method::PUT, "/v3/auth/tokens".to_owned()),
        (Method::POST, "/health".to_owned()),
    ] {
        let a = s.admin(method.clone(), &path, None).await;
        assert_eq!(
            (a.status, a.error_code()),
            (StatusCode::METHOD_NOT_ALLOWED, "DBS.200405"),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn errors_speak_chinese_on_request() {
    let s = start().await;
    let path = format!("{}/users", s.starrocks());
    let body = json!({"user_name": "x", "password": "Rds_1234", "databases": ["*"]});
    let en = s
        .send_raw(
            Method::POST,
            &path,
            Some(body.to_string().into_bytes()),
            Some(&s.admin_token),
            Some("en-us"),
        )
        .await;
    let zh = s
        .send_raw(
            Method::POST,
            &path,
            Some(body.to_string().into_bytes()),
            Some(&s.admin_token),
            Some("zh-cn"),
        )
        .await;
    assert_eq!(en.error_code(), zh.error_code());
    assert_eq!(
        en.error_msg(),
        "Invalid parameter: user_name must be 2 to 32 characters long"
    );
    assert_eq!(
        zh.error_msg(),
        "参数错误：user_name 长度必须为 2 到 32 个字符"
    );

    let a = s
        .send_raw(
            Method::GET,
            &format!("{path}?limit=10"),
            None,
            None,
            Some("zh-cn"),
        )
        .await;
    assert_eq!(
        a.error_msg(),
        "IAM 认证信息错误：缺少 X-Auth-Token 请求头，请求也未使用访问密钥（AK/SK）签名"
    );
    let a = s
        .send_raw(Method::GET, "/nowhere", None, None, Some("zh-cn"))
        .await;
    assert_eq!(a.error_msg(), "API 不存在");
    let a = s
        .send_raw(
            Method::PATCH,
            &path,
            None,
            Some(&s.admin_token),
            Some("zh-cn"),
        )
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.error_msg(), "API 不支持该 HTTP 方法");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let s = start().await;
    let a = s.send_raw(Method::GET, "/health", None, None, None).await;
    assert_eq!(a.body, json!({"status": "ok"}));
    let first = a.request_id.clone().unwrap();
    let b = s.send_raw(Method::GET, "/health", None, None, None).await;
    assert_ne!(first, b.request_id.unwrap(), "ids are unique");
    let c = s.list("limit=1").await;
    assert!(c.request_id.is_some());

    // A client's own id is kept, so it can correlate.
    let resp = s
        .client
        .get(format!("{}/health", s.base))
        .header("X-Request-Id", "client-chosen-id-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "client-chosen-id-1");
}

#[tokio::test]
async fn openapi_document_lists_every_operation() {
    let s = start().await;
    let a = s
        .send_raw(Method::GET, "/openapi.json", None, None, None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let paths = a.body["paths"].as_object().unwrap();
    let base = "/v3/{project_id}/instances/{instance_id}/starrocks";
    for (path, method) in [
        (format!("{base}/users"), "post"),
        (format!("{base}/users"), "get"),
        (format!("{base}/users"), "delete"),
        (format!("{base}/user"), "delete"),
        (format!("{base}/users/permission"), "put"),
        (format!("{base}/users/password"), "put"),
        (format!("{base}/users/sync"), "post"),
        ("/v3/auth/tokens".to_owned(), "post"),
        ("/health".to_owned(), "get"),
    ] {
        assert!(
            paths.get(&path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
}

/// The operations (path, lower-case method) the built axum router serves, read from its `Debug`
/// form, which is the only way axum lists them: the path router names each route as
/// `RouteId(n): "/path"` and gives each route's methods as its `allow_header`. `HEAD` is left
/// out: axum answers it wherever there is a `GET`.
fn routed_operations(router: &axum::Router) -> BTreeSet<(String, String)> {
    let debug = format!("{router:?}");
    // What follows `fallback_router` is axum's catch-all, not a route.
    let path_router = debug.split("fallback_router:").next().unwrap();
    let (routes, paths) = path_router
        .split_once("node: Node { paths: {")
        .expect("axum's Debug form of a router has changed: update routed_operations");
    let route_ids = |text: &str| -> Vec<(String, String)> {
        text.split("RouteId(")
            .skip(1)
            .filter_map(|part| {
                let (id, rest) = part.split_once(')')?;
                Some((id.to_owned(), rest.to_owned()))
            })
            .collect()
    };
    let methods: BTreeMap<String, String> = route_ids(routes)
        .into_iter()
        .filter_map(|(id, rest)| {
            let allow = rest.split_once("allow_header: Bytes(b\"")?.1;
            Some((id, allow.split('"').next()?.to_owned()))
        })
        .collect();
    let mut operations = BTreeSet::new();
    for (id, rest) in route_ids(paths) {
        let path = rest.trim_start_matches(": \"").split('"').next().unwrap();
        let allow = methods
            .get(&id)
            .unwrap_or_else(|| panic!("no methods found for {path} in {debug}"));
        for method in allow.split(',').filter(|m| *m != "HEAD") {
            operations.insert((path.to_owned(), method.to_ascii_lowercase()));
        }
    }
    operations
}

/// The operations of an OpenAPI document, as (path, lower-case method).
fn documented_operations(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            if item.get(method).is_some() {
                operations.insert((path.clone(), method.to_owned()));
            }
        }
    }
    operations
}

#[tokio::test]
async fn every_route_is_in_the_document_and_every_operation_is_routed() {
    let s = start().await;
    let document = s
        .send_raw(Method::GET, "/openapi.json", None, None, None)
        .await
        .body;
    let documented = documented_operations(&document);

    // The router the service runs, built as the binary builds it.
    let iam = Iam::new(s.store.clone(), s.signer.clone(), Duration::from_secs(60));
    let app = starkeep_api::router(
        AppState::new(
            s.store.clone(),
            iam,
            Instances::new(s.store.clone()),
            AuthOptions::default(),
        ),
        Limits::default(),
    );
    let routed = routed_operations(&app);
    assert!(
        routed.contains(&("/health".to_owned(), "get".to_owned())),
        "the router's routes were not read: {routed:?}"
    );
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from /openapi.json: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );

    // The same, seen from outside: each documented operation reaches a handler, and any other
    // method on a documented path is refused as such.
    let concrete = |path: &str| {
        path.replace("{project_id}", s.project.id.as_str())
            .replace("{instance_id}", s.instance.id.as_str())
    };
    let paths: BTreeSet<&String> = documented.iter().map(|(p, _)| p).collect();
    for path in paths {
        for method in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
        ] {
            let body = (method != Method::GET).then(|| b"{}".to_vec());
            let a = s
                .send_raw(
                    method.clone(),
                    &concrete(path),
                    body,
                    Some(&s.admin_token),
                    None,
                )
                .await;
            let operation = (path.clone(), method.as_str().to_ascii_lowercase());
            if documented.contains(&operation) {
                assert!(
                    !["APIGW.0101", "DBS.200405"].contains(&a.error_code()),
                    "{operation:?} did not reach its handler: {}",
                    a.text
                );
            } else {
                assert_eq!(
                    a.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{operation:?}: {}",
                    a.text
                );
                assert_eq!(a.error_code(), "DBS.200405", "{operation:?}");
            }
        }
    }
}
