//! [`PrivilegeMap`]: which engine privileges stand behind each `dml`/`ddl` value, both ways.
//!
//! The map is four disjoint groups of (object level, privilege) pairs — read, write,
//! configuration and DDL — as set out in `docs/privileges.md`. Encoding a [`Privileges`] value is
//! the union of its groups; decoding the pairs found on a database picks the value whose groups
//! match, or the nearest one and says it is inexact. Operators may replace the groups of one
//! instance with a TOML file ([`PrivilegeMap::from_toml`]), checked so that decoding stays
//! unambiguous. Statements are built by the dialects, not here.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use starkeep_domain::{Ddl, Dml, Privileges};

/// The object a privilege is granted on, relative to one database (or to all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// MySQL's database level (`ON db.*`), and StarRocks' `ON DATABASE db`.
    Database,
    /// StarRocks: `ON ALL TABLES IN DATABASE db`.
    Table,
    /// StarRocks: `ON ALL VIEWS IN DATABASE db`.
    View,
    /// StarRocks: `ON ALL MATERIALIZED VIEWS IN DATABASE db`.
    MaterializedView,
    /// StarRocks: `ON CATALOG default_catalog`, granted only with `"*"`.
    Catalog,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Database => "database",
            Level::Table => "table",
            Level::View => "view",
            Level::MaterializedView => "materialized_view",
            Level::Catalog => "catalog",
        }
    }
}

/// One privilege on one level, privilege names upper case with single spaces.
pub type Grant = (Level, String);

/// A set of grants.
pub type GrantSet = BTreeSet<Grant>;

/// The engine a map is for; it decides which levels and privileges are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapFlavor {
    Mysql,
    StarRocks,
}

/// The four groups of one engine's mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivilegeMap {
    pub read: GrantSet,
    pub write: GrantSet,
    pub configure: GrantSet,
    pub ddl: GrantSet,
}

/// What decoding found on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    pub privileges: Privileges,
    /// `false` when the grants match no value exactly and `privileges` is the nearest one.
    pub exact: bool,
}

/// A privilege mapping that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("privilege mapping: {0}")]
pub struct MappingError(pub String);

fn set(level: Level, privileges: &[&str]) -> GrantSet {
    privileges
        .iter()
        .map(|p| (level, (*p).to_owned()))
        .collect()
}

fn union(sets: &[&GrantSet]) -> GrantSet {
    sets.iter().flat_map(|s| s.iter().cloned()).collect()
}

/// Server-wide or account-managing privileges that no group may hold (docs/privileges.md §1).
const FORBIDDEN: &[&str] = &[
    "ALL",
    "ALL PRIVILEGES",
    "SUPER",
    "GRANT",
    "GRANT OPTION",
    "CREATE USER",
    "FILE",
    "PROCESS",
    "SHUTDOWN",
    "RELOAD",
    "REPLICATION SLAVE",
    "REPLICATION CLIENT",
    "SHOW DATABASES",
    "CREATE TABLESPACE",
    "PROXY",
    "NODE",
    "OPERATE",
    "BLACKLIST",
    "IMPERSONATE",
    "USER_ADMIN",
];

const MYSQL_DATABASE_PRIVILEGES: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "REFERENCES",
    "INDEX",
    "ALTER",
    "CREATE TEMPORARY TABLES",
    "LOCK TABLES",
    "EXECUTE",
    "CREATE VIEW",
    "SHOW VIEW",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "EVENT",
    "TRIGGER",
    "DELETE HISTORY",
];

fn starrocks_privileges(level: Level) -> &'static [&'static str] {
    match level {
        Level::Table => &[
            "DELETE", "DROP", "INSERT", "SELECT", "ALTER", "EXPORT", "UPDATE",
        ],
        Level::View => &["SELECT", "ALTER", "DROP"],
        Level::MaterializedView => &["ALTER", "REFRESH", "DROP", "SELECT"],
        Level::Database => &[
            "CREATE TABLE",
            "DROP",
            "ALTER",
            "CREATE VIEW",
            "CREATE FUNCTION",
            "CREATE MATERIALIZED VIEW",
            "CREATE PIPE",
        ],
        Level::Catalog => &["USAGE", "CREATE DATABASE", "DROP", "ALTER"],
    }
}

/// The StarRocks release (major, minor) whose grammar first takes `privilege` on `level`, for
/// the privileges newer than 3.0. `CREATE PIPE`: pipes came with 3.2; the grammar of 3.0 and 3.1
/// (`fe/fe-grammar/.../StarRocks.g4`, `privilegeType`) has no `PIPE` and refuses the statement.
pub fn starrocks_privilege_since(level: Level, privilege: &str) -> Option<(u32, u32)> {
    match (level, privilege) {
        (Level::Database, "CREATE PIPE") => Some((3, 2)),
        _ => None,
    }
}

impl PrivilegeMap {
    /// Checks that a StarRocks server of `version` (major, minor) takes every privilege of the
    /// map.
    pub fn validate_for_starrocks(&self, version: (u32, u32)) -> Result<(), MappingError> {
        for (level, privilege) in self.known() {
            if let Some(since) = starrocks_privilege_since(level, &privilege) {
                if version < since {
                    return Err(MappingError(format!(
                        "{privilege} on {} needs StarRocks {}.{} or later; this instance runs \
                         {}.{}",
                        level.as_str(),
                        since.0,
                        since.1,
                        version.0,
                        version.1
                    )));
                }
            }
        }
        Ok(())
    }

    /// The built-in mapping for the MySQL family (docs/privileges.md §2.2).
    pub fn mysql_default() -> Self {
        let d = Level::Database;
        Self {
            read: set(d, &["SELECT"]),
            write: set(d, &["INSERT", "UPDATE", "DELETE"]),
            configure: set(
                d,
                &[
                    "CREATE TEMPORARY TABLES",
                    "LOCK TABLES",
                    "EXECUTE",
                    "SHOW VIEW",
                ],
            ),
            ddl: set(
                d,
                &[
                    "CREATE",
                    "DROP",
                    "REFERENCES",
                    "INDEX",
                    "ALTER",
                    "CREATE VIEW",
                    "CREATE ROUTINE",
                    "ALTER ROUTINE",
                    "EVENT",
                    "TRIGGER",
                ],
            ),
        }
    }

    /// The built-in mapping for StarRocks 3.x (docs/privileges.md §3.2).
    pub fn starrocks_default() -> Self {
        let read = union(&[
            &set(Level::Table, &["SELECT"]),
            &set(Level::View, &["SELECT"]),
            &set(Level::MaterializedView, &["SELECT"]),
        ]);
        let ddl = union(&[
            &set(Level::Table, &["ALTER", "DROP"]),
            &set(Level::View, &["ALTER", "DROP"]),
            &set(Level::MaterializedView, &["ALTER", "DROP"]),
            &set(
                Level::Database,
                &[
                    "CREATE TABLE",
                    "CREATE VIEW",
                    "CREATE MATERIALIZED VIEW",
                    "DROP",
                ],
            ),
            &set(Level::Catalog, &["CREATE DATABASE"]),
        ]);
        Self {
            read,
            write: set(Level::Table, &["INSERT", "UPDATE", "DELETE"]),
            configure: union(&[
                &set(Level::Table, &["EXPORT"]),
                &set(Level::MaterializedView, &["REFRESH"]),
            ]),
            ddl,
        }
    }

    /// The grants that `privileges` stand for on one database (`all = false`) or on all of them
    /// (`all = true`; only then are catalog-level grants part of it).
    pub fn encode(&self, privileges: Privileges, all: bool) -> GrantSet {
        let mut out = self.dml_set(privileges.dml);
        if privileges.ddl == Ddl::Granted {
            out.extend(self.ddl.iter().cloned());
        }
        if !all {
            out.retain(|(level, _)| *level != Level::Catalog);
        }
        out
    }

    fn dml_set(&self, dml: Dml) -> GrantSet {
        let mut out = self.read.clone();
        if dml.writes() {
            out.extend(self.write.iter().cloned());
        }
        if dml.configures() {
            out.extend(self.configure.iter().cloned());
        }
        out
    }

    /// Every grant some value can stand for.
    pub fn known(&self) -> GrantSet {
        union(&[&self.read, &self.write, &self.configure, &self.ddl])
    }

    /// The value that the grants `found` on a scope stand for, or the nearest one.
    pub fn decode(&self, found: &GrantSet, all: bool) -> Decoded {
        let ddl_group: GrantSet = self
            .ddl
            .iter()
            .filter(|(level, _)| all || *level != Level::Catalog)
            .cloned()
            .collect();
        let held_ddl = found.intersection(&ddl_group).count();
        let (ddl, ddl_exact) = if held_ddl == ddl_group.len() && !ddl_group.is_empty() {
            (Ddl::Granted, true)
        } else if held_ddl == 0 {
            (Ddl::None, true)
        } else if held_ddl * 2 > ddl_group.len() {
            (Ddl::Granted, false)
        } else {
            (Ddl::None, false)
        };

        let dml_part: GrantSet = found
            .intersection(&union(&[&self.read, &self.write, &self.configure]))
            .cloned()
            .collect();
        let mut best: Option<(usize, usize, u8, Dml)> = None;
        for dml in Dml::ALL {
            let canonical = self.dml_set(dml);
            let distance = canonical.symmetric_difference(&dml_part).count();
            let key = (distance, canonical.len(), dml.wire(), dml);
            if best.is_none_or(|b| (key.0, key.1, key.2) < (b.0, b.1, b.2)) {
                best = Some(key);
            }
        }
        let (distance, _, _, dml) = best.expect("four candidates");
        let extras = found.difference(&self.known()).any(|(level, _)| {
            // Catalog grants on a named scope are not ours to judge.
            all || *level != Level::Catalog
        });
        Decoded {
            privileges: Privileges { dml, ddl },
            exact: ddl_exact && distance == 0 && !extras,
        }
    }

    /// Reads an operator's mapping from TOML and checks it (see `docs/privileges.md` §5).
    ///
    /// ```toml
    /// [read]
    /// table = ["SELECT"]
    /// [write]
    /// table = ["INSERT", "UPDATE", "DELETE"]
    /// ```
    ///
    /// Groups left out keep the engine's built-in ones.
    pub fn from_toml(text: &str, flavor: MapFlavor) -> Result<Self, MappingError> {
        let file: MapFile =
            toml::from_str(text).map_err(|e| MappingError(format!("not valid TOML: {e}")))?;
        let mut map = match flavor {
            MapFlavor::Mysql => Self::mysql_default(),
            MapFlavor::StarRocks => Self::starrocks_default(),
        };
        for (group, slot) in [
            (file.read, &mut map.read),
            (file.write, &mut map.write),
            (file.configure, &mut map.configure),
            (file.ddl, &mut map.ddl),
        ] {
            if let Some(group) = group {
                *slot = group.into_set();
            }
        }
        map.validate(flavor)?;
        Ok(map)
    }

    /// The checks that keep the mapping safe and decodable.
    pub fn validate(&self, flavor: MapFlavor) -> Result<(), MappingError> {
        let groups = [
            ("read", &self.read),
            ("write", &self.write),
            ("configure", &self.configure),
            ("ddl", &self.ddl),
        ];
        if self.read.is_empty() {
            return Err(MappingError("the read group must not be empty".into()));
        }
        for (i, (name_a, a)) in groups.iter().enumerate() {
            for (name_b, b) in &groups[i + 1..] {
                if let Some((level, p)) = a.intersection(b).next() {
                    return Err(MappingError(format!(
                        "{p} on {} is in both the {name_a} and the {name_b} group; groups must \
                         not overlap",
                        level.as_str()
                    )));
                }
            }
            for (level, privilege) in a.iter() {
                if FORBIDDEN.contains(&privilege.as_str()) {
                    return Err(MappingError(format!(
                        "{privilege} is an administrative privilege and may not be mapped"
                    )));
                }
                let valid = match flavor {
                    MapFlavor::Mysql => {
                        *level == Level::Database
                            && MYSQL_DATABASE_PRIVILEGES.contains(&privilege.as_str())
                    }
                    MapFlavor::StarRocks => {
                        starrocks_privileges(*level).contains(&privilege.as_str())
                    }
                };
                if !valid {
                    return Err(MappingError(format!(
                        "{privilege} is not a {} privilege on level {}",
                        match flavor {
                            MapFlavor::Mysql => "MySQL",
                            MapFlavor::StarRocks => "StarRocks",
                        },
                        level.as_str()
                    )));
                }
            }
        }
        Ok(())
    }

    /// The map as the TOML an operator would write (used to store an override).
    pub fn to_toml(&self) -> String {
        let file = MapFile {
            read: Some(GroupFile::from_set(&self.read)),
            write: Some(GroupFile::from_set(&self.write)),
            configure: Some(GroupFile::from_set(&self.configure)),
            ddl: Some(GroupFile::from_set(&self.ddl)),
        };
        toml::to_string(&file).expect("a map serialises")
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    read: Option<GroupFile>,
    write: Option<GroupFile>,
    configure: Option<GroupFile>,
    ddl: Option<GroupFile>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    database: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    table: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    view: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    materialized_view: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    catalog: Vec<String>,
}

impl GroupFile {
    fn into_set(self) -> GrantSet {
        let norm = |p: String| p.trim().to_ascii_uppercase().replace('_', " ");
        let mut out = GrantSet::new();
        for (level, list) in [
            (Level::Database, self.database),
            (Level::Table, self.table),
            (Level::View, self.view),
            (Level::MaterializedView, self.materialized_view),
            (Level::Catalog, self.catalog),
        ] {
            out.extend(list.into_iter().map(|p| (level, norm(p))));
        }
        out
    }

    fn from_set(set: &GrantSet) -> Self {
        let mut g = GroupFile::default();
        for (level, p) in set {
            let slot = match level {
                Level::Database => &mut g.database,
                Level::Table => &mut g.table,
                Level::View => &mut g.view,
                Level::MaterializedView => &mut g.materialized_view,
                Level::Catalog => &mut g.catalog,
            };
            slot.push(p.clone());
        }
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_values() -> Vec<Privileges> {
        Dml::ALL
            .into_iter()
            .flat_map(|dml| Ddl::ALL.into_iter().map(move |ddl| Privileges { dml, ddl }))
            .collect()
    }

    #[test]
    fn every_value_round_trips_on_both_engines() {
        for map in [
            PrivilegeMap::mysql_default(),
            PrivilegeMap::starrocks_default(),
        ] {
            for all in [false, true] {
                for value in all_values() {
                    let decoded = map.decode(&map.encode(value, all), all);
                    assert_eq!(decoded.privileges, value, "{value:?} all={all}");
                    assert!(decoded.exact);
                }
            }
        }
    }

    #[test]
    fn encodings_are_distinct() {
        let map = PrivilegeMap::mysql_default();
        let sets: BTreeSet<GrantSet> = all_values()
            .into_iter()
            .map(|v| map.encode(v, false))
            .collect();
        assert_eq!(sets.len(), 8);
    }

    #[test]
    fn mysql_values_grant_the_documented_lists() {
        let map = PrivilegeMap::mysql_default();
        let names = |v: Privileges| -> Vec<String> {
            map.encode(v, false).into_iter().map(|(_, p)| p).collect()
        };
        let read_only = Privileges {
            dml: Dml::ReadOnly,
            ddl: Ddl::None,
        };
        assert_eq!(names(read_only), ["SELECT"]);
        let rwc = Privileges {
            dml: Dml::ReadWriteConfig,
            ddl: Ddl::None,
        };
        assert_eq!(
            names(rwc),
            [
                "CREATE TEMPORARY TABLES",
                "DELETE",
                "EXECUTE",
                "INSERT",
                "LOCK TABLES",
                "SELECT",
                "SHOW VIEW",
                "UPDATE"
            ]
        );
    }

    #[test]
    fn partial_grants_decode_to_the_nearest_value_and_are_flagged() {
        let map = PrivilegeMap::mysql_default();
        // SELECT, INSERT, SHOW VIEW: one step from read-only on each side; the least privilege
        // wins the tie.
        let found = set(Level::Database, &["SELECT", "INSERT", "SHOW VIEW"]);
        let d = map.decode(&found, false);
        assert_eq!(d.privileges.dml, Dml::ReadOnly);
        assert_eq!(d.privileges.ddl, Ddl::None);
        assert!(!d.exact);
        // Most of the DDL group: nearest is ddl 1.
        let mut found = map.encode(
            Privileges {
                dml: Dml::ReadWrite,
                ddl: Ddl::Granted,
            },
            false,
        );
        found.remove(&(Level::Database, "TRIGGER".to_owned()));
        let d = map.decode(&found, false);
        assert_eq!(d.privileges.dml, Dml::ReadWrite);
        assert_eq!(d.privileges.ddl, Ddl::Granted);
        assert!(!d.exact);
        // Something outside every group makes it inexact without changing the value.
        let mut found = map.encode(Privileges::default(), false);
        found.insert((Level::Database, "DELETE HISTORY".to_owned()));
        let d = map.decode(&found, false);
        assert_eq!(d.privileges, Privileges::default());
        assert!(!d.exact);
    }

    #[test]
    fn starrocks_catalog_grant_belongs_to_all_databases_only() {
        let map = PrivilegeMap::starrocks_default();
        let v = Privileges {
            dml: Dml::ReadOnly,
            ddl: Ddl::Granted,
        };
        assert!(map
            .encode(v, true)
            .contains(&(Level::Catalog, "CREATE DATABASE".to_owned())));
        assert!(!map
            .encode(v, false)
            .iter()
            .any(|(l, _)| *l == Level::Catalog));
    }

    #[test]
    fn operator_maps_are_checked() {
        let ok = PrivilegeMap::from_toml(
            "[configure]\ndatabase = [\"LOCK TABLES\", \"SHOW VIEW\"]\n",
            MapFlavor::Mysql,
        )
        .unwrap();
        assert_eq!(ok.configure.len(), 2);
        assert_eq!(
            PrivilegeMap::from_toml(&ok.to_toml(), MapFlavor::Mysql).unwrap(),
            ok
        );
        let overlap =
            PrivilegeMap::from_toml("[configure]\ndatabase = [\"SELECT\"]\n", MapFlavor::Mysql)
                .unwrap_err();
        assert!(overlap.0.contains("both"), "{overlap}");
        let admin = PrivilegeMap::from_toml("[ddl]\ndatabase = [\"SUPER\"]\n", MapFlavor::Mysql)
            .unwrap_err();
        assert!(admin.0.contains("administrative"), "{admin}");
        let level = PrivilegeMap::from_toml("[write]\ntable = [\"INSERT\"]\n", MapFlavor::Mysql)
            .unwrap_err();
        assert!(level.0.contains("level table"), "{level}");
        let sr = PrivilegeMap::from_toml(
            "[ddl]\ndatabase = [\"CREATE TABLE\", \"CREATE FUNCTION\"]\n",
            MapFlavor::StarRocks,
        )
        .unwrap();
        assert!(sr
            .ddl
            .contains(&(Level::Database, "CREATE FUNCTION".to_owned())));
        assert!(PrivilegeMap::from_toml("[reed]\n", MapFlavor::Mysql).is_err());
    }
}
