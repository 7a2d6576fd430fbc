//! One client's session: its commands, where each goes, and the backend connections that serve
//! it.
//!
//! Backend connections belong to the session and open when first needed: the row primary's for
//! everything pinned there (and for `EXPLAIN` when cost decides), a row replica's and a column
//! node's for reads routed there. Session state follows the client: a connection opened later
//! starts in the current database with the client's collation, and gets the `SET NAMES` and
//! session variables set so far, each on its own (a variable the column store does not know is
//! left out there, and the read still runs). A `USE` or `SET` that succeeds on the row primary
//! is repeated on the other open connections.
//!
//! `COM_QUERY` is routed by `starkeep-routing`; every other command goes to the row primary
//! (the binary protocol's prepared statements included). `COM_PING` is answered by the proxy,
//! `COM_CHANGE_USER` is refused (log in again instead), `COM_RESET_CONNECTION` resets the row
//! primary's session and closes the others.
//!
//! Failure: a column node (or replica) that cannot be reached or logged in to before the
//! statement is sent makes the read go to the row store (a node that is down is marked so and
//! tried again later). Once a statement has been sent it is never sent again: if the backend
//! fails mid-answer the client gets an error. Losing the row primary ends the client's
//! connection, as losing the server would (an open transaction is gone).

use std::net::SocketAddr;
use std::sync::Arc;

use mysql_common::constants::StatusFlags;
use starkeep_routing::{
    explain_statement, Analysis, Decision, Facts, Route, RowReason, Rule, SessionEffect,
    SessionRouting, Step,
};
use tokio::net::TcpStream;

use crate::backend::{self, BackendConn, BackendError, Login};
use crate::client::{self, ClientIo, LoggedIn};
use crate::metrics as m;
use crate::relay::{self, RelayError, Relayed, Shape};
use crate::state::{NodeKind, Shared, View};
use crate::wire::{self, code, command};

/// How long a client has for its login (TLS included), so a silent connection does not hold a
/// slot.
pub const LOGIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves one client connection to its end.
pub async fn serve(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr, connection_id: u32) {
    tcp.set_nodelay(true).ok();
    let login = client::login(&shared, tcp, peer.ip(), connection_id);
    let logged_in = match tokio::time::timeout(LOGIN_TIMEOUT, login).await {
        Ok(Ok(l)) => l,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "login ended without a session");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "no login within {LOGIN_TIMEOUT:?}; connection closed");
            return;
        }
    };
    let mut session = Session::new(shared, logged_in);
    if let Err(end) = session.run().await {
        tracing::debug!(%peer, user = %session.user, reason = %end, "session ended");
    }
}

/// Why a session ended early.
#[derive(Debug, thiserror::Error)]
enum End {
    #[error("client connection: {0}")]
    Client(#[from] std::io::Error),
    #[error("{0}")]
    Backend(String),
}

struct Session {
    shared: Arc<Shared>,
    io: ClientIo,
    user: String,
    stage1: crate::native::Stage1,
    caps: mysql_common::constants::CapabilityFlags,
    collation: u8,
    routing: SessionRouting,
    row: Option<BackendConn>,
    replica: Option<(String, BackendConn)>,
    column: Option<(String, BackendConn)>,
}

impl Session {
    fn new(shared: Arc<Shared>, l: LoggedIn) -> Self {
        Self {
            shared,
            routing: SessionRouting::new(l.db),
            io: l.io,
            user: l.user,
            stage1: l.stage1,
            caps: l.caps,
            collation: l.collation,
            row: None,
            replica: None,
            column: None,
        }
    }

    async fn run(&mut self) -> Result<(), End> {
        let _open = m::OpenConnection::open();
        loop {
            let Some((_, payload)) = wire::read_packet(&mut self.io, wire::MAX_COMMAND).await?
            else {
                return Ok(());
            };
            let Some(&cmd) = payload.first() else {
                continue;
            };
            tracing::trace!(command = cmd, len = payload.len(), "client command");
            match cmd {
                command::QUIT => return Ok(()),
                command::PING => {
                    let ok = wire::ok_payload(self.status());
                    wire::write_packet(&mut self.io, &ok, 1).await?;
                }
                command::QUERY => self.query(&payload).await?,
                command::INIT_DB => self.init_db(&payload).await?,
                command::CHANGE_USER => {
                    self.error(
                        code::NOT_SUPPORTED,
                        "COM_CHANGE_USER is not supported through starkeep proxy; connect again",
                    )
                    .await?
                }
                command::RESET_CONNECTION => {
                    let done = self.on_row(&payload, Shape::Single).await?;
                    if done.is_some_and(|r| !r.failed) {
                        self.replica = None;
                        self.column = None;
                        let db = self.routing.database().map(str::to_owned);
                        self.routing = SessionRouting::new(db);
                    }
                }
                command::STMT_CLOSE | command::STMT_SEND_LONG_DATA => {
                    self.on_row(&payload, Shape::Nothing).await?;
                }
                command::STMT_PREPARE => {
                    let sql = String::from_utf8_lossy(&payload[1..]);
                    let analysis = self.shared.router.analyze(&sql);
                    record(&prepared_statement(), &analysis.fingerprint);
                    self.on_row(&payload, Shape::Prepare).await?;
                }
                command::STMT_EXECUTE => {
                    record(&prepared_statement(), "COM_STMT_EXECUTE");
                    self.on_row(&payload, Shape::Results).await?;
                }
                command::STMT_FETCH | command::FIELD_LIST => {
                    self.on_row(&payload, Shape::UntilTerminator).await?;
                }
                command::STMT_RESET | command::SET_OPTION | command::STATISTICS => {
                    self.on_row(&payload, Shape::Single).await?;
                }
                other => {
                    self.error(
                        code::UNKNOWN_COMMAND,
                        &format!("Unknown command {other:#04x} for starkeep proxy"),
                    )
                    .await?
                }
            }
        }
    }

    fn status(&self) -> StatusFlags {
        self.row
            .as_ref()
            .map(|r| r.status)
            .unwrap_or(StatusFlags::SERVER_STATUS_AUTOCOMMIT)
    }

    async fn error(&mut self, code: u16, message: &str) -> Result<(), End> {
        let err = wire::err_payload(code, b"HY000", message);
        wire::write_packet(&mut self.io, &err, 1).await?;
        Ok(())
    }

    fn login(&self) -> Login<'_> {
        Login {
            user: &self.user,
            stage1: &self.stage1,
            db: self.routing.database(),
            client_caps: self.caps,
            collation: self.collation,
        }
    }

    /// The row primary's connection, opened if needed. `Ok(false)`: it could not be opened and
    /// the client was told why.
    async fn ensure_row(&mut self) -> Result<bool, End> {
        if self.row.as_ref().is_some_and(|c| !c.is_idle_and_open()) {
            // It went away between statements: the session's transaction is gone with it.
            return Err(End::Backend("the row primary closed the connection".into()));
        }
        if self.row.is_some() {
            return Ok(true);
        }
        let addr = self.shared.config.row_primary.clone();
        let timeout = self.shared.config.connect_timeout;
        let tls = self.shared.config.row_tls.as_ref();
        match backend::connect(&addr, tls, &self.login(), timeout).await {
            Ok(conn) => {
                self.row = Some(conn);
                Ok(true)
            }
            Err(e) => {
                m::backend_error(NodeKind::RowPrimary);
                let (code, message) = match &e {
                    BackendError::Refused { code, message } => (*code, message.clone()),
                    other => (
                        code::UNKNOWN,
                        format!("The row store ({addr}) cannot be reached: {other}"),
                    ),
                };
                self.error(code, &message).await?;
                if code == code::ACCESS_DENIED {
                    return Err(End::Backend(message));
                }
                Ok(false)
            }
        }
    }

    /// Sends a command to the row primary and relays its answer; `None` if the row primary
    /// could not be reached (the client was told).
    async fn on_row(&mut self, payload: &[u8], shape: Shape) -> Result<Option<Relayed>, End> {
        if !self.ensure_row().await? {
            return Ok(None);
        }
        let row = self.row.as_mut().expect("opened");
        if let Err(e) = row.send_command(payload).await {
            self.row = None;
            m::backend_error(NodeKind::RowPrimary);
            return Err(End::Backend(format!("sending to the row primary: {e}")));
        }
        match relay::relay(row, &mut self.io, shape).await {
            Ok(done) => Ok(Some(done)),
            Err(RelayError::Client(e)) => Err(End::Client(e)),
            Err(RelayError::Backend { error, .. }) => {
                self.row = None;
                m::backend_error(NodeKind::RowPrimary);
                Err(End::Backend(format!("the row primary failed: {error}")))
            }
        }
    }

    async fn init_db(&mut self, payload: &[u8]) -> Result<(), End> {
        let db = String::from_utf8_lossy(&payload[1..]).into_owned();
        let done = self.on_row(payload, Shape::Single).await?;
        if done.is_some_and(|r| !r.failed) {
            self.routing.set_database(&db);
            self.follow_on_others(&SessionEffect::Use(db)).await;
        }
        Ok(())
    }

    async fn query(&mut self, payload: &[u8]) -> Result<(), End> {
        let sql = String::from_utf8_lossy(&payload[1..]).into_owned();
        let analysis = self.shared.router.analyze(&sql);
        let Some(decision) = self.decide(&sql, &analysis).await? else {
            return Ok(());
        };
        let (decision, done) = match decision.route {
            Route::RowPrimary => (decision, self.on_row(payload, Shape::Results).await?),
            Route::RowReplica | Route::Column => {
                let kind = if decision.route == Route::Column {
                    NodeKind::Column
                } else {
                    NodeKind::RowReplica
                };
                match self.off_primary(kind, payload).await? {
                    Some(done) => (decision, done),
                    None => {
                        let replica_up = self.shared.row_replicas.any_up();
                        let fallback = if kind == NodeKind::Column {
                            decision.column_failed(replica_up)
                        } else {
                            Decision {
                                route: Route::RowPrimary,
                                ..decision
                            }
                        };
                        m::fallback(kind);
                        let done = if fallback.route == Route::RowReplica {
                            match self.off_primary(NodeKind::RowReplica, payload).await? {
                                Some(done) => done,
                                None => self.on_row(payload, Shape::Results).await?,
                            }
                        } else {
                            self.on_row(payload, Shape::Results).await?
                        };
                        (fallback, done)
                    }
                }
            }
        };
        record(&decision, &analysis.fingerprint);
        if done.is_some_and(|r| !r.failed) && analysis.session != SessionEffect::None {
            self.routing.observe(&analysis);
            self.follow_on_others(&analysis.session).await;
        }
        Ok(())
    }

    /// The rules' decision, with `EXPLAIN` on the row primary when cost decides. `None`: the
    /// row primary could not be reached for the plan (the client was told).
    async fn decide(&mut self, sql: &str, analysis: &Analysis) -> Result<Option<Decision>, End> {
        let view = self.shared.view();
        let column_up = self.shared.columns.any_up();
        let replica_up = self.shared.row_replicas.any_up();
        let mirrored = view.mirrored.contains(&self.user);
        fn facts<'a>(
            view: &'a View,
            session: &'a SessionRouting,
            mirrored: bool,
            column_up: bool,
            replica_up: bool,
        ) -> Facts<'a> {
            Facts {
                sync_on: view.sync_on,
                account_mirrored: mirrored,
                session,
                column_tables: &view.column_tables,
                column_up,
                replica_up,
            }
        }
        let step = self.shared.router.decide(
            &facts(&view, &self.routing, mirrored, column_up, replica_up),
            analysis,
        );
        let decision = match step {
            Step::Decided(d) => d,
            Step::NeedsEstimate => {
                if !self.ensure_row().await? {
                    return Ok(None);
                }
                let row = self.row.as_mut().expect("opened");
                let json = match row.query(&explain_statement(sql)).await {
                    Ok(answer) => answer
                        .rows
                        .into_iter()
                        .next()
                        .and_then(|r| r.into_iter().next().flatten())
                        .map(|j| String::from_utf8_lossy(&j).into_owned())
                        .unwrap_or_default(),
                    Err(e) => {
                        self.row = None;
                        m::backend_error(NodeKind::RowPrimary);
                        return Err(End::Backend(format!("EXPLAIN at the row primary: {e}")));
                    }
                };
                self.shared.router.decide_by_explain(
                    &facts(&view, &self.routing, mirrored, column_up, replica_up),
                    analysis,
                    &json,
                )
            }
        };
        Ok(Some(decision))
    }

    /// Runs a read on a replica or a column node. `Ok(None)`: no node could take it before it
    /// was sent (the caller sends it to the row store).
    async fn off_primary(
        &mut self,
        kind: NodeKind,
        payload: &[u8],
    ) -> Result<Option<Option<Relayed>>, End> {
        let Some(addr) = self.ensure_node(kind).await else {
            return Ok(None);
        };
        let slot = match kind {
            NodeKind::Column => &mut self.column,
            _ => &mut self.replica,
        };
        let (_, conn) = slot.as_mut().expect("opened");
        if conn.send_command(payload).await.is_err() {
            // Whether the node got the statement is unknown: it is not sent again.
            *slot = None;
            self.node_failed(kind, &addr);
            self.error(code::BACKEND_LOST, "Lost connection to the backend")
                .await?;
            return Ok(Some(None));
        }
        match relay::relay(conn, &mut self.io, Shape::Results).await {
            Ok(done) => Ok(Some(Some(done))),
            Err(RelayError::Client(e)) => {
                *slot = None;
                Err(End::Client(e))
            }
            Err(RelayError::Backend { error, client_ok }) => {
                *slot = None;
                self.node_failed(kind, &addr);
                if client_ok {
                    Ok(Some(None))
                } else {
                    Err(End::Backend(format!(
                        "{} failed mid-answer: {error}",
                        kind.as_str()
                    )))
                }
            }
        }
    }

    fn node_failed(&self, kind: NodeKind, addr: &str) {
        m::backend_error(kind);
        let retry = self.shared.config.retry_down_after;
        match kind {
            NodeKind::Column => self.shared.columns.mark_down(addr, retry),
            NodeKind::RowReplica => self.shared.row_replicas.mark_down(addr, retry),
            NodeKind::RowPrimary => {}
        }
    }

    /// A usable connection to a node of `kind` (kept, or opened with the session's state);
    /// `None` if there is none.
    async fn ensure_node(&mut self, kind: NodeKind) -> Option<String> {
        let nodes = match kind {
            NodeKind::Column => &self.shared.columns,
            _ => &self.shared.row_replicas,
        };
        let kept = match kind {
            NodeKind::Column => &mut self.column,
            _ => &mut self.replica,
        };
        if let Some((addr, conn)) = kept {
            // A node removed from the instance since is left, even by sessions that use it.
            if conn.is_idle_and_open() && nodes.contains(addr) {
                return Some(addr.clone());
            }
            *kept = None;
        }
        let addr = nodes.pick()?;
        let timeout = self.shared.config.connect_timeout;
        let tls = match kind {
            NodeKind::Column => self.shared.config.column_tls.as_ref(),
            _ => self.shared.config.row_tls.as_ref(),
        };
        match backend::connect(&addr, tls, &self.login(), timeout).await {
            Ok(mut conn) => {
                nodes.mark_up(&addr);
                self.replay_state(&mut conn).await;
                let slot = match kind {
                    NodeKind::Column => &mut self.column,
                    _ => &mut self.replica,
                };
                *slot = Some((addr.clone(), conn));
                Some(addr)
            }
            Err(BackendError::Down(e)) => {
                tracing::warn!(node = %addr, kind = kind.as_str(), error = %e, "backend down");
                self.node_failed(kind, &addr);
                None
            }
            Err(e) => {
                // The node is up; this account or database is not served there.
                tracing::debug!(node = %addr, kind = kind.as_str(), error = %e, "backend refused the session");
                m::backend_error(kind);
                None
            }
        }
    }

    /// Gives a new connection the session's `SET NAMES` and variables, each on its own.
    async fn replay_state(&self, conn: &mut BackendConn) {
        let mut statements = Vec::new();
        if let Some((charset, collation)) = self.routing.names() {
            statements.push(names_statement(charset, collation));
        }
        for (name, value) in self.routing.variables() {
            statements.push(format!("SET SESSION {name} = {value}"));
        }
        for sql in statements {
            match conn.query(&sql).await {
                Ok(answer) if answer.error.is_none() => {}
                Ok(answer) => {
                    tracing::debug!(statement = %sql, error = ?answer.error, "session setting not taken by a backend");
                }
                Err(e) => {
                    tracing::debug!(statement = %sql, error = %e, "session setting not taken by a backend");
                }
            }
        }
    }

    /// Repeats a `USE` or `SET` that succeeded on the row primary on the other open
    /// connections; one that fails there loses its connection (it reopens with the state).
    async fn follow_on_others(&mut self, effect: &SessionEffect) {
        let statements: Vec<String> = match effect {
            SessionEffect::Use(db) => vec![format!("USE `{}`", db.replace('`', "``"))],
            SessionEffect::Set(settings) => settings
                .iter()
                .filter_map(|s| match s {
                    starkeep_routing::SessionSetting::Names { charset, collation } => {
                        Some(names_statement(charset.as_deref(), collation.as_deref()))
                    }
                    starkeep_routing::SessionSetting::Variable { name, value } => {
                        Some(format!("SET SESSION {name} = {value}"))
                    }
                    starkeep_routing::SessionSetting::Autocommit(_) => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        if statements.is_empty() {
            return;
        }
        for slot in [&mut self.column, &mut self.replica] {
            let Some((_, conn)) = slot else { continue };
            for sql in &statements {
                let taken = matches!(conn.query(sql).await, Ok(a) if a.error.is_none());
                // A database the node lacks: the connection goes (reads fall back until the
                // session is somewhere the node serves). A variable it lacks: left out.
                if !taken && sql.starts_with("USE") {
                    *slot = None;
                    break;
                }
            }
        }
    }
}

/// Counts a statement by route and rule and writes its debug line.
fn record(decision: &Decision, statement: &str) {
    m::statement(decision);
    tracing::debug!(
        target: "starkeep_proxy::route",
        route = decision.route.as_str(),
        rule = %decision.rule,
        estimate = ?decision.estimate,
        statement = %statement,
        "routed"
    );
}

/// Where the binary protocol's prepared statements go: the row primary, always (rule 1).
fn prepared_statement() -> Decision {
    Decision {
        route: Route::RowPrimary,
        rule: Rule::Pinned(RowReason::PreparedStatement),
        estimate: None,
    }
}

fn names_statement(charset: Option<&str>, collation: Option<&str>) -> String {
    match (charset, collation) {
        (Some(cs), Some(co)) => format!("SET NAMES {cs} COLLATE {co}"),
        (Some(cs), None) => format!("SET NAMES {cs}"),
        _ => "SET NAMES DEFAULT".to_owned(),
    }
}
