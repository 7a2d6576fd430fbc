//! [`ColumnTables`]: the tables the column store has, as the proxy last listed them. Listing them
//! (and refreshing the list) is the proxy's; this is the set and its comparison rules.
//!
//! Names are compared exactly, byte for byte, as MySQL and TaurusDB do on Linux with the default
//! `lower_case_table_names=0`: a statement that writes `Orders` for a column-store table `orders`
//! stays on the row store (the safe side). Tables of the system schemas (`information_schema`,
//! `mysql`, `performance_schema`, `sys`) are never column tables, whatever the list says: their
//! content describes the server that answers.

use std::collections::{HashMap, HashSet};

use crate::analysis::SYSTEM_SCHEMAS;

/// The set of `(database, table)` the column store has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnTables {
    /// Database name to its table names (two levels so a lookup by `&str` allocates nothing).
    databases: HashMap<String, HashSet<String>>,
}

impl ColumnTables {
    /// An empty set: nothing can go to the column store.
    pub fn new() -> ColumnTables {
        ColumnTables::default()
    }

    /// Adds one table.
    pub fn insert(&mut self, database: &str, table: &str) {
        self.databases
            .entry(database.to_owned())
            .or_default()
            .insert(table.to_owned());
    }

    /// Whether the column store has `database.table`.
    pub fn contains(&self, database: &str, table: &str) -> bool {
        if SYSTEM_SCHEMAS
            .iter()
            .any(|s| database.eq_ignore_ascii_case(s))
        {
            return false;
        }
        self.databases
            .get(database)
            .is_some_and(|tables| tables.contains(table))
    }

    /// How many tables the set holds.
    pub fn len(&self) -> usize {
        self.databases.values().map(HashSet::len).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.databases.values().all(HashSet::is_empty)
    }
}

impl<D: AsRef<str>, T: AsRef<str>> FromIterator<(D, T)> for ColumnTables {
    fn from_iter<I: IntoIterator<Item = (D, T)>>(iter: I) -> Self {
        let mut set = ColumnTables::new();
        for (d, t) in iter {
            set.insert(d.as_ref(), t.as_ref());
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_exactly() {
        let set: ColumnTables = [("shop", "orders")].into_iter().collect();
        assert!(set.contains("shop", "orders"));
        assert!(!set.contains("shop", "Orders"));
        assert!(!set.contains("Shop", "orders"));
        assert!(!set.contains("other", "orders"));
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn system_schemas_are_never_column_tables() {
        let set: ColumnTables = [
            ("information_schema", "tables"),
            ("mysql", "user"),
            ("app", "t"),
        ]
        .into_iter()
        .collect();
        assert!(!set.contains("information_schema", "tables"));
        assert!(!set.contains("INFORMATION_SCHEMA", "tables"));
        assert!(!set.contains("mysql", "user"));
        assert!(set.contains("app", "t"));
    }
}
