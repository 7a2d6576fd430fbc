//! The client side of `SDK-HMAC-SHA256`: signing a request with an access key as the cloud's
//! SDKs sign it, for tests that send signed requests. It uses the canonical request of
//! `starkeep_auth::sdk_signature`, the code the server checks with, which that crate's tests pin
//! to the official SDK's signer.
//!
//! Sending is the caller's: this module only computes the headers.

use starkeep_auth::sdk_signature::{self, Authorization, ReceivedRequest};

/// `YYYYMMDDTHHMMSSZ`, `offset_secs` from now: an `X-Sdk-Date`.
pub fn sdk_date(offset_secs: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs);
    t.format(time::macros::format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))
    .expect("a date formats")
}

/// A request to sign: its method, path, query (without `?`), the headers to sign (lowercase
/// names; `x-sdk-date` among them) and the body.
#[derive(Debug, Clone, Copy)]
pub struct Unsigned<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

impl Unsigned<'_> {
    /// The `Authorization` header's value that signs every header of the request with the key
    /// `ak`/`sk`, and the signature in hex.
    pub fn sign(&self, ak: &str, sk: &str) -> (String, String) {
        let pairs: Vec<(&str, &[u8])> = self
            .headers
            .iter()
            .map(|(n, v)| (*n, v.as_bytes()))
            .collect();
        let auth = Authorization {
            access_key: ak.to_owned(),
            signed_headers: self.headers.iter().map(|(n, _)| n.to_string()).collect(),
            signature: [0; 32],
        };
        let received = ReceivedRequest {
            method: self.method,
            path: self.path,
            query: self.query,
            headers: &pairs,
            body: self.body,
        };
        let canonical =
            sdk_signature::canonical_request(&received, &auth).expect("signed headers are given");
        let date = self
            .headers
            .iter()
            .find(|(n, _)| *n == "x-sdk-date")
            .map_or("", |(_, v)| v);
        let signature = hex::encode(sdk_signature::signature(
            sk.as_bytes(),
            &sdk_signature::string_to_sign(date, &canonical),
        ));
        let header = format!(
            "SDK-HMAC-SHA256 Access={ak}, SignedHeaders={}, Signature={signature}",
            auth.signed_headers.join(";")
        );
        (header, signature)
    }
}

/// Headers (`Name: value`) that sign a request to `url` with an access key, as the cloud's SDKs
/// sign it: Content-Type, Host, X-Project-Id (from the path) and X-Sdk-Date (now) are signed.
pub fn signed_headers(method: &str, url: &str, body: &str, ak: &str, sk: &str) -> Vec<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (host, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let date = sdk_date(0);
    let project = path.split('/').nth(2).unwrap_or_default();
    let headers = [
        ("content-type", "application/json"),
        ("host", host),
        ("x-project-id", project),
        ("x-sdk-date", date.as_str()),
    ];
    let (authorization, _) = Unsigned {
        method,
        path,
        query,
        headers: &headers,
        body: body.as_bytes(),
    }
    .sign(ak, sk);
    let mut out: Vec<String> = headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    out.push(format!("Authorization: {authorization}"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_covers_the_body_and_the_key() {
        let headers = [("host", "h"), ("x-sdk-date", "20260101T000000Z")];
        let request = |body: &'static [u8]| Unsigned {
            method: "POST",
            path: "/v3/p/x",
            query: "",
            headers: &headers,
            body,
        };
        let (header, signature) = request(b"{}").sign("AK", "SK");
        assert!(header.starts_with("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, "));
        assert!(header.ends_with(&signature));
        assert_eq!(signature.len(), 64);
        assert_ne!(request(b"{ }").sign("AK", "SK").1, signature);
        assert_ne!(request(b"{}").sign("AK", "SK2").1, signature);
        assert_eq!(request(b"{}").sign("AK", "SK").1, signature);
    }
}
