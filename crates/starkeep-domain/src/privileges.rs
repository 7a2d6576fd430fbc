//! What an account may do: [`Dml`], [`Ddl`], [`Privileges`] and the [`DatabaseSelection`] they
//! apply to.
//!
//! These are the contract's abstract levels. What each level means in SQL is the business of each
//! engine (see `docs/privileges.md`); here they are only values with their wire numbers.

use std::collections::BTreeSet;
use std::fmt;

use crate::InvalidInput;

/// The DML level of an account (`dml` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dml {
    /// 0: read and write.
    ReadWrite,
    /// 1: read only.
    ReadOnly,
    /// 2: read only, plus configuration.
    ReadOnlyConfig,
    /// 3: read and write, plus configuration.
    ReadWriteConfig,
}

impl Dml {
    /// The contract's default for a new account.
    pub const DEFAULT: Dml = Dml::ReadOnlyConfig;
    pub const ALL: [Dml; 4] = [
        Dml::ReadWrite,
        Dml::ReadOnly,
        Dml::ReadOnlyConfig,
        Dml::ReadWriteConfig,
    ];

    pub fn from_wire(value: i64) -> Result<Self, InvalidInput> {
        match value {
            0 => Ok(Dml::ReadWrite),
            1 => Ok(Dml::ReadOnly),
            2 => Ok(Dml::ReadOnlyConfig),
            3 => Ok(Dml::ReadWriteConfig),
            value => Err(InvalidInput::DmlRange { value }),
        }
    }

    pub fn wire(self) -> u8 {
        match self {
            Dml::ReadWrite => 0,
            Dml::ReadOnly => 1,
            Dml::ReadOnlyConfig => 2,
            Dml::ReadWriteConfig => 3,
        }
    }

    /// Whether this level may change data.
    pub fn writes(self) -> bool {
        matches!(self, Dml::ReadWrite | Dml::ReadWriteConfig)
    }

    /// Whether this level includes configuration.
    pub fn configures(self) -> bool {
        matches!(self, Dml::ReadOnlyConfig | Dml::ReadWriteConfig)
    }

    /// The level with the given write and configuration abilities.
    pub fn from_abilities(writes: bool, configures: bool) -> Self {
        match (writes, configures) {
            (true, false) => Dml::ReadWrite,
            (false, false) => Dml::ReadOnly,
            (false, true) => Dml::ReadOnlyConfig,
            (true, true) => Dml::ReadWriteConfig,
        }
    }
}

/// The DDL level of an account (`ddl` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ddl {
    /// 0: no DDL.
    None,
    /// 1: DDL granted.
    Granted,
}

impl Ddl {
    pub const DEFAULT: Ddl = Ddl::None;
    pub const ALL: [Ddl; 2] = [Ddl::None, Ddl::Granted];

    pub fn from_wire(value: i64) -> Result<Self, InvalidInput> {
        match value {
            0 => Ok(Ddl::None),
            1 => Ok(Ddl::Granted),
            value => Err(InvalidInput::DdlRange { value }),
        }
    }

    pub fn wire(self) -> u8 {
        match self {
            Ddl::None => 0,
            Ddl::Granted => 1,
        }
    }
}

/// The pair of levels an account holds on each of its databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Privileges {
    pub dml: Dml,
    pub ddl: Ddl,
}

impl Default for Privileges {
    fn default() -> Self {
        Self {
            dml: Dml::DEFAULT,
            ddl: Ddl::DEFAULT,
        }
    }
}

/// A database name as a client sent it: 1–64 printable characters, not `*`.
///
/// Engines accept a name only after matching it against the instance's real databases.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatabaseName(String);

impl DatabaseName {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let len = raw.chars().count();
        if raw == "*" || !(1..=64).contains(&len) || raw.chars().any(char::is_control) {
            return Err(InvalidInput::DatabaseName {
                name: raw.chars().take(80).collect(),
            });
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DatabaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The databases a grant covers: all of them (`["*"]` on the wire) or a named set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DatabaseSelection {
    All,
    /// A non-empty set, kept sorted so that equal selections compare equal.
    Named(BTreeSet<DatabaseName>),
}

impl DatabaseSelection {
    /// Parses the wire list. `"*"` anywhere in the list selects every database; duplicates
    /// collapse; an empty list is refused.
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, InvalidInput> {
        if raw.is_empty() {
            return Err(InvalidInput::DatabasesEmpty);
        }
        if raw.iter().any(|d| d.as_ref() == "*") {
            return Ok(DatabaseSelection::All);
        }
        let names = raw
            .iter()
            .map(|d| DatabaseName::parse(d.as_ref()))
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(DatabaseSelection::Named(names))
    }

    /// The wire list: `["*"]` or the names in order.
    pub fn to_wire(&self) -> Vec<String> {
        self.wire_names().map(str::to_owned).collect()
    }

    /// The wire list's entries, borrowed: `"*"` or the names in order.
    pub fn wire_names(&self) -> impl Iterator<Item = &str> {
        let (all, named) = match self {
            DatabaseSelection::All => (Some("*"), None),
            DatabaseSelection::Named(names) => (None, Some(names.iter().map(|n| n.as_str()))),
        };
        all.into_iter().chain(named.into_iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dml_and_ddl_round_trip() {
        for d in Dml::ALL {
            assert_eq!(Dml::from_wire(d.wire() as i64), Ok(d));
            assert_eq!(Dml::from_abilities(d.writes(), d.configures()), d);
        }
        for d in Ddl::ALL {
            assert_eq!(Ddl::from_wire(d.wire() as i64), Ok(d));
        }
        assert_eq!(Dml::from_wire(4), Err(InvalidInput::DmlRange { value: 4 }));
        assert_eq!(
            Dml::from_wire(-1),
            Err(InvalidInput::DmlRange { value: -1 })
        );
        assert_eq!(Ddl::from_wire(2), Err(InvalidInput::DdlRange { value: 2 }));
        assert_eq!(Privileges::default().dml.wire(), 2);
        assert_eq!(Privileges::default().ddl.wire(), 0);
    }

    #[test]
    fn database_selection() {
        assert_eq!(
            DatabaseSelection::parse::<&str>(&[]),
            Err(InvalidInput::DatabasesEmpty)
        );
        assert_eq!(
            DatabaseSelection::parse(&["a", "*"]),
            Ok(DatabaseSelection::All)
        );
        let named = DatabaseSelection::parse(&["b", "a", "b"]).unwrap();
        assert_eq!(named.to_wire(), vec!["a", "b"]);
        assert!(DatabaseSelection::parse(&[""]).is_err());
        assert!(DatabaseSelection::parse(&["a\nb"]).is_err());
        assert!(DatabaseSelection::parse(&["x".repeat(65)]).is_err());
    }

    proptest! {
        #[test]
        fn wire_list_round_trips(names in proptest::collection::vec("[a-zA-Z0-9_]{1,64}", 1..8)) {
            let sel = DatabaseSelection::parse(&names).unwrap();
            let again = DatabaseSelection::parse(&sel.to_wire()).unwrap();
            prop_assert_eq!(sel, again);
        }

        #[test]
        fn dml_outside_range_is_refused(v in any::<i64>().prop_filter("out of range", |v| !(0..=3).contains(v))) {
            prop_assert_eq!(Dml::from_wire(v), Err(InvalidInput::DmlRange { value: v }));
        }
    }
}
