//! Tokens: getting one with the Keystone password body, validating one as Keystone does
//! (`GET /v3/auth/tokens`), and what a missing, forged, expired, foreign-project or read-only
//! token may do.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use starkeep_testkit::server::{start, ADMIN_PASSWORD};

fn login(user: &str, password: &str, project: Value) -> Value {
    json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "password": password, "domain": {"name": "default"}}}},
        "scope": {"project": project}}})
}

#[tokio::test]
async fn password_login_gives_a_working_token() {
    let s = start().await;
    for scope in [
        json!({"id": s.project.id.as_str()}),
        json!({"name": "main"}),
    ] {
        let resp = s
            .client
            .post(format!("{}/v3/auth/tokens", s.base))
            .json(&login("admin", ADMIN_PASSWORD, scope.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED, "{scope}");
        let token = resp.headers()["x-subject-token"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(resp.headers().contains_key("x-request-id"));
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["token"]["project"]["id"], s.project.id.as_str());
        assert_eq!(body["token"]["user"]["name"], "admin");
        assert_eq!(body["token"]["roles"][0]["name"], "admin");
        assert!(body["token"]["expires_at"].as_str().unwrap().ends_with('Z'));
        assert!(
            !body.to_string().contains(&token),
            "the token is only in the header"
        );

        let a = s
            .send_raw(
                Method::GET,
                &format!("{}/users?limit=5", s.starrocks()),
                None,
                Some(&token),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }
}

#[tokio::test]
async fn wrong_logins_are_refused_alike() {
    let s = start().await;
    let cases = [
        login("admin", "wrong-password", json!({"name": "main"})),
        login("nobody", ADMIN_PASSWORD, json!({"name": "main"})),
        // A real user, a project where it has no role.
        login("admin", ADMIN_PASSWORD, json!({"name": "other"})),
        login("admin", ADMIN_PASSWORD, json!({"name": "no_such_project"})),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "password": ADMIN_PASSWORD, "domain": {"name": "elsewhere"}}}},
            "scope": {"project": {"name": "main"}}}}),
    ];
    for body in cases {
        let resp = s
            .client
            .post(format!("{}/v3/auth/tokens", s.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{body}");
        assert!(!resp.headers().contains_key("x-subject-token"));
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error_code"], "APIGW.0301");
        assert!(!err.to_string().contains(ADMIN_PASSWORD));
    }
    // A body that is not a login at all is a parameter error.
    let a = s
        .send_raw(
            Method::POST,
            "/v3/auth/tokens",
            Some(br#"{"auth": {"identity": {"methods": ["token"]}}}"#.to_vec()),
            None,
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::BAD_REQUEST, "DBS.200001")
    );
}

#[tokio::test]
async fn missing_forged_and_expired_tokens_get_401() {
    let s = start().await;
    let path = format!("{}/users?limit=5", s.starrocks());
    let other_signer = starkeep_auth::TokenSigner::new(&[1; 32]);
    let claims = s.signer.verify(&s.admin_token, 0).unwrap();
    let forged = other_signer.issue(&claims);
    let expired = s.token_with(|c| c.expires_at = c.issued_at - 1);
    let tampered = {
        let mut t = s.admin_token.clone();
        t.pop();
        t.push(if s.admin_token.ends_with('A') {
            'B'
        } else {
            'A'
        });
        t
    };
    for (token, words) in [
        (None, "X-Auth-Token header is missing"),
        (Some("garbage"), "not valid"),
        (Some(forged.as_str()), "not valid"),
        (Some(tampered.as_str()), "not valid"),
        (Some(expired.as_str()), "expired"),
    ] {
        let a = s.send_raw(Method::GET, &path, None, token, None).await;
        assert_eq!(
            (a.status, a.error_code()),
            (StatusCode::UNAUTHORIZED, "APIGW.0301"),
            "{token:?}"
        );
        assert!(
            a.error_msg().contains(words),
            "{token:?}: {}",
            a.error_msg()
        );
        assert!(a.request_id.is_some());
    }
}

#[tokio::test]
async fn a_token_is_good_for_its_own_project_only() {
    let s = start().await;
    let a = s
        .send_raw(
            Method::GET,
            &format!("{}/users?limit=5", s.starrocks()),
            None,
            Some(&s.other_project_token),
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::FORBIDDEN, "DBS.200044")
    );
    // The same token works on its own project's instance.
    let theirs = format!(
        "/v3/{}/instances/{}/starrocks/users?limit=5",
        s.other_project.id, s.other_instance.id
    );
    let a = s
        .send_raw(
            Method::GET,
            &theirs,
            None,
            Some(&s.other_project_token),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    // And this project's token is refused on the other project.
    let a = s
        .send_raw(Method::GET, &theirs, None, Some(&s.admin_token), None)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn readonly_role_reads_but_never_writes() {
    let s = start().await;
    let base = s.starrocks();
    let a = s
        .send_raw(
            Method::GET,
            &format!("{base}/users?limit=5"),
            None,
            Some(&s.readonly_token),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let writes = [
        (
            Method::POST,
            format!("{base}/users"),
            json!({"user_name": "ro_try", "password": "Rds_1234", "databases": ["*"]}),
        ),
        (
            Method::PUT,
            format!("{base}/users/permission"),
            json!({"user_name": "root", "dml": 1}),
        ),
        (
            Method::PUT,
            format!("{base}/users/password"),
            json!({"user_name": "root", "password": "Rds_1234"}),
        ),
        (
            Method::DELETE,
            format!("{base}/users?user_name=root"),
            json!({}),
        ),
        (
            Method::POST,
            format!("{base}/users/sync"),
            json!({"action": "startSyncTaurusAccount"}),
        ),
    ];
    for (method, path, body) in writes {
        let a = s
            .send_raw(
                method.clone(),
                &path,
                Some(body.to_string().into_bytes()),
                Some(&s.readonly_token),
                Some("zh-cn"),
            )
            .await;
        assert_eq!(
            (a.status, a.error_code()),
            (StatusCode::FORBIDDEN, "DBS.200044"),
            "{method} {path}"
        );
        assert!(a.error_msg().contains("只读"), "{}", a.error_msg());
    }
    assert_eq!(
        s.list("limit=10").await.body["total_count"],
        1,
        "nothing was created"
    );
}

#[tokio::test]
async fn tokens_are_validated_as_keystone_validates_them() {
    let s = start().await;
    let validate = |auth: Option<&str>, subject: Option<&str>| {
        let mut req = s.client.get(format!("{}/v3/auth/tokens", s.base));
        if let Some(a) = auth {
            req = req.header("X-Auth-Token", a);
        }
        if let Some(t) = subject {
            req = req.header("X-Subject-Token", t);
        }
        req.send()
    };
    // Any valid token may ask about any token; the answer is the subject's.
    let resp = validate(Some(&s.admin_token), Some(&s.other_project_token))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["x-subject-token"].to_str().unwrap(),
        s.other_project_token
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token"]["project"]["id"], s.other_project.id.as_str());
    assert_eq!(body["token"]["user"]["name"], "outsider");
    assert_eq!(body["token"]["roles"][0]["name"], "admin");
    // A token validates itself.
    let resp = validate(Some(&s.readonly_token), Some(&s.readonly_token))
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token"]["roles"][0]["name"], "readonly");

    let forged = starkeep_auth::TokenSigner::new(&[1; 32])
        .issue(&s.signer.verify(&s.admin_token, 0).unwrap());
    let expired = s.token_with(|c| c.expires_at = c.issued_at - 1);
    for (auth, subject, status, code) in [
        (
            Some(s.admin_token.as_str()),
            Some(forged.as_str()),
            404,
            "DBS.200404",
        ),
        (
            Some(s.admin_token.as_str()),
            Some(expired.as_str()),
            404,
            "DBS.200404",
        ),
        (
            Some(s.admin_token.as_str()),
            Some("garbage"),
            404,
            "DBS.200404",
        ),
        (Some(s.admin_token.as_str()), None, 400, "DBS.200001"),
        (None, Some(s.admin_token.as_str()), 401, "APIGW.0301"),
        (
            Some(forged.as_str()),
            Some(s.admin_token.as_str()),
            401,
            "APIGW.0301",
        ),
        // A bad token asking about itself is "not found" (not a failed login).
        (
            Some(forged.as_str()),
            Some(forged.as_str()),
            404,
            "DBS.200404",
        ),
        (
            Some(expired.as_str()),
            Some(expired.as_str()),
            404,
            "DBS.200404",
        ),
    ] {
        let resp = validate(auth, subject).await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{auth:?} {subject:?}");
        assert!(!resp.headers().contains_key("x-subject-token"));
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error_code"], code);
    }
}
