//! Whatever a client sends, it gets a JSON error body with a catalogue code and an
//! `X-Request-Id`: bad JSON, wrong types, oversized bodies, unknown routes, wrong methods,
//! Chinese messages on request.

mod common;

use common::{start, start_with};
use reqwest::{Method, StatusCode};
use serde_json::json;
use starkeep_api::Limits;

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
    let s = start_with(Limits {
        body_bytes: 1024,
        ..Limits::default()
    })
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
