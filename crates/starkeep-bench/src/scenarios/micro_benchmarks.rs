//! Scenario 6, micro-benchmarks in the run: every case of [`crate::micro`] timed in this
//! process, in ns per operation (median of batches taken in turn). Criterion measures the same
//! cases with its statistics: `cargo bench -p starkeep-bench`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use super::Settings;
use crate::micro::{cases, Case, Fixture};
use crate::progress;
use crate::report::{Ratio, Scenario, Table};

pub fn run(settings: &Settings) -> Scenario {
    let mut s = Scenario::new(
        6,
        "Micro-benchmarks",
        "ns per operation of token verification, SDK signature verification and request \
         validation, median of batches",
        "HMAC-SHA256 of the same bytes alone, the floor of any signature check",
    );
    let fixture = Fixture::new();
    let cases = cases();
    let batches = settings.pick(15, 51);
    let batch_time = settings.pick(Duration::from_millis(10), Duration::from_millis(20));
    let per_batch: Vec<u64> = cases
        .iter()
        .map(|c| calibrate(c, &fixture, batch_time))
        .collect();
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(batches); cases.len()];
    for _ in 0..batches {
        for (i, case) in cases.iter().enumerate() {
            samples[i].push(time_batch(case, &fixture, per_batch[i]));
        }
    }
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    let ns_of = |name: &str| {
        cases
            .iter()
            .position(|c| c.name == name)
            .map(|i| medians[i])
    };
    let mut table = Table::new(&["operation", "what it does", "ns/op", "÷ reference"]);
    for (case, ns) in cases.iter().zip(&medians) {
        let ratio = case.reference.and_then(ns_of).map(|r| ns / r);
        table.row(vec![
            format!("`{}`", case.name),
            case.what.to_owned(),
            format!("{ns:.0}"),
            match (case.reference, ratio) {
                (Some(r), Some(x)) => format!("{x:.2}× `{r}`"),
                _ => String::new(),
            },
        ]);
        s.figure(format!("{}.ns_per_op", case.name), *ns, "ns");
        if let (Some(r), Some(x)) = (case.reference, ratio) {
            s.ratios.push(Ratio {
                label: format!("{} ÷ {r}", case.name),
                value: Some(x),
                target: None,
            });
        }
        progress::line(format!("scenario 6: {} {ns:.0} ns/op", case.name));
    }
    s.notes.push(format!(
        "{batches} batches per operation, each about {} ms; the issue sets no target here.",
        batch_time.as_millis()
    ));
    s.table = table;
    s
}

/// How many runs of `case` take about `batch_time`.
fn calibrate(case: &Case, fixture: &Fixture, batch_time: Duration) -> u64 {
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            black_box((case.run)(black_box(fixture)));
        }
        let took = t.elapsed();
        if took >= batch_time / 4 || n >= 1 << 30 {
            let per = took.as_secs_f64() / n as f64;
            return ((batch_time.as_secs_f64() / per.max(1e-9)) as u64).max(1);
        }
        n *= 2;
    }
}

/// ns per run over one batch of `n` runs.
fn time_batch(case: &Case, fixture: &Fixture, n: u64) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        black_box((case.run)(black_box(fixture)));
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
