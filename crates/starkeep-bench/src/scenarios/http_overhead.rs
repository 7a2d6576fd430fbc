//! Scenario 1, HTTP overhead: `GET …/starrocks/users?limit=100` on an embedded instance with
//! 100 accounts, against `GET /health` of the same server, at concurrency 1, 16 and 64 over
//! keep-alive connections.
//!
//! `/health` is the floor: the same accept loop, HTTP parsing and middleware, with no
//! authentication, store or JSON of any size. The two loads alternate in short slices
//! (health, list, then list, health, …) so that the machine's other work falls on both alike.
//! During the runs at concurrency 64 the server's resident memory is sampled for scenario 5.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::StatusCode;

use super::Settings;
use crate::http::{Call, Conn};
use crate::load::{self, LoadResult, LoadSpec};
use crate::proc::{self, Memory};
use crate::progress;
use crate::report::{ms, thousands, Bound, Ratio, Scenario, Table, TargetCheck};
use crate::seed;
use crate::server::Starkeep;

pub const CONCURRENCY: [usize; 3] = [1, 16, 64];
/// Accounts on the listed instance (root included), so that a page holds 100.
const ACCOUNTS: usize = 101;
const RATIO_TARGET: f64 = 0.5;
const P99_TARGET_MS: f64 = 10.0;

/// The server's memory at the end of the concurrency-64 runs, and the most seen during them.
#[derive(Debug, Clone, Copy)]
pub struct MemoryAtC64 {
    pub after: Memory,
    /// The highest `VmRSS` sampled (every 50 ms) while the concurrency-64 load ran, KiB.
    pub sampled_peak_kib: u64,
}

pub async fn run(
    settings: &Settings,
    server: &Starkeep,
) -> anyhow::Result<(Scenario, Option<MemoryAtC64>)> {
    let mut s = Scenario::new(
        1,
        "HTTP overhead",
        "requests per second and p50/p99 latency of `GET …/starrocks/users?limit=100` (a page \
         of 100 accounts, embedded engine) over keep-alive connections, closed loop, at \
         concurrency 1, 16 and 64",
        "`GET /health` on the same server, in alternating slices of the same length",
    );
    let store = server.open_store().await?;
    let instance =
        seed::embedded_instance(&store, &server.project_id, "bench-list", ACCOUNTS).await?;
    store.close().await;
    let list = Call::get(
        &format!(
            "{}/users?limit=100&offset=0",
            server.accounts_base(&instance)
        ),
        Some(&server.token),
    )?;
    let health = Call::get("/health", None)?;
    check_answers(server, &list, &health).await?;

    let rounds = settings.pick(2, 3);
    let slice = settings.pick(Duration::from_secs(2), Duration::from_secs(5));
    let warmup = settings.pick(Duration::from_millis(300), Duration::from_secs(1));
    let mut table = Table::new(&[
        "concurrency",
        "list req/s",
        "list p50",
        "list p99",
        "/health req/s",
        "/health p50",
        "/health p99",
        "list ÷ /health req/s",
    ]);
    let mut at_c64 = None;
    let mut c64 = None;
    for c in CONCURRENCY {
        let spec = |call: &Call| LoadSpec {
            addr: server.addr,
            call: call.clone(),
            expect: StatusCode::OK,
            concurrency: c,
            warmup,
            duration: slice,
        };
        let sampler = (c == 64).then(|| RssSampler::start(server.pid()));
        let (mut l, mut h) = (LoadResult::empty(), LoadResult::empty());
        for round in 0..rounds {
            if round % 2 == 0 {
                h.merge(&load::run(&spec(&health)).await?);
                l.merge(&load::run(&spec(&list)).await?);
            } else {
                l.merge(&load::run(&spec(&list)).await?);
                h.merge(&load::run(&spec(&health)).await?);
            }
        }
        if let Some(sampler) = sampler {
            at_c64 = Some(MemoryAtC64 {
                sampled_peak_kib: sampler.stop(),
                after: server.memory()?,
            });
        }
        let (ls, hs) = (l.summary(), h.summary());
        let ratio = ls.req_per_s / hs.req_per_s;
        progress::line(format!(
            "scenario 1, c={c}: list {} req/s (p99 {}), /health {} req/s (p99 {}): ratio {ratio:.2}",
            thousands(ls.req_per_s),
            ms(ls.p99_ms),
            thousands(hs.req_per_s),
            ms(hs.p99_ms)
        ));
        table.row(vec![
            c.to_string(),
            thousands(ls.req_per_s),
            ms(ls.p50_ms),
            ms(ls.p99_ms),
            thousands(hs.req_per_s),
            ms(hs.p50_ms),
            ms(hs.p99_ms),
            format!("{ratio:.2}×"),
        ]);
        for (what, r) in [("list", ls), ("health", hs)] {
            s.figure(format!("{what}.c{c}.req_per_s"), r.req_per_s, "req/s");
            s.figure(format!("{what}.c{c}.p50_ms"), r.p50_ms, "ms");
            s.figure(format!("{what}.c{c}.p99_ms"), r.p99_ms, "ms");
            s.figure(
                format!("{what}.c{c}.requests"),
                r.requests as f64,
                "requests",
            );
            s.figure(format!("{what}.c{c}.errors"), r.errors as f64, "requests");
            if r.errors > 0 {
                s.notes.push(format!(
                    "{} of {} {what} requests at c={c} failed",
                    r.errors, r.requests
                ));
            }
        }
        s.ratios.push(Ratio {
            label: format!("list ÷ /health req/s, c={c}"),
            value: Some(ratio),
            target: (c == 64).then_some(Bound::AtLeast(RATIO_TARGET)),
        });
        if c == 64 {
            c64 = Some((ratio, ls));
        }
    }
    let (ratio, ls) = c64.expect("concurrency 64 ran");
    s.targets.push(TargetCheck::checked(
        format!("list of 100 at c=64 reaches ≥ {RATIO_TARGET}× the /health req/s"),
        format!("{ratio:.2}×"),
        ratio >= RATIO_TARGET,
    ));
    s.targets.push(TargetCheck::checked(
        format!("list of 100 at c=64: p99 < {P99_TARGET_MS} ms"),
        ms(ls.p99_ms),
        ls.p99_ms < P99_TARGET_MS,
    ));
    s.ratios.push(Ratio {
        label: "list p99 at c=64 ÷ 10 ms budget".into(),
        value: Some(ls.p99_ms / P99_TARGET_MS),
        target: Some(Bound::AtMost(1.0)),
    });
    s.notes.push(format!(
        "{rounds} slices of {} s per load and concurrency (after {} ms of unrecorded warm-up \
         each); latencies from an HDR histogram of every request in the measured windows.",
        slice.as_secs(),
        warmup.as_millis()
    ));
    s.notes.push(
        "The load generator (Rust, hyper, one connection per client) runs on the same cores as \
         the server, as wrk would: both loads pay for it alike."
            .into(),
    );
    s.notes.push(
        "Nothing commits to the store during the load, so after the first request the page \
         comes from the pages the embedded engine keeps until the store changes; scenario 3 \
         measures pages read afresh after a change."
            .into(),
    );
    s.table = table;
    Ok((s, at_c64))
}

/// One request of each kind answers 200, and the page holds 100 accounts.
async fn check_answers(server: &Starkeep, list: &Call, health: &Call) -> anyhow::Result<()> {
    let mut conn = Conn::connect(server.addr).await?;
    let (status, page) = conn.send_json(list).await?;
    anyhow::ensure!(status == StatusCode::OK, "list answered {status}: {page}");
    let n = page["user_details"].as_array().map(Vec::len).unwrap_or(0);
    anyhow::ensure!(n == 100, "the page holds {n} accounts, not 100: {page}");
    let (status, body) = conn.send(health).await?;
    anyhow::ensure!(
        status == StatusCode::OK,
        "/health answered {status}: {body:?}"
    );
    Ok(())
}

/// Samples a process's `VmRSS` every 50 ms on a thread of its own, keeping the highest.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak_kib: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_kib = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, peak) = (stop.clone(), peak_kib.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(m) = proc::memory(pid) {
                        peak.fetch_max(m.rss_kib, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        Self {
            stop,
            peak_kib,
            thread,
        }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.peak_kib.load(Ordering::Relaxed)
    }
}
