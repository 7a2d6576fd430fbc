//! Scenario 2, account lifecycle on a real server: create + delete of one account through the
//! API, against the same SQL sent straight to MariaDB over one pooled connection per client, at
//! the same concurrency.
//!
//! The raw-SQL side sends, for each account, the statements starkeep's MySQL engine sends to
//! MariaDB for it, taken from the engine's dialect ([`floor::AccountStatements`]): a `CREATE USER`
//! with a hash no password has, a `GRANT SELECT` on the bench's database that sets the real hash
//! (`IDENTIFIED BY PASSWORD`), then `DROP USER`. The API side runs on an instance of the
//! MySQL engine added with `starkeep instance add --engine mysql --dsn …` on the same MariaDB.
//!
//! A third side, the floor ([`crate::floor`]), sends the same statements through a bare HTTP
//! front in a process of its own (create and grant in one round trip, drop in another): the most
//! any HTTP service could reach here, measured in the same run, so the API's figure can be read
//! against what is possible as well as against raw SQL.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use mysql_async::prelude::Queryable;
use serde_json::json;
use tokio::sync::Barrier;

use super::Settings;
use crate::floor::{self, Floor};
use crate::http::{Call, Conn};
use crate::load::{LoadResult, LoadSummary};
use crate::mariadb;
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
        "the statements the API sends, sent straight to MariaDB (127.0.0.1:3306) over one \
         pooled TCP connection per client: CREATE USER … IDENTIFIED WITH mysql_native_password \
         AS '<placeholder hash>', GRANT SELECT ON `starkeep\\_bench`.* … IDENTIFIED BY PASSWORD \
         '<hash>', DROP USER; and the floor: the same statements through a bare HTTP front (no \
         auth, store or audit) in a process of its own",
    );
    let targets: Vec<String> = CONCURRENCY.iter().map(|c| target_text(*c)).collect();
    let target_refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    let ratio_labels: Vec<(String, String)> = CONCURRENCY
        .iter()
        .map(|c| {
            (
                format!("API ÷ raw SQL create+delete, c={c}"),
                format!("floor (bare HTTP front) ÷ raw SQL, c={c}"),
            )
        })
        .collect();
    let ratio_refs: Vec<(&str, Option<Bound>)> = ratio_labels
        .iter()
        .flat_map(|(api, floor)| {
            [
                (api.as_str(), Some(Bound::AtLeast(TARGET))),
                (floor.as_str(), None),
            ]
        })
        .collect();

    let pool = mariadb::pool_over_tcp(&settings.mysql_url)?;
    if let Err(e) = prepare(&pool).await {
        pool.disconnect().await.ok();
        return Ok(s.not_run(
            &mariadb::unreachable(&settings.mysql_url, &e),
            &target_refs,
            &ratio_refs,
        ));
    }
    let (dsn, password) = mariadb::split_password(&settings.mysql_url);
    let api_instance = server
        .add_sql_instance("bench-mariadb", &dsn, &password, 5)
        .map_err(|e| format!("not run: {e}"));
    let floor = Floor::start(&settings.mysql_url, DATABASE);
    if let Err(e) = &floor {
        progress::line(format!("scenario 2: the floor is not run: {e:#}"));
    }
    let mut s = s;
    let duration = settings.pick(Duration::from_secs(3), Duration::from_secs(10));
    let warmup = settings.pick(Duration::from_millis(300), Duration::from_secs(1));
    let mut table = Table::new(&[
        "concurrency",
        "API ops/s",
        "API p50",
        "API p99",
        "floor ops/s",
        "floor p50",
        "raw SQL ops/s",
        "raw SQL p50",
        "raw SQL p99",
        "API ÷ raw",
        "floor ÷ raw",
    ]);
    for (c, (api_label, floor_label)) in CONCURRENCY.iter().copied().zip(&ratio_labels) {
        let raw = raw_sql(&pool, c, warmup, duration).await?.summary();
        record(&mut s, "raw", c, &raw);
        progress::line(format!(
            "scenario 2, c={c}: raw SQL {} create+delete/s (p99 {})",
            thousands(raw.req_per_s),
            ms(raw.p99_ms)
        ));
        let floor = match &floor {
            Ok(floor) => {
                let summary = http_pairs(floor.addr, c, warmup, duration, floor_calls).await?;
                Some(against_raw(&mut s, "floor", c, summary.summary(), &raw))
            }
            Err(_) => None,
        };
        let api = match &api_instance {
            Ok(instance) => {
                let (base, token) = (server.accounts_base(instance), server.token.clone());
                let summary = http_pairs(server.addr, c, warmup, duration, move |w, n| {
                    api_calls(&base, &token, w, n)
                })
                .await?;
                Some(against_raw(&mut s, "API", c, summary.summary(), &raw))
            }
            Err(_) => None,
        };
        let ratio = api.as_ref().map(|api| api.req_per_s / raw.req_per_s);
        let floor_ratio = floor.as_ref().map(|f| f.req_per_s / raw.req_per_s);
        let cell = |summary: &Option<LoadSummary>, f: fn(&LoadSummary) -> String| {
            summary.as_ref().map(f).unwrap_or_else(|| "not run".into())
        };
        let times = |r: Option<f64>| r.map(|r| format!("{r:.2}×")).unwrap_or_default();
        table.row(vec![
            c.to_string(),
            cell(&api, |a| thousands(a.req_per_s)),
            cell(&api, |a| ms(a.p50_ms)),
            cell(&api, |a| ms(a.p99_ms)),
            cell(&floor, |f| thousands(f.req_per_s)),
            cell(&floor, |f| ms(f.p50_ms)),
            thousands(raw.req_per_s),
            ms(raw.p50_ms),
            ms(raw.p99_ms),
            times(ratio),
            times(floor_ratio),
        ]);
        s.ratios.push(Ratio {
            label: api_label.clone(),
            value: ratio,
            target: Some(Bound::AtLeast(TARGET)),
        });
        s.ratios.push(Ratio {
            label: floor_label.clone(),
            value: floor_ratio,
            target: None,
        });
        s.targets.push(match (ratio, &api_instance) {
            (Some(r), _) => TargetCheck::checked(target_text(c), format!("{r:.2}×"), r >= TARGET),
            (None, Err(reason)) => TargetCheck::not_run(target_text(c), reason.clone()),
            (None, Ok(_)) => unreachable!("the API half runs when the instance exists"),
        });
    }
    drop(floor);
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
    s.notes.push(
        "The floor is not a target: it is the same statements behind the thinnest HTTP front \
         (one request to create and grant, one to drop; no authentication, store, audit or \
         crash safety), in a process of its own like starkeep. Its ratio to raw SQL is the most \
         any service answering over HTTP could reach on this machine in this run."
            .into(),
    );
    s.table = table;
    Ok(s)
}

/// Keeps the figures of `side` (`floor` or `API`) at concurrency `c` and prints them against
/// `raw`'s; answers `summary`.
fn against_raw(
    s: &mut Scenario,
    side: &str,
    c: usize,
    summary: LoadSummary,
    raw: &LoadSummary,
) -> LoadSummary {
    record(s, &side.to_lowercase(), c, &summary);
    progress::line(format!(
        "scenario 2, c={c}: {side} {} create+delete/s: ratio {:.2}",
        thousands(summary.req_per_s),
        summary.req_per_s / raw.req_per_s
    ));
    summary
}

/// Keeps the figures of one side (`raw`, `floor`, `api`) at concurrency `c`.
fn record(s: &mut Scenario, side: &str, c: usize, summary: &LoadSummary) {
    s.figure(format!("{side}.c{c}.ops_per_s"), summary.req_per_s, "ops/s");
    s.figure(format!("{side}.c{c}.p50_ms"), summary.p50_ms, "ms");
    s.figure(format!("{side}.c{c}.p99_ms"), summary.p99_ms, "ms");
    s.figure(
        format!("{side}.c{c}.errors"),
        summary.errors as f64,
        "operations",
    );
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
    let statements = floor::AccountStatements::new(DATABASE);
    let barrier = Arc::new(Barrier::new(c + 1));
    let mut workers = Vec::new();
    for w in 0..c {
        let mut conn = pool.get_conn().await?;
        let (barrier, statements) = (barrier.clone(), statements.clone());
        workers.push(tokio::spawn(async move {
            barrier.wait().await;
            let window = Window::new(warmup, duration);
            let mut out = LoadResult::empty();
            let mut n = 0u64;
            while let Some(sent) = window.next() {
                n += 1;
                let name = format!("{PREFIX}{w}_{n}");
                let ok = async {
                    for statement in statements.create(&name) {
                        conn.query_drop(statement).await?;
                    }
                    conn.query_drop(statements.drop_user(&name)).await
                }
                .await;
                if ok.is_err() {
                    let _ = conn
                        .query_drop(format!("DROP USER IF EXISTS '{name}'@'%'"))
                        .await;
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

/// One create + delete through the API on the accounts of `base`, for worker `w`'s `n`th
/// operation.
fn api_calls(base: &str, token: &str, w: usize, n: u64) -> anyhow::Result<(Call, Call)> {
    let name = format!("{PREFIX}{w}_{n}");
    let create =
        Call::new(Method::POST, &format!("{base}/users"), Some(token))?.json(&create_body(&name));
    let delete = Call::new(
        Method::DELETE,
        &format!("{base}/users?user_name={name}"),
        Some(token),
    )?;
    Ok((create, delete))
}

/// The same on the floor, with the same body, which it reads and leaves.
fn floor_calls(w: usize, n: u64) -> anyhow::Result<(Call, Call)> {
    let name = format!("{PREFIX}{w}_{n}");
    let create =
        Call::new(Method::POST, &format!("/users?name={name}"), None)?.json(&create_body(&name));
    let delete = Call::new(Method::DELETE, &format!("/users?name={name}"), None)?;
    Ok((create, delete))
}

/// The body of the API's create of account `name`.
fn create_body(name: &str) -> serde_json::Value {
    json!({
        "user_name": name, "password": seed::PASSWORD, "databases": [DATABASE],
        "dml": floor::PRIVILEGES.dml.wire(), "ddl": floor::PRIVILEGES.ddl.wire()
    })
}

/// Create + delete pairs, made by `calls`, sent to `addr` in a closed loop by `c` clients with
/// a kept-alive connection each.
async fn http_pairs<F>(
    addr: SocketAddr,
    c: usize,
    warmup: Duration,
    duration: Duration,
    calls: F,
) -> anyhow::Result<LoadResult>
where
    F: Fn(usize, u64) -> anyhow::Result<(Call, Call)> + Clone + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(c + 1));
    let mut workers = Vec::new();
    for w in 0..c {
        let mut conn = Conn::connect(addr).await?;
        let (barrier, calls) = (barrier.clone(), calls.clone());
        workers.push(tokio::spawn(async move {
            barrier.wait().await;
            let window = Window::new(warmup, duration);
            let mut out = LoadResult::empty();
            let mut n = 0u64;
            while let Some(sent) = window.next() {
                n += 1;
                let (create, delete) = calls(w, n)?;
                let created = answered_ok(conn.send(&create).await);
                let deleted = answered_ok(conn.send(&delete).await);
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

fn answered_ok<T>(answer: anyhow::Result<(StatusCode, T)>) -> bool {
    matches!(answer, Ok((StatusCode::OK, _)))
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
