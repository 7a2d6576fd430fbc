//! starkeep's test kit: what the tests of several crates and the benchmark suite share.
//!
//! - [`mariadb`]: a MariaDB server a test starts of its own (own data dir, port and socket, gone
//!   when dropped), and a guard for what a test leaves on the shared server at 127.0.0.1:3306.
//! - [`starrocks`]: a stand-in that answers over the MySQL protocol the statements starkeep sends
//!   to StarRocks, as StarRocks' own source says StarRocks answers them.
//!
//! Dev-only: it is a dev-dependency of the crates whose tests use it (and a dependency of the
//! benchmark binary), never of a crate that ships in `starkeep`.

pub mod mariadb;
pub mod starrocks;
