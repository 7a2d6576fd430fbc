//! Which capability flags the proxy negotiates, so that a client and every backend it is
//! relayed to agree on the shape of results.
//!
//! The proxy relays results without decoding them, so every flag that changes what a result
//! looks like must be the same on the client's connection and on each backend's. The proxy
//! offers clients only flags it can relay ([`RELAYABLE`]) that the backends offer too, and logs
//! in to each backend with the flags the client chose; a backend that lacks one of them
//! ([`SHAPING`]) cannot serve that client (for the column store, the statement goes to the row
//! store instead).

use mysql_common::constants::CapabilityFlags as F;

/// Flags the proxy can relay: results pass through unchanged with these on or off. Left out:
/// compression (the proxy relays frames as they are), query attributes (they change
/// `COM_QUERY`'s layout, which the proxy reads), optional result metadata, session tracking
/// (replayed state would show twice), and the MariaDB extensions (none offered).
pub const RELAYABLE: F = F::CLIENT_LONG_PASSWORD
    .union(F::CLIENT_FOUND_ROWS)
    .union(F::CLIENT_LONG_FLAG)
    .union(F::CLIENT_CONNECT_WITH_DB)
    .union(F::CLIENT_ODBC)
    .union(F::CLIENT_LOCAL_FILES)
    .union(F::CLIENT_IGNORE_SPACE)
    .union(F::CLIENT_PROTOCOL_41)
    .union(F::CLIENT_INTERACTIVE)
    .union(F::CLIENT_IGNORE_SIGPIPE)
    .union(F::CLIENT_TRANSACTIONS)
    .union(F::CLIENT_RESERVED)
    .union(F::CLIENT_SECURE_CONNECTION)
    .union(F::CLIENT_MULTI_STATEMENTS)
    .union(F::CLIENT_MULTI_RESULTS)
    .union(F::CLIENT_PS_MULTI_RESULTS)
    .union(F::CLIENT_PLUGIN_AUTH)
    .union(F::CLIENT_CONNECT_ATTRS)
    .union(F::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)
    .union(F::CLIENT_DEPRECATE_EOF);

/// Flags that change what the server sends, so a backend must have each the client chose.
pub const SHAPING: F = F::CLIENT_FOUND_ROWS
    .union(F::CLIENT_LONG_FLAG)
    .union(F::CLIENT_PROTOCOL_41)
    .union(F::CLIENT_MULTI_RESULTS)
    .union(F::CLIENT_PS_MULTI_RESULTS)
    .union(F::CLIENT_DEPRECATE_EOF)
    .union(F::CLIENT_TRANSACTIONS);

/// Flags the proxy always needs from a backend (it logs in with 4.1 authentication).
pub const REQUIRED: F = F::CLIENT_PROTOCOL_41
    .union(F::CLIENT_SECURE_CONNECTION)
    .union(F::CLIENT_PLUGIN_AUTH);

/// What the proxy offers clients, given what the backends it knows of offered.
pub fn offered(backends: &[F], tls: bool) -> F {
    let mut flags = RELAYABLE;
    for b in backends {
        // Only shaping flags need the backend's agreement; the rest concern the proxy alone.
        flags &= *b | !SHAPING;
    }
    if tls {
        flags |= F::CLIENT_SSL;
    }
    flags
}

/// The flags to log in to a backend with for a client that chose `client`, or the shaping
/// flags the backend lacks.
pub fn for_backend(client: F, backend: F) -> Result<F, F> {
    let missing = (client & SHAPING) - backend;
    if !missing.is_empty() || !backend.contains(REQUIRED) {
        return Err(missing | (REQUIRED - backend));
    }
    let keep = (client & RELAYABLE & backend) - F::CLIENT_CONNECT_ATTRS;
    Ok(keep | REQUIRED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offered_flags_drop_shaping_flags_a_backend_lacks() {
        let row = RELAYABLE | F::CLIENT_COMPRESS;
        let column = RELAYABLE - F::CLIENT_DEPRECATE_EOF;
        let flags = offered(&[row, column], false);
        assert!(!flags.contains(F::CLIENT_DEPRECATE_EOF));
        assert!(!flags.contains(F::CLIENT_COMPRESS));
        assert!(!flags.contains(F::CLIENT_SSL));
        assert!(flags.contains(F::CLIENT_PROTOCOL_41 | F::CLIENT_MULTI_RESULTS));
        assert!(offered(&[row], true).contains(F::CLIENT_SSL | F::CLIENT_DEPRECATE_EOF));
    }

    #[test]
    fn a_backend_without_a_shaping_flag_the_client_chose_is_refused() {
        let client = RELAYABLE | F::CLIENT_SSL;
        let lacking = RELAYABLE - F::CLIENT_DEPRECATE_EOF;
        assert_eq!(for_backend(client, lacking), Err(F::CLIENT_DEPRECATE_EOF));
        let flags = for_backend(client, RELAYABLE | F::CLIENT_SSL).unwrap();
        assert!(!flags.contains(F::CLIENT_SSL), "no TLS toward backends");
        assert!(flags.contains(F::CLIENT_DEPRECATE_EOF | REQUIRED));
        // A flag that shapes nothing may differ.
        let no_ignore_space = RELAYABLE - F::CLIENT_IGNORE_SPACE;
        assert!(for_backend(client, no_ignore_space).is_ok());
    }
}
