//! Scenario 3, paging at scale: an instance with 100,000 accounts, on the embedded engine and on
//! a MariaDB (a server of the bench's own, [`OwnMariaDb`]); the latency of a 100-account page at
//! offset 0, 50,000 and 99,900, one request at a time over a keep-alive connection. The offsets
//! take turns, so the machine's other work falls on each alike.
//!
//! On the embedded engine the same three pages are also read straight from the store in this
//! process (`Store::list_accounts`, no HTTP), which tells what the store's query costs and what
//! the server adds. The MariaDB's accounts are written into its grant tables in two
//! `INSERT … SELECT` statements and loaded with `FLUSH PRIVILEGES` (100,000 `CREATE USER`
//! statements take many minutes and are not what is measured).

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use hyper::StatusCode;
use mysql_async::prelude::Queryable;
use starkeep_domain::{InstanceId, NativePasswordHash, PageRequest};
use starkeep_store::Store;

use super::Settings;
use crate::http::{Call, Conn};
use crate::load::latency_histogram;
use crate::mariadb::{self, OwnMariaDb};
use crate::progress;
use crate::report::{ms, thousands, Bound, Ratio, Scenario, Status, Table, TargetCheck};
use crate::seed;
use crate::server::Starkeep;

pub const FULL_ACCOUNTS: usize = 100_000;
pub const QUICK_ACCOUNTS: usize = 20_000;
const TARGET: f64 = 2.0;

/// The offsets measured for an instance of `accounts`: the first page, the middle, the last.
pub fn offsets(accounts: usize) -> [u64; 3] {
    [0, accounts as u64 / 2, accounts as u64 - 100]
}

fn p50(h: &Histogram<u64>) -> f64 {
    h.value_at_quantile(0.5) as f64 / 1000.0
}

fn p99(h: &Histogram<u64>) -> f64 {
    h.value_at_quantile(0.99) as f64 / 1000.0
}

pub async fn run(settings: &Settings, server: &Starkeep) -> anyhow::Result<Scenario> {
    let accounts = settings.pick(QUICK_ACCOUNTS, FULL_ACCOUNTS);
    let offsets = offsets(accounts);
    let mut s = Scenario::new(
        3,
        "Paging at scale",
        &format!(
            "latency of one page of 100 accounts at offset {} of an instance with {} accounts, \
             embedded and MariaDB, one request at a time (p50 of interleaved samples)",
            offsets.map(|o| thousands(o as f64)).join(", "),
            thousands(accounts as f64)
        ),
        "the page at offset 0 of the same instance, in the same run; for the embedded engine \
         also the store's own query (`Store::list_accounts`, no HTTP) for each page",
    );
    if settings.quick {
        s.notes.push(format!(
            "Quick mode: {} accounts instead of {} (offsets scaled alike).",
            thousands(accounts as f64),
            thousands(FULL_ACCOUNTS as f64)
        ));
    }
    let mut table = Table::new(&[
        "engine",
        "offset",
        "API p50",
        "API p99",
        "API p50 ÷ offset 0",
        "API p50, page kept",
        "store query p50",
    ]);
    embedded(settings, server, accounts, &mut s, &mut table).await?;
    let target = format!(
        "MariaDB: page at offset {} costs ≤ {TARGET}× the page at offset 0",
        thousands(offsets[2] as f64)
    );
    if let Err(e) = on_mariadb(settings, server, accounts, &mut s, &mut table).await {
        progress::line(format!("scenario 3: the MariaDB half did not run: {e:#}"));
        s.ratios.push(Ratio {
            label: "MariaDB: last page ÷ first page".into(),
            value: None,
            target: Some(Bound::AtMost(TARGET)),
        });
        s.targets
            .push(TargetCheck::not_run(&target, format!("not run: {e:#}")));
        s.status = Status::Partial {
            not_run: format!("the MariaDB half ({e:#})"),
        };
    }
    s.table = table;
    Ok(s)
}

/// The latencies of one page, by how it was read.
struct PageSamples {
    /// Over HTTP; with a store, the first read after a commit to it (nothing kept applies).
    http: Vec<Histogram<u64>>,
    /// Over HTTP, the same page again at once (the engine's kept page), with a store only.
    kept: Vec<Histogram<u64>>,
    /// The store's own query in this process, with a store only.
    direct: Vec<Histogram<u64>>,
}

/// Pages of `calls` (one per offset) read `samples` times each, offsets in turn. With `store`
/// (the embedded engine's), each sample first commits a change to the store, so that the page
/// is read afresh rather than from the pages the engine keeps until the store changes; then
/// reads it again (kept) and straight from the store.
async fn sample_pages(
    conn: &mut Conn,
    calls: &[Call],
    offsets: &[u64],
    samples: usize,
    store: Option<(&Store, &InstanceId, &[PageRequest])>,
) -> anyhow::Result<PageSamples> {
    let histograms =
        || -> Vec<Histogram<u64>> { calls.iter().map(|_| latency_histogram()).collect() };
    let mut out = PageSamples {
        http: histograms(),
        kept: histograms(),
        direct: histograms(),
    };
    // Two password hashes to switch the first account between: a change of real data (an
    // unchanged row commits nothing), which ends the use of kept pages without changing a page.
    let hashes = [
        NativePasswordHash::of(seed::PASSWORD),
        NativePasswordHash::of("Bench_pw_456"),
    ];
    let first = seed::account_name(1);
    let mut changes = 0usize;
    for i in 0..samples {
        for k in 0..calls.len() {
            let j = (i + k) % calls.len();
            if let Some((store, instance, _)) = store {
                changes += 1;
                let hash = hashes[changes % 2].as_str();
                store
                    .update_account_password(instance, &first, hash)
                    .await?;
            }
            let t = Instant::now();
            let (status, _) = conn.send(&calls[j]).await?;
            record(&mut out.http[j], t.elapsed());
            anyhow::ensure!(
                status == StatusCode::OK,
                "page at offset {} answered {status}",
                offsets[j]
            );
            if let Some((store, instance, pages)) = store {
                let t = Instant::now();
                conn.send(&calls[j]).await?;
                record(&mut out.kept[j], t.elapsed());
                let t = Instant::now();
                store.list_accounts(instance, None, pages[j]).await?;
                record(&mut out.direct[j], t.elapsed());
            }
        }
    }
    Ok(out)
}

fn page_calls(server: &Starkeep, instance: &str, offsets: &[u64]) -> anyhow::Result<Vec<Call>> {
    let base = server.accounts_base(instance);
    offsets
        .iter()
        .map(|o| {
            Call::get(
                &format!("{base}/users?limit=100&offset={o}"),
                Some(&server.token),
            )
        })
        .collect()
}

async fn embedded(
    settings: &Settings,
    server: &Starkeep,
    accounts: usize,
    s: &mut Scenario,
    table: &mut Table,
) -> anyhow::Result<()> {
    let offsets = offsets(accounts);
    let samples = settings.pick(30, 200);
    progress::line(format!(
        "scenario 3: seeding an embedded instance with {} accounts",
        thousands(accounts as f64)
    ));
    let seeding = Instant::now();
    let store = server.open_store().await?;
    let instance =
        seed::embedded_instance(&store, &server.project_id, "bench-paging", accounts).await?;
    let seeded_in = seeding.elapsed();
    progress::line(format!(
        "scenario 3: seeded in {:.1} s",
        seeded_in.as_secs_f64()
    ));
    s.figure("embedded.seed_s", seeded_in.as_secs_f64(), "s");

    let calls = page_calls(server, &instance, &offsets)?;
    let mut conn = Conn::connect(server.addr).await?;
    for (offset, call) in offsets.iter().zip(&calls) {
        check_page(&mut conn, call, *offset, accounts).await?;
    }
    let instance_id = InstanceId::parse(&instance)?;
    let pages: Vec<PageRequest> = offsets
        .iter()
        .map(|o| PageRequest::new(100, *o))
        .collect::<Result<_, _>>()?;

    // Warm-up: caches of the server and of this process's store connection.
    for _ in 0..3 {
        for (call, page) in calls.iter().zip(&pages) {
            conn.send(call).await?;
            store.list_accounts(&instance_id, None, *page).await?;
        }
    }
    let PageSamples { http, kept, direct } = sample_pages(
        &mut conn,
        &calls,
        &offsets,
        samples,
        Some((&store, &instance_id, &pages)),
    )
    .await?;
    store.close().await;

    for (j, offset) in offsets.iter().enumerate() {
        let api_ratio = p50(&http[j]) / p50(&http[0]);
        table.row(vec![
            "embedded".into(),
            thousands(*offset as f64),
            ms(p50(&http[j])),
            ms(p99(&http[j])),
            format!("{api_ratio:.2}×"),
            ms(p50(&kept[j])),
            ms(p50(&direct[j])),
        ]);
        s.figure(
            format!("embedded.page{j}.offset"),
            *offset as f64,
            "accounts",
        );
        s.figure(format!("embedded.page{j}.api_p50_ms"), p50(&http[j]), "ms");
        s.figure(format!("embedded.page{j}.api_p99_ms"), p99(&http[j]), "ms");
        s.figure(format!("embedded.page{j}.kept_p50_ms"), p50(&kept[j]), "ms");
        s.figure(
            format!("embedded.page{j}.store_p50_ms"),
            p50(&direct[j]),
            "ms",
        );
        progress::line(format!(
            "scenario 3: embedded, offset {offset}: API p50 {} ({api_ratio:.2}× offset 0), store p50 {}",
            ms(p50(&http[j])),
            ms(p50(&direct[j]))
        ));
    }
    check_last_page(s, "embedded", &http, &offsets);
    s.notes.push(format!(
        "Embedded: {samples} samples per offset, offsets in turn; {} accounts seeded through \
         the store in one transaction in {:.1} s. Each sample commits a change to the store \
         first, so \"API\" is a first read after a change (what the target is checked on); \
         \"page kept\" is the same request at once after it, answered from the pages the \
         engine keeps until the store changes.",
        thousands(accounts as f64),
        seeded_in.as_secs_f64()
    ));
    Ok(())
}

async fn on_mariadb(
    settings: &Settings,
    server: &Starkeep,
    accounts: usize,
    s: &mut Scenario,
    table: &mut Table,
) -> anyhow::Result<()> {
    let offsets = offsets(accounts);
    let samples = settings.pick(3, 10);
    progress::line("scenario 3: starting a MariaDB of the bench's own");
    let db = mariadb::start_own().await?;
    progress::line(format!(
        "scenario 3: MariaDB on port {}; writing {} accounts into its grant tables",
        db.port,
        thousands(accounts as f64)
    ));
    let seeding = Instant::now();
    let hash = NativePasswordHash::of(seed::PASSWORD).as_str().to_owned();
    let mut root = db.root_conn().await?;
    // The server's own accounts (root, mariadb.sys, the bench's admin: all sort after
    // `bench_…`) count towards the total.
    let own: Option<u64> = root
        .query_first("SELECT COUNT(DISTINCT User) FROM mysql.user WHERE is_role = 'N'")
        .await?;
    let generated = accounts - own.unwrap_or(0) as usize;
    for statement in [
        "CREATE DATABASE sales".to_owned(),
        // The seq_1_to_N tables of the Sequence engine are read from the current database.
        "USE sales".to_owned(),
        format!(
            "INSERT INTO mysql.global_priv (Host, User, Priv) \
             SELECT '%', CONCAT('bench_', LPAD(seq, 6, '0')), \
             '{{\"access\":0,\"plugin\":\"mysql_native_password\",\"authentication_string\":\"{hash}\"}}' \
             FROM seq_1_to_{generated}"
        ),
        format!(
            "INSERT INTO mysql.db (Host, Db, User, Select_priv) \
             SELECT '%', 'sales', CONCAT('bench_', LPAD(seq, 6, '0')), 'Y' FROM seq_1_to_{generated}"
        ),
        "FLUSH PRIVILEGES".to_owned(),
    ] {
        root.query_drop(&statement).await?;
    }
    drop(root);
    let seeded_in = seeding.elapsed();
    progress::line(format!(
        "scenario 3: MariaDB seeded in {:.1} s",
        seeded_in.as_secs_f64()
    ));
    s.figure("mariadb.seed_s", seeded_in.as_secs_f64(), "s");
    let instance = server
        .add_sql_instance(
            "bench-paging-mariadb",
            &db.admin_dsn(),
            mariadb::ADMIN_PASSWORD,
            120,
        )
        .map_err(anyhow::Error::msg)?;
    let calls = page_calls(server, &instance, &offsets)?;
    let mut conn = Conn::connect(server.addr).await?;
    for (offset, call) in offsets.iter().zip(&calls) {
        check_page(&mut conn, call, *offset, accounts).await?;
    }
    let http = sample_pages(&mut conn, &calls, &offsets, samples, None)
        .await?
        .http;
    for (j, offset) in offsets.iter().enumerate() {
        let api_ratio = p50(&http[j]) / p50(&http[0]);
        table.row(vec![
            "MariaDB".into(),
            thousands(*offset as f64),
            ms(p50(&http[j])),
            ms(p99(&http[j])),
            format!("{api_ratio:.2}×"),
            "".into(),
            "".into(),
        ]);
        s.figure(
            format!("mariadb.page{j}.offset"),
            *offset as f64,
            "accounts",
        );
        s.figure(format!("mariadb.page{j}.api_p50_ms"), p50(&http[j]), "ms");
        s.figure(format!("mariadb.page{j}.api_p99_ms"), p99(&http[j]), "ms");
        progress::line(format!(
            "scenario 3: MariaDB, offset {offset}: API p50 {} ({api_ratio:.2}× offset 0)",
            ms(p50(&http[j]))
        ));
    }
    check_last_page(s, "MariaDB", &http, &offsets);
    s.notes.push(format!(
        "MariaDB: a server of the bench's own (MariaDB {}), {samples} samples per offset; {} \
         accounts (each with SELECT on one database) written into mysql.global_priv and \
         mysql.db and loaded with FLUSH PRIVILEGES in {:.1} s.",
        server_version(&db).await.unwrap_or_default(),
        thousands(accounts as f64),
        seeded_in.as_secs_f64()
    ));
    Ok(())
}

async fn server_version(db: &OwnMariaDb) -> anyhow::Result<String> {
    let mut root = db.root_conn().await?;
    let v: Option<String> = root.query_first("SELECT VERSION()").await?;
    Ok(v.unwrap_or_default())
}

/// The target of scenario 3 for one engine: the last page costs at most `TARGET`× the first.
fn check_last_page(s: &mut Scenario, engine: &str, http: &[Histogram<u64>], offsets: &[u64; 3]) {
    let ratio = p50(&http[2]) / p50(&http[0]);
    s.ratios.push(Ratio {
        label: format!("{engine}: last page ÷ first page"),
        value: Some(ratio),
        target: Some(Bound::AtMost(TARGET)),
    });
    s.targets.push(TargetCheck::checked(
        format!(
            "{engine}: page at offset {} costs ≤ {TARGET}× the page at offset 0",
            thousands(offsets[2] as f64)
        ),
        format!(
            "{ratio:.2}× ({} vs {}, p50)",
            ms(p50(&http[2])),
            ms(p50(&http[0]))
        ),
        ratio <= TARGET,
    ));
}

fn record(h: &mut Histogram<u64>, elapsed: Duration) {
    let us = elapsed.as_micros().clamp(1, 60_000_000) as u64;
    h.record(us).expect("within bounds");
}

/// The page at `offset` holds 100 accounts, starts where it should, and counts them all.
async fn check_page(
    conn: &mut Conn,
    call: &Call,
    offset: u64,
    accounts: usize,
) -> anyhow::Result<()> {
    let (status, page) = conn.send_json(call).await?;
    anyhow::ensure!(
        status == StatusCode::OK,
        "page at {offset} answered {status}: {page}"
    );
    let users = page["user_details"].as_array().cloned().unwrap_or_default();
    anyhow::ensure!(
        users.len() == 100,
        "page at {offset} holds {} accounts",
        users.len()
    );
    anyhow::ensure!(
        page["total_count"] == accounts as u64,
        "page at {offset} counts {} accounts, not {accounts}",
        page["total_count"]
    );
    // Names sort bench_000001 …, then the server's own accounts.
    let expected_first = seed::account_name(offset as usize + 1);
    anyhow::ensure!(
        users[0]["user_name"] == expected_first.as_str(),
        "page at {offset} starts with {}, not {expected_first}",
        users[0]["user_name"]
    );
    Ok(())
}
