//! [`AccountMirror`]: the small surface through which account sync reads and writes the accounts
//! of a server — read every account with its stored hash and what its grants stand for, create
//! one with a hash, set a hash, converge grants, drop — and [`MirrorAccount`], one account as it
//! is read.
//!
//! The engines offer this surface; deciding what to write, the bookkeeping of what sync made and
//! the schedule of runs belong to `starkeep-sync`, above the engines. Passwords cross this
//! surface only as their `mysql_native_password` hash; the text is never known.

use std::collections::BTreeMap;

use async_trait::async_trait;
use starkeep_domain::{DatabaseSelection, NativePasswordHash, Privileges};

use crate::mysql_wire::dialect::RawGrants;
use crate::EngineError;

/// The authentication plugin whose stored hash both MySQL and StarRocks accept.
pub const NATIVE_PLUGIN: &str = "mysql_native_password";

/// An account as read from the source or the target.
#[derive(Clone, PartialEq, Eq)]
pub struct MirrorAccount {
    pub name: String,
    /// The host part (`%` for any host).
    pub host: String,
    /// The authentication plugin.
    pub plugin: String,
    /// The stored authentication string: for [`NATIVE_PLUGIN`], `*` and 40 hex digits.
    pub auth_string: String,
    pub privileges: Privileges,
    pub databases: DatabaseSelection,
    /// A built-in or reserved account, never mirrored.
    pub system: bool,
    /// Administrative privileges held server-wide (anything the privilege map has no group for:
    /// `SUPER`, `CREATE USER`, `GRANT OPTION`, `FILE`, `PROCESS`...): such an account is never
    /// mirrored. Server-wide data privileges are not here; they are in `privileges` on
    /// [`DatabaseSelection::All`].
    pub admin_privileges: Vec<String>,
}

impl std::fmt::Debug for MirrorAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MirrorAccount")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("plugin", &self.plugin)
            .field("privileges", &self.privileges)
            .field("databases", &self.databases)
            .field("system", &self.system)
            .field("admin_privileges", &self.admin_privileges)
            .finish_non_exhaustive()
    }
}

/// Which side of a sync a server is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MirrorSide {
    /// Every host row and the server-wide grants, with the administrative ones named.
    Source,
    /// The `'%'` rows only (the rows starkeep manages); where the server does not show stored
    /// hashes, the accounts come without them.
    Target,
}

/// One side's accounts as read, and the grants they had (which a later
/// [`AccountMirror::converge_grants`] starts from).
#[derive(Debug, Default)]
pub struct MirrorRead {
    pub accounts: Vec<MirrorAccount>,
    pub(crate) grants: BTreeMap<String, RawGrants>,
}

/// What account sync may do to a server. Each write refuses a system account
/// ([`EngineError::SystemAccount`]) and runs within the server's time limit.
#[async_trait]
pub trait AccountMirror: Send + Sync {
    /// Whether the server shows stored password hashes (the MySQL family does, StarRocks does
    /// not: sync then compares with the hash it last applied).
    fn shows_hashes(&self) -> bool;

    /// Why the server would refuse `name` as a user name, if it would (StarRocks: its
    /// `FeNameFormat` rule). Sync skips such source accounts with this reason.
    fn refuses_name(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }

    /// Checks that the server answers to its admin account.
    async fn ping(&self) -> Result<(), EngineError>;

    /// Every account of the server, read as `side`.
    async fn read_accounts(&self, side: MirrorSide) -> Result<MirrorRead, EngineError>;

    /// The server's database names.
    async fn read_databases(&self) -> Result<Vec<String>, EngineError>;

    /// Creates `name` with `hash` as its password and no grants yet, once it is sure that
    /// `privileges` on `databases` can be granted here (see [`AccountMirror::converge_grants`]):
    /// an account whose grants would be refused is not made. Answers `false`, with nothing
    /// changed, when the name is taken.
    async fn create_with_hash(
        &self,
        name: &str,
        hash: &NativePasswordHash,
        privileges: Privileges,
        databases: &DatabaseSelection,
        databases_here: &[String],
    ) -> Result<bool, EngineError>;

    /// Sets the password hash of `name`.
    async fn set_hash(&self, name: &str, hash: &NativePasswordHash) -> Result<(), EngineError>;

    /// Brings the grants of `name` from those in `current` (none if it has no entry there) to
    /// what `privileges` on `databases` stand for here, `databases_here` being the server's
    /// databases as read. Answers the statements issued.
    async fn converge_grants(
        &self,
        name: &str,
        privileges: Privileges,
        databases: &DatabaseSelection,
        databases_here: &[String],
        current: &MirrorRead,
    ) -> Result<u64, EngineError>;

    /// Drops `name`; answers `false` when it was already gone.
    async fn drop_account(&self, name: &str) -> Result<bool, EngineError>;
}
