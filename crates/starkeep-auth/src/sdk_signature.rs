//! `SDK-HMAC-SHA256`: checking requests signed with an access key the way the cloud's SDKs sign
//! them (`Authorization: SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…`).
//!
//! The canonical request is rebuilt from what the server received — the raw path and query, the
//! headers the client named in `SignedHeaders`, the body — exactly as the SDK's signer builds it
//! (the rules are in `docs/notes/sdk-wire-facts.md`; `tests/data/sdk_hmac_vectors.json`, made by
//! the SDK itself, pins them). On top of the SDK's computation, [`verify`] enforces the server's
//! rules: `X-Sdk-Date` must be signed, the date must be within [`REPLAY_WINDOW_SECS`] of the
//! server clock, and the signature is compared in constant time. `Host` is checked when it is
//! signed, and may be left out: the Go SDK that the cloud's Terraform provider uses
//! (`chnsz/golangsdk`, `signer/signer.go`) signs the headers of Go's header map, which never
//! holds the host, and the cloud's gateway takes its requests.
//!
//! Finding the secret key of an access key (the store) and HTTP answers live elsewhere
//! ([`crate::access_key`], `starkeep-api`).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The scheme name, first word of the `Authorization` header.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// The signing time, `YYYYMMDDTHHMMSSZ` in UTC.
pub const DATE_HEADER: &str = "x-sdk-date";
/// A body hash given by the client instead of the body's own.
pub const CONTENT_SHA256_HEADER: &str = "x-sdk-content-sha256";
/// The [`CONTENT_SHA256_HEADER`] value of a client that does not sign its body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// How far a request's `X-Sdk-Date` may be from the server clock, either way.
pub const REPLAY_WINDOW_SECS: i64 = 15 * 60;

/// The hex SHA-256 of nothing.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Why a signed request was refused. None of these carries the expected signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Authorization header is not a valid SDK-HMAC-SHA256 authorization")]
    Malformed,
    #[error("the X-Sdk-Date header must be signed")]
    DateNotSigned,
    #[error("the signed header {0} is not in the request")]
    SignedHeaderMissing(String),
    #[error("the signed header {0} appears more than once")]
    SignedHeaderRepeated(String),
    #[error("X-Sdk-Date is not a date of the form YYYYMMDDTHHMMSSZ")]
    BadDate,
    #[error("X-Sdk-Date is more than 15 minutes away from the server's clock")]
    DateOutOfWindow,
    #[error("the body does not match X-Sdk-Content-Sha256")]
    BodyHashMismatch,
    #[error("the signature does not match the request")]
    BadSignature,
}

/// A parsed `Authorization: SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id (AK).
    pub access_key: String,
    /// Lower-case header names, in the client's order.
    pub signed_headers: Vec<String>,
    /// The client's signature, as 32 bytes.
    pub signature: [u8; 32],
}

impl Authorization {
    /// Whether an `Authorization` value claims this scheme (it may still be malformed).
    pub fn claims_scheme(value: &[u8]) -> bool {
        value.len() > ALGORITHM.len()
            && value.starts_with(ALGORITHM.as_bytes())
            && value[ALGORITHM.len()].is_ascii_whitespace()
    }

    /// Parses the header value. Each of `Access`, `SignedHeaders` and `Signature` must appear
    /// once; separators are commas with optional white space.
    pub fn parse(value: &str) -> Result<Self, SignatureError> {
        let rest = value
            .strip_prefix(ALGORITHM)
            .filter(|r| r.starts_with(|c: char| c.is_ascii_whitespace()))
            .ok_or(SignatureError::Malformed)?;
        let (mut access, mut signed, mut signature) = (None, None, None);
        for field in rest.split(',') {
            let (name, value) = field
                .trim()
                .split_once('=')
                .ok_or(SignatureError::Malformed)?;
            let slot = match name {
                "Access" => &mut access,
                "SignedHeaders" => &mut signed,
                "Signature" => &mut signature,
                _ => return Err(SignatureError::Malformed),
            };
            if slot.replace(value.trim()).is_some() {
                return Err(SignatureError::Malformed);
            }
        }
        let access = access
            .filter(|a| !a.is_empty() && a.len() <= 128 && a.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or(SignatureError::Malformed)?;
        let signed_headers: Vec<String> = signed
            .ok_or(SignatureError::Malformed)?
            .split(';')
            .map(str::to_owned)
            .collect();
        let valid_name = |n: &String| {
            !n.is_empty()
                && n.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
                })
        };
        if signed_headers.len() > 64 || !signed_headers.iter().all(valid_name) {
            return Err(SignatureError::Malformed);
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(signature.ok_or(SignatureError::Malformed)?, &mut bytes)
            .map_err(|_| SignatureError::Malformed)?;
        Ok(Self {
            access_key: access.to_owned(),
            signed_headers,
            signature: bytes,
        })
    }
}

/// The header value, `SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…`, as the SDKs
/// write it; [`Authorization::parse`] reads it back.
impl std::fmt::Display for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{ALGORITHM} Access={}, SignedHeaders={}, Signature={}",
            self.access_key,
            self.signed_headers.join(";"),
            hex::encode(self.signature)
        )
    }
}

/// A request as the server received it.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedRequest<'a> {
    /// Upper-case, e.g. `GET`.
    pub method: &'a str,
    /// The raw path, still percent-encoded, without the query.
    pub path: &'a str,
    /// The raw query without `?`; empty when there is none.
    pub query: &'a str,
    /// Every header (names in any case), in the order received.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The exact body bytes.
    pub body: &'a [u8],
}

impl ReceivedRequest<'_> {
    /// The one value of header `name`.
    fn header(&self, name: &str) -> Result<&[u8], SignatureError> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        let (_, value) = values
            .next()
            .ok_or_else(|| SignatureError::SignedHeaderMissing(name.to_owned()))?;
        if values.next().is_some() {
            return Err(SignatureError::SignedHeaderRepeated(name.to_owned()));
        }
        Ok(value)
    }
}

/// Percent-encodes every byte outside `A-Z a-z 0-9 - . _ ~`, with upper-case hex.
fn encode(raw: &[u8], out: &mut String) {
    for &b in raw {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Decodes `%XX` escapes once; a `%` not followed by two hex digits is kept as it is. `+` stays
/// `+`.
fn decode(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(&[hi, lo]) = bytes.get(i + 1..i + 3) {
                if let (Some(hi), Some(lo)) = (hex_value(hi), hex_value(lo)) {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn hex_value(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

/// The canonical URI: the path decoded once as a whole, each `/`-separated segment re-encoded,
/// and a trailing `/`.
pub fn canonical_uri(raw_path: &str) -> String {
    let decoded = decode(raw_path);
    let mut out = String::with_capacity(decoded.len() + 1);
    for (i, segment) in decoded.split(|&b| b == b'/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        encode(segment, &mut out);
    }
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// The canonical query: pairs decoded, sorted by key then value (as bytes), re-encoded.
pub fn canonical_query(raw_query: &str) -> String {
    if raw_query.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = raw_query
        .split('&')
        .map(|piece| {
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            (decode(k), decode(v))
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(raw_query.len());
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode(k, &mut out);
        out.push('=');
        encode(v, &mut out);
    }
    out
}

/// Lower-case hex SHA-256.
fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The body's hash as the client signed it. The client's `X-Sdk-Content-Sha256` is used only
/// when it is one of the signed headers (so it cannot be added to swap a body); a hash in it
/// must be the body's.
fn payload_hash(req: &ReceivedRequest<'_>, auth: &Authorization) -> Result<String, SignatureError> {
    if req.body.is_empty() {
        return Ok(EMPTY_SHA256.to_owned());
    }
    let body_hash = sha256_hex(req.body);
    if !auth
        .signed_headers
        .iter()
        .any(|h| h == CONTENT_SHA256_HEADER)
    {
        return Ok(body_hash);
    }
    let given = req.header(CONTENT_SHA256_HEADER)?;
    if given == UNSIGNED_PAYLOAD.as_bytes() {
        return Ok(UNSIGNED_PAYLOAD.to_owned());
    }
    if given.eq_ignore_ascii_case(body_hash.as_bytes()) {
        Ok(String::from_utf8_lossy(given).into_owned())
    } else {
        Err(SignatureError::BodyHashMismatch)
    }
}

/// The canonical request: method, URI, query, signed headers, their names, body hash.
pub fn canonical_request(
    req: &ReceivedRequest<'_>,
    auth: &Authorization,
) -> Result<String, SignatureError> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(req.method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(req.path).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(req.query).as_bytes());
    out.push(b'\n');
    for name in &auth.signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        out.extend_from_slice(req.header(name)?.trim_ascii());
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(auth.signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash(req, auth)?.as_bytes());
    // Header values arrive as bytes; the SDK signs them as UTF-8 text.
    String::from_utf8(out).map_err(|_| SignatureError::Malformed)
}

/// `SDK-HMAC-SHA256\n<date>\n<hex sha256 of the canonical request>`.
pub fn string_to_sign(date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{date}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// HMAC-SHA256 of the string to sign, keyed by the secret key's bytes.
pub fn signature(secret_key: &[u8], string_to_sign: &str) -> [u8; 32] {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret_key).expect("HMAC takes a key of any length");
    mac.update(string_to_sign.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Unix seconds of an `X-Sdk-Date` (`YYYYMMDDTHHMMSSZ`, UTC).
pub fn parse_sdk_date(value: &[u8]) -> Result<i64, SignatureError> {
    let s = std::str::from_utf8(value).map_err(|_| SignatureError::BadDate)?;
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return Err(SignatureError::BadDate);
    }
    let digits = |from: usize, to: usize| -> Result<i64, SignatureError> {
        let part = &s[from..to];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| SignatureError::BadDate)
        } else {
            Err(SignatureError::BadDate)
        }
    };
    let (year, month, day) = (digits(0, 4)?, digits(4, 6)?, digits(6, 8)?);
    let (hour, minute, second) = (digits(9, 11)?, digits(11, 13)?, digits(13, 15)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(SignatureError::BadDate),
    };
    if day < 1 || day > month_days || hour > 23 || minute > 59 || second > 59 {
        return Err(SignatureError::BadDate);
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Checks a signed request against the access key's secret key at time `now` (unix seconds):
/// `X-Sdk-Date` signed, the date within the replay window, the signature right.
pub fn verify(
    req: &ReceivedRequest<'_>,
    auth: &Authorization,
    secret_key: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    if !auth.signed_headers.iter().any(|h| h == DATE_HEADER) {
        return Err(SignatureError::DateNotSigned);
    }
    let date = req.header(DATE_HEADER)?;
    let signed_at = parse_sdk_date(date)?;
    if (now - signed_at).abs() > REPLAY_WINDOW_SECS {
        return Err(SignatureError::DateOutOfWindow);
    }
    let canonical = canonical_request(req, auth)?;
    let date = std::str::from_utf8(date).map_err(|_| SignatureError::BadDate)?;
    let expected = signature(secret_key, &string_to_sign(date, &canonical));
    if bool::from(expected.ct_eq(&auth.signature)) {
        Ok(())
    } else {
        Err(SignatureError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_and_query_rules() {
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a/b/"), "/a/b/");
        assert_eq!(canonical_uri("/a%2Fb/c"), "/a/b/c/");
        assert_eq!(canonical_uri("/%2541"), "/%2541/");
        assert_eq!(canonical_uri("/a b"), "/a%20b/");
        assert_eq!(canonical_uri("/bad%zz%4"), "/bad%25zz%254/");
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
        assert_eq!(canonical_query("flag"), "flag=");
        assert_eq!(canonical_query("k=a+b"), "k=a%2Bb");
    }

    #[test]
    fn authorization_header_parsing() {
        let sig = "ab".repeat(32);
        let value =
            format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature={sig}");
        let auth = Authorization::parse(&value).unwrap();
        assert_eq!(auth.access_key, "AK1");
        assert_eq!(auth.signed_headers, ["host", "x-sdk-date"]);
        assert_eq!(auth.signature, [0xab; 32]);
        assert!(Authorization::claims_scheme(value.as_bytes()));
        assert!(!Authorization::claims_scheme(b"Bearer abc"));
        assert!(!Authorization::claims_scheme(b"SDK-HMAC-SHA256X"));
        for bad in [
            "SDK-HMAC-SHA256".to_owned(),
            "SDK-HMAC-SHA256 Access=AK1".to_owned(),
            format!(
                "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature=zz{}",
                &sig[2..]
            ),
            format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature={sig}, Access=AK2"),
            format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=Host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;;x, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature={sig}, Other=1"),
            format!("SDK-HMAC-SM3 Access=AK1, SignedHeaders=host, Signature={sig}"),
        ] {
            assert_eq!(
                Authorization::parse(&bad),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn sdk_dates() {
        assert_eq!(parse_sdk_date(b"19700101T000000Z"), Ok(0));
        assert_eq!(parse_sdk_date(b"20240102T030405Z"), Ok(1_704_164_645));
        assert_eq!(parse_sdk_date(b"20240229T000000Z"), Ok(1_709_164_800));
        for bad in [
            &b"20230229T000000Z"[..],
            b"20240102T030405",
            b"2024-01-02T03:04:05Z",
            b"20241302T030405Z",
            b"20240102T240405Z",
            b"2024010XT030405Z",
            b"+2024102T030405Z",
        ] {
            assert_eq!(parse_sdk_date(bad), Err(SignatureError::BadDate));
        }
    }
}
