//! The reliability soak (RELIABILITY.md) in its shortened form: 20 s of mixed account traffic (create, list,
//! change permissions, change password, list a page, delete) at concurrency 32 against the real
//! `starkeep serve` on loopback, with the bench's soak (`starkeep_bench::soak`). Every request
//! must succeed, no account may be left over and the server must not panic. Resident memory at
//! start, after warm-up and at the end is printed; whether it stays flat is judged by the full
//! 5-minute soak (`starkeep-bench soak`, see RELIABILITY.md), not by a timed assertion here.

use std::path::Path;
use std::time::Duration;

use starkeep_bench::soak::{self, SoakSpec};

const BIN: &str = env!("CARGO_BIN_EXE_starkeep");

#[test]
fn a_short_soak_sees_no_errors() {
    let spec = SoakSpec {
        duration: Duration::from_secs(20),
        concurrency: 32,
        progress: false,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let report = runtime.block_on(soak::run(Path::new(BIN), &spec)).unwrap();
    println!("soak: {}", report.summary());
    println!(
        "soak: RSS start {} KiB, warm {} KiB, end {} KiB, peak {} KiB",
        report.memory_start.rss_kib,
        report.memory_warm.rss_kib,
        report.memory_end.rss_kib,
        report.peak_rss_kib
    );
    assert!(report.requests > 0, "the soak sent requests");
    assert!(report.cycles > 0, "whole create-to-delete cycles completed");
    assert_eq!(
        report.errors, 0,
        "failed requests: {:?}",
        report.error_samples
    );
    assert_eq!(
        report.leftover_accounts, 0,
        "every account made was deleted"
    );
    assert!(!report.panicked, "the server logged a panic");
}
