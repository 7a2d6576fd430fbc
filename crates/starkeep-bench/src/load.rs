//! A closed-loop load generator: `concurrency` keep-alive connections, each sending one call
//! after another for a fixed time, with every latency recorded in an HDR histogram.
//!
//! All connections are opened before the clock starts, then a short warm-up runs unrecorded.
//! Requests per second count only the calls that completed inside the measured window.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use hyper::StatusCode;
use serde::Serialize;
use tokio::sync::Barrier;

use crate::http::{Call, Conn};

/// What to send, how many at once, for how long.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub addr: SocketAddr,
    pub call: Call,
    /// The status a successful answer has; any other counts as an error.
    pub expect: StatusCode,
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// What a load run saw.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Calls completed in the measured window (errors included).
    pub requests: u64,
    /// Calls that failed or answered another status than expected.
    pub errors: u64,
    /// The measured window, summed over the runs merged into this one.
    pub window: Duration,
    /// Latency of each measured call, in microseconds.
    pub latency_us: Histogram<u64>,
}

/// A result's headline numbers.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LoadSummary {
    pub requests: u64,
    pub errors: u64,
    pub req_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// A histogram for latencies from 1 µs to 60 s at 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

impl LoadResult {
    pub fn empty() -> Self {
        Self {
            requests: 0,
            errors: 0,
            window: Duration::ZERO,
            latency_us: latency_histogram(),
        }
    }

    /// Adds another run of the same load (the windows add up).
    pub fn merge(&mut self, other: &LoadResult) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.window += other.window;
        self.latency_us
            .add(&other.latency_us)
            .expect("histograms of the same bounds");
    }

    pub fn req_per_s(&self) -> f64 {
        if self.window.is_zero() {
            return 0.0;
        }
        self.requests as f64 / self.window.as_secs_f64()
    }

    /// The latency at `quantile` (0–1), in milliseconds.
    pub fn latency_ms(&self, quantile: f64) -> f64 {
        self.latency_us.value_at_quantile(quantile) as f64 / 1000.0
    }

    pub fn summary(&self) -> LoadSummary {
        LoadSummary {
            requests: self.requests,
            errors: self.errors,
            req_per_s: self.req_per_s(),
            p50_ms: self.latency_ms(0.50),
            p99_ms: self.latency_ms(0.99),
        }
    }
}

/// Runs `spec` to its end.
pub async fn run(spec: &LoadSpec) -> anyhow::Result<LoadResult> {
    let mut conns = Vec::with_capacity(spec.concurrency);
    for _ in 0..spec.concurrency {
        conns.push(Conn::connect(spec.addr).await?);
    }
    let spec = Arc::new(spec.clone());
    let (warmup, duration) = (spec.warmup, spec.duration);
    closed_loop(conns, warmup, duration, move |mut conn| {
        let spec = spec.clone();
        async move {
            match conn.send(&spec.call).await {
                Ok((status, _)) => Ok((conn, status == spec.expect)),
                // The connection is gone: count the error and open another.
                Err(_) => Ok((Conn::connect(spec.addr).await?, false)),
            }
        }
    })
    .await
}

/// Runs `op` over and over on each of `clients` at once, each client one call after another,
/// for `window` after an unrecorded `warmup`; all start together. `op` takes a client and gives
/// it back with whether the call succeeded; an `Err` ends the run. Only calls that began and
/// ended inside the window count.
pub async fn closed_loop<C, F, Fut>(
    clients: Vec<C>,
    warmup: Duration,
    window: Duration,
    op: F,
) -> anyhow::Result<LoadResult>
where
    C: Send + 'static,
    F: Fn(C) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<(C, bool)>> + Send + 'static,
{
    let op = Arc::new(op);
    let barrier = Arc::new(Barrier::new(clients.len() + 1));
    let mut workers = Vec::with_capacity(clients.len());
    for mut client in clients {
        let (barrier, op) = (barrier.clone(), op.clone());
        workers.push(tokio::spawn(async move {
            barrier.wait().await;
            let measure_from = Instant::now() + warmup;
            let measure_until = measure_from + window;
            let mut out = LoadResult::empty();
            loop {
                let sent = Instant::now();
                if sent >= measure_until {
                    break;
                }
                let (back, ok) = op(client).await?;
                client = back;
                let done = Instant::now();
                if sent >= measure_from && done <= measure_until {
                    out.requests += 1;
                    if !ok {
                        out.errors += 1;
                    }
                    let us = (done - sent).as_micros().clamp(1, 60_000_000) as u64;
                    out.latency_us.record(us).expect("latency within bounds");
                }
            }
            Ok::<_, anyhow::Error>(out)
        }));
    }
    barrier.wait().await;
    let mut total = LoadResult::empty();
    for w in workers {
        total.merge(&w.await??);
    }
    total.window = window;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_counts_windows_and_latencies() {
        let mut a = LoadResult::empty();
        a.requests = 10;
        a.window = Duration::from_secs(1);
        a.latency_us.record(1_000).unwrap();
        let mut b = LoadResult::empty();
        b.requests = 30;
        b.errors = 1;
        b.window = Duration::from_secs(1);
        b.latency_us.record(3_000).unwrap();
        a.merge(&b);
        assert_eq!(a.requests, 40);
        assert_eq!(a.errors, 1);
        assert_eq!(a.req_per_s(), 20.0);
        assert_eq!(a.latency_us.len(), 2);
        assert!((a.latency_ms(1.0) - 3.0).abs() < 0.01);
    }
}
