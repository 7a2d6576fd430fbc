//! Property tests of token parsing: any text is refused without a panic unless it is a token this
//! key signed, and every signed token reads back as its claims until it expires.

use proptest::prelude::*;
use starkeep_auth::{Role, TokenClaims, TokenSigner};

fn claims() -> impl Strategy<Value = TokenClaims> {
    (
        "[a-f0-9]{32}",
        "\\PC{1,40}",
        "[a-zA-Z0-9]{32}",
        "\\PC{1,40}",
        any::<bool>(),
        0i64..4_000_000_000,
        1i64..1_000_000,
    )
        .prop_map(
            |(user_id, user_name, project_id, project_name, admin, iat, ttl)| TokenClaims {
                user_id,
                user_name,
                project_id,
                project_name,
                role: if admin { Role::Admin } else { Role::Readonly },
                issued_at: iat,
                expires_at: iat + ttl,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_text_is_never_a_token(text in prop_oneof!["sk1\\.[A-Za-z0-9_\\-.]{0,120}", any::<String>()]) {
        let signer = TokenSigner::new(&[5; 32]);
        prop_assert!(signer.verify(&text, 0).is_err());
    }

    #[test]
    fn signed_claims_read_back_until_expiry(c in claims()) {
        let signer = TokenSigner::new(&[5; 32]);
        let token = signer.issue(&c);
        prop_assert_eq!(signer.verify(&token, c.issued_at), Ok(c.clone()));
        prop_assert!(signer.verify(&token, c.expires_at).is_err());
        prop_assert!(TokenSigner::new(&[6; 32]).verify(&token, c.issued_at).is_err());
    }

    #[test]
    fn any_single_byte_change_is_refused(c in claims(), at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let signer = TokenSigner::new(&[5; 32]);
        let token = signer.issue(&c);
        let mut bytes = token.into_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= flip;
        if let Ok(changed) = String::from_utf8(bytes) {
            prop_assert!(signer.verify(&changed, c.issued_at).is_err(), "{}", changed);
        }
    }
}
