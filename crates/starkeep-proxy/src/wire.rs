//! The MySQL wire protocol's framing and the few packets the proxy makes itself.
//!
//! A packet is a 3-byte little-endian length, a sequence id and the payload; a payload of
//! 16 MiB minus one byte or more continues in the next frame. The proxy reads whole commands from clients (it must
//! see a `COM_QUERY`'s text) and relays a backend's answer frame by frame without decoding rows
//! ([`crate::relay`]). The typed packets (handshake, handshake response, auth switch, OK, ERR)
//! come from `mysql_common`; framing is written here because `mysql_common`'s codec hands out
//! reassembled payloads, and relaying needs the frames exactly as they came.
//!
//! Not here: which capabilities are offered ([`crate::caps`]), the login exchanges
//! ([`crate::client`], [`crate::backend`]).

use std::io;

use mysql_common::constants::StatusFlags;
use mysql_common::packets::{ErrPacket, ServerError, SqlState};
use mysql_common::proto::MySerialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest payload one frame carries; a payload this long continues in the next frame.
pub const MAX_FRAME: usize = 0xFF_FFFF;

/// The most a client command may be (the proxy keeps a command whole in memory): MySQL's
/// default `max_allowed_packet` for servers of the 8.0 series.
pub const MAX_COMMAND: usize = 64 * 1024 * 1024;

/// Command bytes the proxy tells apart.
pub mod command {
    pub const QUIT: u8 = 0x01;
    pub const INIT_DB: u8 = 0x02;
    pub const QUERY: u8 = 0x03;
    pub const FIELD_LIST: u8 = 0x04;
    pub const STATISTICS: u8 = 0x09;
    pub const PING: u8 = 0x0e;
    pub const CHANGE_USER: u8 = 0x11;
    pub const STMT_PREPARE: u8 = 0x16;
    pub const STMT_EXECUTE: u8 = 0x17;
    pub const STMT_SEND_LONG_DATA: u8 = 0x18;
    pub const STMT_CLOSE: u8 = 0x19;
    pub const STMT_RESET: u8 = 0x1a;
    pub const SET_OPTION: u8 = 0x1b;
    pub const STMT_FETCH: u8 = 0x1c;
    pub const RESET_CONNECTION: u8 = 0x1f;
}

/// MySQL error codes the proxy answers with.
pub mod code {
    /// ER_ACCESS_DENIED_ERROR.
    pub const ACCESS_DENIED: u16 = 1045;
    /// ER_UNKNOWN_COM_ERROR.
    pub const UNKNOWN_COMMAND: u16 = 1047;
    /// ER_NET_PACKET_TOO_LARGE.
    pub const PACKET_TOO_LARGE: u16 = 1153;
    /// ER_NOT_SUPPORTED_YET.
    pub const NOT_SUPPORTED: u16 = 1235;
    /// ER_HOST_IS_BLOCKED: answered while a client's login failures are throttled.
    pub const HOST_BLOCKED: u16 = 1129;
    /// ER_UNKNOWN_ERROR: a backend failed in a way that has no code of its own.
    pub const UNKNOWN: u16 = 1105;
    /// CR_SERVER_LOST as a server error: the backend went away mid-statement.
    pub const BACKEND_LOST: u16 = 2013;
}

/// One frame: its sequence id and payload (at most [`MAX_FRAME`] bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub seq: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The frame's bytes as they go on the wire.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let len = self.payload.len() as u32;
        out.extend_from_slice(&len.to_le_bytes()[..3]);
        out.push(self.seq);
        out.extend_from_slice(&self.payload);
    }
}

/// Reads one frame; `Ok(None)` at a clean end of stream before its first byte.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Option<Frame>> {
    let mut header = [0u8; 4];
    match r.read_exact(&mut header[..1]).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    r.read_exact(&mut header[1..]).await?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    Ok(Some(Frame {
        seq: header[3],
        payload,
    }))
}

/// Reads one whole packet (frames joined), answering the payload and the last frame's sequence
/// id; `Ok(None)` at a clean end of stream. A packet over `limit` bytes is an error.
pub async fn read_packet<R: AsyncRead + Unpin>(
    r: &mut R,
    limit: usize,
) -> io::Result<Option<(u8, Vec<u8>)>> {
    let Some(first) = read_frame(r).await? else {
        return Ok(None);
    };
    let mut seq = first.seq;
    let mut more = first.payload.len() == MAX_FRAME;
    let mut payload = first.payload;
    while more {
        let next = read_frame(r)
            .await?
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        seq = next.seq;
        more = next.payload.len() == MAX_FRAME;
        payload.extend_from_slice(&next.payload);
        if payload.len() > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "packet larger than the proxy accepts",
            ));
        }
    }
    Ok(Some((seq, payload)))
}

/// The frames of one packet with sequence ids from `seq` on; answers the next sequence id.
pub fn encode_packet(payload: &[u8], mut seq: u8, out: &mut Vec<u8>) -> u8 {
    let mut chunks = payload.chunks(MAX_FRAME).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[0, 0, 0, seq]);
        return seq.wrapping_add(1);
    }
    let mut last_len = 0;
    for chunk in chunks {
        Frame {
            seq,
            payload: chunk.to_vec(),
        }
        .encode_into(out);
        last_len = chunk.len();
        seq = seq.wrapping_add(1);
    }
    if last_len == MAX_FRAME {
        out.extend_from_slice(&[0, 0, 0, seq]);
        seq = seq.wrapping_add(1);
    }
    seq
}

/// Writes one packet and flushes; answers the next sequence id.
pub async fn write_packet<W: AsyncWrite + Unpin>(
    w: &mut W,
    payload: &[u8],
    seq: u8,
) -> io::Result<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    let next = encode_packet(payload, seq, &mut out);
    w.write_all(&out).await?;
    w.flush().await?;
    Ok(next)
}

/// An OK packet's payload with `status` (no affected rows, no info).
pub fn ok_payload(status: StatusFlags) -> Vec<u8> {
    let mut out = Vec::new();
    // The header byte, affected rows 0, last insert id 0, status, warnings 0.
    out.push(0x00);
    out.push(0x00);
    out.push(0x00);
    out.extend_from_slice(&status.bits().to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

/// An ERR packet's payload (protocol 4.1 form, with an SQL state).
pub fn err_payload(code: u16, state: &[u8; 5], message: &str) -> Vec<u8> {
    let err = ErrPacket::Error(ServerError::new(
        code,
        Some(SqlState::new(*state)),
        message.as_bytes(),
    ));
    let mut out = Vec::new();
    err.serialize(&mut out);
    out
}

/// The status flags of an OK packet (header 0x00, or 0xFE as a result set's end when
/// `CLIENT_DEPRECATE_EOF` is on), for 4.1 clients.
pub fn ok_status(payload: &[u8]) -> Option<StatusFlags> {
    let mut rest = payload.get(1..)?;
    skip_lenenc(&mut rest)?;
    skip_lenenc(&mut rest)?;
    let bits = u16::from_le_bytes([*rest.first()?, *rest.get(1)?]);
    Some(StatusFlags::from_bits_truncate(bits))
}

/// The status flags of an old-style EOF packet (0xFE, warnings, status).
pub fn eof_status(payload: &[u8]) -> Option<StatusFlags> {
    let bits = u16::from_le_bytes([*payload.get(3)?, *payload.get(4)?]);
    Some(StatusFlags::from_bits_truncate(bits))
}

/// Whether a payload is an OK packet (checked with `mysql_common`'s parser), for login answers.
pub fn is_ok(payload: &[u8]) -> bool {
    use mysql_common::io::ParseBuf;
    use mysql_common::packets::{CommonOkPacket, OkPacketDeserializer};
    use mysql_common::proto::MyDeserialize;
    payload.first() == Some(&0x00)
        && OkPacketDeserializer::<CommonOkPacket>::deserialize(
            mysql_common::constants::CapabilityFlags::CLIENT_PROTOCOL_41,
            &mut ParseBuf(payload),
        )
        .is_ok()
}

/// The code and message of an ERR packet, if the payload is one.
pub fn parse_err(payload: &[u8]) -> Option<(u16, String)> {
    use mysql_common::io::ParseBuf;
    use mysql_common::proto::MyDeserialize;
    if payload.first() != Some(&0xFF) {
        return None;
    }
    let parsed = ErrPacket::deserialize(
        mysql_common::constants::CapabilityFlags::CLIENT_PROTOCOL_41,
        &mut ParseBuf(payload),
    )
    .ok()?;
    match parsed {
        ErrPacket::Error(e) => Some((e.error_code(), e.message_str().into_owned())),
        ErrPacket::Progress(_) => None,
    }
}

/// A length-encoded integer at the start of `buf`, and the bytes it took.
pub fn lenenc_int(buf: &[u8]) -> Option<(u64, usize)> {
    let first = *buf.first()?;
    let (len, at) = match first {
        0..=0xFA => return Some((u64::from(first), 1)),
        0xFC => (2, 1),
        0xFD => (3, 1),
        0xFE => (8, 1),
        _ => return None,
    };
    let bytes = buf.get(at..at + len)?;
    let mut value = [0u8; 8];
    value[..len].copy_from_slice(bytes);
    Some((u64::from_le_bytes(value), at + len))
}

fn skip_lenenc(rest: &mut &[u8]) -> Option<()> {
    let (_, used) = lenenc_int(rest)?;
    *rest = rest.get(used..)?;
    Some(())
}

/// The length-encoded strings of a text-protocol row (`None` for SQL NULL).
pub fn text_row(payload: &[u8]) -> Option<Vec<Option<Vec<u8>>>> {
    let mut rest = payload;
    let mut values = Vec::new();
    while !rest.is_empty() {
        if rest[0] == 0xFB {
            values.push(None);
            rest = &rest[1..];
            continue;
        }
        let (len, used) = lenenc_int(rest)?;
        let end = used.checked_add(usize::try_from(len).ok()?)?;
        values.push(Some(rest.get(used..end)?.to_vec()));
        rest = &rest[end..];
    }
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_long_packet_goes_in_frames_and_comes_back_whole() {
        let payload: Vec<u8> = (0..MAX_FRAME * 2 + 10).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        let next = encode_packet(&payload, 0, &mut out);
        assert_eq!(next, 3);
        let mut reader = &out[..];
        let (seq, back) = read_packet(&mut reader, usize::MAX).await.unwrap().unwrap();
        assert_eq!(seq, 2);
        assert_eq!(back, payload);
        assert!(read_packet(&mut reader, usize::MAX)
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn a_packet_of_exactly_one_full_frame_ends_with_an_empty_frame() {
        let payload = vec![7u8; MAX_FRAME];
        let mut out = Vec::new();
        assert_eq!(encode_packet(&payload, 5, &mut out), 7);
        assert_eq!(out.len(), MAX_FRAME + 8);
        let (_, back) = read_packet(&mut &out[..], usize::MAX)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back.len(), MAX_FRAME);
    }

    #[tokio::test]
    async fn a_packet_over_the_limit_is_refused() {
        let payload = vec![1u8; MAX_FRAME + 1];
        let mut out = Vec::new();
        encode_packet(&payload, 0, &mut out);
        assert!(read_packet(&mut &out[..], MAX_FRAME).await.is_err());
    }

    #[test]
    fn ok_and_err_payloads_read_back() {
        let ok = ok_payload(StatusFlags::SERVER_STATUS_AUTOCOMMIT);
        assert!(is_ok(&ok));
        assert_eq!(ok_status(&ok), Some(StatusFlags::SERVER_STATUS_AUTOCOMMIT));
        let err = err_payload(1045, b"28000", "Access denied");
        assert_eq!(parse_err(&err), Some((1045, "Access denied".to_owned())));
        assert!(!is_ok(&err));
    }

    #[test]
    fn lenenc_integers_and_text_rows_decode() {
        assert_eq!(lenenc_int(&[0xFA]), Some((250, 1)));
        assert_eq!(lenenc_int(&[0xFC, 0x01, 0x02]), Some((0x0201, 3)));
        assert_eq!(lenenc_int(&[0xFD, 1, 0, 1]), Some((0x010001, 4)));
        assert_eq!(lenenc_int(&[0xFC, 0x01]), None);
        let row = [3, b'a', b'b', b'c', 0xFB, 0];
        assert_eq!(
            text_row(&row),
            Some(vec![Some(b"abc".to_vec()), None, Some(Vec::new())])
        );
        assert_eq!(text_row(&[5, b'a']), None);
    }
}
