//! [`StarRocksStandIn`]: a test-only server that speaks the MySQL protocol and answers the
//! statements starkeep sends to a StarRocks frontend the way StarRocks' own FE source says a
//! frontend answers them. Users, roles, grants and databases live in memory.
//!
//! It is not an engine and never ships: it is a dev-dependency of the crates whose tests run the
//! `starrocks` engine over the wire. It knows the statements starkeep's StarRocks dialect,
//! registration and account sync send, a few a test sends to make things "by hand" behind
//! starkeep's back (`CREATE DATABASE`, `GRANT USAGE ON CATALOG …`, role grants), and nothing else:
//! anything else is answered with StarRocks' syntax error, so a statement starkeep starts to send
//! shows up as a failing test rather than a silent success.
//!
//! Sources (repository StarRocks/starrocks, `fe/fe-core/src/main/java/com/starrocks/…`), named at
//! each behaviour below:
//! - `sql/analyzer/AuthenticationAnalyzer.java`: CREATE/ALTER/DROP USER checks and their texts.
//! - `sql/analyzer/FeNameFormat.java`: the user name rule.
//! - `sql/analyzer/SemanticException.java`: "Getting analyzing error. Detail message: …".
//! - `mysql/MysqlErrPacket.java`: an error without an `ErrorCode` goes out as 1064, `HY000`.
//! - `common/ErrorCode.java`: `ERR_ACCESS_DENIED` (5203), `ERR_BAD_DB_ERROR` (5501).
//! - `authorization/ShowGrantsExecutor.java`: the rows of `SHOW GRANTS`, dropped objects left out.
//! - `authorization/TablePEntryObject.java`, `DbPEntryObject.java`: how objects print.
//! - `authorization/PrivilegeCollectionV2.java`: what GRANT and REVOKE do to a user's entries.
//! - `sql/analyzer/AuthorizationAnalyzer.java`: GRANT/REVOKE object resolution, SET ROLE.
//!
//! Every statement received is appended, one per line, to the file named by the environment
//! variable `STARROCKS_STANDIN_STATEMENTS` when it is set, and kept in memory for
//! [`StarRocksStandIn::statements`].

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The environment variable naming the file every received statement is appended to.
pub const STATEMENTS_ENV: &str = "STARROCKS_STANDIN_STATEMENTS";

/// The version a stand-in reports, as `current_version()` prints StarRocks' own version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StarRocksVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl StarRocksVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// Pipes (and so `CREATE PIPE` on a database) came with 3.2; older grammars refuse the word.
    fn has_pipes(self) -> bool {
        (self.major, self.minor) >= (3, 2)
    }
}

/// How a stand-in starts.
#[derive(Debug, Clone)]
pub struct StandInConfig {
    pub version: StarRocksVersion,
    /// root's password (root exists from the start, with the `root` role as its default role).
    pub root_password: String,
    /// Databases that exist from the start, besides the system ones.
    pub databases: Vec<String>,
}

impl Default for StandInConfig {
    fn default() -> Self {
        Self {
            version: StarRocksVersion::new(3, 3, 2),
            root_password: String::new(),
            databases: Vec::new(),
        }
    }
}

/// Something a test arranges to happen when a statement arrives.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// Before the statement runs, root runs this one in a session of its own: a change made
    /// behind the client's back (a name taken, a grant revoked) between its read and its write.
    Execute(String),
    /// The connection is cut before the statement runs: the client never hears an answer, and
    /// the statement never ran.
    CutConnection,
}

/// A running stand-in; it stops when dropped.
pub struct StarRocksStandIn {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    accept: JoinHandle<()>,
}

impl Drop for StarRocksStandIn {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl StarRocksStandIn {
    /// Starts a stand-in on a free loopback port.
    pub async fn start(config: StandInConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::new(&config)));
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            let mut next_id = 1u32;
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                let id = next_id;
                next_id += 1;
                tokio::spawn(async move {
                    let _ = serve(stream, id, state).await;
                });
            }
        });
        Ok(Self {
            addr,
            state,
            accept,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `mysql://root@127.0.0.1:<port>`, as starkeep's registration takes it.
    pub fn root_dsn(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port())
    }

    /// Every statement received so far, in order.
    pub fn statements(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// Arranges `trigger` for the next statement that starts with `prefix` (compared without
    /// regard to case); it fires once.
    pub fn on_statement(&self, prefix: &str, trigger: Trigger) {
        self.lock()
            .triggers
            .push((prefix.to_ascii_uppercase(), trigger));
    }

    /// Whether `'<name>'@'%'` exists.
    pub fn has_user(&self, name: &str) -> bool {
        self.lock()
            .users
            .contains_key(&(name.to_owned(), "%".to_owned()))
    }

    /// The `Grants` column of `SHOW GRANTS FOR '<name>'@'%'`, as the stand-in would answer it.
    pub fn grant_lines(&self, name: &str) -> Vec<String> {
        let state = self.lock();
        state
            .show_grants(&(name.to_owned(), "%".to_owned()))
            .unwrap_or_default()
            .into_iter()
            .map(|row| row[2].clone().unwrap_or_default())
            .collect()
    }

    /// The stored `mysql_native_password` hash of `'<name>'@'%'` (`*` and 40 hex digits).
    pub fn password_hash(&self, name: &str) -> Option<String> {
        self.lock()
            .users
            .get(&(name.to_owned(), "%".to_owned()))
            .map(|u| u.hash.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("stand-in state poisoned")
    }
}

type Identity = (String, String);

/// An object a privilege entry is on. Databases are held by id, as StarRocks holds them by
/// UUID (`DbPEntryObject.java`): a database dropped and made again is a new object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Object {
    /// `ALL <kind> IN ALL DATABASES` (`None`) or `ALL <kind> IN DATABASE db` (`Some(id)`).
    AllIn(Kind, Option<u64>),
    /// `TABLE db.t`: one table.
    Table(u64, String),
    /// `ALL DATABASES` (`None`) or `DATABASE db`.
    Database(Option<u64>),
    /// `CATALOG default_catalog`.
    Catalog,
    System,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Tables,
    Views,
    MaterializedViews,
}

impl Kind {
    fn plural(self) -> &'static str {
        match self {
            Kind::Tables => "TABLES",
            Kind::Views => "VIEWS",
            Kind::MaterializedViews => "MATERIALIZED VIEWS",
        }
    }
}

impl Object {
    /// The privileges valid on this object, in the order `SHOW GRANTS` prints them (the
    /// provider's order, `authorization/DefaultAuthorizationProvider.java`).
    fn privileges(&self, version: StarRocksVersion) -> Vec<&'static str> {
        match self {
            Object::AllIn(Kind::Tables, _) | Object::Table(..) => vec![
                "DELETE", "DROP", "INSERT", "SELECT", "ALTER", "EXPORT", "UPDATE",
            ],
            Object::AllIn(Kind::Views, _) => vec!["SELECT", "ALTER", "DROP"],
            Object::AllIn(Kind::MaterializedViews, _) => {
                vec!["ALTER", "REFRESH", "DROP", "SELECT"]
            }
            Object::Database(_) => {
                let mut all = vec![
                    "CREATE TABLE",
                    "DROP",
                    "ALTER",
                    "CREATE VIEW",
                    "CREATE FUNCTION",
                    "CREATE MATERIALIZED VIEW",
                ];
                if version.has_pipes() {
                    all.push("CREATE PIPE");
                }
                all
            }
            Object::Catalog => vec!["USAGE", "CREATE DATABASE", "DROP", "ALTER"],
            Object::System => vec![
                "GRANT",
                "NODE",
                "CREATE RESOURCE",
                "PLUGIN",
                "FILE",
                "BLACKLIST",
                "OPERATE",
                "CREATE EXTERNAL CATALOG",
                "REPOSITORY",
                "CREATE RESOURCE GROUP",
                "CREATE GLOBAL FUNCTION",
                "CREATE STORAGE VOLUME",
                "SECURITY",
            ],
        }
    }

    /// The object type's name, as `PrivilegeCollectionV2.revoke` puts it before a single object.
    fn type_name(&self) -> &'static str {
        match self {
            Object::AllIn(Kind::Tables, _) | Object::Table(..) => "TABLE",
            Object::AllIn(Kind::Views, _) => "VIEW",
            Object::AllIn(Kind::MaterializedViews, _) => "MATERIALIZED_VIEW",
            Object::Database(_) => "DATABASE",
            Object::Catalog => "CATALOG",
            Object::System => "SYSTEM",
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    object: Object,
    privileges: BTreeSet<&'static str>,
    grant_option: bool,
}

#[derive(Debug, Clone)]
struct User {
    /// `*` and 40 upper-case hex digits; empty for no password.
    hash: String,
    roles: BTreeSet<String>,
    default_roles: BTreeSet<String>,
    entries: Vec<Entry>,
}

struct State {
    version: StarRocksVersion,
    users: BTreeMap<Identity, User>,
    roles: BTreeSet<String>,
    /// Live databases by name, with their ids.
    databases: BTreeMap<String, u64>,
    next_db_id: u64,
    log: Vec<String>,
    triggers: Vec<(String, Trigger)>,
}

/// A statement's error: code, SQL state, message.
#[derive(Debug)]
struct SqlError(u16, &'static str, String);

/// `SemanticException.getMessage()` with no position, sent without an `ErrorCode` and so as
/// 1064/`HY000` (`MysqlErrPacket.java`).
fn analyzing(detail: impl std::fmt::Display) -> SqlError {
    SqlError(
        1064,
        "HY000",
        format!("Getting analyzing error. Detail message: {detail}."),
    )
}

/// The parser's answer to what its grammar (`StarRocks.g4`) does not take.
fn syntax(near: &str) -> SqlError {
    SqlError(
        1064,
        "HY000",
        format!("Getting syntax error at line 1. Detail message: Unexpected input '{near}'."),
    )
}

/// What a statement answers: OK, or a result set.
enum Answer {
    Ok,
    Rows(Vec<&'static str>, Vec<Vec<Option<String>>>),
}

fn identity_text((user, host): &Identity) -> String {
    format!("'{user}'@'{host}'")
}

fn native_hash(password: &str) -> String {
    if password.is_empty() {
        return String::new();
    }
    let stage2 = Sha1::digest(Sha1::digest(password.as_bytes()));
    format!("*{}", hex_upper(&stage2))
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

impl State {
    fn new(config: &StandInConfig) -> Self {
        let mut state = Self {
            version: config.version,
            users: BTreeMap::new(),
            // The built-in roles (`authorization/PrivilegeBuiltinConstants.java`).
            roles: [
                "root",
                "db_admin",
                "user_admin",
                "cluster_admin",
                "security_admin",
                "public",
            ]
            .map(String::from)
            .into(),
            databases: BTreeMap::new(),
            next_db_id: 10_000,
            log: Vec::new(),
            triggers: Vec::new(),
        };
        // The system databases SHOW DATABASES lists on a 3.x frontend.
        for db in ["_statistics_", "information_schema", "sys"]
            .into_iter()
            .map(str::to_owned)
            .chain(config.databases.iter().cloned())
        {
            state.add_database(&db);
        }
        let root_roles: BTreeSet<String> = ["root".to_owned()].into();
        state.users.insert(
            ("root".into(), "%".into()),
            User {
                hash: native_hash(&config.root_password),
                roles: root_roles.clone(),
                default_roles: root_roles,
                entries: Vec::new(),
            },
        );
        state
    }

    fn add_database(&mut self, name: &str) {
        self.databases.insert(name.to_owned(), self.next_db_id);
        self.next_db_id += 1;
    }

    fn db_name(&self, id: u64) -> Option<&str> {
        self.databases
            .iter()
            .find(|(_, v)| **v == id)
            .map(|(k, _)| k.as_str())
    }

    /// How an object prints in a `Grants` cell (`TablePEntryObject.toStringImpl`,
    /// `DbPEntryObject.toString`: database names without quotes); `None` when its database is
    /// gone (`MetaNotFoundException`, which `ShowGrantsExecutor` skips).
    fn object_text(&self, object: &Object) -> Option<String> {
        Some(match object {
            Object::AllIn(kind, None) => format!("ALL {} IN ALL DATABASES", kind.plural()),
            Object::AllIn(kind, Some(id)) => {
                format!("ALL {} IN DATABASE {}", kind.plural(), self.db_name(*id)?)
            }
            Object::Table(id, table) => format!("TABLE {}.{table}", self.db_name(*id)?),
            Object::Database(None) => "ALL DATABASES".into(),
            Object::Database(Some(id)) => format!("DATABASE {}", self.db_name(*id)?),
            Object::Catalog => "CATALOG default_catalog".into(),
            Object::System => "SYSTEM".into(),
        })
    }

    /// `SHOW GRANTS FOR` rows (`ShowGrantsExecutor.execute`): the role row first (Catalog NULL),
    /// then one row per entry (Catalog `default_catalog`: every object here is in the internal
    /// catalog, `getCatalogNameFromPEntry`), entries on dropped databases left out.
    fn show_grants(&self, who: &Identity) -> Option<Vec<Vec<Option<String>>>> {
        let user = self.users.get(who)?;
        let shown = identity_text(who);
        let mut rows = Vec::new();
        if !user.roles.is_empty() {
            let roles: Vec<String> = user.roles.iter().map(|r| format!("'{r}'")).collect();
            rows.push(vec![
                Some(shown.clone()),
                None,
                Some(format!("GRANT {} TO {shown}", roles.join(", "))),
            ]);
        }
        for entry in &user.entries {
            let Some(object) = self.object_text(&entry.object) else {
                continue;
            };
            let privileges: Vec<&str> = entry
                .object
                .privileges(self.version)
                .into_iter()
                .filter(|p| entry.privileges.contains(p))
                .collect();
            let mut text = format!(
                "GRANT {} ON {object} TO USER {shown}",
                privileges.join(", ")
            );
            if entry.grant_option {
                text.push_str(" WITH GRANT OPTION");
            }
            rows.push(vec![
                Some(shown.clone()),
                Some("default_catalog".into()),
                Some(text),
            ]);
        }
        Some(rows)
    }

    /// Whether `who`'s session may manage users: root, or an active `root` / `user_admin` role.
    fn may_manage_users(&self, who: &Identity, active: &BTreeSet<String>) -> bool {
        who.0 == "root" || active.contains("root") || active.contains("user_admin")
    }

    /// `ERR_ACCESS_DENIED` (`ErrorCode.java`, 5203/42000) with its hint, for a session that
    /// lacks the privilege; roles print as Java lists print them.
    fn access_denied(&self, who: &Identity, active: &BTreeSet<String>) -> SqlError {
        let list = |set: &BTreeSet<String>| {
            if set.is_empty() {
                "NONE".to_owned()
            } else {
                format!("[{}]", set.iter().cloned().collect::<Vec<_>>().join(", "))
            }
        };
        let inactive: BTreeSet<String> = self
            .users
            .get(who)
            .map(|u| u.roles.difference(active).cloned().collect())
            .unwrap_or_default();
        SqlError(
            5203,
            "42000",
            format!(
                "Access denied; you need (at least one of) the GRANT privilege(s) on SYSTEM for \
                 this operation. Please ask the admin to grant permission(s) or try activating \
                 existing roles using <set [default] role>. Current role(s): {}. Inactivated \
                 role(s): {}.",
                list(active),
                list(&inactive)
            ),
        )
    }
}

/// One connection's session.
struct Session {
    who: Identity,
    active_roles: BTreeSet<String>,
}

async fn serve(mut stream: TcpStream, id: u32, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let scramble: [u8; 20] = std::array::from_fn(|_| rand::random::<u8>() % 94 + 33);
    write_packet(&mut stream, 0, &handshake(id, &scramble)).await?;
    let (seq, response) = read_packet(&mut stream).await?;
    let Some((user, token)) = parse_handshake_response(&response) else {
        return Ok(());
    };
    let who: Identity = (user, "%".into());
    let authenticated = {
        let state = state.lock().expect("poisoned");
        state.users.get(&who).map(|u| {
            (
                check_native(&u.hash, &scramble, &token),
                u.default_roles.clone(),
            )
        })
    };
    let active_roles = match authenticated {
        Some((true, roles)) => roles,
        _ => {
            // `ERR_AUTHENTICATION_FAIL` (ErrorCode.java, 1045/28000).
            let message = format!(
                "Access denied for user '{}' (using password: {})",
                who.0,
                if token.is_empty() { "NO" } else { "YES" }
            );
            write_packet(&mut stream, seq + 1, &err_packet(1045, "28000", &message)).await?;
            return Ok(());
        }
    };
    write_packet(&mut stream, seq + 1, &ok_packet()).await?;
    let mut session = Session { who, active_roles };
    loop {
        let (_, packet) = match read_packet(&mut stream).await {
            Ok(p) => p,
            Err(_) => return Ok(()),
        };
        let Some((&command, body)) = packet.split_first() else {
            return Ok(());
        };
        match command {
            // COM_QUIT
            0x01 => return Ok(()),
            // COM_QUERY
            0x03 => {
                let text = String::from_utf8_lossy(body).into_owned();
                let outcome = {
                    let mut state = state.lock().expect("poisoned");
                    record(&mut state, &text);
                    let fired = take_trigger(&mut state, &text);
                    match fired {
                        Some(Trigger::CutConnection) => None,
                        Some(Trigger::Execute(statement)) => {
                            let mut root = Session {
                                who: ("root".into(), "%".into()),
                                active_roles: ["root".to_owned()].into(),
                            };
                            if let Err(SqlError(code, _, message)) =
                                execute(&mut state, &mut root, &statement)
                            {
                                panic!(
                                    "the stand-in's trigger {statement:?} failed: {code} {message}"
                                );
                            }
                            Some(execute(&mut state, &mut session, &text))
                        }
                        None => Some(execute(&mut state, &mut session, &text)),
                    }
                };
                match outcome {
                    None => return Ok(()),
                    Some(Ok(Answer::Ok)) => write_packet(&mut stream, 1, &ok_packet()).await?,
                    Some(Ok(Answer::Rows(columns, rows))) => {
                        write_rows(&mut stream, &columns, &rows).await?
                    }
                    Some(Err(SqlError(code, state, message))) => {
                        write_packet(&mut stream, 1, &err_packet(code, state, &message)).await?
                    }
                }
            }
            // COM_PING, COM_INIT_DB, COM_RESET_CONNECTION
            0x0e | 0x02 | 0x1f => write_packet(&mut stream, 1, &ok_packet()).await?,
            _ => {
                write_packet(
                    &mut stream,
                    1,
                    &err_packet(1047, "08S01", "Unknown command"),
                )
                .await?
            }
        }
    }
}

fn record(state: &mut State, text: &str) {
    let line = text.replace(['\n', '\r'], " ");
    if let Ok(path) = std::env::var(STATEMENTS_ENV) {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{line}");
        }
    }
    state.log.push(line);
}

fn take_trigger(state: &mut State, text: &str) -> Option<Trigger> {
    let upper = text.trim().to_ascii_uppercase();
    let at = state
        .triggers
        .iter()
        .position(|(prefix, _)| upper.starts_with(prefix.as_str()))?;
    Some(state.triggers.remove(at).1)
}

/// mysql_native_password: the client sends SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))).
fn check_native(hash: &str, scramble: &[u8], token: &[u8]) -> bool {
    if hash.is_empty() {
        return token.is_empty();
    }
    let Some(stage2) = hash.strip_prefix('*').and_then(decode_hex) else {
        return false;
    };
    if token.len() != 20 {
        return false;
    }
    let mut mix = Sha1::new();
    mix.update(scramble);
    mix.update(&stage2);
    let mix = mix.finalize();
    let stage1: Vec<u8> = token.iter().zip(mix.iter()).map(|(a, b)| a ^ b).collect();
    Sha1::digest(&stage1).as_slice() == stage2.as_slice()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

// ---- Statements -------------------------------------------------------------------------------

/// A token of the statement text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    /// `'...'` or `"..."`.
    Str(String),
    /// `` `...` ``, with every backtick inside dropped as StarRocks' AstBuilder drops them.
    Quoted(String),
    Punct(char),
}

fn tokenize(text: &str) -> Result<Vec<Token>, SqlError> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ';' {
            i += 1;
        } else if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                let Some(&d) = chars.get(i) else {
                    return Err(syntax("'"));
                };
                if d == '\\' {
                    if let Some(&e) = chars.get(i + 1) {
                        s.push(e);
                    }
                    i += 2;
                } else if d == c && chars.get(i + 1) == Some(&c) {
                    s.push(c);
                    i += 2;
                } else if d == c {
                    i += 1;
                    break;
                } else {
                    s.push(d);
                    i += 1;
                }
            }
            out.push(Token::Str(s));
        } else if c == '`' {
            // StarRocks.g4's BACKQUOTED_IDENTIFIER takes doubled backticks inside; the AST
            // builder then removes every backtick from the text, so `a``b` names `ab`.
            let mut s = String::new();
            i += 1;
            loop {
                let Some(&d) = chars.get(i) else {
                    return Err(syntax("`"));
                };
                if d == '`' && chars.get(i + 1) == Some(&'`') {
                    i += 2;
                } else if d == '`' {
                    i += 1;
                    break;
                } else {
                    s.push(d);
                    i += 1;
                }
            }
            out.push(Token::Quoted(s));
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let mut s = String::new();
            while let Some(&d) = chars.get(i) {
                if d.is_alphanumeric() || d == '_' || d == '$' {
                    s.push(d);
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(Token::Word(s));
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    Ok(out)
}

/// A cursor over a statement's tokens.
struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if self.peek_word(word) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_words(&mut self, words: &[&str]) -> bool {
        let save = self.at;
        for w in words {
            if !self.eat_word(w) {
                self.at = save;
                return false;
            }
        }
        true
    }

    fn expect_word(&mut self, word: &str) -> Result<(), SqlError> {
        if self.eat_word(word) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Punct(c)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn unexpected(&self) -> SqlError {
        match self.peek() {
            Some(Token::Word(w)) => syntax(w),
            Some(Token::Str(s)) => syntax(&format!("'{s}'")),
            Some(Token::Quoted(s)) => syntax(&format!("`{s}`")),
            Some(Token::Punct(c)) => syntax(&c.to_string()),
            None => syntax("<EOF>"),
        }
    }

    fn done(&self) -> Result<(), SqlError> {
        if self.at == self.tokens.len() {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// An identifier: a word or a backquoted name.
    fn identifier(&mut self) -> Result<String, SqlError> {
        match self.peek().cloned() {
            Some(Token::Word(w)) | Some(Token::Quoted(w)) => {
                self.at += 1;
                Ok(w)
            }
            _ => Err(self.unexpected()),
        }
    }

    /// A name that may also be a string (`'u'`, `` `u` `` or `u`).
    fn name(&mut self) -> Result<String, SqlError> {
        match self.peek().cloned() {
            Some(Token::Str(s)) => {
                self.at += 1;
                Ok(s)
            }
            _ => self.identifier(),
        }
    }

    fn string(&mut self) -> Result<String, SqlError> {
        match self.peek().cloned() {
            Some(Token::Str(s)) => {
                self.at += 1;
                Ok(s)
            }
            _ => Err(self.unexpected()),
        }
    }

    /// `user_identity`: `name[@host]`, the host `%` when left out (StarRocks.g4 `user`).
    fn identity(&mut self) -> Result<Identity, SqlError> {
        let user = self.name()?;
        let host = if self.eat_punct('@') {
            self.name()?
        } else {
            "%".to_owned()
        };
        Ok((user, host))
    }
}

fn execute(state: &mut State, session: &mut Session, text: &str) -> Result<Answer, SqlError> {
    let mut p = Parser {
        tokens: tokenize(text)?,
        at: 0,
    };
    if p.eat_word("SHOW") {
        return show(state, session, &mut p);
    }
    if p.eat_word("SELECT") {
        return select(state, session, &mut p);
    }
    if p.eat_word("SET") {
        return set(state, session, &mut p);
    }
    if p.eat_word("CREATE") {
        if p.eat_word("USER") {
            return create_user(state, session, &mut p);
        }
        if p.eat_word("DATABASE") {
            let if_not_exists = p.eat_words(&["IF", "NOT", "EXISTS"]);
            let name = p.identifier()?;
            p.done()?;
            if state.databases.contains_key(&name) {
                if if_not_exists {
                    return Ok(Answer::Ok);
                }
                // ERR_DB_CREATE_EXISTS (ErrorCode.java, 1007).
                return Err(SqlError(
                    1007,
                    "HY000",
                    format!("Can't create database '{name}'; database exists"),
                ));
            }
            state.add_database(&name);
            return Ok(Answer::Ok);
        }
        return Err(p.unexpected());
    }
    if p.eat_word("DROP") {
        if p.eat_word("USER") {
            let if_exists = p.eat_words(&["IF", "EXISTS"]);
            let who = p.identity()?;
            p.done()?;
            require_user_admin(state, session)?;
            check_user_name(&who.0)?;
            // AuthenticationAnalyzer.visitDropUserStatement: checkUserExist, then root refused.
            if !state.users.contains_key(&who) {
                if if_exists {
                    return Ok(Answer::Ok);
                }
                return Err(analyzing(format!(
                    "cannot find user {}!",
                    identity_text(&who)
                )));
            }
            if who.0 == "root" {
                return Err(analyzing(
                    "Operation DROP USER failed for 'root'@'%' : cannot drop user 'root'@'%'",
                ));
            }
            state.users.remove(&who);
            return Ok(Answer::Ok);
        }
        if p.eat_word("DATABASE") {
            let if_exists = p.eat_words(&["IF", "EXISTS"]);
            let name = p.identifier()?;
            p.done()?;
            if state.databases.remove(&name).is_none() && !if_exists {
                // ERR_DB_DROP_EXISTS (ErrorCode.java, 1008).
                return Err(SqlError(
                    1008,
                    "HY000",
                    format!("Can't drop database '{name}'; database doesn't exist"),
                ));
            }
            return Ok(Answer::Ok);
        }
        return Err(p.unexpected());
    }
    if p.eat_word("ALTER") {
        p.expect_word("USER")?;
        let if_exists = p.eat_words(&["IF", "EXISTS"]);
        let who = p.identity()?;
        let hash = auth_option(&mut p)?.unwrap_or_default();
        p.done()?;
        require_user_admin(state, session)?;
        check_user_name(&who.0)?;
        // AuthenticationAnalyzer.visitAlterUserStatement: checkUserExist.
        match state.users.get_mut(&who) {
            Some(user) => user.hash = hash,
            None if if_exists => {}
            None => {
                return Err(analyzing(format!(
                    "cannot find user {}!",
                    identity_text(&who)
                )))
            }
        }
        return Ok(Answer::Ok);
    }
    if p.eat_word("GRANT") {
        return grant_or_revoke(state, session, &mut p, true);
    }
    if p.eat_word("REVOKE") {
        return grant_or_revoke(state, session, &mut p, false);
    }
    Err(p.unexpected())
}

fn require_user_admin(state: &State, session: &Session) -> Result<(), SqlError> {
    if state.may_manage_users(&session.who, &session.active_roles) {
        Ok(())
    } else {
        Err(state.access_denied(&session.who, &session.active_roles))
    }
}

/// `FeNameFormat.checkUserName`: `^\w{1,64}/?[.\w-]{0,63}$` (Java's `\w`: ASCII letters,
/// digits, `_`), at most 64 characters.
pub fn is_valid_user_name(name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if name.is_empty() || name.chars().count() > 64 {
        return false;
    }
    let head_len = name.chars().take_while(|c| word(*c)).count();
    if head_len == 0 || head_len > 64 {
        return false;
    }
    let rest = &name[head_len..];
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    rest.chars().count() <= 63 && rest.chars().all(|c| word(c) || c == '.' || c == '-')
}

fn check_user_name(name: &str) -> Result<(), SqlError> {
    if is_valid_user_name(name) {
        Ok(())
    } else {
        Err(analyzing(format!("invalid user name: {name}")))
    }
}

/// `IDENTIFIED BY [PASSWORD] 'x' | IDENTIFIED WITH plugin [BY|AS 'x']`, as the stored hash.
fn auth_option(p: &mut Parser) -> Result<Option<String>, SqlError> {
    if !p.eat_word("IDENTIFIED") {
        return Ok(None);
    }
    if p.eat_word("BY") {
        if p.eat_word("PASSWORD") {
            return Ok(Some(p.string()?.to_ascii_uppercase()));
        }
        return Ok(Some(native_hash(&p.string()?)));
    }
    p.expect_word("WITH")?;
    let plugin = p.name()?;
    if !plugin.eq_ignore_ascii_case("mysql_native_password") {
        // UserAuthOptionAnalyzer: only the native plugin is known here.
        return Err(analyzing(format!(
            "Unsupported authentication plugin {plugin}"
        )));
    }
    if p.eat_word("AS") {
        let hash = p.string()?;
        // ERR_PASSWD_LENGTH (ErrorCode.java): a ciphertext is `*` and 40 hex digits.
        let ok = hash.len() == 41
            && hash.starts_with('*')
            && hash[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !ok && !hash.is_empty() {
            return Err(SqlError(
                5201,
                "HY000",
                "Password hash should be a 41-digit hexadecimal number".into(),
            ));
        }
        return Ok(Some(hash.to_ascii_uppercase()));
    }
    if p.eat_word("BY") {
        return Ok(Some(native_hash(&p.string()?)));
    }
    Ok(Some(String::new()))
}

fn create_user(state: &mut State, session: &Session, p: &mut Parser) -> Result<Answer, SqlError> {
    let if_not_exists = p.eat_words(&["IF", "NOT", "EXISTS"]);
    let who = p.identity()?;
    let hash = auth_option(p)?.unwrap_or_default();
    let mut default_roles = BTreeSet::new();
    if p.eat_words(&["DEFAULT", "ROLE"]) {
        loop {
            default_roles.insert(p.name()?);
            if !p.eat_punct(',') {
                break;
            }
        }
    }
    p.done()?;
    require_user_admin(state, session)?;
    // AuthenticationAnalyzer.visitCreateUserStatement: the name rule, then checkUserNotExist.
    check_user_name(&who.0)?;
    if state.users.contains_key(&who) {
        if if_not_exists {
            return Ok(Answer::Ok);
        }
        return Err(analyzing(format!(
            "user {} already exists!",
            identity_text(&who)
        )));
    }
    for role in &default_roles {
        if !state.roles.contains(role) {
            return Err(analyzing(format!(
                "Valid role name fail: cannot find role {role}!"
            )));
        }
    }
    // Every user holds `public` (AuthorizationMgr.onCreateUser).
    let mut roles: BTreeSet<String> = default_roles.clone();
    roles.insert("public".into());
    state.users.insert(
        who,
        User {
            hash,
            roles,
            default_roles,
            entries: Vec::new(),
        },
    );
    Ok(Answer::Ok)
}

fn show(state: &State, session: &Session, p: &mut Parser) -> Result<Answer, SqlError> {
    if p.eat_word("USERS") {
        p.done()?;
        require_user_admin(state, session)?;
        // ShowUserStmt: one column, `User`, the identities as `'u'@'h'`.
        let rows = state
            .users
            .keys()
            .map(|who| vec![Some(identity_text(who))])
            .collect();
        return Ok(Answer::Rows(vec!["User"], rows));
    }
    if p.eat_word("DATABASES") {
        p.done()?;
        let rows = state
            .databases
            .keys()
            .map(|db| vec![Some(db.clone())])
            .collect();
        return Ok(Answer::Rows(vec!["Database"], rows));
    }
    if p.eat_word("GRANTS") {
        let who = if p.eat_word("FOR") {
            let who = p.identity()?;
            if who != session.who {
                require_user_admin(state, session)?;
            }
            who
        } else {
            session.who.clone()
        };
        p.done()?;
        let rows = state
            .show_grants(&who)
            .ok_or_else(|| analyzing(format!("cannot find user {}!", identity_text(&who))))?;
        return Ok(Answer::Rows(
            vec!["UserIdentity", "Catalog", "Grants"],
            rows,
        ));
    }
    Err(p.unexpected())
}

fn select(state: &State, session: &Session, p: &mut Parser) -> Result<Answer, SqlError> {
    // `SELECT @@a, @@b` (what a MySQL client asks at connect).
    if p.peek() == Some(&Token::Punct('@')) {
        let mut columns = Vec::new();
        let mut row = Vec::new();
        loop {
            if !(p.eat_punct('@') && p.eat_punct('@')) {
                return Err(p.unexpected());
            }
            let name = p.identifier()?;
            let (column, value) = match name.to_ascii_lowercase().as_str() {
                "max_allowed_packet" => ("@@max_allowed_packet", Some("33554432".to_owned())),
                "wait_timeout" => ("@@wait_timeout", Some("28800".to_owned())),
                "version_comment" => ("@@version_comment", Some("StarRocks".to_owned())),
                _ => ("@@unknown", None),
            };
            columns.push(column);
            row.push(value);
            if !p.eat_punct(',') {
                break;
            }
        }
        p.done()?;
        return Ok(Answer::Rows(columns, vec![row]));
    }
    let function = p.identifier()?;
    if !(p.eat_punct('(') && p.eat_punct(')')) {
        if function == "1" {
            p.done()?;
            return Ok(Answer::Rows(vec!["1"], vec![vec![Some("1".into())]]));
        }
        return Err(p.unexpected());
    }
    p.done()?;
    let v = state.version;
    let (column, value) = match function.to_ascii_lowercase().as_str() {
        // `version()` answers the MySQL server version a frontend claims (Config's
        // `mysql_server_version`), not StarRocks' own.
        "version" => ("version()", "8.0.33".to_owned()),
        // `current_version()`: StarRocks' version and commit (`Version.java`).
        "current_version" => (
            "current_version()",
            format!("{}.{}.{} 0123abc", v.major, v.minor, v.patch),
        ),
        // `current_role()`: the session's active roles, comma-separated, or NONE.
        "current_role" => (
            "current_role()",
            if session.active_roles.is_empty() {
                "NONE".to_owned()
            } else {
                session
                    .active_roles
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
        _ => {
            return Err(analyzing(format!(
                "No matching function with signature: {function}()"
            )))
        }
    };
    Ok(Answer::Rows(vec![column], vec![vec![Some(value)]]))
}

/// `SET ROLE ALL | NONE | 'r' [, ...]` (SetRoleExecutor) and
/// `SET DEFAULT ROLE ALL | NONE | 'r' [, ...] TO user` (SetDefaultRoleExecutor).
fn set(state: &mut State, session: &mut Session, p: &mut Parser) -> Result<Answer, SqlError> {
    let default = p.eat_word("DEFAULT");
    p.expect_word("ROLE")?;
    let mut all = false;
    let mut roles = BTreeSet::new();
    if p.eat_word("ALL") {
        all = true;
    } else if !p.eat_word("NONE") {
        loop {
            roles.insert(p.name()?);
            if !p.eat_punct(',') {
                break;
            }
        }
    }
    let who = if default {
        p.expect_word("TO")?;
        p.identity()?
    } else {
        session.who.clone()
    };
    p.done()?;
    let granted = state
        .users
        .get(&who)
        .map(|u| u.roles.clone())
        .ok_or_else(|| analyzing(format!("cannot find user {}!", identity_text(&who))))?;
    let chosen = if all { granted.clone() } else { roles };
    // AuthorizationAnalyzer.visitSetDefaultRoleStatement: each role must be granted.
    if let Some(missing) = chosen.iter().find(|r| !granted.contains(*r)) {
        return Err(analyzing(format!(
            "Role {missing} is not granted to {}",
            identity_text(&who)
        )));
    }
    if default {
        if who != session.who {
            require_user_admin(state, session)?;
        }
        if let Some(user) = state.users.get_mut(&who) {
            user.default_roles = chosen;
        }
    } else {
        session.active_roles = chosen;
    }
    Ok(Answer::Ok)
}

/// The privilege list of a GRANT or REVOKE, up to `ON`: names upper case, words joined by one
/// space, `_` read as a space (the grammar takes both).
fn privilege_list(p: &mut Parser) -> Result<Vec<String>, SqlError> {
    let mut list = Vec::new();
    let mut words: Vec<String> = Vec::new();
    loop {
        match p.peek().cloned() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("ON") => {
                p.at += 1;
                break;
            }
            Some(Token::Word(w)) => {
                words.push(w.to_ascii_uppercase().replace('_', " "));
                p.at += 1;
            }
            Some(Token::Punct(',')) => {
                p.at += 1;
                list.push(words.join(" "));
                words.clear();
            }
            _ => return Err(p.unexpected()),
        }
    }
    list.push(words.join(" "));
    if list.iter().any(String::is_empty) {
        return Err(syntax("ON"));
    }
    Ok(list)
}

/// The object after `ON`, resolved against the live databases (DbPEntryObject.generate: an
/// unknown database is "cannot find db").
fn object(state: &State, p: &mut Parser) -> Result<Object, SqlError> {
    let database = |p: &mut Parser| -> Result<u64, SqlError> {
        let name = p.identifier()?;
        state
            .databases
            .get(&name)
            .copied()
            .ok_or_else(|| analyzing(format!("cannot find db: {name}")))
    };
    if p.eat_word("ALL") {
        let kind = if p.eat_word("TABLES") {
            Kind::Tables
        } else if p.eat_word("VIEWS") {
            Kind::Views
        } else if p.eat_words(&["MATERIALIZED", "VIEWS"]) {
            Kind::MaterializedViews
        } else if p.eat_word("DATABASES") {
            return Ok(Object::Database(None));
        } else {
            return Err(p.unexpected());
        };
        p.expect_word("IN")?;
        if p.eat_words(&["ALL", "DATABASES"]) {
            return Ok(Object::AllIn(kind, None));
        }
        p.expect_word("DATABASE")?;
        return Ok(Object::AllIn(kind, Some(database(p)?)));
    }
    if p.eat_word("DATABASE") {
        return Ok(Object::Database(Some(database(p)?)));
    }
    if p.eat_word("CATALOG") {
        let name = p.identifier()?;
        if name != "default_catalog" {
            // ERR_BAD_CATALOG_ERROR (ErrorCode.java, 5078).
            return Err(SqlError(5078, "42000", format!("Unknown catalog '{name}'")));
        }
        return Ok(Object::Catalog);
    }
    if p.eat_word("SYSTEM") {
        return Ok(Object::System);
    }
    if p.eat_word("TABLE") {
        let db = database(p)?;
        if !p.eat_punct('.') {
            return Err(p.unexpected());
        }
        let table = p.identifier()?;
        return Ok(Object::Table(db, table));
    }
    Err(p.unexpected())
}

fn grant_or_revoke(
    state: &mut State,
    session: &Session,
    p: &mut Parser,
    grant: bool,
) -> Result<Answer, SqlError> {
    // A role grant: `GRANT 'r' [, ...] TO [USER] user` (no `ON`).
    if matches!(p.peek(), Some(Token::Str(_))) {
        let mut roles = Vec::new();
        loop {
            roles.push(p.string()?);
            if !p.eat_punct(',') {
                break;
            }
        }
        p.expect_word(if grant { "TO" } else { "FROM" })?;
        p.eat_word("USER");
        let who = p.identity()?;
        p.done()?;
        require_user_admin(state, session)?;
        if let Some(role) = roles.iter().find(|r| !state.roles.contains(*r)) {
            return Err(analyzing(format!("cannot find role {role}!")));
        }
        let user = state
            .users
            .get_mut(&who)
            .ok_or_else(|| analyzing(format!("cannot find user {}!", identity_text(&who))))?;
        for role in roles {
            if grant {
                user.roles.insert(role);
            } else {
                user.roles.remove(&role);
                user.default_roles.remove(&role);
            }
        }
        return Ok(Answer::Ok);
    }
    let names = privilege_list(p)?;
    let object = object(state, p)?;
    p.expect_word(if grant { "TO" } else { "FROM" })?;
    p.eat_word("USER");
    let who = p.identity()?;
    let grant_option = grant && p.eat_words(&["WITH", "GRANT", "OPTION"]);
    p.done()?;
    require_user_admin(state, session)?;
    let valid = object.privileges(state.version);
    let mut privileges = BTreeSet::new();
    for name in &names {
        match valid.iter().find(|v| **v == name.as_str()) {
            Some(v) => {
                privileges.insert(*v);
            }
            // Before 3.2 the grammar has no `PIPE` at all.
            None if name.ends_with("PIPE") && !state.version.has_pipes() => {
                return Err(syntax("PIPE"))
            }
            None => {
                return Err(analyzing(format!(
                    "Cannot grant or revoke {name} on {}",
                    object.type_name()
                )))
            }
        }
    }
    let user = state
        .users
        .get_mut(&who)
        .ok_or_else(|| analyzing(format!("cannot find user {}!", identity_text(&who))))?;
    if grant {
        // PrivilegeCollectionV2.grant: add to the entry of the same object and grant option.
        match user
            .entries
            .iter_mut()
            .find(|e| e.object == object && e.grant_option == grant_option)
        {
            Some(entry) => entry.privileges.extend(privileges),
            None => {
                user.entries.push(Entry {
                    object,
                    privileges,
                    grant_option,
                });
                user.entries.sort_by(|a, b| a.object.cmp(&b.object));
            }
        }
        return Ok(Answer::Ok);
    }
    // PrivilegeCollectionV2.revoke: nothing of the object type at all is a silent no-op; an
    // object with no entry is "There is no such grant defined on …"; privileges of an entry
    // that it does not hold are simply not there to remove.
    let same_type = |e: &Entry| e.object.type_name() == object.type_name();
    if !user.entries.iter().any(same_type) {
        return Ok(Answer::Ok);
    }
    if !user.entries.iter().any(|e| e.object == object) {
        // A fuzzy object prints as itself, a single one after its type: both are how
        // `object_text` prints them.
        let shown = state.object_text(&object).unwrap_or_default();
        // The collection's PrivilegeException reaches the client as an error without an
        // ErrorCode (1064). Its wrapping by AuthorizationMgr was not read: the text is matched
        // by what PrivilegeCollectionV2 itself says.
        return Err(SqlError(
            1064,
            "HY000",
            format!("There is no such grant defined on {shown}"),
        ));
    }
    let user = state.users.get_mut(&who).expect("read above");
    for entry in user.entries.iter_mut().filter(|e| e.object == object) {
        entry.privileges.retain(|p| !privileges.contains(p));
    }
    user.entries.retain(|e| !e.privileges.is_empty());
    Ok(Answer::Ok)
}

// ---- The wire ---------------------------------------------------------------------------------

const CLIENT_LONG_PASSWORD: u32 = 0x1;
const CLIENT_FOUND_ROWS: u32 = 0x2;
const CLIENT_LONG_FLAG: u32 = 0x4;
const CLIENT_CONNECT_WITH_DB: u32 = 0x8;
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_TRANSACTIONS: u32 = 0x2000;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
const CLIENT_MULTI_RESULTS: u32 = 0x20000;
const CLIENT_PLUGIN_AUTH: u32 = 0x80000;
const CLIENT_CONNECT_ATTRS: u32 = 0x100000;
const CLIENT_PLUGIN_AUTH_LENENC: u32 = 0x200000;

const SERVER_CAPABILITIES: u32 = CLIENT_LONG_PASSWORD
    | CLIENT_FOUND_ROWS
    | CLIENT_LONG_FLAG
    | CLIENT_CONNECT_WITH_DB
    | CLIENT_PROTOCOL_41
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_MULTI_RESULTS
    | CLIENT_PLUGIN_AUTH
    | CLIENT_CONNECT_ATTRS
    | CLIENT_PLUGIN_AUTH_LENENC;

/// The initial handshake (protocol 10), with the MySQL version a 3.x frontend announces
/// (Config's `mysql_server_version`), whatever StarRocks release it is.
fn handshake(id: u32, scramble: &[u8; 20]) -> Vec<u8> {
    let mut p = vec![10u8];
    p.extend_from_slice(b"8.0.33\0");
    p.extend_from_slice(&id.to_le_bytes());
    p.extend_from_slice(&scramble[..8]);
    p.push(0);
    p.extend_from_slice(&(SERVER_CAPABILITIES as u16).to_le_bytes());
    p.push(33); // utf8_general_ci
    p.extend_from_slice(&2u16.to_le_bytes()); // SERVER_STATUS_AUTOCOMMIT
    p.extend_from_slice(&((SERVER_CAPABILITIES >> 16) as u16).to_le_bytes());
    p.push(21);
    p.extend_from_slice(&[0u8; 10]);
    p.extend_from_slice(&scramble[8..]);
    p.push(0);
    p.extend_from_slice(b"mysql_native_password\0");
    p
}

/// The user name and auth response of a HandshakeResponse41.
fn parse_handshake_response(p: &[u8]) -> Option<(String, Vec<u8>)> {
    let caps = u32::from_le_bytes(p.get(0..4)?.try_into().ok()?);
    let mut at = 32;
    let end = at + p.get(at..)?.iter().position(|b| *b == 0)?;
    let user = String::from_utf8_lossy(&p[at..end]).into_owned();
    at = end + 1;
    let token = if caps & CLIENT_PLUGIN_AUTH_LENENC != 0 {
        let (len, used) = read_lenenc(p.get(at..)?)?;
        at += used;
        p.get(at..at + len as usize)?.to_vec()
    } else if caps & CLIENT_SECURE_CONNECTION != 0 {
        let len = *p.get(at)? as usize;
        at += 1;
        p.get(at..at + len)?.to_vec()
    } else {
        let end = at + p.get(at..)?.iter().position(|b| *b == 0)?;
        p[at..end].to_vec()
    };
    Some((user, token))
}

fn read_lenenc(p: &[u8]) -> Option<(u64, usize)> {
    match *p.first()? {
        n @ 0..=0xfa => Some((n as u64, 1)),
        0xfc => Some((u16::from_le_bytes(p.get(1..3)?.try_into().ok()?) as u64, 3)),
        0xfd => {
            let b = p.get(1..4)?;
            Some((u32::from_le_bytes([b[0], b[1], b[2], 0]) as u64, 4))
        }
        0xfe => Some((u64::from_le_bytes(p.get(1..9)?.try_into().ok()?), 9)),
        _ => None,
    }
}

fn put_lenenc(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=0xfa => out.push(n as u8),
        0xfb..=0xffff => {
            out.push(0xfc);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xff_ffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xfe);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

fn put_lenenc_str(out: &mut Vec<u8>, s: &str) {
    put_lenenc(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn ok_packet() -> Vec<u8> {
    vec![0x00, 0, 0, 0x02, 0x00, 0x00, 0x00]
}

fn eof_packet() -> Vec<u8> {
    vec![0xfe, 0x00, 0x00, 0x02, 0x00]
}

fn err_packet(code: u16, state: &str, message: &str) -> Vec<u8> {
    let mut p = vec![0xff];
    p.extend_from_slice(&code.to_le_bytes());
    p.push(b'#');
    p.extend_from_slice(&state.as_bytes()[..5]);
    p.extend_from_slice(message.as_bytes());
    p
}

fn column_definition(name: &str) -> Vec<u8> {
    let mut p = Vec::new();
    put_lenenc_str(&mut p, "def");
    put_lenenc_str(&mut p, "");
    put_lenenc_str(&mut p, "");
    put_lenenc_str(&mut p, "");
    put_lenenc_str(&mut p, name);
    put_lenenc_str(&mut p, name);
    p.push(0x0c);
    p.extend_from_slice(&33u16.to_le_bytes());
    p.extend_from_slice(&1024u32.to_le_bytes());
    p.push(0xfd); // VAR_STRING
    p.extend_from_slice(&0u16.to_le_bytes());
    p.push(0);
    p.extend_from_slice(&[0, 0]);
    p
}

async fn write_rows(
    stream: &mut TcpStream,
    columns: &[&str],
    rows: &[Vec<Option<String>>],
) -> std::io::Result<()> {
    let mut seq = 1u8;
    let mut count = Vec::new();
    put_lenenc(&mut count, columns.len() as u64);
    let mut out = Vec::new();
    frame(&mut out, &mut seq, &count);
    for c in columns {
        frame(&mut out, &mut seq, &column_definition(c));
    }
    frame(&mut out, &mut seq, &eof_packet());
    for row in rows {
        let mut p = Vec::new();
        for value in row {
            match value {
                Some(v) => put_lenenc_str(&mut p, v),
                None => p.push(0xfb),
            }
        }
        frame(&mut out, &mut seq, &p);
    }
    frame(&mut out, &mut seq, &eof_packet());
    stream.write_all(&out).await?;
    stream.flush().await
}

fn frame(out: &mut Vec<u8>, seq: &mut u8, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes()[..3]);
    out.push(*seq);
    *seq = seq.wrapping_add(1);
    out.extend_from_slice(payload);
}

async fn write_packet(stream: &mut TcpStream, seq: u8, payload: &[u8]) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    let mut seq = seq;
    frame(&mut out, &mut seq, payload);
    stream.write_all(&out).await?;
    stream.flush().await
}

async fn read_packet(stream: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await?;
    Ok((header[3], body))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FeNameFormat's MYSQL_USER_NAME_REGEX, case by case.
    #[test]
    fn user_name_rule() {
        for ok in [
            "u1",
            "app_user",
            "a",
            "svc/host.example-1",
            "_x",
            "a.b",
            "a-b",
        ] {
            assert!(is_valid_user_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".a",
            "-a",
            "a b",
            "ünï",
            "a/b/c",
            "/a",
            "a'b",
            &"x".repeat(65),
        ] {
            assert!(!is_valid_user_name(bad), "{bad}");
        }
    }

    #[test]
    fn backquoted_names_lose_their_backticks() {
        assert_eq!(
            tokenize("GRANT SELECT ON DATABASE `a``b`").unwrap()[4],
            Token::Quoted("ab".into())
        );
    }

    /// Every statement received goes to the file `STARROCKS_STANDIN_STATEMENTS` names, one per
    /// line, and a refused one too; a wrong password is refused at login.
    #[tokio::test]
    async fn statements_are_logged_to_the_named_file() {
        use mysql_async::prelude::Queryable;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("statements.log");
        std::env::set_var(STATEMENTS_ENV, &log);
        let stand_in = StarRocksStandIn::start(StandInConfig {
            root_password: "Root-pw-1".into(),
            ..StandInConfig::default()
        })
        .await
        .unwrap();
        let opts = |password: &str| {
            mysql_async::OptsBuilder::default()
                .ip_or_hostname("127.0.0.1")
                .tcp_port(stand_in.port())
                .user(Some("root"))
                .pass(Some(password.to_owned()))
                .prefer_socket(false)
        };
        assert!(mysql_async::Conn::new(opts("wrong")).await.is_err());
        let mut conn = mysql_async::Conn::new(opts("Root-pw-1")).await.unwrap();
        let databases: Vec<String> = conn.query("SHOW DATABASES").await.unwrap();
        assert!(databases.contains(&"information_schema".to_owned()));
        let refused = conn.query_drop("DROP USER 'nobody'@'%'").await.unwrap_err();
        assert!(
            refused.to_string().contains("cannot find user"),
            "{refused}"
        );
        std::env::remove_var(STATEMENTS_ENV);
        let written = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        assert!(lines.contains(&"SHOW DATABASES"), "{lines:?}");
        assert!(lines.contains(&"DROP USER 'nobody'@'%'"), "{lines:?}");
    }

    #[test]
    fn native_hash_is_mysqls() {
        assert_eq!(
            native_hash("123456"),
            "*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9"
        );
    }
}
