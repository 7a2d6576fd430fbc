//! `starkeep-bench`: the command line of the benchmark suite and the soak.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use starkeep_bench::scenarios::{self, Settings};
use starkeep_bench::soak::{self, SoakSpec};
use starkeep_bench::{chart, floor, mariadb, relay, server};

/// starkeep's benchmarks: every figure next to its reference from the same run.
#[derive(Debug, Parser)]
#[command(name = "starkeep-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the seven scenarios, each next to its reference, check the targets, and write
    /// latest.json, latest.md and latest.png.
    #[command(
        after_help = "Exit status: 0 when every target is met; 1 when one is not met, \
        or when the run itself failed (then nothing is written); 2 when one could not be \
        checked (a server it needs is not reachable)."
    )]
    All {
        /// The short form for everyday use (under two minutes).
        #[arg(long)]
        quick: bool,
        #[command(flatten)]
        common: Common,
        /// The MariaDB of scenario 2.
        #[arg(
            long,
            env = "STARKEEP_BENCH_MYSQL",
            default_value = "mysql://root@127.0.0.1:3306"
        )]
        mysql_url: String,
        /// Only these scenarios (`--only 1,2`), for working on one; the results go to
        /// `partial.{json,md,png}`, leaving `latest.*` to whole runs. Scenario 5 reads its
        /// figure during scenario 1, so it brings 1 along.
        #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u8).range(1..=7))]
        only: Vec<u8>,
    },
    /// Mixed account traffic against an embedded starkeep for a bounded time: counts errors
    /// (target 0) and resident memory at start and end.
    Soak {
        /// How long: `300s`, `5m`, or seconds.
        #[arg(long, default_value = "300s", value_parser = parse_duration)]
        duration: Duration,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[command(flatten)]
        common: Common,
    },
    /// Scenario 2's floor: a bare HTTP front for MariaDB that `all` starts as a process of its
    /// own (not for use by hand).
    #[command(hide = true)]
    FloorServer {
        /// Taken from the environment when started by `all`, so that a password in it is not
        /// in the process's arguments.
        #[arg(long, env = floor::MYSQL_URL_ENV)]
        mysql_url: String,
        /// The database the accounts are granted on.
        #[arg(long)]
        database: String,
    },
    /// Scenario 7's floor: a TCP relay to the MariaDB that only copies bytes, which `all`
    /// starts as a process of its own (not for use by hand).
    #[command(hide = true)]
    Relay {
        /// The server to relay to.
        #[arg(long)]
        upstream: std::net::SocketAddr,
    },
}

#[derive(Debug, clap::Args)]
struct Common {
    /// Where results go.
    #[arg(long, default_value_os_t = default_out())]
    out: PathBuf,
    /// The starkeep binary to measure (default: built next to this one).
    #[arg(long)]
    starkeep_bin: Option<PathBuf>,
}

/// The repository's `bench/results`, named without `..` so that `--help` shows where it is.
fn default_out() -> PathBuf {
    let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .ancestors()
        .nth(2)
        .unwrap_or(crate_dir)
        .join("bench/results")
}

fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (number, unit) = match raw.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => raw.split_at(i),
        None => (raw, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("not a duration: {raw}"))?;
    match unit {
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("not a duration: {raw} (use 300s, 5m or 1h)")),
    }
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    // Recorded in the report as run, but with no password of a `--mysql-url` in it.
    let command_line = std::iter::once("starkeep-bench".to_owned())
        .chain(std::env::args().skip(1).map(|arg| mariadb::redacted(&arg)))
        .collect::<Vec<_>>()
        .join(" ");
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::All {
            quick,
            common,
            mysql_url,
            only,
        } => {
            let stem = if only.is_empty() { "latest" } else { "partial" };
            let settings = Settings {
                quick,
                starkeep_bin: server::locate_binary(common.starkeep_bin.as_deref())?,
                mysql_url,
                command: command_line,
                only,
            };
            let report = runtime.block_on(scenarios::run_all(&settings))?;
            std::fs::create_dir_all(&common.out)
                .with_context(|| format!("creating {}", common.out.display()))?;
            let out = common.out.canonicalize()?;
            report.write_json(&out.join(format!("{stem}.json")))?;
            report.write_markdown(&out.join(format!("{stem}.md")), &format!("{stem}.png"))?;
            chart::draw(&report, &out.join(format!("{stem}.png")))?;
            println!("\nTargets:");
            for (s, t) in report.targets() {
                println!(
                    "  [{:>7}] {}. {}: {} — {}",
                    t.verdict.as_str(),
                    s.id,
                    s.title,
                    t.target,
                    t.figure
                );
            }
            let tally = report.tally();
            println!(
                "\n{}. Results in {} ({stem}.json, {stem}.md, {stem}.png); {:.0} s in all.",
                tally.summary(),
                out.display(),
                report.elapsed_s
            );
            return Ok(ExitCode::from(tally.exit_status()));
        }
        Command::Soak {
            duration,
            concurrency,
            common,
        } => {
            let binary = server::locate_binary(common.starkeep_bin.as_deref())?;
            let spec = SoakSpec {
                duration,
                concurrency,
                progress: true,
            };
            let report = runtime.block_on(soak::run(&binary, &spec))?;
            std::fs::create_dir_all(&common.out)?;
            let path = common.out.canonicalize()?.join("soak.json");
            std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")?;
            println!("{}", report.summary());
            for e in &report.error_samples {
                println!("  error: {e}");
            }
            println!("Written to {}", path.display());
            if report.errors > 0 || report.leftover_accounts > 0 || report.panicked {
                anyhow::bail!("the soak saw errors");
            }
        }
        Command::FloorServer {
            mysql_url,
            database,
        } => runtime.block_on(floor::serve(&mysql_url, &database))?,
        Command::Relay { upstream } => runtime.block_on(relay::serve(upstream))?,
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("300s"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("20"), Ok(Duration::from_secs(20)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("s").is_err());
    }
}
