//! The operations of scenario 6, the micro-benchmarks: each a function over a shared
//! [`Fixture`], run by criterion (`cargo bench -p starkeep-bench`, `benches/micro.rs`) and, in
//! short, by `starkeep-bench all`.
//!
//! - token verification with [`TokenSigner::verify`], against its floor: the HMAC-SHA256 of the
//!   same bytes alone;
//! - request validation into domain types (a create's fields, a page request);
//! - SDK signature verification: a slot ([`sdk_signature_case`]) that answers `None` until
//!   `starkeep-auth` has SDK-HMAC verification. Adding it is one function body there.

use std::hint::black_box;

use hmac::{Hmac, Mac};
use sha2::Sha256;
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
    let mut all = vec![
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
    ];
    all.extend(sdk_signature_case());
    all
}

/// SLOT: SDK signature verification (the cloud SDK's `SDK-HMAC-SHA256` requests).
///
/// `starkeep-auth` gains SDK-HMAC verification on another branch. When it lands, return
/// `Some(Case { name: "sdk_signature_verify", reference: Some("hmac_sha256_alone"), run, .. })`
/// here, with `run` verifying one request of `starkeep-auth/tests/data/sdk_hmac_vectors.json`
/// (add what it needs to [`Fixture`]); scenario 6 and criterion pick it up from [`cases`].
pub fn sdk_signature_case() -> Option<Case> {
    None
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
