//! [`SecretBox`]: encryption at rest for the secrets starkeep must be able to read back (an
//! instance's admin password, an access key's SK).
//!
//! AES-256-GCM with a random 96-bit nonce per secret; the sealed form is the text
//! `v1:<base64(nonce ‖ ciphertext ‖ tag)>`, safe to keep in any text column or JSON field. The
//! key is a 32-byte file in the data dir (see [`keyfile`](crate::keyfile)).

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::Zeroizing;

/// The length of a secret-box key, in bytes.
pub const KEY_LEN: usize = 32;
const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

/// Why a sealed secret could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("the sealed secret is malformed")]
    Malformed,
    #[error("the sealed secret does not open with this key (wrong key, or tampered with)")]
    Rejected,
}

/// Seals and opens secrets with one key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<key redacted>)")
    }
}

impl SecretBox {
    /// A box for a 32-byte key.
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
        }
    }

    /// A box for a key of any slice; panics unless it is 32 bytes (key files are checked on
    /// load).
    pub fn from_slice(key: &[u8]) -> Self {
        let key: &[u8; KEY_LEN] = key.try_into().expect("secret-box keys are 32 bytes");
        Self::new(key)
    }

    /// Encrypts `plaintext`.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, plaintext)
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut raw = Vec::with_capacity(NONCE_LEN + sealed.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(raw))
    }

    /// Decrypts what [`seal`](Self::seal) made.
    pub fn open(&self, sealed: &str) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let b64 = sealed.strip_prefix(PREFIX).ok_or(OpenError::Malformed)?;
        let raw = STANDARD.decode(b64).map_err(|_| OpenError::Malformed)?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(OpenError::Malformed);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map(Zeroizing::new)
            .map_err(|_| OpenError::Rejected)
    }

    /// Decrypts a secret that was sealed from UTF-8 text.
    pub fn open_string(&self, sealed: &str) -> Result<Zeroizing<String>, OpenError> {
        let bytes = self.open(sealed)?;
        String::from_utf8(bytes.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| OpenError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open() {
        let b = SecretBox::new(&[1; KEY_LEN]);
        let sealed = b.seal(b"Admin_Pass1");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("Admin_Pass1"));
        assert_eq!(b.open_string(&sealed).unwrap().as_str(), "Admin_Pass1");
        assert_ne!(b.seal(b"same"), b.seal(b"same"), "nonces differ");
    }

    #[test]
    fn wrong_key_and_tampering_are_refused() {
        let b = SecretBox::new(&[1; KEY_LEN]);
        let other = SecretBox::new(&[2; KEY_LEN]);
        let sealed = b.seal(b"secret");
        assert_eq!(other.open(&sealed).unwrap_err(), OpenError::Rejected);
        let mut raw = STANDARD.decode(&sealed[3..]).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let tampered = format!("v1:{}", STANDARD.encode(raw));
        assert_eq!(b.open(&tampered).unwrap_err(), OpenError::Rejected);
        assert_eq!(b.open("plain").unwrap_err(), OpenError::Malformed);
        assert_eq!(b.open("v1:AAAA").unwrap_err(), OpenError::Malformed);
    }
}
