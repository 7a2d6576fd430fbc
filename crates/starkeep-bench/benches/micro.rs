//! Scenario 6 under criterion: every case of `starkeep_bench::micro`, in ns per operation.
//!
//! `cargo bench -p starkeep-bench` (add `-- token` to run only some). `starkeep-bench all`
//! measures the same cases in short, next to the other scenarios.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use starkeep_bench::micro::{cases, Fixture};

fn micro(c: &mut Criterion) {
    let fixture = Fixture::new();
    for case in cases() {
        c.bench_function(case.name, |b| b.iter(|| (case.run)(black_box(&fixture))));
    }
}

criterion_group!(benches, micro);
criterion_main!(benches);
