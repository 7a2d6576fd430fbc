//! The floor of scenario 7: a TCP relay in a process of its own that only copies bytes between
//! each client and a connection of its own to the server, both ways, and nothing else (no
//! protocol, no parsing, no routing). No MySQL proxy can cost less on this machine: what
//! `starkeep proxy` adds over the relay is what its protocol handling and routing cost.
//!
//! `starkeep-bench relay --upstream ADDR` runs it (hidden; [`Relay::start`] starts it for a run)
//! on a free loopback port and prints [`LISTENING`] and the address first. It runs on tokio's
//! multi-threaded runtime, as the proxy does.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context as _};
use tokio::net::{TcpListener, TcpStream};

/// What the relay prints first on stdout, followed by its address.
const LISTENING: &str = "relay listening on ";

/// Relays every connection accepted on a free loopback port to `upstream` until the process
/// is killed.
pub async fn serve(upstream: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("{LISTENING}{}", listener.local_addr()?);
    loop {
        let (mut client, _) = listener.accept().await?;
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            // Ends when either side closes.
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        });
    }
}

/// A relay process of this run.
pub struct Relay {
    child: Child,
    pub addr: SocketAddr,
}

impl Relay {
    /// Starts `bench_binary relay --upstream upstream` and reads the address it listens on.
    pub fn start(bench_binary: &Path, upstream: SocketAddr) -> anyhow::Result<Relay> {
        let mut child = Command::new(bench_binary)
            .args(["relay", "--upstream", &upstream.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {} relay", bench_binary.display()))?;
        let stdout = child.stdout.take().context("the relay's stdout")?;
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first)?;
        match first.trim().strip_prefix(LISTENING).map(str::parse) {
            Some(Ok(addr)) => Ok(Relay { child, addr }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the relay did not say where it listens (it printed {first:?})")
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
