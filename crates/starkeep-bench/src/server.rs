//! The real `starkeep` binary, started for a run: on loopback, on a free port, with a data dir
//! of its own (the embedded default store), bootstrapped as on a first start.
//!
//! The token, project and demo instance come from the welcome text the first start prints, as
//! a person would read them. Its stdout and stderr go to files in the data dir, so the server
//! never waits on a pipe while it is being measured.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use starkeep_domain::ProjectId;
use starkeep_store::Store;
use tempfile::TempDir;

use crate::proc::{self, Memory};

/// The admin password the bench's servers get (never shown anywhere that matters: the data dir
/// is temporary).
const ADMIN_PASSWORD: &str = "Bench_admin_pw_1";

/// Where the `starkeep` binary is: `explicit` if given; otherwise next to this program's own
/// binary, built first with the same profile when this program runs from a cargo target dir
/// of this workspace (so the server measured is the one in the source tree).
pub fn locate_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        if !path.is_file() {
            bail!("no starkeep binary at {}", path.display());
        }
        return Ok(path.to_owned());
    }
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .context("this program's binary has no directory")?
        .to_owned();
    let binary = profile_dir.join("starkeep");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if workspace.join("Cargo.toml").is_file() {
        build_next_to(&profile_dir, &workspace)?;
    }
    if !binary.is_file() {
        bail!(
            "no starkeep binary next to {} (build it with `cargo build --release -p starkeep`, \
             or pass --starkeep-bin)",
            exe.display()
        );
    }
    Ok(binary)
}

/// Runs `cargo build -p starkeep -p starkeep-bench` into the target dir and profile
/// `profile_dir` belongs to (both packages at once, so the dependencies are built with one set of
/// features and reused from run to run).
fn build_next_to(profile_dir: &Path, workspace: &Path) -> anyhow::Result<()> {
    let (Some(profile), Some(target_dir)) = (
        profile_dir.file_name().and_then(|n| n.to_str()),
        profile_dir.parent(),
    ) else {
        return Ok(());
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--locked",
            "-q",
            "-p",
            "starkeep",
            "-p",
            "starkeep-bench",
        ])
        .arg("--target-dir")
        .arg(target_dir);
    match profile {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    eprintln!("building starkeep ({profile})…");
    let status = cmd.status().context("running cargo build -p starkeep")?;
    if !status.success() {
        bail!("cargo build -p starkeep failed");
    }
    Ok(())
}

/// A running `starkeep serve` of this run.
pub struct Starkeep {
    child: Child,
    binary: PathBuf,
    pub addr: SocketAddr,
    pub token: String,
    pub project_id: ProjectId,
    pub demo_instance: String,
    data_dir: TempDir,
}

impl Starkeep {
    /// Starts `binary` on a fresh data dir and waits until it listens (30 s at most).
    pub fn start(binary: &Path) -> anyhow::Result<Self> {
        let data_dir = tempfile::Builder::new()
            .prefix("starkeep-bench-")
            .tempdir()?;
        let stdout_path = data_dir.path().join("stdout.log");
        let stderr_path = data_dir.path().join("stderr.log");
        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path().join("data"))
            .env("STARKEEP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("RUST_LOG")
            .env_remove("STARKEEP_DATABASE_URL")
            .env_remove("STARKEEP_LISTEN")
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path)?)
            .stderr(File::create(&stderr_path)?)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let ready = wait_listening(&mut child, &stderr_path).and_then(|addr| {
            let welcome = Welcome::parse(&std::fs::read_to_string(&stdout_path)?)?;
            Ok((addr, ProjectId::parse(&welcome.project_id)?, welcome))
        });
        match ready {
            Ok((addr, project_id, welcome)) => Ok(Starkeep {
                child,
                binary: binary.to_owned(),
                addr,
                token: welcome.token,
                project_id,
                demo_instance: welcome.instance_id,
                data_dir,
            }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    /// The binary this server runs (its CLI works on the same data dir).
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory now.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        proc::memory(self.pid())
    }

    /// The server's data dir (its SQLite store and keys).
    pub fn data_path(&self) -> PathBuf {
        self.data_dir.path().join("data")
    }

    /// Opens the server's store from this process (SQLite in WAL mode allows it while the
    /// server runs).
    pub async fn open_store(&self) -> anyhow::Result<Store> {
        Ok(Store::open_sqlite(&self.data_path()).await?)
    }

    /// Adds a `mysql`-engine instance named `name` on the server at `dsn` (admin `password`),
    /// through the CLI on the server's data dir, as an operator would. Answers the instance id,
    /// or what the command said.
    pub fn add_sql_instance(
        &self,
        name: &str,
        dsn: &str,
        password: &str,
        timeout_secs: u64,
    ) -> Result<String, String> {
        let out = Command::new(&self.binary)
            .args([
                "instance",
                "add",
                "--project",
                "default",
                "--engine",
                "mysql",
            ])
            .args(["--name", name, "--dsn", dsn, "--timeout-secs"])
            .arg(timeout_secs.to_string())
            .arg("--data-dir")
            .arg(self.data_path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                // The admin password on the first line of stdin.
                use std::io::Write;
                if let Some(mut stdin) = child.stdin.take() {
                    let _ = stdin.write_all(format!("{password}\n").as_bytes());
                }
                child.wait_with_output()
            })
            .map_err(|e| format!("could not run starkeep instance add: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if out.status.success() && !stdout.is_empty() {
            return Ok(stdout);
        }
        let said = String::from_utf8_lossy(&out.stderr)
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message")
            .trim()
            .to_owned();
        Err(format!(
            "`starkeep instance add --engine mysql` answered: {said}"
        ))
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// `/v3/<project>/instances/<instance>/starrocks` for `instance`.
    pub fn accounts_base(&self, instance: &str) -> String {
        format!(
            "/v3/{}/instances/{instance}/starrocks",
            self.project_id.as_str()
        )
    }

    /// Stops the server with SIGTERM (a graceful stop), or kills it after 10 s.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.child.kill()?;
        self.child.wait()?;
        bail!("starkeep did not stop on SIGTERM within 10 s")
    }
}

impl Drop for Starkeep {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits (30 s at most) for the "starkeep listening" line in the log at `stderr_path`.
fn wait_listening(child: &mut Child, stderr_path: &Path) -> anyhow::Result<SocketAddr> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = std::fs::read_to_string(stderr_path).unwrap_or_default();
        if let Some(status) = child.try_wait()? {
            bail!("starkeep exited early ({status}): {log}");
        }
        if let Some(addr) = listening_addr(&log) {
            return Ok(addr.parse()?);
        }
        if Instant::now() > deadline {
            bail!("starkeep did not start listening in 30 s: {log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `addr=` of the "starkeep listening" log line.
fn listening_addr(log: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains("starkeep listening"))?;
    let start = line.find("addr=")? + "addr=".len();
    line[start..].split_whitespace().next().map(str::to_owned)
}

/// What a first start prints that a client needs.
#[derive(Debug, PartialEq, Eq)]
struct Welcome {
    token: String,
    project_id: String,
    instance_id: String,
}

impl Welcome {
    fn parse(text: &str) -> anyhow::Result<Self> {
        let field = |label: &str, index: usize| {
            text.lines()
                .map(str::split_whitespace)
                .find_map(|mut words| {
                    (words.next() == Some(label)).then(|| words.nth(index - 1))?
                })
                .map(str::to_owned)
                .with_context(|| format!("no {label} line in the welcome text: {text}"))
        };
        let token = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("export STARKEEP_TOKEN='"))
            .and_then(|rest| rest.strip_suffix('\''))
            .with_context(|| format!("no token in the welcome text: {text}"))?
            .to_owned();
        Ok(Self {
            token,
            project_id: field("project", 2)?,
            instance_id: field("instance", 2)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_welcome_text() {
        let text = "starkeep: first start, made what a first run needs:
  project   default  0123456789abcdef0123456789abcdef
  user      admin    password from STARKEEP_ADMIN_PASSWORD
  instance  demo     aaaaaaaabbbbccccddddeeeeeeeeeeeein07  engine: embedded (no server)

Try it:

  export STARKEEP_TOKEN='sk1.abc.def'
";
        assert_eq!(
            Welcome::parse(text).unwrap(),
            Welcome {
                token: "sk1.abc.def".into(),
                project_id: "0123456789abcdef0123456789abcdef".into(),
                instance_id: "aaaaaaaabbbbccccddddeeeeeeeeeeeein07".into(),
            }
        );
        assert!(Welcome::parse("nothing").is_err());
    }

    #[test]
    fn finds_the_listening_address() {
        let log = "2026 INFO starkeep: other\n2026 INFO starkeep listening addr=127.0.0.1:4242 scheme=\"http\"\n";
        assert_eq!(listening_addr(log).as_deref(), Some("127.0.0.1:4242"));
        assert_eq!(listening_addr("INFO nothing"), None);
    }
}
