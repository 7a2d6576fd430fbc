//! Argon2id hashes of IAM user passwords, in the PHC string form.
//!
//! These are passwords of starkeep's own users (who log in to get a token), not of database
//! accounts: those are stored as MySQL-native hashes by the domain crate.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

/// Hashes a password with argon2id and a random salt.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail on a password")
        .to_string()
}

/// Whether `password` matches the PHC string `phc`. A malformed `phc` matches nothing.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Hashes nothing in particular, for the same cost as [`verify`], so that an unknown user name
/// takes as long to refuse as a wrong password.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash("starkeep-dummy-password"));
    let _ = verify(password, phc);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("s3cret-Passw0rd");
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("s3cret"));
        assert!(verify("s3cret-Passw0rd", &h));
        assert!(!verify("s3cret-passw0rd", &h));
        assert!(!verify("s3cret-Passw0rd", "not a phc string"));
        assert_ne!(hash("same"), hash("same"), "salts differ");
    }
}
