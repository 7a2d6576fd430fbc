//! The store's behaviour, as callers rely on it: unique names, atomic account writes that never
//! touch system accounts, stable paging, and migrations that can run again.

use starkeep_domain::{DatabaseSelection, Ddl, Dml, PageRequest, Privileges};
use starkeep_store::{AccountWrite, NewInstance, NewStoredAccount, Store, StoreError};

async fn open() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Store::open_sqlite(dir.path()).await.unwrap(), dir)
}

fn account(name: &str, system: bool) -> NewStoredAccount {
    NewStoredAccount {
        name: name.to_owned(),
        password_hash: "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19".to_owned(),
        privileges: Privileges::default(),
        databases: DatabaseSelection::parse(&["db1"]).unwrap(),
        system,
    }
}

async fn instance(store: &Store) -> starkeep_store::InstanceRecord {
    let project = store.create_project("p").await.unwrap();
    store
        .create_instance(
            &NewInstance {
                project_id: project.id,
                name: "i".into(),
                engine: "embedded".into(),
                settings: serde_json::json!({"databases": ["db1"]}),
            },
            &[account("root", true)],
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn names_are_unique() {
    let (store, _dir) = open().await;
    assert!(store.is_empty().await.unwrap());
    store.create_project("p").await.unwrap();
    assert!(matches!(
        store.create_project("p").await,
        Err(StoreError::Conflict)
    ));
    assert!(!store.is_empty().await.unwrap());
    let p = store.project_by_name("p").await.unwrap().unwrap();
    assert!(!store.has_users().await.unwrap());
    store.create_user("u", "phc", &p.id, "admin").await.unwrap();
    assert!(store.has_users().await.unwrap());
    assert!(matches!(
        store.create_user("u", "phc", &p.id, "admin").await,
        Err(StoreError::Conflict)
    ));
    assert!(
        store
            .create_user("v", "phc", &p.id, "superuser")
            .await
            .is_err(),
        "roles are checked by the schema too"
    );
    assert!(
        store.user_by_name("v").await.unwrap().is_none(),
        "nothing half-made"
    );
}

#[tokio::test]
async fn account_writes_are_atomic_and_spare_system_accounts() {
    let (store, _dir) = open().await;
    let inst = instance(&store).await;
    store
        .insert_account(&inst.id, &account("alice", false))
        .await
        .unwrap();
    assert!(matches!(
        store
            .insert_account(&inst.id, &account("alice", false))
            .await,
        Err(StoreError::Conflict)
    ));
    let w = store
        .update_account_privileges(&inst.id, "alice", Some(Dml::ReadWrite), None, None)
        .await
        .unwrap();
    assert_eq!(w, AccountWrite::Done);
    let page = store
        .list_accounts(&inst.id, Some("alice"), PageRequest::new(10, 0).unwrap())
        .await
        .unwrap();
    assert_eq!(page.accounts[0].privileges.dml, Dml::ReadWrite);
    assert_eq!(
        page.accounts[0].privileges.ddl,
        Ddl::None,
        "unsent fields stay"
    );

    let on_root = [
        store
            .update_account_privileges(&inst.id, "root", Some(Dml::ReadOnly), None, None)
            .await,
        store.update_account_password(&inst.id, "root", "*00").await,
        store.delete_account(&inst.id, "root").await,
    ];
    for write in on_root {
        assert_eq!(write.unwrap(), AccountWrite::System);
    }
    let on_nobody = [
        store
            .update_account_password(&inst.id, "nobody", "*00")
            .await,
        store.delete_account(&inst.id, "nobody").await,
    ];
    for write in on_nobody {
        assert_eq!(write.unwrap(), AccountWrite::Missing);
    }
    assert_eq!(
        store.delete_account(&inst.id, "alice").await.unwrap(),
        AccountWrite::Done
    );
    assert_eq!(
        store.delete_account(&inst.id, "alice").await.unwrap(),
        AccountWrite::Missing
    );
}

#[tokio::test]
async fn paging_is_by_name_and_counts_every_match() {
    let (store, _dir) = open().await;
    let inst = instance(&store).await;
    for name in ["carol", "alice", "bob", "dave"] {
        store
            .insert_account(&inst.id, &account(name, false))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    for offset in (0..6).step_by(2) {
        let page = store
            .list_accounts(&inst.id, None, PageRequest::new(2, offset).unwrap())
            .await
            .unwrap();
        assert_eq!(page.total, 5);
        seen.extend(page.accounts.into_iter().map(|a| a.name));
    }
    assert_eq!(seen, ["alice", "bob", "carol", "dave", "root"]);
}

#[tokio::test]
async fn concurrent_creates_of_one_name_succeed_once() {
    let (store, _dir) = open().await;
    let inst = instance(&store).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        let id = inst.id.clone();
        tasks.push(tokio::spawn(async move {
            store.insert_account(&id, &account("racer", false)).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn reopening_keeps_data_and_reapplies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        store.create_project("kept").await.unwrap();
        store.close().await;
    }
    let store = Store::open_sqlite(dir.path()).await.unwrap();
    assert!(store.project_by_name("kept").await.unwrap().is_some());
}
