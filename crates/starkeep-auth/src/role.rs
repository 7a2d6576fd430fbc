//! [`Role`]: a user's role in one project.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a user may do in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Every operation.
    Admin,
    /// Reads only (`GET` and `HEAD`).
    Readonly,
}

impl Role {
    /// Whether this role may perform a request that does (`writes == true`) or does not change
    /// anything.
    pub fn permits(self, writes: bool) -> bool {
        match self {
            Role::Admin => true,
            Role::Readonly => !writes,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Readonly => "readonly",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "readonly" => Ok(Role::Readonly),
            other => Err(format!(
                "unknown role {other:?}: expected admin or readonly"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions() {
        assert!(Role::Admin.permits(true));
        assert!(Role::Admin.permits(false));
        assert!(Role::Readonly.permits(false));
        assert!(!Role::Readonly.permits(true));
        assert_eq!("readonly".parse::<Role>(), Ok(Role::Readonly));
        assert!("root".parse::<Role>().is_err());
    }
}
