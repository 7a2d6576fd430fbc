//! What routing costs the proxy per statement, in ns, under criterion
//! (`cargo bench -p starkeep-routing`): the text analysis uncached (a parse) and cached (the
//! scan and a lookup), and a whole decision served from the estimate cache, for the point
//! select of benchmark scenario 7 and for an analytical join.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use starkeep_routing::{analyze, ColumnTables, Facts, Router, SessionRouting, Step};

const POINT: &str = "SELECT id, k, c, pad FROM sbtest1 WHERE id = 4711";
const JOIN: &str =
    "SELECT c.region, SUM(o.amount) FROM orders o JOIN customers c ON c.id = o.customer \
                    WHERE o.created > '2024-01-01' GROUP BY c.region ORDER BY 2 DESC LIMIT 10";
const PLAN: &str = r#"{"query_block": {"select_id": 1, "table": {"table_name": "t", "rows": 1, "filtered": 100}}}"#;

fn routing(c: &mut Criterion) {
    let router = Router::new(50_000.0, Duration::from_secs(3600), 4096);
    let session = SessionRouting::new(Some("bench".into()));
    let columns: ColumnTables = [
        ("bench", "sbtest1"),
        ("bench", "orders"),
        ("bench", "customers"),
    ]
    .into_iter()
    .collect();
    let facts = Facts {
        sync_on: true,
        account_mirrored: true,
        session: &session,
        column_tables: &columns,
        column_up: true,
        replica_up: false,
    };
    for (name, sql) in [("point", POINT), ("join", JOIN)] {
        c.bench_function(&format!("analyze_uncached/{name}"), |b| {
            b.iter(|| analyze(black_box(sql)))
        });
        c.bench_function(&format!("analyze_cached/{name}"), |b| {
            b.iter(|| router.analyze(black_box(sql)))
        });
        let analysis = router.analyze(sql);
        router.decide_by_explain(&facts, &analysis, PLAN);
        c.bench_function(&format!("route_cached/{name}"), |b| {
            b.iter(|| {
                let analysis = router.analyze(black_box(sql));
                match router.decide(&facts, &analysis) {
                    Step::Decided(d) => d,
                    Step::NeedsEstimate => unreachable!("the estimate is cached"),
                }
            })
        });
    }
}

criterion_group!(benches, routing);
criterion_main!(benches);
