//! Connections to backends (the row primary, row replicas, column nodes) as a client's account:
//! the login, the greeting probe, and the liveness check before a connection is reused.
//!
//! The login is the proxy's own, on `mysql_common`'s handshake packets: a client library would
//! want the password, and the proxy has only SHA1(password) ([`crate::native`]). It answers the
//! server's salt with `mysql_native_password`, follows an auth-switch request to
//! `mysql_native_password` with the new salt, and refuses any other plugin (a proxy that never
//! learns the password cannot answer `caching_sha2_password`'s full authentication).
//!
//! TLS toward a backend is as its DSN says (`starkeep_engine::WireTls`'s parameters, turned
//! into a [`BackendTls`] once at start): the row primary and row replicas as the TaurusDB
//! source's DSN, column nodes as the instance's own DSN (node records carry an address and a
//! weight only). With TLS the login sends the SSL request (the handshake response's first 32
//! bytes, `CLIENT_SSL` set), starts rustls (ring) and logs in over it; a backend that does not
//! offer TLS is refused, never used in plain text. The certificate is checked against the
//! DSN's `ssl_ca` or, without one, the Mozilla root set (webpki-roots), and must name the host
//! connected to; `verify_ca=false` skips the check.
//!
//! Not here: relaying results ([`crate::relay`]), which backend serves what ([`crate::session`]).

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{
    AuthPlugin, AuthSwitchRequest, HandshakePacket, HandshakeResponse, SslRequest,
};
use mysql_common::proto::{MyDeserialize, MySerialize};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{self, CryptoProvider};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio_rustls::TlsConnector;

use crate::caps;
use crate::native::{self, Stage1};
use crate::stream::Stream;
use crate::wire;

/// How the proxy starts TLS toward the backends of one DSN. The name a server's certificate
/// must carry is the host of the address connected to (the DSN's host for the server it
/// names, a node's own host for a node reached the same way).
#[derive(Clone)]
pub struct BackendTls {
    connector: TlsConnector,
}

impl std::fmt::Debug for BackendTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackendTls")
    }
}

/// The host of `host:port` or `[v6]:port`, as a TLS server name.
fn server_name(addr: &str) -> Result<ServerName<'static>, BackendError> {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned())
        .map_err(|e| BackendError::Incompatible(format!("{host:?} is no TLS server name: {e}")))
}

impl BackendTls {
    /// TLS verified against the CA in the PEM file `ca` (or the Mozilla root set), or not
    /// verified at all when `verify` is false.
    pub fn new(ca: Option<&Path>, verify: bool) -> Result<Self, String> {
        let provider = Arc::new(crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS protocol versions: {e}"))?;
        let config = if verify {
            let mut roots = RootCertStore::empty();
            match ca {
                Some(path) => {
                    let certs = CertificateDer::pem_file_iter(path)
                        .map_err(|e| e.to_string())
                        .and_then(|i| i.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string()))
                        .map_err(|e| format!("reading the CA file {}: {e}", path.display()))?;
                    let (added, _) = roots.add_parsable_certificates(certs);
                    if added == 0 {
                        return Err(format!("{} holds no usable CA certificate", path.display()));
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            builder.with_root_certificates(roots)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
        }
        .with_no_client_auth();
        Ok(Self {
            connector: TlsConnector::from(Arc::new(config)),
        })
    }
}

/// `verify_ca=false`: any certificate is taken (signatures in the handshake are still
/// checked, so the link is encrypted to whoever holds the certificate's key).
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Why a backend could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Not reachable, or it broke the protocol: the node is treated as down.
    #[error("{0}")]
    Down(String),
    /// It answered the login with an error (e.g. 1045, 1049): the node is up, this session
    /// cannot use it.
    #[error("{message} ({code})")]
    Refused { code: u16, message: String },
    /// It cannot serve this client's capabilities or authentication.
    #[error("{0}")]
    Incompatible(String),
}

impl BackendError {
    fn io(what: &str, e: io::Error) -> Self {
        BackendError::Down(format!("{what}: {e}"))
    }
}

/// What a backend says about itself before a login.
#[derive(Debug, Clone)]
pub struct Greeting {
    pub version: Vec<u8>,
    pub capabilities: CapabilityFlags,
    pub collation: u8,
}

/// Who logs in, and how the client's session starts.
#[derive(Debug)]
pub struct Login<'a> {
    pub user: &'a str,
    pub stage1: &'a Stage1,
    pub db: Option<&'a str>,
    /// The flags the client chose.
    pub client_caps: CapabilityFlags,
    pub collation: u8,
}

/// A logged-in backend connection.
#[derive(Debug)]
pub struct BackendConn {
    pub stream: BufReader<Stream>,
    pub caps: CapabilityFlags,
    /// The status flags of the last answer that carried them.
    pub status: StatusFlags,
}

async fn open(addr: &str, timeout: Duration) -> Result<BufReader<Stream>, BackendError> {
    let tcp = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| BackendError::Down(format!("no connection to {addr} within {timeout:?}")))?
        .map_err(|e| BackendError::io(&format!("connecting to {addr}"), e))?;
    tcp.set_nodelay(true).ok();
    Ok(buffered(Stream::Plain(tcp)))
}

fn buffered(stream: Stream) -> BufReader<Stream> {
    BufReader::with_capacity(16 * 1024, stream)
}

async fn read_greeting(
    stream: &mut BufReader<Stream>,
) -> Result<(Greeting, Vec<u8>, u8), BackendError> {
    let (seq, payload) = wire::read_packet(stream, wire::MAX_COMMAND)
        .await
        .map_err(|e| BackendError::io("reading the greeting", e))?
        .ok_or_else(|| BackendError::Down("closed before its greeting".into()))?;
    if let Some((code, message)) = wire::parse_err(&payload) {
        return Err(BackendError::Refused { code, message });
    }
    let hs = HandshakePacket::deserialize((), &mut ParseBuf(&payload))
        .map_err(|e| BackendError::Down(format!("unreadable greeting: {e}")))?;
    let greeting = Greeting {
        version: hs.server_version_ref().to_vec(),
        capabilities: hs.capabilities(),
        collation: hs.default_collation(),
    };
    let mut nonce = hs.nonce();
    nonce.truncate(20);
    Ok((greeting, nonce, seq))
}

/// Connects and reads the greeting only (what the proxy offers clients depends on it).
pub async fn probe(addr: &str, timeout: Duration) -> Result<Greeting, BackendError> {
    let mut stream = open(addr, timeout).await?;
    let read = tokio::time::timeout(timeout, read_greeting(&mut stream));
    let (greeting, _, _) = read
        .await
        .map_err(|_| BackendError::Down(format!("no greeting from {addr} within {timeout:?}")))??;
    Ok(greeting)
}

/// Connects to `addr` and logs in as `login` says (over TLS when `tls` is given), within
/// `timeout`.
pub async fn connect(
    addr: &str,
    tls: Option<&BackendTls>,
    login: &Login<'_>,
    timeout: Duration,
) -> Result<BackendConn, BackendError> {
    let stream = open(addr, timeout).await?;
    let tls = match tls {
        Some(tls) => Some((tls, server_name(addr)?)),
        None => None,
    };
    tokio::time::timeout(timeout, handshake(stream, tls, login))
        .await
        .map_err(|_| BackendError::Down(format!("no login at {addr} within {timeout:?}")))?
        .map(|(stream, caps)| BackendConn {
            stream,
            caps,
            status: StatusFlags::SERVER_STATUS_AUTOCOMMIT,
        })
}

/// The login on a fresh connection; answers the connection (upgraded to TLS when `tls` is
/// given) and the flags it was made with.
async fn handshake(
    mut plain: BufReader<Stream>,
    tls: Option<(&BackendTls, ServerName<'static>)>,
    login: &Login<'_>,
) -> Result<(BufReader<Stream>, CapabilityFlags), BackendError> {
    let (greeting, nonce, seq) = read_greeting(&mut plain).await?;
    let mut flags = caps::for_backend(login.client_caps, greeting.capabilities).map_err(|m| {
        BackendError::Incompatible(format!("the backend lacks the capabilities {m:?}"))
    })?;
    if login.db.is_some() {
        flags |= CapabilityFlags::CLIENT_CONNECT_WITH_DB;
    } else {
        flags -= CapabilityFlags::CLIENT_CONNECT_WITH_DB;
    }
    let mut seq = seq.wrapping_add(1);
    let mut conn = match tls {
        None => plain,
        Some((tls, name)) => {
            if !greeting.capabilities.contains(CapabilityFlags::CLIENT_SSL) {
                return Err(BackendError::Incompatible(
                    "the backend offers no TLS, which its DSN requires".into(),
                ));
            }
            flags |= CapabilityFlags::CLIENT_SSL;
            let mut request = Vec::new();
            SslRequest::new(flags, wire::MAX_FRAME as u32, login.collation).serialize(&mut request);
            seq = wire::write_packet(&mut plain, &request, seq)
                .await
                .map_err(|e| BackendError::io("sending the SSL request", e))?;
            let Stream::Plain(tcp) = plain.into_inner() else {
                unreachable!("the stream is plain before the upgrade")
            };
            let upgraded = tls
                .connector
                .connect(name, tcp)
                .await
                .map_err(|e| BackendError::Down(format!("TLS toward the backend: {e}")))?;
            buffered(Stream::Tls(Box::new(upgraded.into())))
        }
    };
    let stream = &mut conn;
    let scramble = native::answer(login.stage1, &nonce);
    let response = HandshakeResponse::new(
        Some(scramble),
        (0, 0, 0),
        Some(login.user.as_bytes()),
        login.db.map(str::as_bytes),
        Some(AuthPlugin::MysqlNativePassword),
        flags,
        None,
        wire::MAX_FRAME as u32,
    );
    let mut payload = Vec::new();
    response.serialize(&mut payload);
    // `HandshakeResponse::new` picks the collation from a server version; the client's own
    // goes in its byte (after the flags and the packet size) so the session starts alike.
    payload[8] = login.collation;
    seq = wire::write_packet(stream, &payload, seq)
        .await
        .map_err(|e| BackendError::io("sending the login", e))?;
    // At most one auth switch: a second is a server we cannot satisfy.
    for _ in 0..2 {
        let (last, answer) = wire::read_packet(stream, wire::MAX_COMMAND)
            .await
            .map_err(|e| BackendError::io("reading the login answer", e))?
            .ok_or_else(|| BackendError::Down("closed during the login".into()))?;
        match answer.first() {
            Some(0x00) if wire::is_ok(&answer) => return Ok((conn, flags)),
            Some(0xFF) => {
                let (code, message) = wire::parse_err(&answer)
                    .unwrap_or((wire::code::UNKNOWN, "login refused".into()));
                return Err(BackendError::Refused { code, message });
            }
            Some(0xFE) => {
                let switch = AuthSwitchRequest::deserialize((), &mut ParseBuf(&answer))
                    .map_err(|e| BackendError::Down(format!("unreadable auth switch: {e}")))?;
                if switch.auth_plugin() != AuthPlugin::MysqlNativePassword {
                    return Err(BackendError::Incompatible(format!(
                        "the backend asks for the {} plugin; the proxy logs in with \
                         mysql_native_password only",
                        String::from_utf8_lossy(switch.auth_plugin().as_bytes())
                    )));
                }
                let salt = &switch.plugin_data()[..switch.plugin_data().len().min(20)];
                let answer = native::answer(login.stage1, salt);
                seq = wire::write_packet(stream, &answer, last.wrapping_add(1))
                    .await
                    .map_err(|e| BackendError::io("answering the auth switch", e))?;
            }
            _ => {
                return Err(BackendError::Incompatible(
                    "the backend asks for more authentication data than \
                     mysql_native_password gives"
                        .into(),
                ))
            }
        }
    }
    let _ = seq;
    Err(BackendError::Incompatible(
        "the backend switched authentication twice".into(),
    ))
}

impl BackendConn {
    /// Whether the connection is still usable for a new command: nothing arrived unasked (the
    /// server closing it, or an error sent to an idle connection at shutdown) and no error is
    /// pending. Checked before a statement is sent, so a statement is never sent on a
    /// connection known to be gone.
    pub fn is_idle_and_open(&self) -> bool {
        self.stream.buffer().is_empty() && self.stream.get_ref().is_quiet_and_open()
    }

    /// Sends one command packet (sequence id 0).
    pub async fn send_command(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut out = Vec::with_capacity(payload.len() + 4);
        wire::encode_packet(payload, 0, &mut out);
        let stream = self.stream.get_mut();
        stream.write_all(&out).await?;
        stream.flush().await
    }

    /// Sends a statement the proxy makes itself (session replay, `EXPLAIN`) and reads the whole
    /// answer: the rows of a text result set (every column of each), or an OK or ERR.
    pub async fn query(&mut self, sql: &str) -> Result<QueryAnswer, BackendError> {
        let mut payload = Vec::with_capacity(sql.len() + 1);
        payload.push(wire::command::QUERY);
        payload.extend_from_slice(sql.as_bytes());
        self.send_command(&payload)
            .await
            .map_err(|e| BackendError::io("sending a statement", e))?;
        let mut answer = QueryAnswer::default();
        loop {
            let more = self.read_one_result(&mut answer).await?;
            if !more {
                return Ok(answer);
            }
        }
    }

    async fn next(&mut self) -> Result<Vec<u8>, BackendError> {
        wire::read_packet(&mut self.stream, wire::MAX_COMMAND)
            .await
            .map_err(|e| BackendError::io("reading an answer", e))?
            .map(|(_, p)| p)
            .ok_or_else(|| BackendError::Down("closed mid-answer".into()))
    }

    /// Reads one result of an answer into `answer`; true when another follows.
    async fn read_one_result(&mut self, answer: &mut QueryAnswer) -> Result<bool, BackendError> {
        let first = self.next().await?;
        match first.first() {
            Some(0x00) => {
                let status = wire::ok_status(&first).unwrap_or(self.status);
                self.status = status;
                return Ok(status.contains(StatusFlags::SERVER_MORE_RESULTS_EXISTS));
            }
            Some(0xFF) => {
                answer.error = wire::parse_err(&first);
                return Ok(false);
            }
            _ => {}
        }
        let (columns, _) = wire::lenenc_int(&first)
            .ok_or_else(|| BackendError::Down("unreadable result header".into()))?;
        for _ in 0..columns {
            self.next().await?;
        }
        let deprecate_eof = self.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF);
        if !deprecate_eof {
            self.next().await?;
        }
        loop {
            let row = self.next().await?;
            match row.first() {
                Some(0xFE) if row.len() < wire::MAX_FRAME => {
                    let status = if deprecate_eof {
                        wire::ok_status(&row)
                    } else {
                        wire::eof_status(&row)
                    }
                    .unwrap_or(self.status);
                    self.status = status;
                    return Ok(status.contains(StatusFlags::SERVER_MORE_RESULTS_EXISTS));
                }
                Some(0xFF) => {
                    answer.error = wire::parse_err(&row);
                    return Ok(false);
                }
                _ => answer.rows.push(
                    wire::text_row(&row)
                        .ok_or_else(|| BackendError::Down("unreadable row".into()))?,
                ),
            }
        }
    }
}

/// The answer to a statement the proxy made itself.
#[derive(Debug, Default)]
pub struct QueryAnswer {
    pub rows: Vec<Vec<Option<Vec<u8>>>>,
    /// The server's error, if it refused the statement.
    pub error: Option<(u16, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_name_is_the_host_connected_to() {
        assert_eq!(
            server_name("db.example:3306").unwrap(),
            ServerName::try_from("db.example").unwrap()
        );
        assert_eq!(
            server_name("127.0.0.1:3306").unwrap(),
            ServerName::try_from("127.0.0.1").unwrap()
        );
        assert_eq!(
            server_name("[::1]:3306").unwrap(),
            ServerName::try_from("::1").unwrap()
        );
    }
}
