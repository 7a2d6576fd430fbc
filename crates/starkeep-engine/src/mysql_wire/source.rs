//! An instance's TaurusDB source: checking one and naming it in the instance's settings
//! ([`connect_source`], [`set_source`]), and the engine that reaches it, kept with the
//! instance's own ([`MysqlWireEngine::sync_source`]). What sync does with the two lives in
//! `starkeep-sync`.

use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use starkeep_auth::SecretBox;
use starkeep_store::{InstanceRecord, Store};
use zeroize::Zeroizing;

use super::backend_error::mysql_error_text;
use super::connection::{pool_for, MysqlWireSettings};
use super::mysql::MysqlFlavor;
use super::registration::{ConnectionTarget, RegistrationError};
use super::{MysqlWireEngine, Server};
use crate::config::{EngineConfig, WireDialect};
use crate::EngineError;

/// Checks that a TaurusDB source answers and lets its admin read accounts, and answers the
/// settings to keep (the password sealed with `secrets`).
pub async fn connect_source(
    dsn: &str,
    password: &Zeroizing<String>,
    timeout: Duration,
    secrets: &SecretBox,
) -> Result<MysqlWireSettings, RegistrationError> {
    let target = ConnectionTarget::parse(dsn, 3306)?;
    let shown = format!("{}@{}:{}", target.user, target.host, target.port);
    let pool = pool_for(&target, password, 1);
    let connect_error = |detail: String| RegistrationError::Connect {
        target: shown.clone(),
        detail,
    };
    let checked = tokio::time::timeout(timeout, async {
        let mut conn = pool
            .get_conn()
            .await
            .map_err(|e| connect_error(mysql_error_text(&e)))?;
        let version: Option<String> = conn
            .query_first("SELECT VERSION()")
            .await
            .map_err(|e| connect_error(mysql_error_text(&e)))?;
        let flavor = MysqlFlavor::from_version(version.as_deref().unwrap_or(""));
        let dialect = WireDialect::Mysql(flavor).statements();
        dialect
            .auth_rows(&mut conn)
            .await
            .map_err(|e| RegistrationError::Privilege {
                user: target.user.clone(),
                what: "read accounts (SELECT on mysql.user)",
                detail: mysql_error_text(&e),
            })?;
        Ok::<_, RegistrationError>(flavor)
    })
    .await
    .map_err(|_| connect_error(format!("no answer within {timeout:?}")))?;
    pool.disconnect().await.ok();
    let flavor = checked?;
    Ok(MysqlWireSettings {
        host: target.host,
        port: target.port,
        user: target.user,
        password: secrets.seal(password.as_bytes()),
        flavor: Some(flavor.as_str().to_owned()),
        privilege_map: None,
        pool_max: Some(2),
        timeout_ms: Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
        source: None,
    })
}

/// Names `source` as the TaurusDB source of the SQL instance `record` (replacing any).
pub async fn set_source(
    store: &Store,
    record: &InstanceRecord,
    source: MysqlWireSettings,
) -> Result<InstanceRecord, EngineError> {
    let EngineConfig::MysqlWire { mut settings, .. } = EngineConfig::of(record)? else {
        return Err(super::corrupt(record, "not a MySQL-wire engine"));
    };
    settings.source = Some(Box::new(source));
    let value = serde_json::to_value(&settings).expect("settings serialise");
    store.set_instance_settings(&record.id, &value).await?;
    let mut updated = record.clone();
    updated.settings = value;
    Ok(updated)
}

impl MysqlWireEngine {
    /// The engine of this instance's TaurusDB source, or [`EngineError::NoSyncSource`]. Built
    /// the first time it is asked for and kept with this engine.
    pub fn sync_source(&self) -> Result<Arc<MysqlWireEngine>, EngineError> {
        let Some(settings) = &self.source_settings else {
            return Err(EngineError::NoSyncSource);
        };
        let mut kept = self.source.lock().expect("source engine poisoned");
        if let Some(source) = &*kept {
            return Ok(source.clone());
        }
        let at = format!("{}@{}:{}", settings.user, settings.host, settings.port);
        let source = Arc::new(MysqlWireEngine::from_settings(
            self.store.clone(),
            self.instance.clone(),
            Server::SyncSource(at),
            WireDialect::mysql(settings.flavor.as_deref()),
            settings.clone(),
            &self.secrets,
        )?);
        *kept = Some(source.clone());
        Ok(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_written_before_sync_still_read_and_a_source_round_trips() {
        let old = serde_json::json!({
            "host": "127.0.0.1", "port": 3306, "user": "root", "password": "v1:sealed",
            "flavor": "mariadb"
        });
        let settings: MysqlWireSettings = serde_json::from_value(old.clone()).unwrap();
        assert!(settings.source.is_none());
        assert_eq!(serde_json::to_value(&settings).unwrap(), old);
        let mut with_source = settings.clone();
        with_source.source = Some(Box::new(settings));
        let text = serde_json::to_value(&with_source).unwrap();
        assert_eq!(text["source"]["host"], "127.0.0.1");
        let back: MysqlWireSettings = serde_json::from_value(text).unwrap();
        assert!(back == with_source);
    }
}
