//! What every session of one proxy shares: the configuration, the backends' health, the account
//! hashes, and the instance's view from the store (sync switch, mirrored accounts) and from the
//! column store (its tables), refreshed in the background.
//!
//! Hashes: an account's `mysql_native_password` hash is read from the TaurusDB source (its `'%'`
//! row, the row sync mirrors) on first use and cached. An entry is dropped when sync records a
//! different hash applied to the account, when it is older than [`HASH_TTL`], and once when a
//! login fails against it (the password may have just changed), so a changed password works at
//! once and the old one stops working within [`HASH_TTL`] at most.
//!
//! Not here: the per-client work ([`crate::session`]), the routing rules (`starkeep-routing`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_common::constants::CapabilityFlags;
use rand::Rng;
use starkeep_auth::throttle::{FailureLimit, FailureThrottle};
use starkeep_domain::InstanceId;
use starkeep_routing::{ColumnTables, Router};
use starkeep_store::{InstanceNode, Store};
use tokio_rustls::TlsAcceptor;
use zeroize::Zeroizing;

use crate::backend::{self, BackendTls, Greeting};
use crate::caps;
use crate::native::{self, Stage1, StoredHash};

/// Longest time a cached account hash is trusted without reading it again.
pub const HASH_TTL: Duration = Duration::from_secs(60);

/// An administrative connection (the proxy reads hashes at the source and the table list of
/// the column store with it; client statements never use it).
#[derive(Clone)]
pub struct AdminTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Zeroizing<String>,
}

impl std::fmt::Debug for AdminTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}:{}", self.user, self.host, self.port)
    }
}

impl AdminTarget {
    fn pool(&self) -> mysql_async::Pool {
        let constraints = mysql_async::PoolConstraints::new(0, 2).expect("0 <= 2");
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname(self.host.clone())
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            .pass(Some(self.password.to_string()))
            .prefer_socket(false)
            .pool_opts(mysql_async::PoolOpts::default().with_constraints(constraints));
        mysql_async::Pool::new(opts)
    }
}

/// A backend server and its share of its kind's load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    /// `host:port`.
    pub addr: String,
    pub weight: u32,
}

/// Everything one proxy process needs.
pub struct ProxyConfig {
    pub instance: InstanceId,
    /// The row primary (the instance's TaurusDB source).
    pub row_primary: String,
    /// The instance's own server (`host:port`), the first column node. Row replicas and extra
    /// column nodes are read from the store with the rest of the view ([`node_specs`]).
    pub own_column: String,
    /// Reads account hashes at the TaurusDB source.
    pub source_admin: AdminTarget,
    /// Reads the column store's table list.
    pub column_admin: AdminTarget,
    /// Estimated rows read above which a read goes to the column store.
    pub threshold_rows: f64,
    /// How long a routing decision is reused for the same normalised statement.
    pub decision_ttl: Duration,
    pub decision_capacity: usize,
    /// How often the store and the column store's table list are read again.
    pub refresh: Duration,
    /// Longest wait for a backend connection and login.
    pub connect_timeout: Duration,
    /// How long a node that failed is left alone before it is tried again.
    pub retry_down_after: Duration,
    pub failure_limit: FailureLimit,
    /// TLS toward clients that ask for it.
    pub tls: Option<TlsAcceptor>,
    /// TLS toward the row primary and row replicas, as the TaurusDB source's DSN says.
    pub row_tls: Option<BackendTls>,
    /// TLS toward the column nodes, as the instance's own DSN says.
    pub column_tls: Option<BackendTls>,
}

/// Which kind of node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    RowPrimary,
    RowReplica,
    Column,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::RowPrimary => "row_primary",
            NodeKind::RowReplica => "row_replica",
            NodeKind::Column => "column",
        }
    }
}

#[derive(Debug)]
struct Node {
    spec: NodeSpec,
    down_until: Option<Instant>,
}

impl Node {
    fn up(&self, now: Instant) -> bool {
        self.down_until.is_none_or(|until| until <= now)
    }
}

/// The nodes of one kind with their health; a node that failed is skipped until its retry time.
/// The set is replaced when the store's list changes ([`NodeSet::replace`]); a node kept across
/// a replacement keeps its health.
#[derive(Debug)]
pub struct NodeSet {
    nodes: Mutex<Vec<Node>>,
}

impl NodeSet {
    fn new(specs: Vec<NodeSpec>) -> Self {
        let set = Self {
            nodes: Mutex::new(Vec::new()),
        };
        set.replace(specs);
        set
    }

    /// Takes `specs` as the nodes of this kind (a weight of 0 leaves a node out).
    pub fn replace(&self, specs: Vec<NodeSpec>) {
        let mut nodes = self.nodes.lock().expect("node lock");
        let next = specs
            .into_iter()
            .filter(|s| s.weight > 0)
            .map(|spec| Node {
                down_until: nodes
                    .iter()
                    .find(|n| n.spec.addr == spec.addr)
                    .and_then(|n| n.down_until),
                spec,
            })
            .collect();
        *nodes = next;
    }

    /// The nodes as they are now.
    pub fn specs(&self) -> Vec<NodeSpec> {
        let nodes = self.nodes.lock().expect("node lock");
        nodes.iter().map(|n| n.spec.clone()).collect()
    }

    /// Whether any node is up (or due for a retry).
    pub fn any_up(&self) -> bool {
        let now = Instant::now();
        let nodes = self.nodes.lock().expect("node lock");
        nodes.iter().any(|n| n.up(now))
    }

    /// A node that is up, chosen by weight.
    pub fn pick(&self) -> Option<String> {
        let now = Instant::now();
        let nodes = self.nodes.lock().expect("node lock");
        let total: u64 = nodes
            .iter()
            .filter(|n| n.up(now))
            .map(|n| u64::from(n.spec.weight))
            .sum();
        if total == 0 {
            return None;
        }
        let mut ticket = rand::thread_rng().gen_range(0..total);
        for node in nodes.iter().filter(|n| n.up(now)) {
            let w = u64::from(node.spec.weight);
            if ticket < w {
                return Some(node.spec.addr.clone());
            }
            ticket -= w;
        }
        None
    }

    fn set_down_until(&self, addr: &str, until: Option<Instant>) {
        let mut nodes = self.nodes.lock().expect("node lock");
        for node in nodes.iter_mut().filter(|n| n.spec.addr == addr) {
            node.down_until = until;
        }
    }

    /// Marks `addr` down until `retry_after` from now.
    pub fn mark_down(&self, addr: &str, retry_after: Duration) {
        self.set_down_until(addr, Some(Instant::now() + retry_after));
    }

    /// Marks `addr` up (a login there worked).
    pub fn mark_up(&self, addr: &str) {
        self.set_down_until(addr, None);
    }

    /// Whether `addr` is one of the nodes (whichever its health).
    pub fn contains(&self, addr: &str) -> bool {
        let nodes = self.nodes.lock().expect("node lock");
        nodes.iter().any(|n| n.spec.addr == addr)
    }

    /// The first node's address (whichever its health).
    pub fn first_addr(&self) -> Option<String> {
        let nodes = self.nodes.lock().expect("node lock");
        nodes.first().map(|n| n.spec.addr.clone())
    }
}

/// The row replicas and the column nodes of an instance: its extra backends as the store lists
/// them, with the instance's own server first among the column nodes (weight 1 unless a node
/// record weighs it).
pub fn node_specs(own_column: &str, nodes: &[InstanceNode]) -> (Vec<NodeSpec>, Vec<NodeSpec>) {
    let of = |kind: &str| -> Vec<NodeSpec> {
        nodes
            .iter()
            .filter(|n| n.kind == kind)
            .map(|n| NodeSpec {
                addr: n.addr.clone(),
                weight: n.weight,
            })
            .collect()
    };
    let mut columns = of("column");
    if !columns.iter().any(|n| n.addr == own_column) {
        columns.insert(
            0,
            NodeSpec {
                addr: own_column.to_owned(),
                weight: 1,
            },
        );
    }
    (of("row_replica"), columns)
}

/// The instance as the store and the column store last said.
#[derive(Debug, Default, Clone)]
pub struct View {
    pub sync_on: bool,
    /// Accounts sync has created at the column store (a name it is only about to create is
    /// not one: its statements would try a column login that cannot work).
    pub mirrored: BTreeSet<String>,
    pub column_tables: ColumnTables,
    /// Sealed hashes sync applied per account: a change invalidates the cached hash.
    applied: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct CachedHash {
    hash: Option<StoredHash>,
    read_at: Instant,
    /// Whether this read was made because a login failed against the one before it.
    after_failure: bool,
}

/// After a failed login made the proxy read a hash again, further failures within this time
/// do not (a burst of wrong passwords reads the source about twice a second per account).
const REREAD_AFTER_FAILURE_EVERY: Duration = Duration::from_millis(500);

/// Account hashes from the TaurusDB source, cached.
pub struct Accounts {
    source: mysql_async::Pool,
    cache: Mutex<HashMap<String, CachedHash>>,
}

impl Accounts {
    async fn read(&self, user: &str) -> Option<StoredHash> {
        let mut conn = match self.source.get_conn().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read account hashes at the TaurusDB source");
                return None;
            }
        };
        let row: Result<Option<(String, String)>, _> = conn
            .exec_first(
                "SELECT plugin, authentication_string FROM mysql.user WHERE User = ? AND Host = '%'",
                (user,),
            )
            .await;
        match row {
            Ok(Some((plugin, hash))) if plugin.is_empty() || plugin == "mysql_native_password" => {
                StoredHash::parse(&hash)
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read account hashes at the TaurusDB source");
                None
            }
        }
    }

    /// The account's hash, from the cache while it is young enough; read at the source when
    /// not, or when `after_failure` (a login just failed against the cached one). Answers
    /// whether it was read at the source just now.
    async fn hash(&self, user: &str, after_failure: bool) -> (Option<StoredHash>, bool) {
        if !after_failure {
            let cached = self.cache.lock().expect("hash cache").get(user).cloned();
            if let Some(c) = cached.filter(|c| c.read_at.elapsed() < HASH_TTL) {
                return (c.hash, false);
            }
        }
        let hash = self.read(user).await;
        self.cache.lock().expect("hash cache").insert(
            user.to_owned(),
            CachedHash {
                hash: hash.clone(),
                read_at: Instant::now(),
                after_failure,
            },
        );
        (hash, true)
    }

    /// Checks a login; answers SHA1(password) when it holds. A failure against a cached hash
    /// reads the hash again once, however recently that hash was read for a login that held
    /// (the password may have changed since), unless a failure made the proxy read it within
    /// [`REREAD_AFTER_FAILURE_EVERY`].
    pub async fn verify(&self, user: &str, salt: &[u8], scramble: &[u8]) -> Option<Stage1> {
        let (hash, read_now) = self.hash(user, false).await;
        if let Some(stage1) = hash.and_then(|h| native::verify(&h, salt, scramble)) {
            return Some(stage1);
        }
        let reread_lately = self
            .cache
            .lock()
            .expect("hash cache")
            .get(user)
            .is_some_and(|c| c.after_failure && c.read_at.elapsed() < REREAD_AFTER_FAILURE_EVERY);
        if read_now || reread_lately {
            return None;
        }
        self.hash(user, true)
            .await
            .0
            .and_then(|h| native::verify(&h, salt, scramble))
    }

    fn forget(&self, user: &str) {
        self.cache.lock().expect("hash cache").remove(user);
    }
}

/// The state every session of a proxy shares.
pub struct Shared {
    pub config: ProxyConfig,
    pub router: Router,
    pub row_primary: NodeSet,
    pub row_replicas: NodeSet,
    pub columns: NodeSet,
    accounts: Accounts,
    column_admin: mysql_async::Pool,
    view: RwLock<Arc<View>>,
    /// The store's data version when the view's store part was last read: while it holds,
    /// nothing the view took from the store has changed, and a refresh reads none of it again.
    store_version: Mutex<Option<u64>>,
    store: Store,
    greeting: RwLock<Greeting>,
    column_caps: RwLock<Option<CapabilityFlags>>,
    throttle: FailureThrottle,
}

impl Shared {
    /// Reads the row primary's greeting (required: the proxy speaks as it) and the instance's
    /// view once.
    pub async fn start(config: ProxyConfig, store: Store) -> Result<Arc<Self>, StartError> {
        let greeting = backend::probe(&config.row_primary, config.connect_timeout)
            .await
            .map_err(|e| {
                StartError(format!(
                    "the row primary {} does not answer: {e}",
                    config.row_primary
                ))
            })?;
        let shared = Arc::new(Self {
            router: Router::new(
                config.threshold_rows,
                config.decision_ttl,
                config.decision_capacity,
            ),
            row_primary: NodeSet::new(vec![NodeSpec {
                addr: config.row_primary.clone(),
                weight: 1,
            }]),
            row_replicas: NodeSet::new(Vec::new()),
            columns: NodeSet::new(node_specs(&config.own_column, &[]).1),
            accounts: Accounts {
                source: config.source_admin.pool(),
                cache: Mutex::new(HashMap::new()),
            },
            column_admin: config.column_admin.pool(),
            view: RwLock::new(Arc::new(View::default())),
            store_version: Mutex::new(None),
            store,
            greeting: RwLock::new(greeting),
            column_caps: RwLock::new(None),
            throttle: FailureThrottle::new(config.failure_limit),
            config,
        });
        shared.refresh().await;
        Ok(shared)
    }

    /// Reads the store and the column store again, every `config.refresh`, while `self` lives
    /// elsewhere.
    pub fn spawn_refresher(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let every = self.config.refresh;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(shared) = weak.upgrade() else { return };
                shared.refresh().await;
            }
        });
    }

    /// One refresh of the view: the sync switch, mirrored accounts, applied hashes and the
    /// instance's nodes from the store (skipped while the store's data version says nothing
    /// committed since the last read); the column store's tables and greeting while sync is on.
    pub async fn refresh(&self) {
        crate::metrics::cache(self.router.cache_stats());
        let previous = self.view();
        // Read before the reads it vouches for: a commit in between is seen next time.
        let version = self.store.data_version();
        let unchanged =
            version.is_some() && *self.store_version.lock().expect("version") == version;
        let mut view = if unchanged {
            View::clone(&previous)
        } else {
            match self.read_store(&previous).await {
                Some(view) => {
                    *self.store_version.lock().expect("version") = version;
                    view
                }
                None => return,
            }
        };
        if view.sync_on {
            match self.read_column_tables().await {
                Ok(tables) => view.column_tables = tables,
                Err(e) => tracing::warn!(error = %e, "cannot read the column store's tables"),
            }
            if self.column_caps.read().expect("caps lock").is_none() {
                if let Some(addr) = self.columns.first_addr() {
                    if let Ok(g) = backend::probe(&addr, self.config.connect_timeout).await {
                        *self.column_caps.write().expect("caps lock") = Some(g.capabilities);
                    }
                }
            }
        }
        *self.view.write().expect("view lock") = Arc::new(view);
    }

    /// The store's part of the view, and the nodes; `None` (the last view kept) when the
    /// instance cannot be read.
    async fn read_store(&self, previous: &View) -> Option<View> {
        let mut view = View {
            column_tables: previous.column_tables.clone(),
            ..View::default()
        };
        let instance = &self.config.instance;
        match self.store.list_instances(None).await {
            Ok(list) => {
                view.sync_on = list.iter().any(|i| &i.id == instance && i.sync_enabled);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the instance from the store; keeping the last view");
                return None;
            }
        }
        match self.store.mirrored_accounts(instance).await {
            Ok(mirrored) => view.mirrored = mirrored,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the mirrored accounts; keeping the last view");
                return None;
            }
        }
        if let Ok(applied) = self.store.applied_hashes(instance).await {
            for (name, sealed) in &applied {
                if previous.applied.get(name) != Some(sealed) {
                    self.accounts.forget(name);
                }
            }
            view.applied = applied;
        }
        match self.store.instance_nodes(instance).await {
            Ok(nodes) => {
                let (replicas, columns) = node_specs(&self.config.own_column, &nodes);
                if replicas != self.row_replicas.specs() || columns != self.columns.specs() {
                    tracing::info!(?replicas, ?columns, "the instance's nodes changed");
                }
                self.row_replicas.replace(replicas);
                self.columns.replace(columns);
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the instance's nodes; keeping them"),
        }
        Some(view)
    }

    async fn read_column_tables(&self) -> Result<ColumnTables, mysql_async::Error> {
        let mut conn = self.column_admin.get_conn().await?;
        let rows: Vec<(String, String)> = conn
            .query(
                "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA NOT IN ('information_schema', 'mysql', \
                 'performance_schema', 'sys', '_statistics_')",
            )
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// The instance's view as last read.
    pub fn view(&self) -> Arc<View> {
        self.view.read().expect("view lock").clone()
    }

    /// The row primary's greeting, which the proxy's greeting repeats.
    pub fn greeting(&self) -> Greeting {
        self.greeting.read().expect("greeting lock").clone()
    }

    /// The capabilities offered to clients.
    pub fn offered_caps(&self) -> CapabilityFlags {
        let mut known = vec![self.greeting().capabilities];
        known.extend(*self.column_caps.read().expect("caps lock"));
        caps::offered(&known, self.config.tls.is_some())
    }

    pub fn tls(&self) -> Option<&TlsAcceptor> {
        self.config.tls.as_ref()
    }

    pub fn throttle(&self) -> &FailureThrottle {
        &self.throttle
    }

    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// Runs `EXPLAIN FORMAT=JSON` of `sql` at the source as its admin (for `starkeep proxy
    /// explain`, which has no client session), in `db` if given.
    pub async fn explain_as_admin(
        &self,
        sql: &str,
        db: Option<&str>,
    ) -> Result<String, mysql_async::Error> {
        let mut conn = self.accounts.source.get_conn().await?;
        if let Some(db) = db {
            conn.query_drop(format!("USE `{}`", db.replace('`', "``")))
                .await?;
        }
        let json: Option<String> = conn
            .query_first(format!("EXPLAIN FORMAT=JSON {sql}"))
            .await?;
        Ok(json.unwrap_or_default())
    }
}

/// Why a proxy could not start.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(addr: &str, weight: u32) -> NodeSpec {
        NodeSpec {
            addr: addr.to_owned(),
            weight,
        }
    }

    #[test]
    fn nodes_share_the_load_by_weight_and_a_down_node_gets_none() {
        let nodes = NodeSet::new(vec![spec("a:1", 1), spec("b:1", 3), spec("c:1", 0)]);
        let mut b = 0;
        for _ in 0..4000 {
            match nodes.pick().as_deref() {
                Some("b:1") => b += 1,
                Some("a:1") => {}
                other => panic!("picked {other:?}"),
            }
        }
        // Weight 3 of 4: about 3000 of 4000 (far outside this only by a broken pick).
        assert!((2700..3300).contains(&b), "{b}");

        nodes.mark_down("b:1", Duration::from_secs(60));
        assert!((0..100).all(|_| nodes.pick().as_deref() == Some("a:1")));
        nodes.mark_down("a:1", Duration::from_secs(60));
        assert!(!nodes.any_up());
        assert_eq!(nodes.pick(), None);
        nodes.mark_up("b:1");
        assert_eq!(nodes.pick().as_deref(), Some("b:1"));
        // A node whose retry time has come is tried again.
        nodes.mark_down("b:1", Duration::ZERO);
        assert!(nodes.any_up());
    }

    #[test]
    fn a_replaced_set_keeps_the_health_of_the_nodes_it_keeps() {
        let nodes = NodeSet::new(vec![spec("a:1", 1), spec("b:1", 1)]);
        nodes.mark_down("a:1", Duration::from_secs(60));
        nodes.replace(vec![spec("a:1", 5), spec("c:1", 1)]);
        assert_eq!(nodes.specs(), vec![spec("a:1", 5), spec("c:1", 1)]);
        // a stays down, b is gone, c is new and up.
        assert!((0..100).all(|_| nodes.pick().as_deref() == Some("c:1")));
        assert!(nodes.contains("a:1") && !nodes.contains("b:1"));
        nodes.replace(Vec::new());
        assert_eq!(nodes.pick(), None);
    }

    #[test]
    fn the_instance_s_own_server_leads_the_column_nodes() {
        let node = |kind: &str, addr: &str, weight| InstanceNode {
            kind: kind.to_owned(),
            addr: addr.to_owned(),
            weight,
        };
        let (replicas, columns) = node_specs(
            "own:1",
            &[node("column", "c:1", 2), node("row_replica", "r:1", 3)],
        );
        assert_eq!(replicas, vec![spec("r:1", 3)]);
        assert_eq!(columns, vec![spec("own:1", 1), spec("c:1", 2)]);
        // A node record for the own server weighs it.
        let (_, columns) = node_specs("own:1", &[node("column", "own:1", 4)]);
        assert_eq!(columns, vec![spec("own:1", 4)]);
    }
}
