//! The embedded engine keeps the pages it lists until the store changes. These tests change the
//! store every way a running server meets — through the API, and through a second connection to
//! the same file (what `starkeep instance …` or another tool does while `serve` runs) — and check
//! that the next list shows each change.

use reqwest::StatusCode;
use starkeep_domain::{DatabaseSelection, Dml, NativePasswordHash, PageRequest, Privileges};
use starkeep_store::{NewStoredAccount, Store};
use starkeep_testkit::server::{start, Answer};

fn listed(a: &Answer) -> Vec<(String, u64)> {
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.body["user_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["user_name"].as_str().unwrap().to_owned(),
                u["dml"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_commit_ends_a_kept_page() {
    let s = start().await;
    s.create_ok("kept_a").await;
    let query = "limit=100";
    let first = s.list(query).await;
    assert!(listed(&first).iter().any(|(n, _)| n == "kept_a"));
    // Asked again with nothing changed: the same answer, byte for byte.
    let again = s.list(query).await;
    assert_eq!(again.text, first.text);
    let total = first.body["total_count"].as_u64().unwrap();

    // Through the API.
    s.create_ok("kept_b").await;
    let after_api = s.list(query).await;
    assert!(listed(&after_api).iter().any(|(n, _)| n == "kept_b"));
    assert_eq!(after_api.body["total_count"], total + 1);

    // Through another connection to the same store, as another process would write.
    let other = Store::open_sqlite(s.dir.path()).await.unwrap();
    other
        .insert_account(
            &s.instance.id,
            &NewStoredAccount {
                name: "kept_c".into(),
                password_hash: NativePasswordHash::of("Rds_1234").as_str().to_owned(),
                privileges: Privileges::default(),
                databases: DatabaseSelection::All,
                system: false,
            },
        )
        .await
        .unwrap();
    let after_insert = s.list(query).await;
    assert!(listed(&after_insert).iter().any(|(n, _)| n == "kept_c"));
    assert_eq!(after_insert.body["total_count"], total + 2);

    other
        .update_account_privileges(&s.instance.id, "kept_a", Some(Dml::ReadWrite), None, None)
        .await
        .unwrap();
    let after_update = s.list(query).await;
    assert!(
        listed(&after_update).contains(&("kept_a".to_owned(), u64::from(Dml::ReadWrite.wire()))),
        "{}",
        after_update.text
    );

    other
        .delete_account(&s.instance.id, "kept_b")
        .await
        .unwrap();
    let after_delete = s.list(query).await;
    assert!(!listed(&after_delete).iter().any(|(n, _)| n == "kept_b"));
    assert_eq!(after_delete.body["total_count"], total + 1);

    // Each query keeps its own page: another page of the same instance is right too.
    let second_page = s.list("limit=1&offset=1").await;
    let direct = other
        .list_accounts(&s.instance.id, None, PageRequest::new(1, 1).unwrap())
        .await
        .unwrap();
    assert_eq!(
        listed(&second_page)
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>(),
        direct
            .accounts
            .into_iter()
            .map(|a| a.name)
            .collect::<Vec<_>>()
    );
    other.close().await;
}
