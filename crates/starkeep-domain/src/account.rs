//! Account credentials: [`AccountName`], [`AccountPassword`] and [`NativePasswordHash`].
//!
//! The rules are the contract's: a name is 2–32 of `[a-z0-9_]`, starting with a letter and ending
//! with a letter or digit; a password is 8–32 characters from letters, digits and
//! [`PASSWORD_SPECIALS`], with at least three of the four kinds, and is neither the name nor the
//! name reversed. Because the character sets are closed, neither can carry a quote, a backslash or
//! a control character into a statement.

use std::fmt;

use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use crate::InvalidInput;

/// The special characters a password may contain.
pub const PASSWORD_SPECIALS: &str = "~!@#%^*-_=+?,";

/// A database account name that satisfies the contract's rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountName(String);

impl AccountName {
    /// Validates `raw` as the value of the field `field` (used in the error message).
    pub fn parse_field(raw: &str, field: &'static str) -> Result<Self, InvalidInput> {
        let len = raw.chars().count();
        if !(2..=32).contains(&len) {
            return Err(InvalidInput::NameLength { field });
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(InvalidInput::NameCharacters { field });
        }
        let bytes = raw.as_bytes();
        if !bytes[0].is_ascii_lowercase() {
            return Err(InvalidInput::NameStart { field });
        }
        let last = bytes[bytes.len() - 1];
        if !(last.is_ascii_lowercase() || last.is_ascii_digit()) {
            return Err(InvalidInput::NameEnd { field });
        }
        Ok(Self(raw.to_owned()))
    }

    /// Validates `raw` as a `user_name`.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        Self::parse_field(raw, "user_name")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A plain-text account password that satisfies the contract's rules.
///
/// It never prints (its `Debug` is redacted, it has no `Display`) and its memory is wiped on drop.
/// Engines that need the text (to send `IDENTIFIED BY`) call [`AccountPassword::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct AccountPassword(Zeroizing<String>);

impl AccountPassword {
    /// Validates `raw` as the password of the account `name`.
    pub fn parse(raw: &str, name: &AccountName) -> Result<Self, InvalidInput> {
        let len = raw.chars().count();
        if !(8..=32).contains(&len) {
            return Err(InvalidInput::PasswordLength);
        }
        let (mut upper, mut lower, mut digit, mut special) = (false, false, false, false);
        for c in raw.chars() {
            match c {
                'A'..='Z' => upper = true,
                'a'..='z' => lower = true,
                '0'..='9' => digit = true,
                c if PASSWORD_SPECIALS.contains(c) => special = true,
                _ => return Err(InvalidInput::PasswordCharacters),
            }
        }
        if [upper, lower, digit, special]
            .iter()
            .filter(|k| **k)
            .count()
            < 3
        {
            return Err(InvalidInput::PasswordClasses);
        }
        let reversed: String = name.as_str().chars().rev().collect();
        if raw == name.as_str() || raw == reversed {
            return Err(InvalidInput::PasswordEqualsName);
        }
        Ok(Self(Zeroizing::new(raw.to_owned())))
    }

    /// The plain text, for an engine that must send it to a database server.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The MySQL-native hash of this password.
    pub fn native_hash(&self) -> NativePasswordHash {
        NativePasswordHash::of(&self.0)
    }
}

impl fmt::Debug for AccountPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccountPassword(<redacted>)")
    }
}

/// A `mysql_native_password` hash: `*` followed by the upper-case hex of SHA1(SHA1(password)).
///
/// This is the form MySQL, MariaDB and StarRocks store and accept in
/// `IDENTIFIED ... AS '*…'`, which lets sync copy a credential without knowing the password.
#[derive(Clone, PartialEq, Eq)]
pub struct NativePasswordHash(String);

impl NativePasswordHash {
    /// Hashes a password.
    pub fn of(password: &str) -> Self {
        let inner = Sha1::digest(password.as_bytes());
        let outer = Sha1::digest(inner);
        Self(format!("*{}", hex::encode_upper(outer)))
    }

    /// Accepts an existing hash in the stored form (`*` + 40 hex digits, either case).
    pub fn parse(raw: &str) -> Option<Self> {
        let hex = raw.strip_prefix('*')?;
        (hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(format!("*{}", hex.to_ascii_uppercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `password` hashes to this value.
    pub fn matches(&self, password: &str) -> bool {
        Self::of(password).0 == self.0
    }
}

impl fmt::Debug for NativePasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NativePasswordHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> AccountName {
        AccountName::parse(n).unwrap()
    }

    #[test]
    fn names_follow_the_contract() {
        for ok in ["ab", "user_test", "a1", "root", "a_b_c_9", &"a".repeat(32)] {
            assert!(AccountName::parse(ok).is_ok(), "{ok}");
        }
        let cases: [(&str, InvalidInput); 7] = [
            ("a", InvalidInput::NameLength { field: "user_name" }),
            (
                &"a".repeat(33),
                InvalidInput::NameLength { field: "user_name" },
            ),
            ("1ab", InvalidInput::NameStart { field: "user_name" }),
            ("_ab", InvalidInput::NameStart { field: "user_name" }),
            ("ab_", InvalidInput::NameEnd { field: "user_name" }),
            ("aBc", InvalidInput::NameCharacters { field: "user_name" }),
            ("a-b", InvalidInput::NameCharacters { field: "user_name" }),
        ];
        for (raw, want) in cases {
            assert_eq!(AccountName::parse(raw), Err(want), "{raw}");
        }
        assert_eq!(
            AccountName::parse("a'b"),
            Err(InvalidInput::NameCharacters { field: "user_name" })
        );
    }

    #[test]
    fn passwords_follow_the_contract() {
        let n = name("user_test");
        assert!(AccountPassword::parse("Rds_1234", &n).is_ok());
        assert!(AccountPassword::parse("abcdEFGH1", &n).is_ok());
        assert!(AccountPassword::parse("abcd1234~", &n).is_ok());
        assert!(AccountPassword::parse(&format!("Aa1{}", "x".repeat(29)), &n).is_ok());
        assert_eq!(
            AccountPassword::parse("Ab1~", &n),
            Err(InvalidInput::PasswordLength)
        );
        assert_eq!(
            AccountPassword::parse(&format!("Aa1{}", "x".repeat(30)), &n),
            Err(InvalidInput::PasswordLength)
        );
        assert_eq!(
            AccountPassword::parse("abcdefgh12", &n),
            Err(InvalidInput::PasswordClasses)
        );
        assert_eq!(
            AccountPassword::parse("Abcd 1234", &n),
            Err(InvalidInput::PasswordCharacters)
        );
        assert_eq!(
            AccountPassword::parse("Abcd'1234", &n),
            Err(InvalidInput::PasswordCharacters)
        );
        assert_eq!(
            AccountPassword::parse("Abcd$1234", &n),
            Err(InvalidInput::PasswordCharacters)
        );
        let upper_name = name("ab_cd_12");
        // Same as the name is impossible with an uppercase class, so use one with 3 kinds.
        assert_eq!(
            AccountPassword::parse("ab_cd_12", &upper_name),
            Err(InvalidInput::PasswordEqualsName)
        );
        assert_eq!(
            AccountPassword::parse("21_dc_ba", &upper_name),
            Err(InvalidInput::PasswordEqualsName)
        );
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = AccountPassword::parse("Rds_1234", &name("user_test")).unwrap();
        assert!(!format!("{p:?}").contains("Rds_1234"));
        assert!(!format!("{:?}", p.native_hash()).contains('*'));
    }

    #[test]
    fn native_hash_matches_mysql() {
        // MySQL: SELECT PASSWORD('password') = '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'
        assert_eq!(
            NativePasswordHash::of("password").as_str(),
            "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
        );
        let h = NativePasswordHash::parse("*2470c0c06dee42fd1618bb99005adca2ec9d1e19").unwrap();
        assert!(h.matches("password"));
        assert!(!h.matches("Password"));
        assert!(NativePasswordHash::parse("2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19").is_none());
        assert!(NativePasswordHash::parse("*XYZ").is_none());
    }
}
