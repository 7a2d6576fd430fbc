//! Passing a backend's answer to the client as the backend sent it.
//!
//! Frames are copied byte for byte (sequence ids included: the backend numbers its answer from
//! the command's 0, as the client expects). The relay looks only at what tells where an answer
//! ends: the first byte of each packet, a result set's column count, and the status flags of
//! its terminators (more results follow, a transaction is open). Rows are never decoded.
//! Output is gathered and written in batches of up to [`BATCH`] bytes.
//!
//! A backend that fails mid-answer: while the client is between packets (before the answer, or
//! between rows) it gets an ERR in place of the rest and its session goes on; inside column
//! definitions there is no place for one, and the client's connection is closed. Either way the
//! statement is not sent anywhere again.

use std::io;

use mysql_common::constants::{CapabilityFlags, StatusFlags};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use crate::backend::BackendConn;
use crate::stream::Stream;
use crate::wire::{self, MAX_FRAME};

/// Bytes gathered before they are written to the client.
pub const BATCH: usize = 64 * 1024;

/// What the answer to a command looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// OK, ERR, LOCAL INFILE or result sets, maybe several (`COM_QUERY`, `COM_STMT_EXECUTE`).
    Results,
    /// `COM_STMT_PREPARE`'s OK with parameter and column definitions, or ERR.
    Prepare,
    /// Rows up to a terminator (`COM_STMT_FETCH`), or column definitions up to one
    /// (`COM_FIELD_LIST`).
    UntilTerminator,
    /// One packet.
    Single,
    /// No answer (`COM_STMT_CLOSE`, `COM_STMT_SEND_LONG_DATA`).
    Nothing,
}

/// Why a relay stopped early.
#[derive(Debug)]
pub enum RelayError {
    /// The client went away (its connection is done; the backend's is mid-answer).
    Client(io::Error),
    /// The backend failed. `client_ok`: the client was told with an ERR and may go on.
    Backend { error: io::Error, client_ok: bool },
}

struct Relay<'a, C> {
    backend: &'a mut BufReader<Stream>,
    client: &'a mut C,
    out: Vec<u8>,
    last_seq: u8,
    /// The client is between packets: an ERR may stand for the rest of the answer.
    at_boundary: bool,
    /// The answer ended with an ERR.
    failed: bool,
}

/// Where a relayed packet's first frame is in the batch.
struct Packet {
    start: usize,
    /// The packet fits in one frame.
    single: bool,
}

impl<C: AsyncRead + AsyncWrite + Unpin> Relay<'_, C> {
    fn payload(&self, p: &Packet) -> &[u8] {
        let len = u32::from_le_bytes([
            self.out[p.start],
            self.out[p.start + 1],
            self.out[p.start + 2],
            0,
        ]) as usize;
        &self.out[p.start + 4..p.start + 4 + len]
    }

    /// Copies the backend's next packet into the batch.
    async fn pass(&mut self) -> io::Result<Packet> {
        let start = self.out.len();
        let mut single = true;
        loop {
            let at = self.out.len();
            self.out.resize(at + 4, 0);
            self.backend.read_exact(&mut self.out[at..]).await?;
            let len =
                u32::from_le_bytes([self.out[at], self.out[at + 1], self.out[at + 2], 0]) as usize;
            self.last_seq = self.out[at + 3];
            self.out.resize(at + 4 + len, 0);
            self.backend.read_exact(&mut self.out[at + 4..]).await?;
            if len < MAX_FRAME {
                return Ok(Packet { start, single });
            }
            single = false;
        }
    }

    /// Writes the batch out if it is full (`force`: whatever it holds).
    async fn flush(&mut self, force: bool) -> io::Result<()> {
        if self.out.len() >= BATCH || (force && !self.out.is_empty()) {
            self.client.write_all(&self.out).await?;
            self.out.clear();
        }
        if force {
            self.client.flush().await?;
        }
        Ok(())
    }

    fn is_terminator(&self, p: &Packet) -> bool {
        p.single && self.payload(p).first() == Some(&0xFE) && self.payload(p).len() < MAX_FRAME
    }

    fn status_of(&self, p: &Packet, deprecate_eof: bool) -> Option<StatusFlags> {
        let payload = self.payload(p);
        if payload.first() == Some(&0xFE) && !deprecate_eof {
            wire::eof_status(payload)
        } else {
            wire::ok_status(payload)
        }
    }
}

/// How an answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relayed {
    /// The backend's status flags after it.
    pub status: StatusFlags,
    /// It ended with an ERR (the statement, or its last part, failed).
    pub failed: bool,
}

/// Relays the answer to the command just sent to `backend`.
pub async fn relay<C: AsyncRead + AsyncWrite + Unpin>(
    backend: &mut BackendConn,
    client: &mut C,
    shape: Shape,
) -> Result<Relayed, RelayError> {
    let deprecate_eof = backend.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF);
    let mut r = Relay {
        backend: &mut backend.stream,
        client,
        out: Vec::new(),
        last_seq: 0,
        at_boundary: true,
        failed: false,
    };
    let result = match shape {
        Shape::Nothing => Ok(None),
        Shape::Single => r.pass().await.map(|p| {
            r.failed = r.payload(&p).first() == Some(&0xFF);
            let status = r.status_of(&p, true);
            status.filter(|_| r.payload(&p).first() == Some(&0x00))
        }),
        Shape::UntilTerminator => relay_until_terminator(&mut r, deprecate_eof).await,
        Shape::Prepare => relay_prepare(&mut r, deprecate_eof).await,
        Shape::Results => relay_results(&mut r, deprecate_eof).await,
    }
    .map_err(Failure::from);
    match result {
        Ok(status) => {
            r.flush(true).await.map_err(RelayError::Client)?;
            let failed = r.failed;
            if let Some(status) = status {
                backend.status = status;
            }
            Ok(Relayed {
                status: backend.status,
                failed,
            })
        }
        Err(Failure::Client(e)) => Err(RelayError::Client(e)),
        Err(Failure::Backend(error)) => {
            let client_ok = r.at_boundary;
            if client_ok {
                let err = wire::err_payload(
                    wire::code::BACKEND_LOST,
                    b"HY000",
                    &format!("Lost connection to the backend during the statement: {error}"),
                );
                wire::encode_packet(&err, r.last_seq.wrapping_add(1), &mut r.out);
                r.flush(true).await.map_err(RelayError::Client)?;
            }
            Err(RelayError::Backend { error, client_ok })
        }
    }
}

enum Failure {
    Client(io::Error),
    Backend(io::Error),
}

async fn relay_until_terminator<C: AsyncRead + AsyncWrite + Unpin>(
    r: &mut Relay<'_, C>,
    deprecate_eof: bool,
) -> io::Result<Option<StatusFlags>> {
    loop {
        let p = r.pass().await?;
        if r.is_terminator(&p) {
            return Ok(r.status_of(&p, deprecate_eof));
        }
        if r.payload(&p).first() == Some(&0xFF) {
            r.failed = true;
            return Ok(None);
        }
        r.flush(false).await.map_err(client_side)?;
    }
}

async fn relay_prepare<C: AsyncRead + AsyncWrite + Unpin>(
    r: &mut Relay<'_, C>,
    deprecate_eof: bool,
) -> io::Result<Option<StatusFlags>> {
    let p = r.pass().await?;
    let payload = r.payload(&p);
    if payload.first() != Some(&0x00) || payload.len() < 9 {
        r.failed = payload.first() == Some(&0xFF);
        return Ok(None);
    }
    let columns = u16::from_le_bytes([payload[5], payload[6]]);
    let params = u16::from_le_bytes([payload[7], payload[8]]);
    r.at_boundary = false;
    for count in [params, columns] {
        if count > 0 {
            for _ in 0..count {
                r.pass().await?;
            }
            if !deprecate_eof {
                r.pass().await?;
            }
        }
    }
    r.at_boundary = true;
    Ok(None)
}

async fn relay_results<C: AsyncRead + AsyncWrite + Unpin>(
    r: &mut Relay<'_, C>,
    deprecate_eof: bool,
) -> io::Result<Option<StatusFlags>> {
    loop {
        let p = r.pass().await?;
        let status = match r.payload(&p).first() {
            Some(0x00) => r.status_of(&p, true),
            Some(0xFF) => {
                r.failed = true;
                return Ok(None);
            }
            Some(0xFB) => {
                local_infile(r).await?;
                continue;
            }
            _ => relay_result_set(r, &p, deprecate_eof).await?,
        };
        match status {
            Some(s) if s.contains(StatusFlags::SERVER_MORE_RESULTS_EXISTS) => {
                r.flush(false).await.map_err(client_side)?;
            }
            other => return Ok(other),
        }
    }
}

/// Column definitions and rows after a result set's header `p`; the terminator's status.
async fn relay_result_set<C: AsyncRead + AsyncWrite + Unpin>(
    r: &mut Relay<'_, C>,
    p: &Packet,
    deprecate_eof: bool,
) -> io::Result<Option<StatusFlags>> {
    let (columns, _) = wire::lenenc_int(r.payload(p))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable result header"))?;
    r.at_boundary = false;
    for _ in 0..columns {
        r.pass().await?;
    }
    if !deprecate_eof {
        let eof = r.pass().await?;
        let status = r.status_of(&eof, false);
        // A cursor was opened (`COM_STMT_EXECUTE`): the rows come with `COM_STMT_FETCH`.
        if status.is_some_and(|s| s.contains(StatusFlags::SERVER_STATUS_CURSOR_EXISTS)) {
            r.at_boundary = true;
            return Ok(status);
        }
    }
    r.at_boundary = true;
    relay_until_terminator(r, deprecate_eof).await
}

/// `LOAD DATA LOCAL`: the backend asked for a file; the client's packets go to the backend up to
/// the empty one that ends the file.
async fn local_infile<C: AsyncRead + AsyncWrite + Unpin>(r: &mut Relay<'_, C>) -> io::Result<()> {
    r.flush(true).await.map_err(client_side)?;
    loop {
        let frame = wire::read_frame(r.client)
            .await
            .map_err(client_side)?
            .ok_or_else(|| client_side(io::ErrorKind::UnexpectedEof.into()))?;
        let mut bytes = Vec::with_capacity(frame.payload.len() + 4);
        frame.encode_into(&mut bytes);
        r.backend.get_mut().write_all(&bytes).await?;
        if frame.payload.is_empty() {
            return r.backend.get_mut().flush().await;
        }
    }
}

/// Marks an error as the client's, so it is told apart from the backend's.
fn client_side(e: io::Error) -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, ClientGone(e))
}

#[derive(Debug)]
struct ClientGone(io::Error);

impl std::fmt::Display for ClientGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "client: {}", self.0)
    }
}

impl std::error::Error for ClientGone {}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<ClientGone>())
        {
            Some(_) => Failure::Client(e),
            None => Failure::Backend(e),
        }
    }
}
