//! [`SessionRouting`]: what routing keeps of one client connection (transaction, autocommit,
//! current database, session settings, temporary tables), updated by
//! [`SessionRouting::observe`] after each statement succeeds. Deciding lives in `router.rs`;
//! sending the settings to a backend is the proxy's.

use crate::analysis::{Analysis, SessionEffect, SessionSetting, TableRef};

/// The routing state of one client connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRouting {
    in_transaction: bool,
    autocommit: bool,
    database: Option<String>,
    names: Option<(Option<String>, Option<String>)>,
    variables: Vec<(String, String)>,
    temporary_tables: Vec<TableRef>,
}

impl Default for SessionRouting {
    fn default() -> Self {
        SessionRouting::new(None)
    }
}

impl SessionRouting {
    /// A new connection: autocommit on, no transaction, `database` from the handshake.
    pub fn new(database: Option<String>) -> SessionRouting {
        SessionRouting {
            in_transaction: false,
            autocommit: true,
            database,
            names: None,
            variables: Vec::new(),
            temporary_tables: Vec::new(),
        }
    }

    /// Takes in the effect of a statement that succeeded.
    pub fn observe(&mut self, analysis: &Analysis) {
        match &analysis.session {
            SessionEffect::None => {}
            SessionEffect::BeginTransaction => self.in_transaction = true,
            SessionEffect::EndTransaction => self.in_transaction = false,
            SessionEffect::Use(db) => self.database = Some(db.clone()),
            SessionEffect::Set(settings) => {
                for setting in settings {
                    self.apply(setting);
                }
            }
            SessionEffect::CreateTemporaryTable(table) => {
                let table = self.qualify(table);
                if !self.temporary_tables.contains(&table) {
                    self.temporary_tables.push(table);
                }
            }
            SessionEffect::DropTemporaryTables(tables) => {
                let tables: Vec<TableRef> = tables.iter().map(|t| self.qualify(t)).collect();
                self.temporary_tables.retain(|t| !tables.contains(t));
            }
        }
    }

    /// The current database changed outside SQL text (COM_INIT_DB, which `mysql -D` and
    /// connectors send for a database chosen after the handshake).
    pub fn set_database(&mut self, database: &str) {
        self.database = Some(database.to_owned());
    }

    fn apply(&mut self, setting: &SessionSetting) {
        match setting {
            SessionSetting::Autocommit(on) => {
                // Turning autocommit on commits an open transaction (MySQL manual, "autocommit").
                if *on {
                    self.in_transaction = false;
                }
                self.autocommit = *on;
            }
            SessionSetting::Names { charset, collation } => {
                self.names = Some((charset.clone(), collation.clone()))
            }
            SessionSetting::Variable { name, value } => {
                match self.variables.iter_mut().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = value.clone(),
                    None => self.variables.push((name.clone(), value.clone())),
                }
            }
        }
    }

    /// Whether statements must stay on the row primary because a transaction is open: after
    /// `BEGIN` until `COMMIT`/`ROLLBACK`, and always while autocommit is off.
    pub fn in_transaction(&self) -> bool {
        self.in_transaction || !self.autocommit
    }

    /// Whether autocommit is on.
    pub fn autocommit(&self) -> bool {
        self.autocommit
    }

    /// The current database (`USE`, or the handshake's).
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The last `SET NAMES`: character set and collation (`None`, `None` for `SET NAMES DEFAULT`).
    pub fn names(&self) -> Option<(Option<&str>, Option<&str>)> {
        self.names
            .as_ref()
            .map(|(c, k)| (c.as_deref(), k.as_deref()))
    }

    /// Session variables set so far, each with its last value as SQL text, in first-set order.
    pub fn variables(&self) -> impl Iterator<Item = (&str, &str)> {
        self.variables.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// A table reference with the current database filled in where the statement left it out.
    pub fn qualify(&self, table: &TableRef) -> TableRef {
        TableRef {
            database: table.database.clone().or_else(|| self.database.clone()),
            name: table.name.clone(),
        }
    }

    /// Whether the session created a temporary table `database.name` (`database` as resolved
    /// against the current database); it hides a table of the same name, so reads of it stay on
    /// the row primary.
    pub fn has_temporary_table(&self, database: Option<&str>, name: &str) -> bool {
        self.temporary_tables
            .iter()
            .any(|t| t.database.as_deref() == database && t.name == name)
    }
}
