//! The operations of scenario 6, the micro-benchmarks: each a function over a shared
//! [`Fixture`], run by criterion (`cargo bench -p starkeep-bench`, `benches/micro.rs`) and, in
//! short, by `starkeep-bench all`.
//!
//! - token verification with [`TokenSigner::verify`], against its floor: the HMAC-SHA256 of the
//!   same bytes alone;
//! - request validation into domain types (a create's fields, a page request);
//! - SDK signature verification of one request the cloud's SDK signed (a vector of
//!   `starkeep-auth/tests/data/sdk_hmac_vectors.json`): the `Authorization` header parsed, the
//!   canonical request rebuilt, its HMAC compared, against the same HMAC floor.

use std::hint::black_box;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use starkeep_auth::sdk_signature::{self, Authorization, ReceivedRequest};
use starkeep_auth::{Role, TokenClaims, TokenSigner};
use starkeep_domain::{
    AccountName, AccountPassword, DatabaseSelection, Ddl, Dml, PageRequest, Privileges,
};

/// What the operations work on, made once.
pub struct Fixture {
    pub signer: TokenSigner,
    pub key: Vec<u8>,
    pub token: String,
    pub now: i64,
    pub sdk: SdkRequest,
}

/// The SDK vectors of `starkeep-auth`, made by the cloud's own SDK.
const SDK_VECTORS: &str = include_str!("../../starkeep-auth/tests/data/sdk_hmac_vectors.json");
/// The vector verified: a create (POST with a JSON body), the request the API sees most.
const SDK_VECTOR: &str = "sdk_create_user_post_json";

/// One SDK-signed request as the server receives it.
pub struct SdkRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub authorization: String,
    pub secret_key: String,
    /// The vector's signing time (verification checks the replay window against it).
    pub now: i64,
}

impl SdkRequest {
    fn from_vectors(name: &str) -> Self {
        let all: serde_json::Value = serde_json::from_str(SDK_VECTORS).expect("valid JSON");
        let v = all["vectors"]
            .as_array()
            .and_then(|vs| vs.iter().find(|v| v["name"] == name))
            .expect("the vector exists");
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        let target = text(&v["wire"]["request_target"]);
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let headers: Vec<(String, Vec<u8>)> = v["wire"]["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .map(|h| (text(&h[0]), text(&h[1]).into_bytes()))
            .collect();
        let authorization = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .expect("an Authorization header");
        let date = text(&v["input"]["x_sdk_date"]);
        Self {
            method: text(&v["input"]["method"]),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body: text(&v["wire"]["body"]).into_bytes(),
            authorization,
            secret_key: text(&v["input"]["sk"]),
            now: sdk_signature::parse_sdk_date(date.as_bytes()).expect("the vector's date"),
        }
    }
}

impl Fixture {
    pub fn new() -> Self {
        let key: Vec<u8> = (0..32u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect();
        let signer = TokenSigner::new(&key);
        let now = 1_800_000_000;
        let token = signer.issue(&TokenClaims {
            user_id: "0123456789abcdef0123456789abcdef".into(),
            user_name: "admin".into(),
            project_id: "fedcba9876543210fedcba9876543210".into(),
            project_name: "default".into(),
            role: Role::Admin,
            issued_at: now,
            expires_at: now + 86_400,
        });
        Self {
            signer,
            key,
            token,
            now,
            sdk: SdkRequest::from_vectors(SDK_VECTOR),
        }
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

/// One micro-benchmarked operation.
#[derive(Clone, Copy)]
pub struct Case {
    /// A short name, also criterion's benchmark id.
    pub name: &'static str,
    /// What one run of it does.
    pub what: &'static str,
    /// The case this one is measured against (its floor), if any.
    pub reference: Option<&'static str>,
    /// One operation. Answers something derived from the result so it cannot be optimized away.
    pub run: fn(&Fixture) -> usize,
}

/// Every case that exists today, references included.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "token_verify",
            what: "verify an sk1 token: MAC check in constant time, claims decoded, expiry",
            reference: Some("hmac_sha256_alone"),
            run: token_verify,
        },
        Case {
            name: "hmac_sha256_alone",
            what: "HMAC-SHA256 of the token's signed bytes, nothing else (the floor)",
            reference: None,
            run: hmac_alone,
        },
        Case {
            name: "validate_create",
            what: "a create request's fields into AccountName, AccountPassword, Privileges and DatabaseSelection",
            reference: None,
            run: validate_create,
        },
        Case {
            name: "validate_page",
            what: "limit and offset into a PageRequest",
            reference: None,
            run: validate_page,
        },
        Case {
            name: "sdk_signature_verify",
            what: "verify one SDK-HMAC-SHA256 signed create (the SDK's own vector): header parsed, canonical request rebuilt, body hashed, HMAC compared",
            reference: Some("hmac_sha256_alone"),
            run: sdk_signature_verify,
        },
    ]
}

fn sdk_signature_verify(f: &Fixture) -> usize {
    let r = &f.sdk;
    let headers: Vec<(&str, &[u8])> = r
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let request = ReceivedRequest {
        method: &r.method,
        path: &r.path,
        query: &r.query,
        headers: &headers,
        body: &r.body,
    };
    let auth = Authorization::parse(black_box(&r.authorization)).expect("the vector's header");
    sdk_signature::verify(black_box(&request), &auth, r.secret_key.as_bytes(), r.now)
        .expect("the SDK's own signature verifies");
    auth.signed_headers.len()
}

fn token_verify(f: &Fixture) -> usize {
    let claims = f
        .signer
        .verify(black_box(&f.token), f.now)
        .expect("the fixture's token is valid");
    claims.user_name.len()
}

fn hmac_alone(f: &Fixture) -> usize {
    let signed = f.token.rsplit_once('.').expect("sk1.<claims>.<mac>").0;
    let mut mac = Hmac::<Sha256>::new_from_slice(&f.key).expect("any key length");
    mac.update(black_box(signed.as_bytes()));
    mac.finalize().into_bytes()[0] as usize
}

fn validate_create(_: &Fixture) -> usize {
    let name = AccountName::parse(black_box("report_reader")).expect("valid name");
    let password = AccountPassword::parse(black_box("Rds_1234x"), &name).expect("valid password");
    let privileges = Privileges {
        dml: Dml::from_wire(black_box(1)).expect("valid dml"),
        ddl: Ddl::from_wire(black_box(0)).expect("valid ddl"),
    };
    let databases = DatabaseSelection::parse(black_box(&["sales", "default"])).expect("valid");
    name.as_str().len()
        + password.expose().len()
        + privileges.dml.wire() as usize
        + databases.to_wire().len()
}

fn validate_page(_: &Fixture) -> usize {
    let page =
        PageRequest::parse(black_box(Some("100")), black_box(Some("50000"))).expect("valid page");
    page.limit() as usize + page.offset() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_runs_on_the_fixture() {
        let f = Fixture::new();
        for case in cases() {
            (case.run)(&f);
        }
        assert_eq!(token_verify(&f), "admin".len());
        assert_eq!(validate_page(&f), 50_100);
        assert_eq!(sdk_signature_verify(&f), 5);
    }

    #[test]
    fn references_name_existing_cases() {
        let all = cases();
        for case in &all {
            if let Some(r) = case.reference {
                assert!(
                    all.iter().any(|c| c.name == r),
                    "{} refers to {r}",
                    case.name
                );
            }
        }
    }
}
