//! starkeep's test kit: what the tests of several crates and the benchmark suite share.
//!
//! - [`mariadb`]: a MariaDB server a test starts of its own (own data dir, port and socket, gone
//!   when dropped), and a guard for what a test leaves on the shared server at 127.0.0.1:3306.
//! - [`sdk`]: signing a request with an access key as the cloud's SDKs do.
//! - [`server`] (feature `server`): the test server builder, the API router on a loopback socket
//!   in the test's own process.
//! - [`starrocks`]: a stand-in that answers over the MySQL protocol the statements starkeep sends
//!   to StarRocks, as StarRocks' own source says StarRocks answers them.
//!
//! Dev-only: it is a dev-dependency of the crates whose tests use it (and a dependency of the
//! benchmark binary), never of a crate that ships in `starkeep`.

pub mod mariadb;
pub mod sdk;
#[cfg(feature = "server")]
pub mod server;
pub mod starrocks;
