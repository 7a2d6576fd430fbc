//! The store's behaviour, as callers rely on it: unique names, atomic account writes that never
//! touch system accounts, stable paging, access keys that carry their user's current role, and
//! migrations that can run again.
//!
//! Every behaviour runs against both stores: SQLite in a temp dir, and PostgreSQL on
//! 127.0.0.1:5432 in a database of its own, made for the test and dropped after it
//! (`STARKEEP_TEST_POSTGRES` overrides the server URL).

use std::process::Command;

use starkeep_domain::{DatabaseSelection, Ddl, Dml, PageRequest, Privileges};
use starkeep_store::{
    AccountWrite, AuditEvent, AuditFilter, Backend, NewInstance, NewStoredAccount, Store,
    StoreError, WriteAhead,
};

/// What keeps a test's store alive; dropping it removes the store.
enum Keep {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Database(String),
}

impl Drop for Keep {
    fn drop(&mut self) {
        if let Keep::Database(name) = self {
            let _ = Command::new("psql")
                .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc"])
                .arg(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .output();
        }
    }
}

fn postgres_server() -> String {
    std::env::var("STARKEEP_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

async fn open(backend: Backend) -> (Store, Keep) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            (
                Store::open_sqlite(dir.path()).await.unwrap(),
                Keep::Dir(dir),
            )
        }
        Backend::Postgres => {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let name = format!("starkeep_test_{:016x}", rand::random::<u64>());
            let server = postgres_server();
            let mut admin = sqlx::AnyConnection::connect(&format!("{server}/postgres"))
                .await
                .expect("PostgreSQL on 127.0.0.1:5432 (scripts/test starts it)");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .unwrap();
            let keep = Keep::Database(name.clone());
            let store = Store::open(&format!("{server}/{name}")).await.unwrap();
            assert_eq!(store.backend(), Backend::Postgres);
            (store, keep)
        }
    }
}

/// One `#[tokio::test]` per store for each behaviour.
macro_rules! on_both_stores {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $check() {
                    let (store, _keep) = super::open(super::Backend::Sqlite).await;
                    super::$check(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $check() {
                    let (store, _keep) = super::open(super::Backend::Postgres).await;
                    super::$check(store).await;
                }
            )*
        }
    };
}

on_both_stores!(
    names_are_unique,
    account_writes_are_atomic_and_spare_system_accounts,
    paging_is_by_name_and_counts_every_match,
    concurrent_creates_of_one_name_succeed_once,
    shared_keys_are_made_once,
    sync_ownership_leases_and_runs,
    sync_applied_hashes_follow_ownership,
    audit_events_read_back_newest_first,
    pending_creates_are_found_until_ended,
    writes_made_together_land_together_and_fail_alone,
    an_audited_create_commits_twice,
    an_audited_change_that_writes_nothing_commits_once,
    access_keys_belong_to_a_user_in_a_project,
    projects_can_take_a_given_id,
);

/// A write on a request's path, made while a transaction of another task on the same thread
/// holds SQLite's write lock, waits for the lock without holding up that thread: the
/// transaction gets to commit, and then the write lands. (Waiting on the caller's thread would
/// stall both for SQLite's busy timeout, and then fail the write.)
#[tokio::test]
async fn a_write_waits_for_a_transaction_held_on_its_own_thread() {
    use sqlx::Connection;
    let (store, _keep) = open(Backend::Sqlite).await;
    let Keep::Dir(dir) = &_keep else {
        unreachable!("a SQLite store lives in a directory")
    };
    let file = dir.path().join(starkeep_store::SQLITE_FILE);
    let mut other = sqlx::AnyConnection::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let write = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .begin_audit(&audit_event(1, "req-1", "i1", Some("u1")))
                .await
        }
    });
    // The write's turn on this (only) thread comes now, and finds the lock taken.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!write.is_finished(), "{:?}", write.await);
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    write
        .await
        .unwrap()
        .expect("the write lands once the lock is free");
    let events = all_audit(&store).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].request_id, "req-1");
}

/// The audit event of a create in flight, by `admin` in project `p1`.
fn audit_event(at_ms: i64, request_id: &str, instance: &str, account: Option<&str>) -> AuditEvent {
    AuditEvent {
        at_ms,
        request_id: request_id.into(),
        actor: "admin".into(),
        project_id: "p1".into(),
        instance_id: instance.into(),
        action: "create_account".into(),
        account: account.map(String::from),
        status: 0,
        error_code: None,
    }
}

/// The store's audit events (up to 100), newest first.
async fn all_audit(store: &Store) -> Vec<AuditEvent> {
    store
        .list_audit(&AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
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

async fn names_are_unique(store: Store) {
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

async fn account_writes_are_atomic_and_spare_system_accounts(store: Store) {
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
        store.delete_account(&inst.id, "root").await,
    ];
    for write in on_root {
        assert_eq!(write.unwrap(), AccountWrite::System);
    }
    // root's password may be set (the cloud API allows it).
    assert_eq!(
        store
            .update_account_password(&inst.id, "root", "*00")
            .await
            .unwrap(),
        AccountWrite::Done
    );
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

async fn paging_is_by_name_and_counts_every_match(store: Store) {
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

async fn concurrent_creates_of_one_name_succeed_once(store: Store) {
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

async fn shared_keys_are_made_once(store: Store) {
    let first = store.shared_key("token-signing", "sealed-A").await.unwrap();
    assert_eq!(first, "sealed-A");
    let second = store.shared_key("token-signing", "sealed-B").await.unwrap();
    assert_eq!(second, "sealed-A", "the first replica's key wins");
    let mut racers = Vec::new();
    for i in 0..10 {
        let store = store.clone();
        racers.push(tokio::spawn(async move {
            store
                .shared_key("secrets", &format!("sealed-{i}"))
                .await
                .unwrap()
        }));
    }
    let mut seen = std::collections::BTreeSet::new();
    for r in racers {
        seen.insert(r.await.unwrap());
    }
    assert_eq!(seen.len(), 1, "every racer got the same key: {seen:?}");
}

async fn sync_ownership_leases_and_runs(store: Store) {
    use starkeep_store::SyncRun;
    let inst = instance(&store).await;
    assert!(store.owned_accounts(&inst.id).await.unwrap().is_empty());
    store.mark_owned(&inst.id, "app", false).await.unwrap();
    store.mark_owned(&inst.id, "app", true).await.unwrap();
    store.mark_owned(&inst.id, "bi", false).await.unwrap();
    let owned: Vec<_> = store
        .owned_accounts(&inst.id)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(owned, ["app", "bi"]);
    // Mirrored: created, not only about to be.
    let mirrored: Vec<_> = store
        .mirrored_accounts(&inst.id)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(mirrored, ["app"]);
    store.forget_owned(&inst.id, "bi").await.unwrap();
    assert_eq!(store.owned_accounts(&inst.id).await.unwrap().len(), 1);

    // One holder at a time, on the store's clock; another takes over only after expiry.
    let long = 60_000;
    let first = store
        .take_sync_lease(&inst.id, "a", long)
        .await
        .unwrap()
        .expect("a free lease is taken");
    assert_eq!(first.next_run_at, 0, "a new lease is due at once");
    assert!(first.expires_at >= first.now_ms + long);
    assert!(store
        .take_sync_lease(&inst.id, "b", long)
        .await
        .unwrap()
        .is_none());
    let renewed = store
        .take_sync_lease(&inst.id, "a", long)
        .await
        .unwrap()
        .expect("renewal");
    assert!(renewed.expires_at >= first.expires_at);

    // A due run is claimed once per interval, by the holder only.
    assert!(!store.claim_sync_run(&inst.id, "b", long).await.unwrap());
    assert!(store.claim_sync_run(&inst.id, "a", long).await.unwrap());
    assert!(!store.claim_sync_run(&inst.id, "a", long).await.unwrap());
    let scheduled = store
        .take_sync_lease(&inst.id, "a", long)
        .await
        .unwrap()
        .unwrap();
    assert!(scheduled.next_run_at >= first.now_ms + long);

    // A stopping holder expires its leases: another takes over at once, and the schedule stays.
    assert_eq!(store.expire_sync_leases("a").await.unwrap(), 1);
    let taken = store
        .take_sync_lease(&inst.id, "b", long)
        .await
        .unwrap()
        .expect("an expired lease is taken");
    assert_eq!(taken.next_run_at, scheduled.next_run_at);
    assert!(!store.claim_sync_run(&inst.id, "b", long).await.unwrap());
    store.make_sync_due(&inst.id).await.unwrap();
    assert!(store.claim_sync_run(&inst.id, "b", long).await.unwrap());

    // A lease runs out by itself (here one of no length: expired as soon as taken).
    store.release_sync_lease(&inst.id, "a").await.unwrap();
    assert!(
        store
            .take_sync_lease(&inst.id, "a", long)
            .await
            .unwrap()
            .is_none(),
        "a cannot release b's lease"
    );
    store.release_sync_lease(&inst.id, "b").await.unwrap();
    assert!(store
        .take_sync_lease(&inst.id, "a", 0)
        .await
        .unwrap()
        .is_some());
    assert!(
        !store.claim_sync_run(&inst.id, "a", long).await.unwrap(),
        "expired: no claim"
    );
    assert!(store
        .take_sync_lease(&inst.id, "b", long)
        .await
        .unwrap()
        .is_some());

    assert!(store.last_sync_run(&inst.id).await.unwrap().is_none());
    for outcome in ["failed", "ok"] {
        let run = SyncRun {
            started_at: 5,
            duration_ms: 12,
            outcome: outcome.into(),
            report: "{}".into(),
            holder: format!("replica-{outcome}"),
        };
        store.record_sync_run(&inst.id, &run).await.unwrap();
        assert_eq!(store.last_sync_run(&inst.id).await.unwrap(), Some(run));
    }

    assert!(store.sync_enabled_instances().await.unwrap().is_empty());
    store.set_sync_enabled(&inst.id, true).await.unwrap();
    assert_eq!(
        store.sync_enabled_instances().await.unwrap(),
        vec![inst.id.clone()]
    );
}

async fn sync_applied_hashes_follow_ownership(store: Store) {
    let inst = instance(&store).await;
    let other = store
        .create_instance(
            &NewInstance {
                project_id: inst.project_id.clone(),
                name: "other".into(),
                engine: "embedded".into(),
                settings: serde_json::json!({"databases": ["db1"]}),
            },
            &[account("root", true)],
        )
        .await
        .unwrap();
    store.mark_owned(&other.id, "bi", true).await.unwrap();
    assert!(store.applied_hashes(&inst.id).await.unwrap().is_empty());
    // Only owned names take a hash; a pending create has none until it is recorded.
    store
        .record_applied_hash(&inst.id, "stranger", "v1:sealed-0")
        .await
        .unwrap();
    store.mark_owned(&inst.id, "app", false).await.unwrap();
    store.mark_owned(&inst.id, "bi", false).await.unwrap();
    assert!(store.applied_hashes(&inst.id).await.unwrap().is_empty());
    store.mark_owned(&inst.id, "app", true).await.unwrap();
    store
        .record_applied_hash(&inst.id, "app", "v1:sealed-1")
        .await
        .unwrap();
    let applied = store.applied_hashes(&inst.id).await.unwrap();
    assert_eq!(
        applied.into_iter().collect::<Vec<_>>(),
        [("app".to_string(), "v1:sealed-1".to_string())]
    );
    // The latest one wins; marking the name owned again keeps it.
    store
        .record_applied_hash(&inst.id, "app", "v1:sealed-2")
        .await
        .unwrap();
    store.mark_owned(&inst.id, "app", true).await.unwrap();
    assert_eq!(
        store.applied_hashes(&inst.id).await.unwrap()["app"],
        "v1:sealed-2"
    );
    // Per instance; and forgotten with the name.
    assert!(store.applied_hashes(&other.id).await.unwrap().is_empty());
    store.forget_owned(&inst.id, "app").await.unwrap();
    assert!(store.applied_hashes(&inst.id).await.unwrap().is_empty());
    store.mark_owned(&inst.id, "app", true).await.unwrap();
    assert!(
        store.applied_hashes(&inst.id).await.unwrap().is_empty(),
        "a name owned anew starts without a hash"
    );
}

async fn audit_events_read_back_newest_first(store: Store) {
    let event = |at_ms: i64, instance: &str, account: Option<&str>| AuditEvent {
        status: 200,
        ..audit_event(at_ms, &format!("req-{at_ms}"), instance, account)
    };
    store
        .record_audit(&event(1, "i1", Some("a")))
        .await
        .unwrap();
    store.record_audit(&event(3, "i2", None)).await.unwrap();
    let mut failed = event(2, "i1", Some("b"));
    failed.status = 400;
    failed.error_code = Some("DBS.280001".into());
    store.record_audit(&failed).await.unwrap();

    let all = all_audit(&store).await;
    assert_eq!(all.iter().map(|e| e.at_ms).collect::<Vec<_>>(), [3, 2, 1]);
    assert_eq!(all[1], failed);
    let i1 = store
        .list_audit(&AuditFilter {
            instance_id: Some("i1".into()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(i1.len(), 1);
    assert_eq!(i1[0].account.as_deref(), Some("b"));
}

async fn pending_creates_are_found_until_ended(store: Store) {
    let inst = instance(&store).await;
    store
        .begin_pending_create(&inst.id, "u1", "attempt-1")
        .await
        .unwrap();
    store
        .begin_pending_create(&inst.id, "u1", "attempt-2")
        .await
        .unwrap();
    // Not stale yet for a cut-off in the past.
    assert!(store.stale_pending_creates(0).await.unwrap().is_empty());
    let later = starkeep_store::now_millis() + 1_000;
    let stale = store.stale_pending_creates(later).await.unwrap();
    assert_eq!(
        stale.iter().map(|p| p.attempt.as_str()).collect::<Vec<_>>(),
        ["attempt-1", "attempt-2"]
    );
    assert!(stale
        .iter()
        .all(|p| p.name == "u1" && p.instance_id == inst.id.as_str()));
    store.end_pending_create("attempt-1").await.unwrap();
    let stale = store.stale_pending_creates(later).await.unwrap();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].attempt, "attempt-2");
    // Ending twice is harmless.
    store.end_pending_create("attempt-1").await.unwrap();
}

/// Audit events and pending records written at the same moment share commits; one that fails
/// (an attempt id taken) fails alone, and every other lands.
async fn writes_made_together_land_together_and_fail_alone(store: Store) {
    let inst = instance(&store).await;
    store
        .begin_pending_create(&inst.id, "u0", "taken")
        .await
        .unwrap();
    let mut writes = Vec::new();
    for i in 0..40 {
        let (store, id) = (store.clone(), inst.id.clone());
        writes.push(tokio::spawn(async move {
            let attempt = if i % 10 == 0 {
                "taken".to_owned()
            } else {
                format!("attempt-{i}")
            };
            let name = format!("u{i}");
            let event = audit_event(5, &format!("req-{i}"), id.as_str(), Some(&name));
            let (pending, audit) = tokio::join!(
                store.begin_pending_create(&id, &name, &attempt),
                store.begin_audit(&event)
            );
            (i, pending, audit)
        }));
    }
    let mut ids = Vec::new();
    for write in writes {
        let (i, pending, audit) = write.await.unwrap();
        if i % 10 == 0 {
            assert!(
                matches!(pending, Err(StoreError::Conflict)),
                "{i}: {pending:?}"
            );
        } else {
            pending.unwrap();
        }
        ids.push(audit.unwrap());
    }
    let later = starkeep_store::now_millis() + 1_000;
    assert_eq!(
        store.stale_pending_creates(later).await.unwrap().len(),
        1 + 36
    );
    for id in &ids {
        store.finish_audit(id, 200, None).await.unwrap();
    }
    assert!(matches!(
        store.finish_audit("no-such-event", 200, None).await,
        Err(StoreError::NotFound(_))
    ));
    let events = all_audit(&store).await;
    assert_eq!(events.len(), 40);
    assert!(events.iter().all(|e| e.status == 200));
    let mut requests: Vec<&str> = events.iter().map(|e| e.request_id.as_str()).collect();
    requests.sort_unstable();
    requests.dedup();
    assert_eq!(requests.len(), 40, "each event once");
}

async fn access_keys_belong_to_a_user_in_a_project(store: Store) {
    let main = store.create_project("main").await.unwrap();
    let other = store.create_project("other").await.unwrap();
    let alice = store
        .create_user("alice", "phc", &main.id, "admin")
        .await
        .unwrap();
    let bob = store
        .create_user("bob", "phc", &other.id, "readonly")
        .await
        .unwrap();
    store
        .create_access_key("AKALICE", &main.id, &alice.id, "v1:sealed-a")
        .await
        .unwrap();
    store
        .create_access_key("AKBOB", &other.id, &bob.id, "v1:sealed-b")
        .await
        .unwrap();
    assert!(
        matches!(
            store
                .create_access_key("AKALICE", &other.id, &bob.id, "v1:x")
                .await,
            Err(StoreError::Conflict)
        ),
        "access key ids are unique"
    );

    let key = store.access_key("AKALICE").await.unwrap().unwrap();
    assert_eq!(key.project_id, main.id);
    assert_eq!(key.user_id, alice.id);
    assert_eq!(key.user_name, "alice");
    assert_eq!(key.role.as_deref(), Some("admin"));
    assert_eq!(
        key.sealed_secret, "v1:sealed-a",
        "kept as sealed, never opened"
    );
    assert!(!format!("{key:?}").contains("sealed-a"), "Debug hides it");
    assert!(
        store.access_key("akalice").await.unwrap().is_none(),
        "exact match"
    );
    assert!(store.access_key("AKNOBODY").await.unwrap().is_none());

    // The role is read at each look-up: a change applies at once, a key of a user without a
    // role in its project carries none.
    store
        .bind_role(&main.id, &alice.id, "readonly")
        .await
        .unwrap();
    let key = store.access_key("AKALICE").await.unwrap().unwrap();
    assert_eq!(key.role.as_deref(), Some("readonly"));
    store
        .create_access_key("AKBOBMAIN", &main.id, &bob.id, "v1:sealed-c")
        .await
        .unwrap();
    assert_eq!(
        store.access_key("AKBOBMAIN").await.unwrap().unwrap().role,
        None
    );

    let all = store.list_access_keys(None).await.unwrap();
    let listed: Vec<(&str, &str, &str)> = all
        .iter()
        .map(|k| {
            (
                k.project_name.as_str(),
                k.user_name.as_str(),
                k.access_key.as_str(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("main", "alice", "AKALICE"),
            ("main", "bob", "AKBOBMAIN"),
            ("other", "bob", "AKBOB")
        ]
    );
    let theirs = store.list_access_keys(Some(&other.id)).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].access_key, "AKBOB");
    assert_eq!(theirs[0].project_id, other.id);

    assert!(store.delete_access_key("AKBOB").await.unwrap());
    assert!(
        !store.delete_access_key("AKBOB").await.unwrap(),
        "gone already"
    );
    assert!(store.access_key("AKBOB").await.unwrap().is_none());
    assert!(store
        .list_access_keys(Some(&other.id))
        .await
        .unwrap()
        .is_empty());
}

async fn projects_can_take_a_given_id(store: Store) {
    let id = starkeep_domain::ProjectId::parse("0123456789abcdef0123456789abcdef").unwrap();
    let p = store
        .create_project_with_id("known", id.clone())
        .await
        .unwrap();
    assert_eq!(p.id, id);
    assert_eq!(
        store.project_by_id(&id).await.unwrap().unwrap().name,
        "known"
    );
    assert!(matches!(
        store.create_project_with_id("again", id).await,
        Err(StoreError::Conflict)
    ));
}

/// A create audited with its first write: the event and the pending record go in one commit
/// before the server would be touched, the outcome and the record's removal in one after. Each
/// is in the store when its call returns.
async fn an_audited_create_commits_twice(store: Store) {
    let inst = instance(&store).await;
    let later = starkeep_store::now_millis() + 1_000;
    let event = audit_event(7, "req-create", inst.id.as_str(), Some("u1"));
    let before = store.group_commits();
    let change = store.prepare_change(event);
    change.begin(|_| {}, WriteAhead::WithChange).await.unwrap();
    assert_eq!(
        store.group_commits(),
        before,
        "nothing written before the change"
    );
    assert!(all_audit(&store).await.is_empty());
    change
        .scope(async {
            store
                .begin_pending_create(&inst.id, "u1", "attempt-1")
                .await
                .unwrap();
            assert_eq!(store.group_commits(), before + 1);
            let events = all_audit(&store).await;
            assert_eq!(events.len(), 1);
            assert_eq!(
                (events[0].status, events[0].error_code.as_deref()),
                (0, None)
            );
            assert_eq!(store.stale_pending_creates(later).await.unwrap().len(), 1);

            assert!(store.pending_end_waits_for_outcome());
            store.end_pending_create("attempt-1").await.unwrap();
            assert_eq!(store.group_commits(), before + 1, "left for the outcome");
            assert_eq!(store.stale_pending_creates(later).await.unwrap().len(), 1);
        })
        .await;
    change.finish(200, None).await.unwrap();
    assert_eq!(store.group_commits(), before + 2);
    let events = all_audit(&store).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].status, 200);
    assert!(store.stale_pending_creates(later).await.unwrap().is_empty());

    // Outside a change, the same calls commit one by one, as before.
    assert!(!store.pending_end_waits_for_outcome());
    store
        .begin_pending_create(&inst.id, "u2", "attempt-2")
        .await
        .unwrap();
    store.end_pending_create("attempt-2").await.unwrap();
    assert_eq!(store.group_commits(), before + 4);
    assert_eq!(all_audit(&store).await.len(), 1);
}

/// A change audited with its first write that ends before writing anything (refused) has its
/// event written whole with the outcome, in one commit; one audited alone is written at once.
async fn an_audited_change_that_writes_nothing_commits_once(store: Store) {
    let inst = instance(&store).await;
    let before = store.group_commits();
    let refused = audit_event(8, "req-refused", inst.id.as_str(), Some("u1"));
    let change = store.prepare_change(refused);
    change.begin(|_| {}, WriteAhead::WithChange).await.unwrap();
    change.scope(async {}).await;
    change.finish(400, Some("DBS.280001")).await.unwrap();
    assert_eq!(store.group_commits(), before + 1);
    let events = all_audit(&store).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].status, events[0].error_code.as_deref()),
        (400, Some("DBS.280001"))
    );

    let deleted = audit_event(9, "req-delete", inst.id.as_str(), Some("u1"));
    let change = store.prepare_change(deleted);
    change
        .begin(|e| e.account = Some("u2".into()), WriteAhead::Alone)
        .await
        .unwrap();
    assert_eq!(
        store.group_commits(),
        before + 2,
        "written before the change"
    );
    let events = all_audit(&store).await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        (events[0].account.as_deref(), events[0].status),
        (Some("u2"), 0)
    );
    change.finish(200, None).await.unwrap();
    assert_eq!(store.group_commits(), before + 3);
}
