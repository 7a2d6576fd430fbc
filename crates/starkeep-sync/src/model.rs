//! [`MirrorAccount`]: one account as sync sees it on either side.

use starkeep_domain::{DatabaseSelection, Privileges};

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
