//! The create protocol of a MySQL-wire instance, its compensation and its repair.
//!
//! A create is made crash-safe with a record in the store (`pending_creates`) written before the
//! `CREATE USER`. Its statements
//! ([`create_statements`](super::dialect::Dialect::create_statements)) go in one round trip where
//! the server takes batches, and leave the account unable to log in until the last one has run
//! (MariaDB: a placeholder hash that the last `GRANT` replaces; MySQL 8: `ACCOUNT LOCK`, unlocked
//! last), so an unfinished create can be told from a finished one. A create that fails after the
//! account was made drops it again; [`MysqlWireEngine::repair`] drops the unfinished ones that a
//! timeout, a lost backend or a killed process left behind. Where the server marks unfinished
//! creates, the record of a finished one is cleared after the answer, or, inside an audited
//! request, in one commit with its outcome (`starkeep_store::AuditedChange`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use starkeep_domain::NativePasswordHash;
use starkeep_store::Store;

use super::backend_error::{backend_error, ER_DBACCESS_DENIED};
use super::connection::ConnWhenNeeded;
use super::dialect::Scope;
use super::mapping::GrantSet;
use super::MysqlWireEngine;
use crate::{EngineError, NewAccount};

/// Why a create stopped, and whether what it made is known to be gone.
struct CreateFailure {
    error: EngineError,
    clean: bool,
}

impl MysqlWireEngine {
    /// Creates `account` (the create of [`crate::AccountEngine`]).
    pub(super) async fn create(&self, account: &NewAccount) -> Result<(), EngineError> {
        self.check_changeable(&account.name)?;
        let name = account.name.as_str();
        let _guard = self.account_lock(name).await;
        let mut conn = ConnWhenNeeded::new(self);
        let desired = self
            .bounded(async {
                let desired = self
                    .desired_scopes(&mut conn, &account.databases, account.privileges)
                    .await?;
                // Where the server refuses a taken name itself, its refusal is the answer.
                if !self.dialect.refuses_taken_and_missing_names()
                    && self
                        .dialect
                        .account_exists(conn.get().await?, name)
                        .await
                        .map_err(backend_error)?
                {
                    return Err(EngineError::AccountExists(name.to_owned()));
                }
                Ok(desired)
            })
            .await?;
        let attempt = uuid::Uuid::new_v4().to_string();
        self.store
            .begin_pending_create(&self.instance.id, name, &attempt)
            .await?;
        let hash = account.password.native_hash();
        let outcome = match tokio::time::timeout(
            self.timeout,
            self.create_steps(&mut conn, name, &hash, &desired),
        )
        .await
        {
            Ok(outcome) => outcome,
            Err(_) => Err(CreateFailure {
                error: EngineError::BackendUnavailable(format!(
                    "no answer from instance {} within {:?}",
                    self.instance.id, self.timeout
                )),
                clean: false,
            }),
        };
        let clean = match &outcome {
            Ok(()) => true,
            Err(failure) => failure.clean,
        };
        if outcome.is_ok()
            && self.dialect.marks_unfinished()
            && !self.store.pending_end_waits_for_outcome()
        {
            // The account is finished, and the server says so: a record outliving the answer
            // only makes the repair loop look at the account and keep it. So it is cleared
            // after the answer, off the request's path (inside an audited request, with its
            // outcome, at no cost of its own).
            let store = self.store.clone();
            tokio::spawn(async move { end_pending_create(&store, &attempt).await });
        } else if clean {
            end_pending_create(&self.store, &attempt).await;
        }
        outcome.map_err(|f| f.error)
    }

    async fn create_steps(
        &self,
        conn: &mut ConnWhenNeeded<'_>,
        name: &str,
        hash: &NativePasswordHash,
        desired: &BTreeMap<Scope, GrantSet>,
    ) -> Result<(), CreateFailure> {
        let unknown = |error| CreateFailure {
            error,
            clean: false,
        };
        let conn = conn
            .get()
            .await
            .map_err(|error| CreateFailure { error, clean: true })?;
        let mut steps = self.run_create(conn, name, hash, desired).await;
        if let Err(StepFailure {
            account_made: true,
            error: mysql_async::Error::Server(e),
        }) = &steps
        {
            if e.code == ER_DBACCESS_DENIED
                && e.message.contains("'mysql'")
                && self.password_by_grant.swap(false, Ordering::Relaxed)
            {
                // The admin may not set a password with GRANT: undo, and from now on set it
                // with ALTER USER.
                tracing::info!(
                    instance = %self.instance.id,
                    "the admin may not set passwords with GRANT; creates set them with ALTER USER"
                );
                steps = match conn.query_drop(self.dialect.drop_user(name)).await {
                    Ok(()) => self.run_create(conn, name, hash, desired).await,
                    Err(error) => Err(StepFailure {
                        account_made: true,
                        error,
                    }),
                };
            }
        }
        let e = match steps {
            Ok(()) => return Ok(()),
            Err(StepFailure {
                account_made: false,
                error: mysql_async::Error::Server(e),
            }) if self.dialect.says_account_exists(&e) => {
                return Err(CreateFailure {
                    error: EngineError::AccountExists(name.to_owned()),
                    clean: true,
                })
            }
            Err(StepFailure {
                account_made: false,
                error,
            }) => return Err(unknown(backend_error(error))),
            Err(StepFailure { error, .. }) => error,
        };
        let error = backend_error(e);
        tracing::warn!(
            instance = %self.instance.id, account = name, %error,
            "create failed after the account was made; dropping it"
        );
        let clean = conn.query_drop(self.dialect.drop_user(name)).await.is_ok();
        Err(CreateFailure { error, clean })
    }

    async fn run_create(
        &self,
        conn: &mut Conn,
        name: &str,
        hash: &NativePasswordHash,
        desired: &BTreeMap<Scope, GrantSet>,
    ) -> Result<(), StepFailure> {
        let by_grant = self.password_by_grant.load(Ordering::Relaxed);
        let statements = self
            .dialect
            .create_statements(name, hash, desired, by_grant);
        if self.dialect.takes_statement_batches() {
            run_batch(conn, statements.join(";\n")).await
        } else {
            run_each(conn, &statements).await
        }
    }

    /// Drops `name` if an unfinished create left it (as [`Dialect::is_unfinished`] tells; where
    /// the engine cannot tell, any account of that name). Answers whether it dropped something.
    pub async fn repair(&self, name: &str) -> Result<bool, EngineError> {
        let _guard = self.account_lock(name).await;
        self.bounded(async {
            let mut conn = self.conn().await?;
            if !self
                .dialect
                .account_exists(&mut conn, name)
                .await
                .map_err(backend_error)?
            {
                return Ok(false);
            }
            if !self
                .dialect
                .is_unfinished(&mut conn, name)
                .await
                .map_err(backend_error)?
            {
                return Ok(false);
            }
            match conn.query_drop(self.dialect.drop_user(name)).await {
                Ok(()) => Ok(true),
                Err(mysql_async::Error::Server(e)) if self.dialect.says_account_missing(&e) => {
                    Ok(false)
                }
                Err(e) => Err(backend_error(e)),
            }
        })
        .await
    }
}

/// Clears the pending record of a create that ended; one left behind is the repair loop's.
async fn end_pending_create(store: &Store, attempt: &str) {
    if let Err(e) = store.end_pending_create(attempt).await {
        tracing::warn!(error = %e, "could not clear a pending create; repair will");
    }
}

/// Why the statements of a create stopped, and whether the account was made before they did.
struct StepFailure {
    account_made: bool,
    error: mysql_async::Error,
}

/// Runs `batch` (statements joined with `;`) in one round trip. The server stops at the first
/// statement that fails: the first one's answer comes with the query, the others' as the result
/// is read to its end.
async fn run_batch(conn: &mut Conn, batch: String) -> Result<(), StepFailure> {
    let result = conn.query_iter(batch).await.map_err(|error| StepFailure {
        account_made: false,
        error,
    })?;
    result.drop_result().await.map_err(|error| StepFailure {
        account_made: true,
        error,
    })
}

/// Runs `statements` one round trip each, stopping at the first that fails.
async fn run_each(conn: &mut Conn, statements: &[String]) -> Result<(), StepFailure> {
    for (i, statement) in statements.iter().enumerate() {
        conn.query_drop(statement)
            .await
            .map_err(|error| StepFailure {
                account_made: i > 0,
                error,
            })?;
    }
    Ok(())
}
