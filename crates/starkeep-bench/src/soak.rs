//! The soak: mixed account traffic (create, list, change permissions, change
//! password, list a page, delete) at a fixed concurrency against an embedded starkeep, for a
//! bounded time. It stops by itself, on loopback only.
//!
//! It reports how many requests were sent, how many failed (the target is none), the server's
//! resident memory at start, after warm-up, at the end and at its highest, and whether every
//! account it made is gone again (each worker finishes the cycle it began).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use serde::Serialize;
use serde_json::{json, Value};

use crate::http::{Call, Conn};
use crate::proc::{self, Memory};
use crate::progress;
use crate::server::Starkeep;

/// How a soak runs.
#[derive(Debug, Clone)]
pub struct SoakSpec {
    pub duration: Duration,
    pub concurrency: usize,
    /// Print progress every few seconds.
    pub progress: bool,
}

/// What a soak saw.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    pub duration_s: f64,
    pub concurrency: usize,
    pub requests: u64,
    pub errors: u64,
    /// Up to 20 failed requests, described.
    pub error_samples: Vec<String>,
    /// Full create-to-delete cycles completed.
    pub cycles: u64,
    /// Accounts left on the instance besides `root` (each cycle deletes what it made: 0).
    pub leftover_accounts: u64,
    /// Idle, before any traffic.
    pub memory_start: Memory,
    /// After the first tenth of the run (at least 2 s): the working set under this load.
    pub memory_warm: Memory,
    pub memory_end: Memory,
    /// The highest `VmRSS` sampled each second, KiB.
    pub peak_rss_kib: u64,
    /// Whether the server logged a panic.
    pub panicked: bool,
}

impl SoakReport {
    /// Growth of the resident set from warm-up to the end, MiB (negative: it shrank).
    pub fn growth_mib(&self) -> f64 {
        (self.memory_end.rss_kib as f64 - self.memory_warm.rss_kib as f64) / 1024.0
    }

    pub fn summary(&self) -> String {
        format!(
            "{} requests ({} cycles) in {:.0} s at concurrency {}: {} errors; resident memory \
             {:.1} MiB idle, {:.1} MiB after warm-up, {:.1} MiB at the end ({:+.1} MiB), peak \
             {:.1} MiB; {} accounts left over{}",
            self.requests,
            self.cycles,
            self.duration_s,
            self.concurrency,
            self.errors,
            self.memory_start.rss_mib(),
            self.memory_warm.rss_mib(),
            self.memory_end.rss_mib(),
            self.growth_mib(),
            self.peak_rss_kib as f64 / 1024.0,
            self.leftover_accounts,
            if self.panicked {
                "; THE SERVER LOGGED A PANIC"
            } else {
                ""
            },
        )
    }
}

/// Counters the workers share.
#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    errors: AtomicU64,
    cycles: AtomicU64,
    samples: Mutex<Vec<String>>,
}

impl Tally {
    fn count(&self, what: &str, outcome: Result<(), String>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = outcome {
            self.errors.fetch_add(1, Ordering::Relaxed);
            let mut samples = self.samples.lock().expect("not poisoned");
            if samples.len() < 20 {
                samples.push(format!("{what}: {e}"));
            }
        }
    }
}

/// Starts `binary` and soaks it.
pub async fn run(binary: &std::path::Path, spec: &SoakSpec) -> anyhow::Result<SoakReport> {
    progress::start();
    let server = Starkeep::start(binary)?;
    let report = soak(&server, spec).await;
    let panicked = server.log().contains("panicked");
    server.stop()?;
    report.map(|r| SoakReport { panicked, ..r })
}

/// Soaks a running server's demo instance.
pub async fn soak(server: &Starkeep, spec: &SoakSpec) -> anyhow::Result<SoakReport> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let memory_start = server.memory()?;
    let base = server.accounts_base(&server.demo_instance);
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let deadline = started + spec.duration;
    let stop_sampling = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(memory_start.rss_kib));
    let warm_at = (spec.duration / 10)
        .max(Duration::from_secs(2))
        .min(spec.duration);
    let sampler = {
        let (stop, peak, tally, pid) = (
            stop_sampling.clone(),
            peak.clone(),
            tally.clone(),
            server.pid(),
        );
        let progress_every = spec.progress;
        std::thread::spawn(move || -> Option<Memory> {
            let mut warm = None;
            let mut ticks = 0u64;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                ticks += 1;
                if !ticks.is_multiple_of(5) {
                    continue;
                }
                let Ok(m) = proc::memory(pid) else { continue };
                peak.fetch_max(m.rss_kib, Ordering::Relaxed);
                if warm.is_none() && started.elapsed() >= warm_at {
                    warm = Some(m);
                }
                if progress_every && ticks.is_multiple_of(50) {
                    progress::line(format!(
                        "soak: {} requests, {} errors, {:.1} MiB resident",
                        tally.requests.load(Ordering::Relaxed),
                        tally.errors.load(Ordering::Relaxed),
                        m.rss_mib()
                    ));
                }
            }
            warm
        })
    };

    let mut workers = Vec::new();
    for w in 0..spec.concurrency {
        let conn = Conn::connect(server.addr).await?;
        let (tally, base, token, addr) = (
            tally.clone(),
            base.clone(),
            server.token.clone(),
            server.addr,
        );
        workers.push(tokio::spawn(async move {
            let mut worker = Worker {
                conn,
                addr,
                base,
                token,
                tally,
            };
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                worker.cycle(&format!("soak_{w}_{n}"), n).await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for w in workers {
        w.await??;
    }
    let duration = started.elapsed();
    stop_sampling.store(true, Ordering::Relaxed);
    let warm = sampler.join().ok().flatten();
    let memory_end = server.memory()?;

    let mut conn = Conn::connect(server.addr).await?;
    let (status, page) = conn
        .send_json(&Call::get(
            &format!("{base}/users?limit=1&offset=0"),
            Some(&server.token),
        )?)
        .await?;
    anyhow::ensure!(
        status == StatusCode::OK,
        "the final list answered {status}: {page}"
    );
    let left = page["total_count"]
        .as_u64()
        .unwrap_or(u64::MAX)
        .saturating_sub(1);

    let samples = tally.samples.lock().expect("not poisoned").clone();
    Ok(SoakReport {
        duration_s: duration.as_secs_f64(),
        concurrency: spec.concurrency,
        requests: tally.requests.load(Ordering::Relaxed),
        errors: tally.errors.load(Ordering::Relaxed),
        error_samples: samples,
        cycles: tally.cycles.load(Ordering::Relaxed),
        leftover_accounts: left,
        memory_start,
        memory_warm: warm.unwrap_or(memory_end),
        memory_end,
        peak_rss_kib: peak.load(Ordering::Relaxed).max(memory_end.rss_kib),
        panicked: false,
    })
}

/// One client of the soak, on its own keep-alive connection.
struct Worker {
    conn: Conn,
    addr: std::net::SocketAddr,
    base: String,
    token: String,
    tally: Arc<Tally>,
}

impl Worker {
    /// One account's life: create, read back, change permissions, sometimes the password,
    /// read a page, delete.
    async fn cycle(&mut self, name: &str, n: u64) -> anyhow::Result<()> {
        let users = format!("{}/users", self.base);
        let create = self.call(Method::POST, &users)?.json(&json!({
            "user_name": name, "password": "Soak_pw_123", "databases": ["sales"], "dml": 1, "ddl": 0
        }));
        self.expect("create", &create, |b| b["result"] == "SUCCESS")
            .await;
        let one = self.call(
            Method::GET,
            &format!("{users}?limit=10&offset=0&user_name={name}"),
        )?;
        self.expect("list one", &one, |b| {
            b["total_count"] == 1 && b["user_details"][0]["user_name"] == name
        })
        .await;
        let permission = self
            .call(Method::PUT, &format!("{users}/permission"))?
            .json(&json!({"user_name": name, "dml": 0, "databases": ["*"]}));
        self.expect("change permission", &permission, |b| {
            b["result"] == "SUCCESS"
        })
        .await;
        if n.is_multiple_of(2) {
            let password = self
                .call(Method::PUT, &format!("{users}/password"))?
                .json(&json!({"user_name": name, "password": "Soak_pw_456"}));
            self.expect("change password", &password, |b| b["result"] == "SUCCESS")
                .await;
        }
        let page = self.call(Method::GET, &format!("{users}?limit=100&offset=0"))?;
        self.expect("list page", &page, |b| b["total_count"].as_u64() >= Some(1))
            .await;
        let delete = self.call(Method::DELETE, &format!("{users}?user_name={name}"))?;
        self.expect("delete", &delete, |b| b["result"] == "SUCCESS")
            .await;
        self.tally.cycles.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn call(&self, method: Method, path: &str) -> anyhow::Result<Call> {
        Call::new(method, path, Some(&self.token))
    }

    /// Sends `call` and counts it: an error unless it answers 200 with a body `ok` accepts.
    async fn expect(&mut self, what: &str, call: &Call, ok: impl Fn(&Value) -> bool) {
        let outcome = match self.conn.send_json(call).await {
            Ok((StatusCode::OK, body)) if ok(&body) => Ok(()),
            Ok((status, body)) => Err(format!("{status} {body}")),
            Err(e) => {
                if let Ok(conn) = Conn::connect(self.addr).await {
                    self.conn = conn;
                }
                Err(format!("transport: {e}"))
            }
        };
        self.tally.count(what, outcome);
    }
}
