//! Scenario 4, sync: the first mirror of 10,000 TaurusDB accounts into a target server against
//! applying the same statements directly, and a no-op reconcile over them (time, statements
//! sent, writes among them).
//!
//! The source is the MariaDB on 127.0.0.1:3306, given 10,000 accounts named `skbsync_…` (each
//! with its own password hash and SELECT, or SELECT/INSERT/UPDATE/DELETE, on one database); the
//! target is a MariaDB of the bench's own ([`mariadb::OwnMariaDb`]). The reconcile is account sync's own
//! (`AccountSync::reconcile`, the call the server's sync loop makes), run in this process on a
//! store of its own. The target's general log (to its `mysql.general_log` table, on for all
//! three phases alike) gives the statements: those the mirror wrote are replayed on one
//! connection, after the mirrored accounts are dropped again, as the reference; and the no-op
//! run's statements are counted from it, independently of what the engine reports. The
//! `skbsync_` accounts are dropped from 3306 at the end.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};
use starkeep_auth::SecretBox;
use starkeep_domain::NativePasswordHash;
use starkeep_engine::mysql_wire::{connect_source, set_source, AddSqlInstance};
use starkeep_engine::{EngineKind, Instances};
use starkeep_store::Store;
use starkeep_sync::AccountSync;
use zeroize::Zeroizing;

use super::Settings;
use crate::mariadb;
use crate::progress;
use crate::report::{thousands, Bound, Ratio, Scenario, Table, TargetCheck};

pub const FULL_ACCOUNTS: usize = 10_000;
pub const QUICK_ACCOUNTS: usize = 2_000;
/// Every source account this scenario makes starts so.
const PREFIX: &str = "skbsync_";
/// The database the source accounts are granted on (made on both sides).
const DATABASE: &str = "starkeep_bench";
/// Accounts per CREATE USER / GRANT / DROP USER statement when seeding and cleaning.
const BATCH: usize = 500;
const MIRROR_TARGET: f64 = 1.5;
const NOOP_BUDGET_S: f64 = 1.0;

fn targets() -> [String; 2] {
    [
        format!("first mirror ≤ {MIRROR_TARGET}× the direct apply of its statements"),
        format!("no-op reconcile under {NOOP_BUDGET_S} s, with no write statement"),
    ]
}

pub async fn run(settings: &Settings) -> Scenario {
    let accounts = settings.pick(QUICK_ACCOUNTS, FULL_ACCOUNTS);
    let mut s = Scenario::new(
        4,
        "Sync",
        &format!(
            "the first mirror of {} source accounts (MariaDB 127.0.0.1:3306) into a second \
             MariaDB, and a no-op reconcile over the same accounts: time, statements sent, \
             writes among them",
            thousands(accounts as f64)
        ),
        "the write statements of the first mirror (from the target's general log) applied \
         directly to the emptied target over one connection, in the same run",
    );
    if settings.quick {
        s.notes.push(format!(
            "Quick mode: {} accounts instead of {}.",
            thousands(accounts as f64),
            thousands(FULL_ACCOUNTS as f64)
        ));
    }
    let source = match source_conn(&settings.mysql_url).await {
        Ok(conn) => conn,
        Err(e) => {
            let t = targets();
            return s.not_run(
                &mariadb::unreachable(&settings.mysql_url, &e),
                &[&t[0], &t[1]],
                &ratio_slots(),
            );
        }
    };
    let outcome = measure(settings, accounts, source, &mut s).await;
    if let Err(e) = cleanup_source(&settings.mysql_url).await {
        s.notes.push(format!(
            "Dropping the {PREFIX} accounts from the source failed: {e}"
        ));
    }
    if let Err(e) = outcome {
        progress::line(format!("scenario 4 did not complete: {e:#}"));
        let t = targets();
        let mut failed =
            s.clone()
                .not_run(&format!("failed: {e:#}"), &[&t[0], &t[1]], &ratio_slots());
        failed.figures = s.figures;
        failed.notes = s.notes;
        return failed;
    }
    s
}

fn ratio_slots() -> Vec<(&'static str, Option<Bound>)> {
    vec![
        (
            "first mirror ÷ direct apply",
            Some(Bound::AtMost(MIRROR_TARGET)),
        ),
        ("no-op reconcile ÷ 1 s budget", Some(Bound::AtMost(1.0))),
    ]
}

async fn source_conn(url: &str) -> anyhow::Result<Conn> {
    Ok(Conn::new(mysql_async::Opts::from_url(url)?).await?)
}

/// Statements of the bench's admin in the target's general log, oldest first.
async fn logged_statements(root: &mut Conn) -> anyhow::Result<Vec<String>> {
    let rows: Vec<Vec<u8>> = root
        .query(format!(
            "SELECT argument FROM mysql.general_log WHERE command_type = 'Query' \
             AND user_host LIKE '{}[%'",
            mariadb::ADMIN
        ))
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| String::from_utf8_lossy(&r).into_owned())
        .collect())
}

/// Whether `statement` changes accounts or privileges.
fn is_write(statement: &str) -> bool {
    let upper = statement.trim_start().to_ascii_uppercase();
    [
        "CREATE USER",
        "CREATE ROLE",
        "DROP USER",
        "ALTER USER",
        "RENAME USER",
        "GRANT",
        "REVOKE",
        "SET PASSWORD",
        "FLUSH",
    ]
    .iter()
    .any(|w| upper.starts_with(w))
}

async fn general_log(root: &mut Conn, on: bool) -> anyhow::Result<()> {
    if on {
        root.query_drop("TRUNCATE TABLE mysql.general_log").await?;
        root.query_drop("SET GLOBAL general_log = 'ON'").await?;
    } else {
        root.query_drop("SET GLOBAL general_log = 'OFF'").await?;
    }
    Ok(())
}

async fn measure(
    settings: &Settings,
    accounts: usize,
    mut source: Conn,
    s: &mut Scenario,
) -> anyhow::Result<()> {
    progress::line("scenario 4: starting the target MariaDB of the bench's own");
    let target_db = mariadb::start_own().await?;
    let mut target_root = target_db.root_conn().await?;
    target_root
        .query_drop(format!("CREATE DATABASE `{DATABASE}`"))
        .await?;
    target_root
        .query_drop("SET GLOBAL log_output = 'TABLE'")
        .await?;

    progress::line(format!(
        "scenario 4: making {} accounts at the source (127.0.0.1:3306)",
        thousands(accounts as f64)
    ));
    let seeding = Instant::now();
    drop_prefixed(&mut source).await?;
    source
        .query_drop(format!("CREATE DATABASE IF NOT EXISTS `{DATABASE}`"))
        .await?;
    let names: Vec<String> = (0..accounts).map(|i| format!("{PREFIX}{i:05}")).collect();
    // All accounts first, then their grants: MariaDB's CREATE USER slows down with every
    // database grant already there, so this order is the fast one.
    for (b, chunk) in names.chunks(BATCH).enumerate() {
        let users = chunk
            .iter()
            .enumerate()
            .map(|(k, n)| {
                let hash = NativePasswordHash::of(&format!("Src_pw_{}", b * BATCH + k));
                format!("'{n}'@'%' IDENTIFIED BY PASSWORD '{}'", hash.as_str())
            })
            .collect::<Vec<_>>()
            .join(", ");
        source.query_drop(format!("CREATE USER {users}")).await?;
    }
    for chunk in names.chunks(BATCH) {
        let (even, odd): (Vec<_>, Vec<_>) = chunk.iter().enumerate().partition(|(k, _)| k % 2 == 0);
        for (privileges, group) in [("SELECT", even), ("SELECT, INSERT, UPDATE, DELETE", odd)] {
            let grantees = group
                .iter()
                .map(|(_, n)| format!("'{n}'@'%'"))
                .collect::<Vec<_>>()
                .join(", ");
            source
                .query_drop(format!(
                    "GRANT {privileges} ON `{DATABASE}`.* TO {grantees}"
                ))
                .await?;
        }
    }
    let source_total: Option<u64> = source
        .query_first("SELECT COUNT(*) FROM mysql.user")
        .await?;
    drop(source);
    s.figure("seed_s", seeding.elapsed().as_secs_f64(), "s");
    progress::line(format!(
        "scenario 4: source ready in {:.1} s ({} accounts there in all)",
        seeding.elapsed().as_secs_f64(),
        source_total.unwrap_or(0)
    ));

    // The target instance and its source, on a store of this run's own.
    let dir = tempfile::Builder::new()
        .prefix("starkeep-bench-sync-")
        .tempdir()?;
    let store = Store::open_sqlite(dir.path()).await?;
    let project = store.create_project("bench").await?;
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut key);
    let secrets = SecretBox::new(&key);
    let timeout = Duration::from_secs(60);
    let record = AddSqlInstance {
        project_id: project.id.clone(),
        name: "sync-target".into(),
        kind: EngineKind::Mysql,
        dsn: target_db.admin_dsn(),
        password: Zeroizing::new(mariadb::ADMIN_PASSWORD.to_owned()),
        privilege_map: None,
        timeout,
    }
    .run(&store, &secrets)
    .await?;
    let source_url = mysql_async::Opts::from_url(&settings.mysql_url)?;
    let source_settings = connect_source(
        &format!(
            "mysql://{}@{}:{}",
            source_url.user().unwrap_or("root"),
            source_url.ip_or_hostname(),
            source_url.tcp_port()
        ),
        &Zeroizing::new(source_url.pass().unwrap_or("").to_owned()),
        timeout,
        &secrets,
    )
    .await?;
    let record = set_source(&store, &record, source_settings).await?;
    let instances = Instances::with_secrets(store.clone(), secrets);
    let sync = AccountSync::new(instances);

    // 1. The first mirror.
    progress::line("scenario 4: first mirror");
    general_log(&mut target_root, true).await?;
    let started = Instant::now();
    let first = sync.reconcile(record.clone()).await?;
    let mirror_s = started.elapsed().as_secs_f64();
    general_log(&mut target_root, false).await?;
    let mirror_log = logged_statements(&mut target_root).await?;
    let writes: Vec<String> = mirror_log.iter().filter(|q| is_write(q)).cloned().collect();
    progress::line(format!(
        "scenario 4: first mirror {mirror_s:.2} s: {} created, {} skipped, {} conflicts, {} \
         failed; {} statements sent, {} of them writes",
        first.created,
        first.skipped.len(),
        first.conflicts.len(),
        first.failed.len(),
        mirror_log.len(),
        writes.len()
    ));
    anyhow::ensure!(
        first.created as usize >= accounts,
        "the first mirror created {} accounts, fewer than the {accounts} made: {:?}",
        first.created,
        first.failed.iter().take(3).collect::<Vec<_>>()
    );

    // 2. The reference: the same writes, straight to the emptied target on one connection.
    let mirrored: Vec<(String, String)> = target_root
        .query(format!(
            "SELECT User, Host FROM mysql.user WHERE User NOT IN \
             ('root', 'mysql', 'mariadb.sys', '{}')",
            mariadb::ADMIN
        ))
        .await?;
    drop_accounts(&mut target_root, &mirrored).await?;
    let mut admin = Conn::new(
        OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(target_db.port)
            .user(Some(mariadb::ADMIN))
            .pass(Some(mariadb::ADMIN_PASSWORD))
            .prefer_socket(false),
    )
    .await?;
    progress::line(format!(
        "scenario 4: direct apply of the {} write statements",
        writes.len()
    ));
    general_log(&mut target_root, true).await?;
    let started = Instant::now();
    for statement in &writes {
        admin.query_drop(statement).await?;
    }
    let direct_s = started.elapsed().as_secs_f64();
    general_log(&mut target_root, false).await?;
    drop(admin);
    let ratio = mirror_s / direct_s;
    progress::line(format!(
        "scenario 4: direct apply {direct_s:.2} s: mirror ÷ direct {ratio:.2}"
    ));

    // 3. The no-op reconcile: nothing changed at the source.
    progress::line("scenario 4: no-op reconcile");
    general_log(&mut target_root, true).await?;
    let started = Instant::now();
    let noop = sync.reconcile(record.clone()).await?;
    let noop_s = started.elapsed().as_secs_f64();
    general_log(&mut target_root, false).await?;
    let noop_log = logged_statements(&mut target_root).await?;
    let noop_writes: Vec<&String> = noop_log.iter().filter(|q| is_write(q)).collect();
    progress::line(format!(
        "scenario 4: no-op reconcile {noop_s:.3} s: {} unchanged, {} statements sent, {} \
         writes in the log ({} counted by the engine)",
        noop.unchanged,
        noop_log.len(),
        noop_writes.len(),
        noop.writes
    ));
    store.close().await;

    let mut table = Table::new(&[
        "run",
        "time",
        "accounts created / unchanged",
        "statements sent",
        "writes",
    ]);
    table.row(vec![
        "first mirror".into(),
        format!("{mirror_s:.2} s"),
        format!("{} created", first.created),
        thousands(mirror_log.len() as f64),
        thousands(writes.len() as f64),
    ]);
    table.row(vec![
        "direct apply of the mirror's writes".into(),
        format!("{direct_s:.2} s"),
        "".into(),
        thousands(writes.len() as f64),
        thousands(writes.len() as f64),
    ]);
    table.row(vec![
        "no-op reconcile".into(),
        format!("{noop_s:.3} s"),
        format!("{} unchanged", noop.unchanged),
        thousands(noop_log.len() as f64),
        thousands(noop_writes.len() as f64),
    ]);
    s.table = table;
    s.figure("mirror_s", mirror_s, "s");
    s.figure("direct_s", direct_s, "s");
    s.figure("mirror.created", first.created as f64, "accounts");
    s.figure("mirror.statements", mirror_log.len() as f64, "statements");
    s.figure("mirror.writes", writes.len() as f64, "statements");
    s.figure("noop_s", noop_s, "s");
    s.figure("noop.unchanged", noop.unchanged as f64, "accounts");
    s.figure("noop.statements", noop_log.len() as f64, "statements");
    s.figure("noop.writes_logged", noop_writes.len() as f64, "statements");
    s.figure("noop.writes_counted", noop.writes as f64, "statements");
    s.ratios.push(Ratio {
        label: "first mirror ÷ direct apply".into(),
        value: Some(ratio),
        target: Some(Bound::AtMost(MIRROR_TARGET)),
    });
    s.ratios.push(Ratio {
        label: "no-op reconcile ÷ 1 s budget".into(),
        value: Some(noop_s / NOOP_BUDGET_S),
        target: Some(Bound::AtMost(1.0)),
    });
    let [mirror_target, noop_target] = targets();
    s.targets.push(TargetCheck::checked(
        mirror_target,
        format!("{ratio:.2}× ({mirror_s:.2} s vs {direct_s:.2} s)"),
        ratio <= MIRROR_TARGET,
    ));
    let no_write = noop_writes.is_empty() && noop.writes == 0;
    s.targets.push(TargetCheck::checked(
        noop_target,
        format!(
            "{noop_s:.3} s, {} write statements ({} statements in all)",
            noop_writes.len(),
            noop_log.len()
        ),
        noop_s < NOOP_BUDGET_S && no_write,
    ));
    if !noop_writes.is_empty() {
        s.notes.push(format!(
            "Writes of the no-op run, first of them: {}",
            noop_writes
                .iter()
                .take(3)
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    s.notes.push(format!(
        "The source held {} accounts in all (the {} made here, and the shared server's own), \
         so the mirror also reports {} skipped and {} conflicts.",
        source_total.unwrap_or(0),
        thousands(accounts as f64),
        first.skipped.len(),
        first.conflicts.len()
    ));
    s.notes.push(
        "The mirror's reads (of both sides' accounts and grants, and the target's databases) \
         are part of its time; the reference applies its writes only. The target's general \
         log is on during all three runs alike."
            .into(),
    );
    Ok(())
}

/// Drops `skbsync_` accounts at the source (made by this or an interrupted run). Run first
/// too: 10,000 leftover accounts with grants slow every account statement on the server down,
/// scenario 2's included.
pub async fn cleanup_source(url: &str) -> anyhow::Result<()> {
    let mut conn = source_conn(url).await?;
    drop_prefixed(&mut conn).await?;
    Ok(())
}

async fn drop_prefixed(conn: &mut Conn) -> anyhow::Result<()> {
    let users: Vec<(String, String)> = conn
        .query(format!(
            "SELECT User, Host FROM mysql.user WHERE User LIKE '{}%'",
            PREFIX.replace('_', "\\_")
        ))
        .await?;
    drop_accounts(conn, &users).await
}

async fn drop_accounts(conn: &mut Conn, users: &[(String, String)]) -> anyhow::Result<()> {
    for chunk in users.chunks(BATCH) {
        let list = chunk
            .iter()
            .map(|(u, h)| format!("'{u}'@'{h}'"))
            .collect::<Vec<_>>()
            .join(", ");
        conn.query_drop(format!("DROP USER IF EXISTS {list}"))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_told_from_reads() {
        assert!(is_write("CREATE USER 'a'@'%' IDENTIFIED BY PASSWORD '*AB'"));
        assert!(is_write("  grant SELECT ON `x`.* TO 'a'@'%'"));
        assert!(is_write("REVOKE INSERT ON `x`.* FROM 'a'@'%'"));
        assert!(is_write("DROP USER 'a'@'%'"));
        assert!(!is_write("SELECT User FROM mysql.user"));
        assert!(!is_write("SHOW GRANTS FOR 'a'@'%'"));
    }
}
