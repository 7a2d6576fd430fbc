//! `starkeep proxy`: a MySQL wire-protocol server for one instance that sends each statement to
//! the row store (the instance's TaurusDB source) or the column store (the instance's StarRocks)
//! — the cloud's "Assign Requests to Row and Column Store Nodes".
//!
//! Clients log in once with their TaurusDB account's own password, which starkeep never learns
//! ([`native`], [`client`]); the proxy logs in to each backend as the same account
//! ([`backend`]) and relays answers as the backend sent them ([`relay`], [`wire`], [`caps`]).
//! Where a statement goes is `starkeep-routing`'s decision, taken per statement in
//! [`session`] with the facts kept in [`state`]: the sync switch and mirrored accounts from the
//! store, the column store's tables, the nodes' health. [`metrics`] names what is counted.
//!
//! Several proxy processes may serve one instance: they share nothing but the store they read.
//! The command line (`starkeep proxy`, `starkeep proxy explain`) is the `starkeep` binary's.

pub mod backend;
pub mod caps;
pub mod client;
pub mod metrics;
pub mod native;
pub mod relay;
pub mod session;
pub mod state;
pub mod stream;
pub mod wire;

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use starkeep_routing::{Decision, SessionRouting, Step};
use tokio::net::TcpListener;

pub use backend::BackendTls;
pub use state::{AdminTarget, NodeSpec, ProxyConfig, Shared, StartError};

/// Accepts clients on `listener` until `shutdown` resolves, each in a task of its own; at most
/// `max_connections` at once (more are closed on arrival).
pub async fn serve(
    shared: Arc<Shared>,
    listener: TcpListener,
    max_connections: usize,
    shutdown: impl Future<Output = ()>,
) {
    shared.spawn_refresher();
    let ids = AtomicU32::new(1);
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "too many client connections; closing a new one");
            continue;
        };
        let id = ids.fetch_add(1, Ordering::Relaxed);
        let shared = shared.clone();
        tokio::spawn(async move {
            session::serve(shared, tcp, peer, id).await;
            drop(permit);
        });
    }
}

/// What `starkeep proxy explain` prints: the decision for `sql` by a mirrored account in a new
/// session in `db`, with `EXPLAIN` run at the source as its admin when cost decides.
pub async fn explain(
    shared: &Shared,
    sql: &str,
    db: Option<&str>,
) -> Result<Decision, mysql_async::Error> {
    let view = shared.view();
    let session = SessionRouting::new(db.map(str::to_owned));
    let analysis = shared.router.analyze(sql);
    let facts = starkeep_routing::Facts {
        sync_on: view.sync_on,
        account_mirrored: true,
        session: &session,
        column_tables: &view.column_tables,
        column_up: shared.columns.any_up(),
        replica_up: shared.row_replicas.any_up(),
    };
    match shared.router.decide(&facts, &analysis) {
        Step::Decided(d) => Ok(d),
        Step::NeedsEstimate => {
            let json = shared.explain_as_admin(sql, db).await?;
            Ok(shared.router.decide_by_explain(&facts, &analysis, &json))
        }
    }
}
