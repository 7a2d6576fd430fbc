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
//! any HTTP service could reach here, measured in the same run. The targets are set against it
//! (≥ 0.85× at c=1, ≥ 0.95× at c=16); the ratio to raw SQL is reported without one. The store
//! commits an operation makes are counted by the server's store and read from its metrics.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use mysql_async::prelude::Queryable;
use serde_json::json;
use starkeep_domain::InstanceId;
use starkeep_store::{AuditEvent, Store, WriteAhead};
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

/// The target at concurrency `c`: the API's throughput at least this share of the floor's.
fn target(c: usize) -> f64 {
    if c == 1 {
        0.85
    } else {
        0.95
    }
}

fn target_text(c: usize) -> String {
    format!(
        "API create+delete at c={c} reaches ≥ {}× the floor's throughput",
        target(c)
    )
}

/// The median of `values` (the lower middle of an even count); `None` for none.
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len().saturating_sub(1) / 2).copied()
}

/// `values` as `a–b` (their spread), or the one value.
fn spread(values: &[f64]) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if values.len() > 1 {
        format!("{min:.2}–{max:.2}×")
    } else {
        format!("{min:.2}×")
    }
}

pub async fn run(settings: &Settings, server: &Starkeep) -> anyhow::Result<Scenario> {
    let s = Scenario::new(
        2,
        "Account lifecycle on a real server",
        "create + delete of one account per operation, closed loop, at concurrency 1 and 16: \
         operations per second, p50/p99, and the store commits each operation makes (counted by \
         the store)",
        "the floor: the statements the API sends, through a bare HTTP front (no auth, store or \
         audit) in a process of its own; and the same statements sent straight to MariaDB \
         (127.0.0.1:3306) over one pooled TCP connection per client: CREATE USER … IDENTIFIED \
         WITH mysql_native_password AS '<placeholder hash>', GRANT SELECT ON \
         `starkeep\\_bench`.* … IDENTIFIED BY PASSWORD '<hash>', DROP USER",
    );
    let targets: Vec<String> = CONCURRENCY.iter().map(|c| target_text(*c)).collect();
    let target_refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    let ratio_labels: Vec<[String; 3]> = CONCURRENCY
        .iter()
        .map(|c| {
            [
                format!("API ÷ floor create+delete, c={c}"),
                format!("API ÷ raw SQL create+delete, c={c}"),
                format!("floor (bare HTTP front) ÷ raw SQL, c={c}"),
            ]
        })
        .collect();
    let ratio_refs: Vec<(&str, Option<Bound>)> = CONCURRENCY
        .iter()
        .zip(&ratio_labels)
        .flat_map(|(c, [api_floor, api_raw, floor_raw])| {
            [
                (api_floor.as_str(), Some(Bound::AtLeast(target(*c)))),
                (api_raw.as_str(), None),
                (floor_raw.as_str(), None),
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
    // The targets sit close to what this machine allows: the full run measures each side
    // three times, in turn, and checks the median; the table shows every round.
    let rounds = settings.pick(1, 3);
    let mut table = Table::new(&[
        "concurrency",
        "round",
        "API ops/s",
        "API p50",
        "API p99",
        "store commits per op",
        "store alone, µs per op",
        "target's room, µs per op",
        "floor ops/s",
        "floor p50",
        "raw SQL ops/s",
        "raw SQL p50",
        "API ÷ floor",
        "API ÷ raw",
        "floor ÷ raw",
    ]);
    for (c, [api_floor_label, api_raw_label, floor_raw_label]) in
        CONCURRENCY.iter().copied().zip(&ratio_labels)
    {
        let mut api_floor = Vec::new();
        let mut api_raw = Vec::new();
        let mut floor_raw = Vec::new();
        for round in 1..=rounds {
            let side = |name: &str| {
                if rounds > 1 {
                    format!("{name}.r{round}")
                } else {
                    name.to_owned()
                }
            };
            let raw = raw_sql(&pool, c, warmup, duration).await?.summary();
            record(&mut s, &side("raw"), c, &raw);
            progress::line(format!(
                "scenario 2, c={c}, round {round}: raw SQL {} create+delete/s (p99 {})",
                thousands(raw.req_per_s),
                ms(raw.p99_ms)
            ));
            let floor = match &floor {
                Ok(floor) => {
                    let (load, _) =
                        http_pairs(floor.addr, c, warmup, duration, floor_calls).await?;
                    Some(against_raw(&mut s, &side("floor"), c, load.summary(), &raw))
                }
                Err(_) => None,
            };
            let mut commits_per_op = None;
            let api = match &api_instance {
                Ok(instance) => {
                    let (base, token) = (server.accounts_base(instance), server.token.clone());
                    let commits_before = store_commits(server.addr).await?;
                    let (load, pairs) =
                        http_pairs(server.addr, c, warmup, duration, move |w, n| {
                            api_calls(&base, &token, w, n)
                        })
                        .await?;
                    let commits = store_commits(server.addr).await? - commits_before;
                    let per_op = commits as f64 / pairs.max(1) as f64;
                    s.figure(
                        format!("{}.c{c}.store_commits_per_op", side("api")),
                        per_op,
                        "commits",
                    );
                    progress::line(format!(
                        "scenario 2, c={c}, round {round}: {commits} store commits for {pairs} \
                         create+delete pairs ({per_op:.2} per pair)"
                    ));
                    commits_per_op = Some(per_op);
                    Some(against_raw(&mut s, &side("API"), c, load.summary(), &raw))
                }
                Err(_) => None,
            };
            // At c=1 an operation's time is 1 ÷ the rate: what the store's commits cost alone
            // is set against the time the target allows the API beyond the floor's.
            let (store_alone, room) = if c == 1 && api.is_some() {
                let (us, commits) =
                    store_part(settings.pick(Duration::from_secs(1), Duration::from_secs(3)))
                        .await?;
                let room = floor
                    .as_ref()
                    .map(|f| 1e6 / f.req_per_s * (1.0 / target(c) - 1.0));
                s.figure(format!("{}.c1.us_per_op", side("store_alone")), us, "µs");
                if let Some(room) = room {
                    s.figure(format!("{}.c1.us_per_op", side("target_room")), room, "µs");
                }
                progress::line(format!(
                    "scenario 2, c=1, round {round}: the store's part alone {us:.0} µs per \
                     create+delete ({commits:.2} commits); the target leaves {} µs per pair \
                     beyond the floor's",
                    room.map(|r| format!("{r:.0}"))
                        .unwrap_or_else(|| "?".into())
                ));
                (Some(us), room)
            } else {
                (None, None)
            };
            let ratio_to = |a: &Option<LoadSummary>, b: Option<f64>| {
                a.as_ref().zip(b).map(|(a, b)| a.req_per_s / b)
            };
            let floor_ops = floor.as_ref().map(|f| f.req_per_s);
            let to_floor = ratio_to(&api, floor_ops);
            let to_raw = ratio_to(&api, Some(raw.req_per_s));
            let floor_to_raw = ratio_to(&floor, Some(raw.req_per_s));
            api_floor.extend(to_floor);
            api_raw.extend(to_raw);
            floor_raw.extend(floor_to_raw);
            let cell = |summary: &Option<LoadSummary>, f: fn(&LoadSummary) -> String| {
                summary.as_ref().map(f).unwrap_or_else(|| "not run".into())
            };
            let times = |r: Option<f64>| r.map(|r| format!("{r:.2}×")).unwrap_or_default();
            table.row(vec![
                c.to_string(),
                format!("{round} of {rounds}"),
                cell(&api, |a| thousands(a.req_per_s)),
                cell(&api, |a| ms(a.p50_ms)),
                cell(&api, |a| ms(a.p99_ms)),
                commits_per_op
                    .map(|n| format!("{n:.2}"))
                    .unwrap_or_default(),
                store_alone.map(|us| format!("{us:.0}")).unwrap_or_default(),
                room.map(|us| format!("{us:.0}")).unwrap_or_default(),
                cell(&floor, |f| thousands(f.req_per_s)),
                cell(&floor, |f| ms(f.p50_ms)),
                thousands(raw.req_per_s),
                ms(raw.p50_ms),
                times(to_floor),
                times(to_raw),
                times(floor_to_raw),
            ]);
        }
        let ratio = median(&api_floor);
        for (label, values, bound) in [
            (api_floor_label, &api_floor, Some(Bound::AtLeast(target(c)))),
            (api_raw_label, &api_raw, None),
            (floor_raw_label, &floor_raw, None),
        ] {
            s.ratios.push(Ratio {
                label: label.clone(),
                value: median(values),
                target: bound,
            });
        }
        s.targets.push(match (ratio, &api_instance, &floor) {
            (Some(r), _, _) => TargetCheck::checked(
                target_text(c),
                if rounds > 1 {
                    format!(
                        "{r:.2}× (median of {rounds} rounds, spread {})",
                        spread(&api_floor)
                    )
                } else {
                    format!("{r:.2}×")
                },
                r >= target(c),
            ),
            (None, Err(reason), _) => TargetCheck::not_run(target_text(c), reason.clone()),
            (None, Ok(_), Err(e)) => {
                TargetCheck::not_run(target_text(c), format!("the floor did not start: {e:#}"))
            }
            (None, Ok(_), Ok(_)) => unreachable!("both halves run when both exist"),
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
        "{} s per side and concurrency after {} ms of warm-up, {rounds} round(s) of the three \
         sides in turn; the ratios of record are the medians of the rounds. One operation = \
         create, grant, drop of a fresh account.",
        duration.as_secs(),
        warmup.as_millis()
    ));
    s.notes.push(
        "The floor is the same statements behind the thinnest HTTP front (one request to \
         create and grant, one to drop; no authentication, store, audit or crash safety), in a \
         process of its own like starkeep: the most any service answering over HTTP could reach \
         on this machine in this run, and what the targets are checked against."
            .into(),
    );
    s.notes.push(format!(
        "Store commits per operation: the change in the server's `{}` counter (its metrics) \
         over the API side's run, warm-up included, divided by the pairs sent in it. Under \
         concurrency, writes of several requests share a commit, so the figure falls below \
         four.",
        starkeep_store::COMMITS_METRIC
    ));
    s.notes.push(format!(
        "Store alone (c=1): the four commits of a create + delete pair made by the store's own \
         code in this process, one pair after another, on a SQLite store of its own beside the \
         server's, right after the API side; the target's room: the time per pair the c=1 \
         target allows the API beyond the floor's (1 ÷ floor ops/s × (1 ÷ {} − 1)). Where the \
         store alone needs more than that room, no build that keeps the four commits on the \
         request's path can meet the target in that round.",
        target(1)
    ));
    s.table = table;
    Ok(s)
}

/// The server's count of store commits, read from its metrics.
async fn store_commits(addr: SocketAddr) -> anyhow::Result<u64> {
    let mut conn = Conn::connect(addr).await?;
    let (status, body) = conn.send(&Call::get("/metrics", None)?).await?;
    anyhow::ensure!(status == StatusCode::OK, "/metrics answered {status}");
    let text = String::from_utf8_lossy(&body);
    let value = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name.split('{').next()? == starkeep_store::COMMITS_METRIC).then_some(value)
        })
        // Before its first commit, the server has no such line.
        .unwrap_or("0");
    Ok(value.trim().parse::<f64>()? as u64)
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
/// a kept-alive connection each; answers the load in the window and every pair sent (warm-up
/// included).
async fn http_pairs<F>(
    addr: SocketAddr,
    c: usize,
    warmup: Duration,
    duration: Duration,
    calls: F,
) -> anyhow::Result<(LoadResult, u64)>
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
            Ok::<_, anyhow::Error>((out, n))
        }));
    }
    barrier.wait().await;
    let mut total = LoadResult::empty();
    let mut pairs = 0;
    for w in workers {
        let (out, sent) = w.await??;
        total.merge(&out);
        pairs += sent;
    }
    total.window = duration;
    Ok((total, pairs))
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

/// What the store's part of one create + delete pair costs alone: the four commits the API
/// makes for it, by the same store code in this process, one pair after another, on a SQLite
/// store of its own in a new directory beside the server's (the same file system and
/// durability setting), with nothing else between them. Answers the microseconds per pair and
/// the commits per pair counted by that store.
///
/// The create: its audit event and pending record in one commit before the server is touched,
/// its outcome and the record's end in one after; the delete: its event alone before, its
/// outcome after (the API's `record_changes` and the MySQL engine's create, in that order).
async fn store_part(duration: Duration) -> anyhow::Result<(f64, f64)> {
    let dir = tempfile::tempdir()?;
    let store = Store::open_sqlite(dir.path()).await?;
    let project = &store.create_project("store-part").await?.id;
    let instance =
        InstanceId::parse(&seed::embedded_instance(&store, project, "store-part", 1).await?)?;
    let event = |action: &str, n: u64| AuditEvent {
        at_ms: starkeep_store::now_millis(),
        request_id: format!("store-part-{n}"),
        actor: "bench".into(),
        project_id: project.as_str().to_owned(),
        instance_id: instance.as_str().to_owned(),
        action: action.to_owned(),
        account: Some(format!("{PREFIX}{n}")),
        status: 0,
        error_code: None,
    };
    let commits_before = store.group_commits();
    let start = Instant::now();
    let mut pairs = 0u64;
    while start.elapsed() < duration {
        let name = format!("{PREFIX}{pairs}");
        let create = store.prepare_change(event("create_account", pairs));
        create
            .scope(async {
                create.begin(|_| {}, WriteAhead::WithChange).await?;
                let attempt = format!("attempt-{pairs}");
                store
                    .begin_pending_create(&instance, &name, &attempt)
                    .await?;
                store.end_pending_create(&attempt).await
            })
            .await?;
        create.finish(201, None).await?;
        let delete = store.prepare_change(event("delete_account", pairs));
        delete
            .scope(delete.begin(|_| {}, WriteAhead::Alone))
            .await?;
        delete.finish(204, None).await?;
        pairs += 1;
    }
    let elapsed = start.elapsed();
    let commits = store.group_commits() - commits_before;
    store.close().await;
    let pairs = pairs.max(1) as f64;
    Ok((elapsed.as_secs_f64() * 1e6 / pairs, commits as f64 / pairs))
}
