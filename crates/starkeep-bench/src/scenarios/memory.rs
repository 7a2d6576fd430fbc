//! Scenario 5, memory: the server's resident set idle (just started, nothing asked yet) and at
//! concurrency 64 (sampled during scenario 1's runs at 64, and read right after them).

use super::http_overhead::MemoryAtC64;
use crate::proc::Memory;
use crate::report::{Bound, Ratio, Scenario, Table, TargetCheck};

const BUDGET_MIB: f64 = 64.0;

pub fn scenario(idle: Memory, at_c64: Option<MemoryAtC64>) -> Scenario {
    let mut s = Scenario::new(
        5,
        "Memory",
        "the server's resident set (`VmRSS`, and the peak `VmHWM`, from /proc/<pid>/status) at \
         the end of scenario 1 at concurrency 64, and the highest `VmRSS` sampled every 50 ms \
         during those runs",
        "the same server idle: started, bootstrapped, no request served yet",
    );
    let target = format!("under {BUDGET_MIB} MiB resident at concurrency 64");
    let mut table = Table::new(&["when", "VmRSS", "VmHWM (peak so far)"]);
    table.row(vec![
        "idle".into(),
        format!("{:.1} MiB", idle.rss_mib()),
        format!("{:.1} MiB", idle.hwm_mib()),
    ]);
    s.figure("idle.rss_mib", idle.rss_mib(), "MiB");
    s.figure("idle.hwm_mib", idle.hwm_mib(), "MiB");
    let Some(c64) = at_c64 else {
        return s.not_run("scenario 1 did not reach concurrency 64", &[&target], &[]);
    };
    let sampled = c64.sampled_peak_kib as f64 / 1024.0;
    table.row(vec![
        "during c=64 (highest sample)".into(),
        format!("{sampled:.1} MiB"),
        "".into(),
    ]);
    table.row(vec![
        "after c=64".into(),
        format!("{:.1} MiB", c64.after.rss_mib()),
        format!("{:.1} MiB", c64.after.hwm_mib()),
    ]);
    s.figure("c64.sampled_peak_rss_mib", sampled, "MiB");
    s.figure("c64.after.rss_mib", c64.after.rss_mib(), "MiB");
    s.figure("c64.after.hwm_mib", c64.after.hwm_mib(), "MiB");
    // The peak since start covers every moment at concurrency 64: the strictest reading.
    let peak = c64.after.hwm_mib().max(sampled);
    s.targets.push(TargetCheck::checked(
        &target,
        format!("peak {peak:.1} MiB (idle {:.1} MiB)", idle.rss_mib()),
        peak < BUDGET_MIB,
    ));
    s.ratios.push(Ratio {
        label: format!("peak RSS at c=64 ÷ {BUDGET_MIB} MiB budget"),
        value: Some(peak / BUDGET_MIB),
        target: Some(Bound::AtMost(1.0)),
    });
    s.ratios.push(Ratio {
        label: "peak RSS at c=64 ÷ idle RSS".into(),
        value: Some(peak / idle.rss_mib()),
        target: None,
    });
    s.table = table;
    s
}
