//! Identifiers that appear in paths: [`ProjectId`] and [`InstanceId`].
//!
//! New ids are generated here too, so that every id starkeep makes passes its own parser.

use std::fmt;

use crate::InvalidInput;

/// A project id: 32 ASCII letters or digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectId(String);

impl ProjectId {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidInput::ProjectId)
        }
    }

    /// A new id from 16 random bytes, written as 32 lowercase hex digits.
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An instance id: 32 hex digits, then `in` and two digits (`…in07` for the ones starkeep makes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(String);

impl InstanceId {
    /// The suffix of every instance id starkeep creates, as in the cloud's own StarRocks ids.
    pub const SUFFIX: &'static str = "in07";

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let b = raw.as_bytes();
        let ok = b.len() == 36
            && b[..32].iter().all(u8::is_ascii_hexdigit)
            && b[32..34].eq_ignore_ascii_case(b"in")
            && b[34..].iter().all(u8::is_ascii_digit);
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidInput::InstanceId)
        }
    }

    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(format!("{}{}", hex::encode(bytes), Self::SUFFIX))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids() {
        assert!(ProjectId::parse("23a50154cf494ec9ad6883979a12db0a").is_ok());
        assert!(ProjectId::parse("23A50154CF494EC9AD6883979A12DBzz").is_ok());
        assert!(ProjectId::parse("23a50154cf494ec9ad6883979a12db0").is_err());
        assert!(ProjectId::parse("23a50154cf494ec9ad6883979a12db0a1").is_err());
        assert!(ProjectId::parse("23a50154cf494ec9ad6883979a12db0-").is_err());
        assert_eq!(ProjectId::from_random([0xab; 16]).as_str().len(), 32);
    }

    #[test]
    fn instance_ids() {
        for ok in [
            "86fd60a5256a4592b957e8e6bb2d1b59in07",
            "54e42160670e48e789af7075e1efea1fin16",
            "58fab56787854702b20f0e17cdcb49b9in17",
        ] {
            assert!(InstanceId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "86fd60a5256a4592b957e8e6bb2d1b59",
            "86fd60a5256a4592b957e8e6bb2d1b59in7",
            "86fd60a5256a4592b957e8e6bb2d1b5gin07",
            "86fd60a5256a4592b957e8e6bb2d1b59ix07",
            "86fd60a5256a4592b957e8e6bb2d1b59in0a",
        ] {
            assert!(InstanceId::parse(bad).is_err(), "{bad}");
        }
        let made = InstanceId::from_random([7; 16]);
        assert!(made.as_str().ends_with("in07"));
        assert_eq!(InstanceId::parse(made.as_str()).unwrap(), made);
    }
}
