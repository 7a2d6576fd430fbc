//! starkeep's benchmark suite and soak: what starkeep adds on top of the
//! work of the database behind it, each figure measured next to its reference in the same run.
//!
//! `cargo run --release -p starkeep-bench -- all [--quick]` starts a real `starkeep` on
//! loopback, runs every scenario ([`scenarios`]), and writes `bench/results/latest.json`,
//! `latest.md` and `latest.png`. `starkeep-bench soak` runs the bounded soak ([`soak`]).
//! BENCHMARKS.md at the repository root says what each scenario measures and the targets.
//!
//! - [`server`]: the real binary, started and read like a person would;
//! - [`floor`]: scenario 2's floor, a bare HTTP front for MariaDB in a process of its own;
//! - [`relay`]: scenario 7's floor, a byte-copying TCP relay in a process of its own;
//! - [`helper`]: starting such a floor from this program's own binary;
//! - [`http`], [`load`]: a lean keep-alive client and a closed-loop load generator;
//! - [`seed`]: embedded instances with many accounts, through the store;
//! - [`mariadb`]: MariaDB servers of the bench's own (scenarios 3 and 4);
//! - [`report`], [`chart`]: the result shape, the JSON and Markdown, the PNG;
//! - [`micro`]: the micro-benchmarked operations (criterion: `benches/micro.rs`);
//! - [`proc`], [`progress`]: /proc readings and progress lines.

pub mod chart;
pub mod floor;
pub mod helper;
pub mod http;
pub mod load;
pub mod mariadb;
pub mod micro;
pub mod proc;
pub mod progress;
pub mod relay;
pub mod report;
pub mod scenarios;
pub mod seed;
pub mod server;
pub mod soak;
