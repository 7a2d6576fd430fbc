//! The bench's helper processes, the floors of scenarios 2 and 7: this program's own binary
//! started with a hidden subcommand (`floor-server`, `relay`), which prints one line
//! `… listening on ADDR` on stdout first. [`Helper`] starts one, reads where it listens, and
//! kills it when dropped. What each helper does lives in its own module ([`crate::floor`],
//! [`crate::relay`]).

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context as _};

/// A helper process of this run, killed when dropped.
pub struct Helper {
    child: Child,
    pub addr: SocketAddr,
}

impl Helper {
    /// Starts this program with `args` (and `env` added to its environment) and waits for the
    /// first line of its stdout, `announcement` followed by the address it listens on.
    pub fn start(args: &[&str], env: &[(&str, &str)], announcement: &str) -> anyhow::Result<Self> {
        let mut command = Command::new(this_program()?);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let what = args.first().copied().unwrap_or("helper");
        let mut child = command
            .spawn()
            .with_context(|| format!("starting the {what} process"))?;
        let stdout = child.stdout.take().context("the helper's stdout")?;
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first)?;
        match first.trim().strip_prefix(announcement).map(str::parse) {
            Some(Ok(addr)) => Ok(Self { child, addr }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the {what} process did not start: {first:?}")
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// This program's binary. A run rebuilds it in place when the source changed
/// ([`crate::server::locate_binary`]); then the running file is gone and the path it was
/// started as names the new one.
fn this_program() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    if exe.is_file() {
        return Ok(exe);
    }
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .context("this program's path")
}
