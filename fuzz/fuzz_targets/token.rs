//! The token parser: arbitrary text as an `X-Auth-Token` must be refused without a panic; and
//! claims made from the same bytes must survive issue → verify, while any one changed byte of
//! the issued token makes it invalid.

#![no_main]

use libfuzzer_sys::fuzz_target;
use starkeep_auth::{Role, TokenClaims, TokenSigner};

const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    let signer = TokenSigner::new(&[7; 32]);
    let text = String::from_utf8_lossy(data);
    // Random text never carries a valid signature.
    assert!(signer.verify(&text, NOW).is_err());

    let (role, rest) = data.split_first().unwrap_or((&0, &[]));
    let field = String::from_utf8_lossy(rest).into_owned();
    let claims = TokenClaims {
        user_id: field.clone(),
        user_name: field.chars().rev().collect(),
        project_id: field.to_uppercase(),
        project_name: field,
        role: if role % 2 == 0 {
            Role::Admin
        } else {
            Role::Readonly
        },
        issued_at: NOW - 1,
        expires_at: NOW + i64::from(*role) + 1,
    };
    let token = signer.issue(&claims);
    assert_eq!(signer.verify(&token, NOW).as_ref(), Ok(&claims));
    let at = usize::from(*role) * 7 % token.len();
    let mut tampered = token.into_bytes();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    if let Ok(tampered) = String::from_utf8(tampered) {
        assert!(signer.verify(&tampered, NOW).is_err(), "{tampered}");
    }
});
