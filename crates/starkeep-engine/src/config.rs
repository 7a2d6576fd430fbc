//! [`EngineConfig`]: an instance's engine, typed. The stored record carries the engine's kind as
//! a word and its settings as JSON; [`EngineConfig::of`] reads both once, and it is the only place
//! that matches on the word. Everything else (the directory that builds engines, the CLI that
//! shows an instance, account sync asking whether there is a source) asks the typed value, so no
//! code outside this crate reads settings as JSON.
//!
//! [`EngineKind`] is how the kinds are spelled; what the settings of each engine hold lives with
//! that engine ([`EmbeddedSettings`], [`MysqlWireSettings`]).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use starkeep_store::{InstanceRecord, StoreError};

use crate::mysql_wire::dialect::Dialect;
use crate::mysql_wire::mysql::{MysqlDialect, MysqlFlavor};
use crate::mysql_wire::starrocks::StarRocksDialect;
use crate::mysql_wire::MysqlWireSettings;
use crate::{EmbeddedSettings, EngineError};

/// The kinds of engine an instance can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// Accounts in starkeep's own store; no database server.
    Embedded,
    /// TaurusDB, MySQL 8 or MariaDB.
    Mysql,
    /// A StarRocks 3.x frontend.
    StarRocks,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Embedded => "embedded",
            EngineKind::Mysql => "mysql",
            EngineKind::StarRocks => "starrocks",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EngineKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "embedded" => Ok(EngineKind::Embedded),
            "mysql" => Ok(EngineKind::Mysql),
            "starrocks" => Ok(EngineKind::StarRocks),
            other => Err(format!(
                "unknown engine {other:?}: expected embedded, mysql or starrocks"
            )),
        }
    }
}

/// The dialect a MySQL-wire engine speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireDialect {
    /// The MySQL family (TaurusDB, MySQL 8, MariaDB), of this flavor.
    Mysql(MysqlFlavor),
    /// A StarRocks frontend.
    StarRocks,
}

impl WireDialect {
    /// The MySQL-family dialect of a stored flavor word (`mysql`; anything else is MariaDB's).
    pub fn mysql(flavor: Option<&str>) -> Self {
        WireDialect::Mysql(match flavor {
            Some("mysql") => MysqlFlavor::Mysql,
            _ => MysqlFlavor::MariaDb,
        })
    }

    /// The engine kind this dialect is stored as.
    pub fn kind(self) -> EngineKind {
        match self {
            WireDialect::Mysql(_) => EngineKind::Mysql,
            WireDialect::StarRocks => EngineKind::StarRocks,
        }
    }

    /// The flavor word stored with the settings (`None` for StarRocks).
    pub fn flavor(self) -> Option<MysqlFlavor> {
        match self {
            WireDialect::Mysql(flavor) => Some(flavor),
            WireDialect::StarRocks => None,
        }
    }

    /// The statements and read-back of this dialect.
    pub(crate) fn statements(self) -> Arc<dyn Dialect> {
        match self {
            WireDialect::Mysql(flavor) => Arc::new(MysqlDialect::new(flavor)),
            WireDialect::StarRocks => Arc::new(StarRocksDialect),
        }
    }
}

/// An instance's engine and its settings, parsed from the stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineConfig {
    /// Accounts in starkeep's own store.
    Embedded(EmbeddedSettings),
    /// A server that speaks the MySQL wire protocol, in `dialect`, reached as `settings` say.
    MysqlWire {
        dialect: WireDialect,
        settings: MysqlWireSettings,
    },
}

impl EngineConfig {
    /// Reads the engine of `record`: [`EngineError::EngineNotAvailable`] for a kind this build
    /// does not know, a corrupt-store error for settings that do not read.
    pub fn of(record: &InstanceRecord) -> Result<Self, EngineError> {
        let kind: EngineKind = record
            .engine
            .parse()
            .map_err(|_| EngineError::EngineNotAvailable(record.engine.clone()))?;
        let corrupt = |e: serde_json::Error| {
            EngineError::Store(StoreError::Corrupt(format!(
                "settings of {kind} instance {}: {e}",
                record.id
            )))
        };
        let settings = record.settings.clone();
        Ok(match kind {
            EngineKind::Embedded => {
                EngineConfig::Embedded(serde_json::from_value(settings).map_err(corrupt)?)
            }
            EngineKind::Mysql | EngineKind::StarRocks => {
                let settings: MysqlWireSettings =
                    serde_json::from_value(settings).map_err(corrupt)?;
                let dialect = match kind {
                    EngineKind::StarRocks => WireDialect::StarRocks,
                    _ => WireDialect::mysql(settings.flavor.as_deref()),
                };
                EngineConfig::MysqlWire { dialect, settings }
            }
        })
    }

    /// The kind of engine.
    pub fn kind(&self) -> EngineKind {
        match self {
            EngineConfig::Embedded(_) => EngineKind::Embedded,
            EngineConfig::MysqlWire { dialect, .. } => dialect.kind(),
        }
    }

    /// Whether the instance names a TaurusDB source to mirror accounts from.
    pub fn has_sync_source(&self) -> bool {
        matches!(self, EngineConfig::MysqlWire { settings, .. } if settings.source.is_some())
    }

    /// The settings as an operator may see them: every sealed password shown as `<sealed>`.
    pub fn redacted(&self) -> serde_json::Value {
        match self {
            EngineConfig::Embedded(settings) => {
                serde_json::to_value(settings).expect("settings serialise")
            }
            EngineConfig::MysqlWire { settings, .. } => {
                let mut shown = settings.clone();
                shown.password = "<sealed>".into();
                if let Some(source) = &mut shown.source {
                    source.password = "<sealed>".into();
                }
                serde_json::to_value(shown).expect("settings serialise")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use starkeep_domain::{InstanceId, ProjectId};

    fn record(engine: &str, settings: serde_json::Value) -> InstanceRecord {
        InstanceRecord {
            id: InstanceId::parse("0123456789abcdef0123456789abcdefin07").unwrap(),
            project_id: ProjectId::parse("23a50154cf494ec9ad6883979a12db0a").unwrap(),
            name: "i".into(),
            engine: engine.into(),
            settings,
            sync_enabled: false,
            created_at: 0,
        }
    }

    #[test]
    fn each_kind_reads_into_its_typed_settings() {
        let embedded = EngineConfig::of(&record("embedded", json!({"databases": ["a"]}))).unwrap();
        assert_eq!(
            embedded,
            EngineConfig::Embedded(EmbeddedSettings {
                databases: vec!["a".into()]
            })
        );
        assert!(!embedded.has_sync_source());
        let wire = json!({"host": "h", "port": 3306, "user": "u", "password": "v1:x"});
        let mariadb = EngineConfig::of(&record("mysql", wire.clone())).unwrap();
        assert_eq!(mariadb.kind(), EngineKind::Mysql);
        assert!(matches!(
            mariadb,
            EngineConfig::MysqlWire {
                dialect: WireDialect::Mysql(MysqlFlavor::MariaDb),
                ..
            }
        ));
        let starrocks = EngineConfig::of(&record("starrocks", wire.clone())).unwrap();
        assert_eq!(starrocks.kind(), EngineKind::StarRocks);
        assert!(!starrocks.has_sync_source());
        let mut with_source = wire.clone();
        with_source["source"] = wire.clone();
        with_source["flavor"] = json!("mysql");
        let synced = EngineConfig::of(&record("mysql", with_source)).unwrap();
        assert!(synced.has_sync_source());
        assert!(matches!(
            synced,
            EngineConfig::MysqlWire {
                dialect: WireDialect::Mysql(MysqlFlavor::Mysql),
                ..
            }
        ));
        assert!(matches!(
            EngineConfig::of(&record("oracle", wire)),
            Err(EngineError::EngineNotAvailable(kind)) if kind == "oracle"
        ));
        assert!(matches!(
            EngineConfig::of(&record("mysql", json!({"databases": []}))),
            Err(EngineError::Store(StoreError::Corrupt(_)))
        ));
    }

    #[test]
    fn the_redacted_view_shows_no_sealed_password() {
        let wire = json!({"host": "h", "port": 3306, "user": "u", "password": "v1:secret"});
        let mut with_source = wire.clone();
        with_source["source"] =
            json!({"host": "t", "port": 3306, "user": "a", "password": "v1:other"});
        let shown = EngineConfig::of(&record("starrocks", with_source))
            .unwrap()
            .redacted();
        let text = shown.to_string();
        assert!(!text.contains("v1:"), "{text}");
        assert_eq!(shown["password"], "<sealed>");
        assert_eq!(shown["source"]["password"], "<sealed>");
        assert_eq!(shown["source"]["host"], "t");
    }
}
