//! The benchmark scenarios, one module each, all answering a [`Scenario`]; and [`run_all`],
//! which runs them in one go against one server and collects the [`Report`].
//!
//! | module | scenario |
//! |---|---|
//! | [`http_overhead`] | 1. a page of 100 accounts vs `/health`, at concurrency 1, 16, 64 |
//! | [`lifecycle`] | 2. create + delete through the API vs the same SQL sent to MariaDB |
//! | [`paging`] | 3. pages at offset 0, 50,000, 99,900 of 100,000 accounts |
//! | [`sync_mirror`] | 4. first mirror and no-op reconcile of 10,000 accounts |
//! | [`memory`] | 5. resident memory idle and at concurrency 64 |
//! | [`micro_benchmarks`] | 6. token verification, SDK signature verification, request validation |
//! | [`proxy`] | 7. point selects through `starkeep proxy` vs direct and a byte relay; its memory |

pub mod http_overhead;
pub mod lifecycle;
pub mod memory;
pub mod micro_benchmarks;
pub mod paging;
pub mod proxy;
pub mod sync_mirror;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::proc;
use crate::progress;
use crate::report::{Machine, Report, Scenario};
use crate::server::Starkeep;

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The short form (under two minutes) for everyday use.
    pub quick: bool,
    pub starkeep_bin: PathBuf,
    /// The shared MariaDB: scenario 2's server and scenario 4's sync source.
    pub mysql_url: String,
    /// The command line, for the report.
    pub command: String,
    /// Only these scenarios; empty: all of them.
    pub only: Vec<u8>,
}

impl Settings {
    /// `quick` if the run is quick, else `full`.
    pub fn pick<T>(&self, quick: T, full: T) -> T {
        if self.quick {
            quick
        } else {
            full
        }
    }

    /// Whether scenario `id` is to run (5 runs within 1).
    pub fn runs(&self, id: u8) -> bool {
        self.only.is_empty() || self.only.contains(&id) || (id == 1 && self.only.contains(&5))
    }
}

/// Runs every scenario against one freshly started server and answers the report.
pub async fn run_all(settings: &Settings) -> anyhow::Result<Report> {
    progress::start();
    let started = Instant::now();
    let load_before = proc::load_average();
    progress::line(format!(
        "starting {} on loopback ({} mode)",
        settings.starkeep_bin.display(),
        settings.pick("quick", "full")
    ));
    if settings.quick {
        progress::line(format!(
            "quick mode: smaller sizes than the issue's (paging at {} accounts instead of {}, \
             sync of {} instead of {}) and shorter runs; use `all` without --quick for the \
             figures of record",
            paging::QUICK_ACCOUNTS,
            paging::FULL_ACCOUNTS,
            sync_mirror::QUICK_ACCOUNTS,
            sync_mirror::FULL_ACCOUNTS
        ));
    }
    if let Err(e) = sync_mirror::cleanup_source(&settings.mysql_url).await {
        progress::line(format!(
            "could not drop an earlier run's sync accounts: {e}"
        ));
    }
    let server = Starkeep::start(&settings.starkeep_bin)?;
    progress::line(format!(
        "starkeep listening on {} (pid {})",
        server.addr,
        server.pid()
    ));

    // Scenario 5's idle figure first, before any load has touched the server.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = server.memory()?;
    progress::line(format!("idle resident memory: {:.1} MiB", idle.rss_mib()));

    let mut scenarios: Vec<Scenario> = Vec::new();
    if settings.runs(1) {
        let (s1, at_c64) = http_overhead::run(settings, &server).await?;
        scenarios.push(s1);
        scenarios.push(memory::scenario(idle, at_c64));
    }
    if settings.runs(3) {
        scenarios.push(paging::run(settings, &server).await?);
    }
    if settings.runs(2) {
        scenarios.push(lifecycle::run(settings, &server).await?);
    }
    if settings.runs(4) {
        scenarios.push(sync_mirror::run(settings).await);
    }
    if settings.runs(6) {
        scenarios.push(micro_benchmarks::run(settings));
    }
    if settings.runs(7) {
        scenarios.push(proxy::run(settings, &server).await);
    }
    scenarios.retain(|s| settings.runs(s.id));
    scenarios.sort_by_key(|s| s.id);

    server.stop()?;
    let report = Report {
        generated_at: now_rfc3339(),
        mode: settings.pick("quick", "full"),
        command: settings.command.clone(),
        commit: git_commit(),
        machine: Machine {
            cores: proc::cores(),
            load_before,
            load_after: proc::load_average(),
        },
        elapsed_s: started.elapsed().as_secs_f64(),
        scenarios,
    };
    Ok(report)
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The commit of the source tree this program was built from, if git can tell.
fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !commit.is_empty()).then_some(commit)
}
