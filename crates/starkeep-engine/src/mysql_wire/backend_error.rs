//! Backend errors of the MySQL wire protocol: the server's error codes the engine reacts to, and
//! the mapping of a client error to an [`EngineError`] (detail for the log) or to one line for an
//! operator.

use crate::EngineError;

/// MySQL's "operation CREATE USER / DROP USER / ALTER USER failed".
pub(super) const ER_CANNOT_USER: u16 = 1396;
/// MySQL's "there is no such grant defined".
pub(super) const ER_NONEXISTING_GRANT: u16 = 1141;
/// MySQL's "access denied … to database".
pub(super) const ER_DBACCESS_DENIED: u16 = 1044;

/// A backend failure as an [`EngineError`]; the detail is for the log only.
pub(super) fn backend_error(e: mysql_async::Error) -> EngineError {
    match e {
        mysql_async::Error::Server(s) => {
            let detail = format!("server error {} ({}): {}", s.code, s.state, s.message);
            // The admin credential itself refused: the instance is not usable.
            if s.code == 1045 {
                EngineError::BackendUnavailable(detail)
            } else {
                EngineError::Backend(detail)
            }
        }
        mysql_async::Error::Io(e) => EngineError::BackendUnavailable(format!("connection: {e}")),
        mysql_async::Error::Driver(e) => EngineError::BackendUnavailable(format!("driver: {e}")),
        other => EngineError::Backend(other.to_string()),
    }
}

/// A MySQL client error in one line, for an operator to read: the server's code and message,
/// or what the connection met. mysql_async wraps an I/O error in two layers that each say
/// "Input/output error"; this says it once.
pub fn mysql_error_text(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(s) => format!("server error {}: {}", s.code, s.message),
        mysql_async::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_is_described_once() {
        // A loopback port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(port)
            .prefer_socket(false);
        let error = mysql_async::Conn::new(opts).await.unwrap_err();
        let text = mysql_error_text(&error);
        assert_eq!(text.matches("Input/output error").count(), 1, "{text}");
        assert!(text.contains("refused"), "{text}");
    }
}
