//! Scenario 2, account lifecycle on a real server: create + delete of one account through the
//! API, against the same SQL sent straight to MariaDB over one pooled connection per client, at
//! the same concurrency.
//!
//! The raw-SQL side sends, for each account, `CREATE USER … IDENTIFIED WITH
//! mysql_native_password AS '<hash>'`, `GRANT SELECT ON starkeep_bench.* …`, `DROP USER …`: the
//! statements a MySQL engine needs at the least. The API side runs on an instance of the MySQL
//! engine added with `starkeep instance add --engine mysql --dsn …` on the same MariaDB.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use mysql_async::prelude::Queryable;
use serde_json::json;
use starkeep_domain::NativePasswordHash;
use tokio::sync::Barrier;

use super::Settings;
use crate::http::{Call, Conn};
use crate::load::LoadResult;
use crate::progress;
use crate::report::{ms, thousands, Bound, Ratio, Scenario, Status, Table, TargetCheck};
use crate::seed;
use crate::server::Starkeep;

pub const CONCURRENCY: [usize; 2] = [1, 16];
/// The database the accounts are granted on.
const DATABASE: &str = "starkeep_bench";
/// Every account this scenario makes starts so; leftovers of a broken run are dropped first.
const PREFIX: &str = "skbench_";
const TARGET: f64 = 0.8;

fn target_text(c: usize) -> String {
    format!("API create+delete at c={c} reaches ≥ {TARGET}× the raw-SQL throughput")
}

pub async fn run(settings: &Settings, server: &Starkeep) -> anyhow::Result<Scenario> {
    let s = Scenario::new(
        2,
        "Account lifecycle on a real server",
        "create + delete of one account per operation, closed loop, at concurrency 1 and 16: \
         operations per second, p50/p99",
        "the same statements sent straight to MariaDB (127.0.0.1:3306) over one pooled \
         connection per client: CREATE USER … IDENTIFIED WITH mysql_native_password AS '<hash>', \
         GRANT SELECT ON starkeep_bench.*, DROP USER",
    );
    let targets: Vec<String> = CONCURRENCY.iter().map(|c| target_text(*c)).collect();
    let target_refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    let ratio_labels: Vec<String> = CONCURRENCY
        .iter()
        .map(|c| format!("API ÷ raw SQL create+delete, c={c}"))
        .collect();
    let ratio_refs: Vec<(&str, Option<Bound>)> = ratio_labels
        .iter()
        .map(|l| (l.as_str(), Some(Bound::AtLeast(TARGET))))
        .collect();

    let pool = mysql_async::Pool::new(mysql_async::Opts::from_url(&settings.mysql_url)?);
    if let Err(e) = prepare(&pool).await {
        pool.disconnect().await.ok();
        return Ok(s.not_run(
            &format!("MariaDB at {} is not reachable: {e}", settings.mysql_url),
            &target_refs,
            &ratio_refs,
        ));
    }
    let api_instance = server
        .add_sql_instance("bench-mariadb", &settings.mysql_url, "", 5)
        .map_err(|e| format!("not run: {e}"));
    let mut s = s;
    let duration = settings.pick(Duration::from_secs(3), Duration::from_secs(10));
    let warmup = settings.pick(Duration::from_millis(300), Duration::from_secs(1));
    let mut table = Table::new(&[
        "concurrency",
        "API ops/s",
        "API p50",
        "API p99",
        "raw SQL ops/s",
        "raw SQL p50",
        "raw SQL p99",
        "API ÷ raw",
    ]);
    for (c, ratio_label) in CONCURRENCY.iter().copied().zip(&ratio_labels) {
        let raw = raw_sql(&pool, c, warmup, duration).await?.summary();
        s.figure(format!("raw.c{c}.ops_per_s"), raw.req_per_s, "ops/s");
        s.figure(format!("raw.c{c}.p50_ms"), raw.p50_ms, "ms");
        s.figure(format!("raw.c{c}.p99_ms"), raw.p99_ms, "ms");
        s.figure(format!("raw.c{c}.errors"), raw.errors as f64, "operations");
        progress::line(format!(
            "scenario 2, c={c}: raw SQL {} create+delete/s (p99 {})",
            thousands(raw.req_per_s),
            ms(raw.p99_ms)
        ));
        let api = match &api_instance {
            Ok(instance) => Some(
                api_calls(server, instance, c, warmup, duration)
                    .await?
                    .summary(),
            ),
            Err(_) => None,
        };
        let (api_cells, ratio) = match api {
            Some(api) => {
                let ratio = api.req_per_s / raw.req_per_s;
                s.figure(format!("api.c{c}.ops_per_s"), api.req_per_s, "ops/s");
                s.figure(format!("api.c{c}.p50_ms"), api.p50_ms, "ms");
                s.figure(format!("api.c{c}.p99_ms"), api.p99_ms, "ms");
                s.figure(format!("api.c{c}.errors"), api.errors as f64, "operations");
                progress::line(format!(
                    "scenario 2, c={c}: API {} create+delete/s: ratio {ratio:.2}",
                    thousands(api.req_per_s)
                ));
                (
                    vec![thousands(api.req_per_s), ms(api.p50_ms), ms(api.p99_ms)],
                    Some(ratio),
                )
            }
            None => (vec!["not run".into(), "".into(), "".into()], None),
        };
        let mut row = vec![c.to_string()];
        row.extend(api_cells);
        row.extend([thousands(raw.req_per_s), ms(raw.p50_ms), ms(raw.p99_ms)]);
        row.push(ratio.map(|r| format!("{r:.2}×")).unwrap_or_default());
        table.row(row);
        s.ratios.push(Ratio {
            label: ratio_label.clone(),
            value: ratio,
            target: Some(Bound::AtLeast(TARGET)),
        });
        s.targets.push(match (ratio, &api_instance) {
            (Some(r), _) => TargetCheck::checked(target_text(c), format!("{r:.2}×"), r >= TARGET),
            (None, Err(reason)) => TargetCheck::not_run(target_text(c), reason.clone()),
            (None, Ok(_)) => unreachable!("the API half runs when the instance exists"),
        });
    }
    drop_leftovers(&pool).await.ok();
    pool.disconnect().await.ok();
    if let Err(reason) = &api_instance {
        s.status = Status::Partial {
            not_run: format!("the API half ({reason})"),
        };
    }
    s.notes.push(format!(
        "{} s per side and concurrency after {} ms of warm-up; one operation = create, grant, \
         drop of a fresh account.",
        duration.as_secs(),
        warmup.as_millis()
    ));
    s.table = table;
    Ok(s)
}

/// Makes the database the grants name, and drops accounts a broken run left.
async fn prepare(pool: &mysql_async::Pool) -> anyhow::Result<()> {
    let mut conn = pool.get_conn().await?;
    conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS `{DATABASE}`"))
        .await?;
    drop(conn);
    drop_leftovers(pool).await
}

async fn drop_leftovers(pool: &mysql_async::Pool) -> anyhow::Result<()> {
    let mut conn = pool.get_conn().await?;
    let users: Vec<(String, String)> = conn
        .query(format!(
            "SELECT User, Host FROM mysql.user WHERE User LIKE '{}%'",
            PREFIX.replace('_', "\\_")
        ))
        .await?;
    for (user, host) in users {
        conn.query_drop(format!("DROP USER IF EXISTS '{user}'@'{host}'"))
            .await?;
    }
    Ok(())
}

/// The raw-SQL lifecycle at concurrency `c`.
async fn raw_sql(
    pool: &mysql_async::Pool,
    c: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    let hash = NativePasswordHash::of(seed::PASSWORD).as_str().to_owned();
    let barrier = Arc::new(Barrier::new(c + 1));
    let mut workers = Vec::new();
    for w in 0..c {
        let mut conn = pool.get_conn().await?;
        let (barrier, hash) = (barrier.clone(), hash.clone());
        workers.push(tokio::spawn(async move {
            barrier.wait().await;
            let window = Window::new(warmup, duration);
            let mut out = LoadResult::empty();
            let mut n = 0u64;
            while let Some(sent) = window.next() {
                n += 1;
                let user = format!("'{PREFIX}{w}_{n}'@'%'");
                let ok = async {
                    conn.query_drop(format!(
                        "CREATE USER {user} IDENTIFIED WITH mysql_native_password AS '{hash}'"
                    ))
                    .await?;
                    conn.query_drop(format!("GRANT SELECT ON `{DATABASE}`.* TO {user}"))
                        .await?;
                    conn.query_drop(format!("DROP USER {user}")).await?;
                    Ok::<_, mysql_async::Error>(())
                }
                .await;
                if ok.is_err() {
                    let _ = conn.query_drop(format!("DROP USER IF EXISTS {user}")).await;
                }
                window.record(&mut out, sent, ok.is_ok());
            }
            out.window = duration;
            out
        }));
    }
    barrier.wait().await;
    let mut total = LoadResult::empty();
    for w in workers {
        total.merge(&w.await?);
    }
    total.window = duration;
    Ok(total)
}

/// The API lifecycle (POST then DELETE) on `instance` at concurrency `c`.
async fn api_calls(
    server: &Starkeep,
    instance: &str,
    c: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    let base = server.accounts_base(instance);
    let barrier = Arc::new(Barrier::new(c + 1));
    let mut workers = Vec::new();
    for w in 0..c {
        let mut conn = Conn::connect(server.addr).await?;
        let (barrier, base, token) = (barrier.clone(), base.clone(), server.token.clone());
        workers.push(tokio::spawn(async move {
            barrier.wait().await;
            let window = Window::new(warmup, duration);
            let mut out = LoadResult::empty();
            let mut n = 0u64;
            while let Some(sent) = window.next() {
                n += 1;
                let name = format!("{PREFIX}{w}_{n}");
                let create = Call::new(Method::POST, &format!("{base}/users"), Some(&token))?.json(&json!({
                    "user_name": name, "password": seed::PASSWORD, "databases": [DATABASE], "dml": 1, "ddl": 0
                }));
                let delete = Call::new(Method::DELETE, &format!("{base}/users?user_name={name}"), Some(&token))?;
                let created = conn.send(&create).await.map(|(s, _)| s == StatusCode::OK).unwrap_or(false);
                let deleted = conn.send(&delete).await.map(|(s, _)| s == StatusCode::OK).unwrap_or(false);
                window.record(&mut out, sent, created && deleted);
            }
            Ok::<_, anyhow::Error>(out)
        }));
    }
    barrier.wait().await;
    let mut total = LoadResult::empty();
    for w in workers {
        total.merge(&w.await??);
    }
    total.window = duration;
    Ok(total)
}

/// A worker's measured window: a warm-up, then `duration` during which operations count.
struct Window {
    from: Instant,
    until: Instant,
}

impl Window {
    fn new(warmup: Duration, duration: Duration) -> Self {
        let from = Instant::now() + warmup;
        Self {
            from,
            until: from + duration,
        }
    }

    /// The start of the next operation, or `None` once the window is over.
    fn next(&self) -> Option<Instant> {
        let now = Instant::now();
        (now < self.until).then_some(now)
    }

    /// Counts an operation that began at `sent` and ends now, if it lies in the window.
    fn record(&self, out: &mut LoadResult, sent: Instant, ok: bool) {
        let done = Instant::now();
        if sent >= self.from && done <= self.until {
            out.requests += 1;
            if !ok {
                out.errors += 1;
            }
            let us = (done - sent).as_micros().clamp(1, 60_000_000) as u64;
            out.latency_us.record(us).expect("within bounds");
        }
    }
}
