//! The six operations over HTTP on the embedded engine: the happy paths, every validation rule
//! with a failing and a passing case, paging, and what may never appear in a response.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use starkeep_domain::NativePasswordHash;
use starkeep_testkit::server::{self as common, start, Answer};

fn names(a: &Answer) -> Vec<String> {
    a.body["user_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user_name"].as_str().unwrap().to_owned())
        .collect()
}

fn detail<'a>(a: &'a Answer, name: &str) -> &'a Value {
    a.body["user_details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed in {}", a.text))
}

#[tokio::test]
async fn lifecycle_with_both_spellings_and_both_delete_paths() {
    let s = start().await;
    let base = s.starrocks();
    let mut bodies = Vec::new();

    // The cloud API's spelling, with its example's upper-case INFORMATION_SCHEMA.
    let a = s
        .create(json!({"userName": "user_test", "passWord": "Rds_1234", "dataBases": ["INFORMATION_SCHEMA", "default"], "dml": 2, "ddl": 0}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body, json!({"result": "SUCCESS"}));
    bodies.push(a.text);

    // The contract's spelling, with defaults for dml and ddl.
    let a = s
        .create(json!({"user_name": "user_two", "password": "Other_Pass9", "databases": ["*"]}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    bodies.push(a.text);

    let a = s.list("limit=10&offset=0").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["total_count"], 3);
    assert_eq!(names(&a), ["root", "user_test", "user_two"]);
    let root = detail(&a, "root");
    assert_eq!(root["databases"], json!(["*"]));
    assert_eq!(root["dml"], 2);
    let u = detail(&a, "user_test");
    assert_eq!(u["databases"], json!(["default", "information_schema"]));
    assert_eq!(u["data_bases"], u["databases"]);
    assert_eq!((u["dml"].as_i64(), u["ddl"].as_i64()), (Some(2), Some(0)));
    let u2 = detail(&a, "user_two");
    assert_eq!(u2["databases"], json!(["*"]));
    assert_eq!((u2["dml"].as_i64(), u2["ddl"].as_i64()), (Some(2), Some(0)));
    assert!(u2.get("privileges_inexact").is_none());
    bodies.push(a.text);

    // Terraform sends only what changed: dml alone keeps databases and ddl.
    let a = s
        .admin(
            Method::PUT,
            &format!("{base}/users/permission"),
            Some(json!({"user_name": "user_test", "dml": 0})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body, json!({"result": "SUCCESS"}));
    let a = s.list("limit=10&user_name=user_test").await;
    assert_eq!(a.body["total_count"], 1);
    let u = detail(&a, "user_test");
    assert_eq!((u["dml"].as_i64(), u["ddl"].as_i64()), (Some(0), Some(0)));
    assert_eq!(u["databases"], json!(["default", "information_schema"]));

    let a = s
        .admin(
            Method::PUT,
            &format!("{base}/users/permission"),
            Some(json!({"userName": "user_test", "ddl": 1, "dataBases": ["sales"]})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let u = s.list("limit=10&user_name=user_test").await;
    let u = detail(&u, "user_test");
    assert_eq!((u["dml"].as_i64(), u["ddl"].as_i64()), (Some(0), Some(1)));
    assert_eq!(u["databases"], json!(["sales"]));

    // Password: stored as the MySQL-native hash only.
    let a = s
        .admin(
            Method::PUT,
            &format!("{base}/users/password"),
            Some(json!({"user_name": "user_test", "password": "New_Pass123"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    bodies.push(a.text);
    let stored = s
        .store
        .account_password_hash(&s.instance.id, "user_test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, NativePasswordHash::of("New_Pass123").as_str());
    let a = s
        .admin(
            Method::PUT,
            &format!("{base}/users/password"),
            Some(json!({"userName": "user_two", "passWord": "Two_Pass456"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    // Delete by the plural path, then by the cloud API's singular path.
    let a = s
        .admin(
            Method::DELETE,
            &format!("{base}/users?user_name=user_test"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body, json!({"result": "SUCCESS"}));
    let a = s
        .admin(
            Method::DELETE,
            &format!("{base}/user?user_name=user_two"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = s.list("limit=10").await;
    assert_eq!(names(&a), ["root"]);
    assert_eq!(a.body["total_count"], 1);

    // No password or password hash ever appears in a response.
    for text in &bodies {
        for secret in ["Rds_1234", "Other_Pass9", "New_Pass123", "Two_Pass456"] {
            assert!(!text.contains(secret), "{secret} in {text}");
            assert!(
                !text.contains(NativePasswordHash::of(secret).as_str()),
                "hash in {text}"
            );
        }
    }

    // Nor in the store's files, in plain text.
    for entry in std::fs::read_dir(s.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            let hay = String::from_utf8_lossy(&bytes);
            for secret in [
                "Rds_1234",
                "Other_Pass9",
                "New_Pass123",
                "Two_Pass456",
                common::ADMIN_PASSWORD,
            ] {
                assert!(!hay.contains(secret), "{secret} in {}", path.display());
            }
        }
    }
}

#[tokio::test]
async fn delete_takes_the_name_from_a_json_body_too() {
    let s = start().await;
    s.create_ok("body_named").await;
    let a = s
        .admin(
            Method::DELETE,
            &format!("{}/users", s.starrocks()),
            Some(json!({"user_name": "body_named"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = s
        .admin(Method::DELETE, &format!("{}/users", s.starrocks()), None)
        .await;
    assert_eq!(a.error_code(), "DBS.200001");
    assert!(
        a.error_msg().contains("user_name is required"),
        "{}",
        a.error_msg()
    );
}

/// Each case: a body that must be refused with DBS.200001 and a message containing the words,
/// then (for the same rule) a body that must pass.
#[tokio::test]
async fn create_validation_rules_fail_and_pass() {
    let s = start().await;
    let ok =
        |name: &str, pw: &str| json!({"user_name": name, "password": pw, "databases": ["sales"]});
    let cases: Vec<(Value, &str, Value)> = vec![
        (
            ok("a", "Rds_1234"),
            "2 to 32 characters",
            ok("ab", "Rds_1234"),
        ),
        (
            ok(&"a".repeat(33), "Rds_1234"),
            "2 to 32 characters",
            ok(&"a".repeat(32), "Rds_1234"),
        ),
        (
            ok("1user", "Rds_1234"),
            "start with a lowercase letter",
            ok("u1ser", "Rds_1234"),
        ),
        (
            ok("user_", "Rds_1234"),
            "end with a lowercase letter or a digit",
            ok("user_9", "Rds_1234"),
        ),
        (
            ok("User", "Rds_1234"),
            "only lowercase letters",
            ok("user_upper", "Rds_1234"),
        ),
        (
            ok("user-x", "Rds_1234"),
            "only lowercase letters",
            ok("user_x", "Rds_1234"),
        ),
        (
            ok("pw_short", "Rd_123"),
            "8 to 32 characters",
            ok("pw_short", "Rd_12345"),
        ),
        (
            ok("pw_long", &format!("Rd_{}", "1".repeat(30))),
            "8 to 32 characters",
            ok("pw_long", &format!("Rd_{}", "1".repeat(29))),
        ),
        (
            ok("pw_kinds", "abcdefgh1"),
            "at least three",
            ok("pw_kinds", "abcdefgH1"),
        ),
        (
            ok("pw_chars", "Abcd 1234"),
            "may contain only",
            ok("pw_chars", "Abcd+1234"),
        ),
        (
            ok("pw_chars2", "Abcd$1234"),
            "may contain only",
            ok("pw_chars2", "Abcd?1234"),
        ),
        (
            ok("ab_cd_12", "ab_cd_12"),
            "user name reversed",
            ok("ab_cd_12", "ab_cd_13"),
        ),
        (
            ok("ab_cd_1x", "x1_dc_ba"),
            "user name reversed",
            ok("ab_cd_1x", "x1_dc_bb"),
        ),
        (
            json!({"user_name": "dml_hi", "password": "Rds_1234", "databases": ["sales"], "dml": 4}),
            "dml must be 0, 1, 2 or 3",
            json!({"user_name": "dml_hi", "password": "Rds_1234", "databases": ["sales"], "dml": 3}),
        ),
        (
            json!({"user_name": "dml_lo", "password": "Rds_1234", "databases": ["sales"], "dml": -1}),
            "dml must be 0, 1, 2 or 3",
            json!({"user_name": "dml_lo", "password": "Rds_1234", "databases": ["sales"], "dml": 0}),
        ),
        (
            json!({"user_name": "ddl_hi", "password": "Rds_1234", "databases": ["sales"], "ddl": 2}),
            "ddl must be 0 or 1",
            json!({"user_name": "ddl_hi", "password": "Rds_1234", "databases": ["sales"], "ddl": 1}),
        ),
        (
            json!({"user_name": "dml_str", "password": "Rds_1234", "databases": ["sales"], "dml": "1"}),
            "dml: invalid type",
            json!({"user_name": "dml_str", "password": "Rds_1234", "databases": ["sales"], "dml": 1}),
        ),
        (
            json!({"user_name": "dbs_empty", "password": "Rds_1234", "databases": []}),
            "at least one database",
            json!({"user_name": "dbs_empty", "password": "Rds_1234", "databases": ["default"]}),
        ),
        (
            json!({"user_name": "dbs_missing", "password": "Rds_1234"}),
            "databases is required",
            json!({"user_name": "dbs_missing", "password": "Rds_1234", "databases": ["*"]}),
        ),
        (
            json!({"password": "Rds_1234", "databases": ["sales"]}),
            "user_name is required",
            json!({"user_name": "name_given", "password": "Rds_1234", "databases": ["sales"]}),
        ),
        (
            json!({"user_name": "pw_missing", "databases": ["sales"]}),
            "password is required",
            json!({"user_name": "pw_missing", "password": "Rds_1234", "databases": ["sales"]}),
        ),
        (
            json!({"user_name": "dbs_type", "password": "Rds_1234", "databases": "sales"}),
            "databases: invalid type",
            json!({"user_name": "dbs_type", "password": "Rds_1234", "databases": ["sales"]}),
        ),
    ];
    for (bad, words, good) in cases {
        let before = s.list("limit=1").await.body["total_count"]
            .as_i64()
            .unwrap();
        let a = s.create(bad.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad} -> {}", a.text);
        assert_eq!(a.error_code(), "DBS.200001", "{bad}");
        assert!(
            a.error_msg().contains(words),
            "{bad}: {:?} lacks {words:?}",
            a.error_msg()
        );
        let after = s.list("limit=1").await.body["total_count"]
            .as_i64()
            .unwrap();
        assert_eq!(before, after, "a refused create changed nothing: {bad}");
        let a = s.create(good.clone()).await;
        assert_eq!(a.status, StatusCode::OK, "{good} -> {}", a.text);
    }
}

#[tokio::test]
async fn databases_must_exist_on_the_instance() {
    let s = start().await;
    let a = s
        .create(
            json!({"user_name": "no_db", "password": "Rds_1234", "databases": ["sales", "nope"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.error_code(), "DBS.280004");
    assert!(a.error_msg().contains("nope"));
    assert_eq!(
        s.list("limit=10&user_name=no_db").await.body["total_count"],
        0
    );

    s.create_ok("has_db").await;
    let a = s
        .admin(
            Method::PUT,
            &format!("{}/users/permission", s.starrocks()),
            Some(json!({"user_name": "has_db", "databases": ["nope"], "dml": 0})),
        )
        .await;
    assert_eq!(a.error_code(), "DBS.280004");
    // Nothing changed: not even the dml that came with the bad database.
    let a = s.list("limit=10&user_name=has_db").await;
    assert_eq!(detail(&a, "has_db")["dml"], 2);
    assert_eq!(detail(&a, "has_db")["databases"], json!(["sales"]));
}

#[tokio::test]
async fn accounts_behave_like_starrocks_accounts() {
    let s = start().await;
    let base = s.starrocks();
    s.create_ok("dup").await;
    let a = s
        .create(json!({"user_name": "dup", "password": "Rds_9999", "databases": ["default"]}))
        .await;
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::BAD_REQUEST, "DBS.280001")
    );

    for (method, path, body) in [
        (
            Method::PUT,
            format!("{base}/users/permission"),
            Some(json!({"user_name": "ghost", "dml": 1})),
        ),
        (
            Method::PUT,
            format!("{base}/users/password"),
            Some(json!({"user_name": "ghost", "password": "Rds_1234"})),
        ),
        (
            Method::DELETE,
            format!("{base}/users?user_name=ghost"),
            None,
        ),
    ] {
        let a = s.admin(method, &path, body).await;
        assert_eq!(
            (a.status, a.error_code()),
            (StatusCode::BAD_REQUEST, "DBS.280002"),
            "{path}"
        );
        assert!(a.error_msg().contains("ghost"));
    }

    for (method, path, body) in [
        (
            Method::PUT,
            format!("{base}/users/permission"),
            Some(json!({"user_name": "root", "dml": 1})),
        ),
        (Method::DELETE, format!("{base}/users?user_name=root"), None),
        (Method::DELETE, format!("{base}/user?user_name=root"), None),
    ] {
        let a = s.admin(method, &path, body).await;
        assert_eq!(
            (a.status, a.error_code()),
            (StatusCode::BAD_REQUEST, "DBS.280003"),
            "{path}"
        );
    }
    // root's password may be set (Terraform's StarRocks instance resource sets db_root_pwd so).
    let a = s
        .admin(
            Method::PUT,
            &format!("{base}/users/password"),
            Some(json!({"user_name": "root", "password": "Rds_1234"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let root = s.list("limit=10&user_name=root").await;
    assert_eq!(detail(&root, "root")["dml"], 2);

    // Creating root is creating an existing account.
    let a = s
        .create(json!({"user_name": "root", "password": "Rds_1234", "databases": ["*"]}))
        .await;
    assert_eq!(a.error_code(), "DBS.280001");
}

#[tokio::test]
async fn paging_neither_skips_nor_repeats() {
    let s = start().await;
    let mut expected: Vec<String> = (0..23).map(|i| format!("pager_{:02}", 22 - i)).collect();
    for name in &expected {
        s.create_ok(name).await;
    }
    expected.push("root".into());
    expected.sort();

    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let a = s.list(&format!("limit=7&offset={offset}")).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.body["total_count"], 24, "total counts all matches");
        let page = names(&a);
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        seen.extend(page);
        offset += 7;
    }
    assert_eq!(seen, expected);

    // offset past the end: empty page, same total.
    let a = s.list("limit=100&offset=1000").await;
    assert_eq!(names(&a).len(), 0);
    assert_eq!(a.body["total_count"], 24);
    // The filter counts only what matches.
    let a = s.list("limit=5&user_name=pager_07").await;
    assert_eq!(names(&a), ["pager_07"]);
    assert_eq!(a.body["total_count"], 1);
}

#[tokio::test]
async fn list_query_rules_fail_and_pass() {
    let s = start().await;
    for (bad, words) in [
        ("offset=0", "limit is required"),
        ("limit=0", "limit must be an integer from 1 to 100"),
        ("limit=101", "limit must be an integer from 1 to 100"),
        ("limit=ten", "limit must be an integer from 1 to 100"),
        (
            "limit=10&offset=-1",
            "offset must be an integer of 0 or more",
        ),
        (
            "limit=10&offset=x",
            "offset must be an integer of 0 or more",
        ),
    ] {
        let a = s.list(bad).await;
        assert_eq!(
            (a.status, a.error_code()),
            (StatusCode::BAD_REQUEST, "DBS.200001"),
            "{bad}"
        );
        assert!(a.error_msg().contains(words), "{bad}: {}", a.error_msg());
    }
    for good in ["limit=1", "limit=100", "limit=10&offset=0", "limit=10"] {
        let a = s.list(good).await;
        assert_eq!(a.status, StatusCode::OK, "{good}: {}", a.text);
    }
}

#[tokio::test]
async fn update_rules_fail_and_pass() {
    let s = start().await;
    let base = s.starrocks();
    s.create_ok("changer").await;
    let perm = format!("{base}/users/permission");
    let pw = format!("{base}/users/password");
    let cases = [
        (
            perm.as_str(),
            json!({"user_name": "changer", "dml": 9}),
            "dml must be",
            json!({"user_name": "changer", "dml": 1}),
        ),
        (
            perm.as_str(),
            json!({"user_name": "changer", "ddl": -1}),
            "ddl must be",
            json!({"user_name": "changer", "ddl": 1}),
        ),
        (
            perm.as_str(),
            json!({"user_name": "changer", "databases": []}),
            "at least one database",
            json!({"user_name": "changer", "databases": ["default"]}),
        ),
        (
            perm.as_str(),
            json!({"dml": 1}),
            "user_name is required",
            json!({"user_name": "changer", "dml": 3}),
        ),
        (
            pw.as_str(),
            json!({"user_name": "changer", "password": "short"}),
            "8 to 32",
            json!({"user_name": "changer", "password": "Long_enough1"}),
        ),
        (
            pw.as_str(),
            json!({"user_name": "changer"}),
            "password is required",
            json!({"user_name": "changer", "password": "Long_enough2"}),
        ),
        (
            pw.as_str(),
            json!({"user_name": "changer", "password": "regnahc"}),
            "8 to 32",
            json!({"user_name": "changer", "password": "Regnahc_1"}),
        ),
    ];
    for (path, bad, words, good) in cases {
        let a = s.admin(Method::PUT, path, Some(bad.clone())).await;
        assert_eq!(
            (a.status, a.error_code()),
            (StatusCode::BAD_REQUEST, "DBS.200001"),
            "{bad}"
        );
        assert!(a.error_msg().contains(words), "{bad}: {}", a.error_msg());
        let a = s.admin(Method::PUT, path, Some(good.clone())).await;
        assert_eq!(a.status, StatusCode::OK, "{good}: {}", a.text);
    }
    let a = s.list("limit=1&user_name=changer").await;
    let u = detail(&a, "changer");
    assert_eq!((u["dml"].as_i64(), u["ddl"].as_i64()), (Some(3), Some(1)));
    assert_eq!(u["databases"], json!(["default"]));
}

#[tokio::test]
async fn sync_switch_records_the_state() {
    let s = start().await;
    let path = format!("{}/users/sync", s.starrocks());
    // No TaurusDB source: start is refused with its own code and changes nothing (the start
    // that succeeds is in tests/sync_mirror.rs, with a real source).
    for lang in [None, Some("zh-cn")] {
        let a = s
            .send_raw(
                Method::POST,
                &path,
                Some(
                    json!({"action": "startSyncTaurusAccount"})
                        .to_string()
                        .into_bytes(),
                ),
                Some(&s.admin_token),
                lang,
            )
            .await;
        assert_eq!(
            (a.status, a.error_code()),
            (StatusCode::BAD_REQUEST, "DBS.280010"),
            "{}",
            a.text
        );
    }
    let rec = s
        .store
        .instance(&s.project.id, &s.instance.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!rec.sync_enabled);
    let a = s.admin(Method::GET, &path, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(
        a.body,
        json!({"sync_enabled": false, "has_source": false, "last_run": null})
    );
    for (action, on) in [
        ("stopSyncTaurusAccount", false),
        ("stopSyncTaurusAccount", false),
    ] {
        let a = s
            .admin(Method::POST, &path, Some(json!({"action": action})))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert_eq!(a.body, json!({"success": true}));
        assert!(a.body["success"].is_boolean());
        let rec = s
            .store
            .instance(&s.project.id, &s.instance.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rec.sync_enabled, on, "{action}");
    }
    let a = s
        .admin(Method::POST, &path, Some(json!({"action": "startSync"})))
        .await;
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::BAD_REQUEST, "DBS.200001")
    );
    assert!(a.error_msg().contains("startSyncTaurusAccount"));
    let a = s.admin(Method::POST, &path, Some(json!({}))).await;
    assert!(a.error_msg().contains("action is required"));
}

#[tokio::test]
async fn unknown_and_foreign_instances() {
    let s = start().await;
    let unknown = format!(
        "/v3/{}/instances/{}/starrocks/users?limit=10",
        s.project.id, "0123456789abcdef0123456789abcdefin07"
    );
    let a = s.admin(Method::GET, &unknown, None).await;
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::BAD_REQUEST, "DBS.200076")
    );

    // Another project's instance does not exist in this project.
    let foreign = format!(
        "/v3/{}/instances/{}/starrocks/users?limit=10",
        s.project.id, s.other_instance.id
    );
    let a = s.admin(Method::GET, &foreign, None).await;
    assert_eq!(a.error_code(), "DBS.200076");
    let a = s
        .admin(
            Method::POST,
            &foreign.replace("?limit=10", ""),
            Some(json!({"user_name": "sneaky", "password": "Rds_1234", "databases": ["*"]})),
        )
        .await;
    assert_eq!(a.error_code(), "DBS.200076");

    let malformed = format!(
        "/v3/{}/instances/not-an-id/starrocks/users?limit=10",
        s.project.id
    );
    let a = s.admin(Method::GET, &malformed, None).await;
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::BAD_REQUEST, "DBS.200001")
    );
    assert!(a.error_msg().contains("instance_id"));
}

#[tokio::test]
async fn list_answer_snapshot() {
    let s = start().await;
    let a = s
        .create(json!({"user_name": "snap_user", "password": "Rds_1234", "databases": ["sales", "default"], "dml": 3, "ddl": 1}))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = s.list("limit=10").await;
    insta::assert_json_snapshot!(a.body);
}

#[tokio::test]
async fn fifty_parallel_creates_of_one_account_succeed_once() {
    let s = std::sync::Arc::new(start().await);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.create(json!({"user_name": "contended", "password": format!("Rds_{i:04}"), "databases": ["sales"]}))
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let a = t.await.unwrap();
        match a.status {
            StatusCode::OK => ok += 1,
            _ => assert_eq!(a.error_code(), "DBS.280001", "{}", a.text),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        s.list("limit=10&user_name=contended").await.body["total_count"],
        1
    );
}
