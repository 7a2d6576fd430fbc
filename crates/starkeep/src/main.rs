//! `starkeep`: the control plane for the database accounts of TaurusDB + StarRocks HTAP
//! deployments.
//!
//! Run the service on its embedded default (a data dir in the current directory, a demo
//! instance, an admin user; the curl to try is printed on first start):
//!
//! ```text
//! cargo run --release -- serve
//! ```
//!
//! Every subcommand takes `--data-dir` (or `STARKEEP_DATA_DIR`); `starkeep --help` lists them.

mod admin;
mod cli;
mod context;
mod logging;
mod proxy;
mod serve;
mod server;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    logging::init(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
