//! The floor of scenario 7: a TCP relay in a process of its own that only copies bytes between
//! each client and a connection of its own to the server, both ways, and nothing else (no
//! protocol, no parsing, no routing). No MySQL proxy can cost less on this machine: what
//! `starkeep proxy` adds over the relay is what its protocol handling and routing cost.
//!
//! `starkeep-bench relay --upstream ADDR` runs it (hidden; [`start`] starts it for a run)
//! on a free loopback port and prints [`LISTENING`] and the address first. It runs on tokio's
//! multi-threaded runtime, as the proxy does.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};

use crate::helper::Helper;

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

/// Starts this program's `relay` to `upstream` and waits for its address.
pub fn start(upstream: SocketAddr) -> anyhow::Result<Helper> {
    Helper::start(
        &["relay", "--upstream", &upstream.to_string()],
        &[],
        LISTENING,
    )
}
