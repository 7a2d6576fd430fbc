//! Scenario 3, paging at scale: an embedded instance with 100,000 accounts; the latency of a
//! 100-account page at offset 0, 50,000 and 99,900, one request at a time over a keep-alive
//! connection. The offsets take turns, so the machine's other work falls on each alike.
//!
//! The same three pages are also read straight from the store in this process
//! (`Store::list_accounts`, no HTTP), which tells what the store's query costs and what the
//! server adds. The MariaDB half waits for the MySQL engine.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use hyper::StatusCode;
use starkeep_domain::{InstanceId, PageRequest};

use super::Settings;
use crate::http::{Call, Conn};
use crate::load::latency_histogram;
use crate::progress;
use crate::report::{ms, Bound, Ratio, Scenario, Status, Table, TargetCheck};
use crate::seed;
use crate::server::Starkeep;

pub const ACCOUNTS: usize = 100_000;
pub const OFFSETS: [u64; 3] = [0, 50_000, 99_900];
const TARGET: f64 = 2.0;

/// Why the MariaDB half does not run yet.
pub const MYSQL_NOT_RUN: &str =
    "not run: engine not yet available (the MySQL engine is not in this build of starkeep)";

pub async fn run(settings: &Settings, server: &Starkeep) -> anyhow::Result<Scenario> {
    let mut s = Scenario::new(
        3,
        "Paging at scale",
        "latency of one page of 100 accounts at offset 0, 50,000 and 99,900 of an instance \
         with 100,000 accounts, one request at a time (p50 of interleaved samples)",
        "the page at offset 0 of the same instance, in the same run; the store's own query \
         (`Store::list_accounts`, no HTTP) for each page",
    );
    let samples = settings.pick(40, 200);

    progress::line(format!(
        "scenario 3: seeding an embedded instance with {ACCOUNTS} accounts"
    ));
    let seeding = Instant::now();
    let store = server.open_store().await?;
    let instance =
        seed::embedded_instance(&store, &server.project_id, "bench-paging", ACCOUNTS).await?;
    let seeded_in = seeding.elapsed();
    progress::line(format!(
        "scenario 3: seeded in {:.1} s",
        seeded_in.as_secs_f64()
    ));
    s.figure("seed_s", seeded_in.as_secs_f64(), "s");

    let base = server.accounts_base(&instance);
    let calls: Vec<Call> = OFFSETS
        .iter()
        .map(|o| {
            Call::get(
                &format!("{base}/users?limit=100&offset={o}"),
                Some(&server.token),
            )
        })
        .collect::<Result<_, _>>()?;
    let mut conn = Conn::connect(server.addr).await?;
    for (offset, call) in OFFSETS.iter().zip(&calls) {
        check_page(&mut conn, call, *offset).await?;
    }
    let instance_id = InstanceId::parse(&instance)?;
    let pages: Vec<PageRequest> = OFFSETS
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
    let mut http: Vec<Histogram<u64>> = OFFSETS.iter().map(|_| latency_histogram()).collect();
    let mut direct: Vec<Histogram<u64>> = OFFSETS.iter().map(|_| latency_histogram()).collect();
    for i in 0..samples {
        for k in 0..OFFSETS.len() {
            let j = (i + k) % OFFSETS.len();
            let t = Instant::now();
            let (status, _) = conn.send(&calls[j]).await?;
            record(&mut http[j], t.elapsed());
            anyhow::ensure!(
                status == StatusCode::OK,
                "page at offset {} answered {status}",
                OFFSETS[j]
            );
            let t = Instant::now();
            store.list_accounts(&instance_id, None, pages[j]).await?;
            record(&mut direct[j], t.elapsed());
        }
    }
    store.close().await;

    let p50 = |h: &Histogram<u64>| h.value_at_quantile(0.5) as f64 / 1000.0;
    let p99 = |h: &Histogram<u64>| h.value_at_quantile(0.99) as f64 / 1000.0;
    let mut table = Table::new(&[
        "offset",
        "API p50",
        "API p99",
        "API p50 ÷ offset 0",
        "store query p50",
        "store p50 ÷ offset 0",
    ]);
    for (j, offset) in OFFSETS.iter().enumerate() {
        let api_ratio = p50(&http[j]) / p50(&http[0]);
        let store_ratio = p50(&direct[j]) / p50(&direct[0]);
        table.row(vec![
            crate::report::thousands(*offset as f64),
            ms(p50(&http[j])),
            ms(p99(&http[j])),
            format!("{api_ratio:.2}×"),
            ms(p50(&direct[j])),
            format!("{store_ratio:.2}×"),
        ]);
        s.figure(
            format!("embedded.offset{offset}.api_p50_ms"),
            p50(&http[j]),
            "ms",
        );
        s.figure(
            format!("embedded.offset{offset}.api_p99_ms"),
            p99(&http[j]),
            "ms",
        );
        s.figure(
            format!("embedded.offset{offset}.store_p50_ms"),
            p50(&direct[j]),
            "ms",
        );
        progress::line(format!(
            "scenario 3: offset {offset}: API p50 {} ({api_ratio:.2}× offset 0), store p50 {}",
            ms(p50(&http[j])),
            ms(p50(&direct[j]))
        ));
    }
    let last = OFFSETS.len() - 1;
    let ratio = p50(&http[last]) / p50(&http[0]);
    s.ratios.push(Ratio {
        label: "embedded: page at 99,900 ÷ page at 0".into(),
        value: Some(ratio),
        target: Some(Bound::AtMost(TARGET)),
    });
    s.ratios.push(Ratio {
        label: "MariaDB: page at 99,900 ÷ page at 0".into(),
        value: None,
        target: Some(Bound::AtMost(TARGET)),
    });
    s.targets.push(TargetCheck::checked(
        format!("embedded: page at offset 99,900 costs ≤ {TARGET}× the page at offset 0"),
        format!(
            "{ratio:.2}× ({} vs {}, p50)",
            ms(p50(&http[last])),
            ms(p50(&http[0]))
        ),
        ratio <= TARGET,
    ));
    s.targets.push(TargetCheck::not_run(
        format!("MariaDB: page at offset 99,900 costs ≤ {TARGET}× the page at offset 0"),
        MYSQL_NOT_RUN,
    ));
    s.status = Status::Partial {
        not_run: format!("the MariaDB half ({MYSQL_NOT_RUN})"),
    };
    s.notes.push(format!(
        "{samples} samples per offset, offsets in turn; {} accounts seeded through the store in \
         one transaction in {:.1} s.",
        crate::report::thousands(ACCOUNTS as f64),
        seeded_in.as_secs_f64()
    ));
    s.table = table;
    Ok(s)
}

fn record(h: &mut Histogram<u64>, elapsed: Duration) {
    let us = elapsed.as_micros().clamp(1, 60_000_000) as u64;
    h.record(us).expect("within bounds");
}

/// The page at `offset` holds 100 accounts, starts where it should, and counts them all.
async fn check_page(conn: &mut Conn, call: &Call, offset: u64) -> anyhow::Result<()> {
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
        page["total_count"] == ACCOUNTS as u64,
        "page at {offset} counts {} accounts",
        page["total_count"]
    );
    // Names sort bench_000001 … bench_099999, then root.
    let expected_first = seed::account_name(offset as usize + 1);
    anyhow::ensure!(
        users[0]["user_name"] == expected_first.as_str(),
        "page at {offset} starts with {}, not {expected_first}",
        users[0]["user_name"]
    );
    Ok(())
}
