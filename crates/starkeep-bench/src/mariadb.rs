//! The bench's side of MariaDB: its own server ([`start_own`], the test kit's [`OwnMariaDb`]
//! with the bench's admin account; killed and its data dir removed when dropped, so nothing the
//! bench does there outlives the run), pools that connect over TCP as starkeep does, and the
//! showing of a MariaDB URL without its password.
//!
//! Scenario 3 fills a server of its own with 100,000 accounts and scenario 4 mirrors into one;
//! the shared MariaDB on 127.0.0.1:3306 is left to what needs it (scenario 2, the sync source).

use mysql_async::OptsBuilder;
pub use starkeep_testkit::mariadb::OwnMariaDb;

/// The admin account the bench makes on its own servers.
pub const ADMIN: &str = "skbench_admin";
pub const ADMIN_PASSWORD: &str = "Bench-admin-1";

/// A pool on the server at `url` that connects over TCP, as the URL says. mysql_async would
/// otherwise move a loopback connection to the server's Unix socket, which starkeep's engines
/// never do: a reference measured that way would not take the same path to the server.
pub fn pool_over_tcp(url: &str) -> anyhow::Result<mysql_async::Pool> {
    let opts = OptsBuilder::from_opts(mysql_async::Opts::from_url(url)?).prefer_socket(false);
    Ok(mysql_async::Pool::new(opts))
}

/// `text` with the password of a URL in it (`mysql://user:password@host`) shown as `***`; for
/// anything the bench prints or records about the URL it was given (`--mysql-url=…` included).
pub fn redacted(text: &str) -> String {
    match around_password(text) {
        Some((before, _, after)) => format!("{before}:***{after}"),
        None => text.to_owned(),
    }
}

/// `url` without its password, and the password (decoded; empty when there is none): for
/// `starkeep instance add`, which takes the password on stdin rather than in its arguments, where
/// any user of the machine could read it.
pub fn split_password(url: &str) -> (String, String) {
    let password = mysql_async::Opts::from_url(url)
        .ok()
        .and_then(|opts| opts.pass().map(str::to_owned))
        .unwrap_or_default();
    match around_password(url) {
        Some((before, _, after)) => (format!("{before}{after}"), password),
        None => (url.to_owned(), password),
    }
}

/// The text around the password of a URL in `text`: up to the user name, the password, and from
/// the `@` on; `None` when the URL has no password.
fn around_password(text: &str) -> Option<(&str, &str, &str)> {
    let start = text.find("://")? + "://".len();
    let at = start + text[start..].find('@')?;
    let colon = start + text[start..at].find(':')?;
    Some((&text[..colon], &text[colon + 1..at], &text[at..]))
}

/// Why a scenario that needs the shared MariaDB at `url` did not run, and what starts it.
pub fn unreachable(url: &str, error: &anyhow::Error) -> String {
    let error = match error.downcast_ref::<mysql_async::Error>() {
        Some(e) => starkeep_engine::mysql_wire::mysql_error_text(e),
        None => error.to_string(),
    };
    format!(
        "MariaDB at {} is not reachable ({error}); `./scripts/test` starts it, or point \
         --mysql-url at another",
        redacted(url)
    )
}

/// Starts a MariaDB of this run's own (the test kit's [`OwnMariaDb`]) with [`ADMIN`] holding
/// every privilege, on a blocking thread (it takes seconds).
pub async fn start_own() -> anyhow::Result<OwnMariaDb> {
    tokio::task::spawn_blocking(|| OwnMariaDb::try_start(ADMIN, ADMIN_PASSWORD))
        .await?
        .map_err(|why| anyhow::anyhow!("the bench's MariaDB: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(
            redacted("mysql://bench:S3cret-pw@127.0.0.1:3399"),
            "mysql://bench:***@127.0.0.1:3399"
        );
        assert_eq!(
            redacted("--mysql-url=mysql://bench:S3cret-pw@h:1/db"),
            "--mysql-url=mysql://bench:***@h:1/db"
        );
        for unchanged in ["mysql://root@127.0.0.1:3306", "--quick", "/tmp/out"] {
            assert_eq!(redacted(unchanged), unchanged);
        }
        let why = unreachable(
            "mysql://bench:S3cret-pw@127.0.0.1:3399",
            &anyhow::anyhow!("refused"),
        );
        assert!(why.contains("mysql://bench:***@127.0.0.1:3399"), "{why}");
        assert!(why.contains("refused"), "{why}");
        assert!(!why.contains("S3cret-pw"), "{why}");
    }

    #[test]
    fn a_password_is_taken_out_of_a_url() {
        assert_eq!(
            split_password("mysql://bench:S3cret%40pw@127.0.0.1:3399/db"),
            (
                "mysql://bench@127.0.0.1:3399/db".to_owned(),
                "S3cret@pw".to_owned()
            )
        );
        assert_eq!(
            split_password("mysql://root@127.0.0.1:3306"),
            ("mysql://root@127.0.0.1:3306".to_owned(), String::new())
        );
    }
}
