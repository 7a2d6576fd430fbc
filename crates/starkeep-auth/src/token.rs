//! Signed bearer tokens.
//!
//! A token is `sk1.<claims>.<mac>`: the claims are base64url JSON ([`TokenClaims`]), the MAC is
//! HMAC-SHA256 over `sk1.<claims>` with the signing key. A token is checked with the key alone
//! (no store look-up on the request path), and it carries its own expiry.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::Role;

const PREFIX: &str = "sk1.";

/// The length of a signing key, in bytes.
pub const KEY_LEN: usize = 32;

/// What a token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub user_id: String,
    pub user_name: String,
    pub project_id: String,
    pub project_name: String,
    pub role: Role,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature is not valid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
}

/// Issues and verifies tokens with one HMAC key.
#[derive(Clone)]
pub struct TokenSigner {
    key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(<key redacted>)")
    }
}

impl TokenSigner {
    pub fn new(key: &[u8]) -> Self {
        Self {
            key: Zeroizing::new(key.to_vec()),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length")
    }

    /// Signs `claims` into a token string.
    pub fn issue(&self, claims: &TokenClaims) -> String {
        let body = serde_json::to_vec(claims).expect("claims always serialize");
        let mut token = String::with_capacity(PREFIX.len() + body.len() * 2);
        token.push_str(PREFIX);
        URL_SAFE_NO_PAD.encode_string(&body, &mut token);
        let mut mac = self.mac();
        mac.update(token.as_bytes());
        let tag = mac.finalize().into_bytes();
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut token);
        token
    }

    /// Checks a token's signature (in constant time) and expiry against `now` (unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<TokenClaims, TokenError> {
        let rest = token.strip_prefix(PREFIX).ok_or(TokenError::Malformed)?;
        let (body_b64, tag_b64) = rest.split_once('.').ok_or(TokenError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag_b64)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(&token.as_bytes()[..PREFIX.len() + body_b64.len()]);
        mac.verify_slice(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        let body = URL_SAFE_NO_PAD
            .decode(body_b64)
            .map_err(|_| TokenError::Malformed)?;
        let claims: TokenClaims =
            serde_json::from_slice(&body).map_err(|_| TokenError::Malformed)?;
        if claims.expires_at <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(expires_at: i64) -> TokenClaims {
        TokenClaims {
            user_id: "u1".into(),
            user_name: "admin".into(),
            project_id: "0123456789abcdef0123456789abcdef".into(),
            project_name: "default".into(),
            role: Role::Admin,
            issued_at: 1_000,
            expires_at,
        }
    }

    #[test]
    fn issue_then_verify() {
        let signer = TokenSigner::new(&[7; KEY_LEN]);
        let token = signer.issue(&claims(2_000));
        assert!(token.starts_with("sk1."));
        assert_eq!(signer.verify(&token, 1_500), Ok(claims(2_000)));
        assert_eq!(signer.verify(&token, 2_000), Err(TokenError::Expired));
    }

    #[test]
    fn forged_and_malformed_tokens_are_refused() {
        let signer = TokenSigner::new(&[7; KEY_LEN]);
        let other = TokenSigner::new(&[8; KEY_LEN]);
        let token = other.issue(&claims(2_000));
        assert_eq!(signer.verify(&token, 1_500), Err(TokenError::BadSignature));

        // Swap in claims for another project, keep the old signature.
        let good = signer.issue(&claims(2_000));
        let (_, tag) = good.rsplit_once('.').unwrap();
        let mut forged_claims = claims(2_000);
        forged_claims.project_id = "f".repeat(32);
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged_claims).unwrap());
        let forged = format!("sk1.{forged_body}.{tag}");
        assert_eq!(signer.verify(&forged, 1_500), Err(TokenError::BadSignature));

        for junk in [
            "",
            "sk1.",
            "sk1.abc",
            "abc.def",
            "sk1.!!.??",
            "sk1..",
            "Bearer x",
        ] {
            assert!(signer.verify(junk, 1_500).is_err(), "{junk}");
        }
    }
}
