//! Account sync into a StarRocks target: the TaurusDB source is the MariaDB on 127.0.0.1:3306
//! (root, empty password); the target (engine `starrocks`) is the test kit's StarRocks stand-in,
//! which answers as StarRocks' FE source says. A name taken at the target while sync is about to
//! create it ends as a reported conflict with that account untouched, on that run and the next;
//! a source account whose name StarRocks refuses is skipped with a reason; the others are made
//! with the source's hash and grants.
//!
//! What the test makes at the shared source carries a random prefix and is dropped afterwards,
//! also when it panics.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use starkeep_auth::SecretBox;
use starkeep_domain::NativePasswordHash;
use starkeep_engine::mysql_wire::{connect_source, set_source, AddSqlInstance};
use starkeep_engine::{EngineKind, Instances};
use starkeep_store::Store;
use starkeep_sync::AccountSync;
use starkeep_testkit::starrocks::{StandInConfig, StarRocksStandIn, Trigger};
use zeroize::Zeroizing;

const ROOT_PASSWORD: &str = "Stand-in-root-1";

/// A user on the shared MariaDB (the sync source), dropped when the test ends.
struct SourceUsers {
    names: Vec<String>,
}

impl SourceUsers {
    async fn root() -> mysql_async::Conn {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(3306)
            .user(Some("root"))
            .prefer_socket(false);
        mysql_async::Conn::new(opts).await.unwrap()
    }

    async fn drop_all(&self) {
        let mut root = Self::root().await;
        for n in &self.names {
            root.query_drop(format!("DROP USER IF EXISTS '{n}'@'%'"))
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn sync_into_a_starrocks_target_reports_a_clash_made_mid_run_and_leaves_it_alone() {
    let tag = format!("srw{:06x}", rand::random::<u32>() & 0xff_ffff);
    let app = format!("{tag}_app");
    let clash = format!("{tag}_clash");
    let refused = format!("{tag} bad");
    let users = SourceUsers {
        names: vec![app.clone(), clash.clone(), refused.clone()],
    };
    let mut source_root = SourceUsers::root().await;
    for statement in [
        format!("CREATE USER '{app}'@'%' IDENTIFIED BY 'Src-app-1'"),
        format!("GRANT SELECT ON `sales`.* TO '{app}'@'%'"),
        format!("CREATE USER '{clash}'@'%' IDENTIFIED BY 'Src-clash-1'"),
        format!("GRANT SELECT ON `sales`.* TO '{clash}'@'%'"),
        format!("CREATE USER '{refused}'@'%' IDENTIFIED BY 'Src-bad-1'"),
        format!("GRANT SELECT ON `sales`.* TO '{refused}'@'%'"),
    ] {
        source_root.query_drop(statement).await.unwrap();
    }
    let outcome = async move {
        let stand_in = StarRocksStandIn::start(StandInConfig {
            root_password: ROOT_PASSWORD.into(),
            databases: vec!["sales".into()],
            ..StandInConfig::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let project = store.create_project("main").await.unwrap();
        let secrets = SecretBox::new(&rand::random());
        let record = AddSqlInstance {
            project_id: project.id.clone(),
            name: "htap".into(),
            kind: EngineKind::StarRocks,
            dsn: stand_in.root_dsn(),
            password: Zeroizing::new(ROOT_PASSWORD.to_owned()),
            privilege_map: None,
            timeout: Duration::from_secs(5),
        }
        .run(&store, &secrets)
        .await
        .unwrap();
        // Someone makes the clashing name at the target while sync is about to create it.
        stand_in.on_statement(
            &format!("CREATE USER '{clash}'"),
            Trigger::Execute(format!(
                "CREATE USER '{clash}'@'%' IDENTIFIED BY 'Theirs-1'"
            )),
        );
        let source = connect_source(
            "mysql://root@127.0.0.1:3306",
            &Zeroizing::new(String::new()),
            Duration::from_secs(5),
            &secrets,
        )
        .await
        .unwrap();
        let record = set_source(&store, &record, source).await.unwrap();
        let sync = AccountSync::new(Instances::with_secrets(store.clone(), secrets));
        let theirs = NativePasswordHash::of("Theirs-1");
        for run in 0..2 {
            let report = sync.reconcile(record.clone()).await.unwrap();
            assert!(
                report.failed.iter().all(|r| !r.name.starts_with(&tag)),
                "run {run}: {:?}",
                report.failed
            );
            assert!(
                report.conflicts.iter().any(|r| r.name == clash),
                "run {run}: {:?}",
                report.conflicts
            );
            let skipped = report.skipped.iter().find(|r| r.name == refused);
            assert!(
                skipped.is_some_and(|r| r.reason.contains("StarRocks refuses")),
                "run {run}: {:?}",
                report.skipped
            );
            // The clashing account is untouched: its own password, no grants.
            assert_eq!(stand_in.password_hash(&clash).unwrap(), theirs.as_str());
            assert!(stand_in
                .grant_lines(&clash)
                .iter()
                .all(|l| !l.contains(" ON ")));
            assert!(!store
                .owned_accounts(&record.id)
                .await
                .unwrap()
                .contains(&clash));
        }
        assert_eq!(
            stand_in.password_hash(&app).unwrap(),
            NativePasswordHash::of("Src-app-1").as_str()
        );
        assert!(stand_in.grant_lines(&app).contains(&format!(
            "GRANT SELECT ON ALL TABLES IN DATABASE sales TO USER '{app}'@'%'"
        )));
        assert!(!stand_in.has_user(&refused));
    };
    let result = tokio::spawn(outcome).await;
    users.drop_all().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
