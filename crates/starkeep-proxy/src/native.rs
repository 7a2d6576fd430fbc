//! `mysql_native_password` arithmetic: checking a client's scramble against an account's stored
//! hash, and answering a backend's challenge with what the check recovered.
//!
//! A server stores `*` + HEX(SHA1(SHA1(password))). A client answers a 20-byte salt with
//! `SHA1(password) XOR SHA1(salt + SHA1(SHA1(password)))`. Knowing the stored hash, the proxy
//! recovers `SHA1(password)` from the scramble (XOR with the same mask) and accepts it when its
//! SHA1 is the stored hash; with `SHA1(password)` it can answer any other server's salt the same
//! way, so it logs in to the backends as the client's account without ever knowing the password.
//! `mysql_common` scrambles from the password itself only, hence the arithmetic here.

use rand::Rng;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// A stored `mysql_native_password` hash: SHA1(SHA1(password)), or none for an account without a
/// password.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredHash {
    Empty,
    Double([u8; 20]),
}

impl std::fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoredHash::Empty => "StoredHash::Empty",
            StoredHash::Double(_) => "StoredHash::Double(..)",
        })
    }
}

impl StoredHash {
    /// Reads `*` + 40 hex digits, or the empty string; anything else is not a native hash.
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() {
            return Some(StoredHash::Empty);
        }
        let hex_digits = text.strip_prefix('*')?;
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(hex_digits, &mut bytes).ok()?;
        Some(StoredHash::Double(bytes))
    }
}

/// SHA1(password): what logs in to backends as the account. `None` for an empty password.
pub type Stage1 = Option<Zeroizing<[u8; 20]>>;

/// A 20-byte salt of printable ASCII without NUL (some clients stop at a NUL).
pub fn new_salt() -> [u8; 20] {
    let mut rng = rand::thread_rng();
    let mut salt = [0u8; 20];
    for b in &mut salt {
        *b = rng.gen_range(0x21..0x7F);
    }
    salt
}

fn mask(salt: &[u8], double: &[u8; 20]) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update(salt);
    h.update(double);
    h.finalize().into()
}

/// Checks a client's `scramble` for `salt` against `stored`; answers SHA1(password) when it
/// matches.
pub fn verify(stored: &StoredHash, salt: &[u8], scramble: &[u8]) -> Option<Stage1> {
    match stored {
        StoredHash::Empty => scramble.is_empty().then_some(None),
        StoredHash::Double(double) => {
            if scramble.len() != 20 {
                return None;
            }
            let mut stage1 = Zeroizing::new(mask(salt, double));
            for (s, c) in stage1.iter_mut().zip(scramble) {
                *s ^= c;
            }
            let mut check: [u8; 20] = Sha1::digest(*stage1).into();
            let same: bool = check.ct_eq(double).into();
            check.zeroize();
            same.then_some(Some(stage1))
        }
    }
}

/// The answer to a server's `salt` for an account whose SHA1(password) is `stage1`.
pub fn answer(stage1: &Stage1, salt: &[u8]) -> Vec<u8> {
    let Some(stage1) = stage1 else {
        return Vec::new();
    };
    let double: [u8; 20] = Sha1::digest(**stage1).into();
    let mut out = mask(salt, &double);
    for (o, s) in out.iter_mut().zip(stage1.iter()) {
        *o ^= s;
    }
    out.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored_for(password: &str) -> StoredHash {
        let double: [u8; 20] = Sha1::digest(Sha1::digest(password.as_bytes())).into();
        StoredHash::parse(&format!("*{}", hex::encode_upper(double))).unwrap()
    }

    #[test]
    fn a_client_scramble_verifies_and_yields_what_answers_another_salt() {
        let stored = stored_for("Secret-pw-1");
        let salt = new_salt();
        let client = mysql_common::scramble::scramble_native(&salt, b"Secret-pw-1").unwrap();
        let stage1 = verify(&stored, &salt, &client).expect("right password");
        // The backend's salt differs; the answer is what a client knowing the password sends.
        let backend_salt = new_salt();
        let expected =
            mysql_common::scramble::scramble_native(&backend_salt, b"Secret-pw-1").unwrap();
        assert_eq!(answer(&stage1, &backend_salt), expected.to_vec());
    }

    #[test]
    fn a_wrong_password_or_a_wrong_length_does_not_verify() {
        let stored = stored_for("Secret-pw-1");
        let salt = new_salt();
        let wrong = mysql_common::scramble::scramble_native(&salt, b"secret-pw-1").unwrap();
        assert!(verify(&stored, &salt, &wrong).is_none());
        assert!(verify(&stored, &salt, &wrong[..19]).is_none());
        assert!(verify(&stored, &salt, &[]).is_none());
    }

    #[test]
    fn an_empty_password_takes_an_empty_scramble_only() {
        let salt = new_salt();
        assert_eq!(verify(&StoredHash::Empty, &salt, &[]), Some(None));
        assert!(verify(&StoredHash::Empty, &salt, &[1; 20]).is_none());
        assert!(answer(&None, &salt).is_empty());
    }

    #[test]
    fn stored_hashes_parse_strictly() {
        assert_eq!(StoredHash::parse(""), Some(StoredHash::Empty));
        assert!(StoredHash::parse("*ABC").is_none());
        assert!(StoredHash::parse("6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9").is_none());
        assert!(matches!(
            StoredHash::parse("*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9"),
            Some(StoredHash::Double(_))
        ));
        for b in new_salt() {
            assert!((0x21..0x7F).contains(&b));
        }
    }
}
