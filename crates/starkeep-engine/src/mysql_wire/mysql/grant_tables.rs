//! Reading the MySQL family's accounts straight from the server's grant tables, the cheap way to
//! the rows `information_schema` answers: MariaDB's account names from `mysql.global_priv`, and
//! for every server of the family the database-, table- and column-level grants from `mysql.db`,
//! `mysql.tables_priv` and `mysql.columns_priv`, looked up by their keys.
//!
//! MariaDB answers `mysql.user` (a view that parses each account's JSON) and the
//! `information_schema` privilege tables by building them in full for every query and filtering
//! afterwards; at 100,000 accounts a page of 100 cost over half a second that way. The one such
//! table still read, `USER_PRIVILEGES`, is read once per server-wide `access` value and its rows
//! kept ([`ServerWideRows`]).
//!
//! Each reading answers `Ok(None)` where the admin may not read the table (or the server has no
//! such table); the caller then reads `information_schema` and `mysql.user` as before. Nothing
//! here decides what grants mean: rows come back in the shape of `information_schema`'s, for
//! [`MysqlDialect`](super::MysqlDialect) to fold. Nothing here writes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use super::MysqlDialect;
use crate::mysql_wire::quote;

/// MariaDB's test for a user (not a role) as the `mysql.user` view makes it (`is_role = 'N'`).
/// A role's row always has an empty host, so its JSON is only parsed for such rows.
const MARIADB_USER: &str =
    "(Host <> '' OR elt(ifnull(json_value(Priv, '$.is_role'), 0) + 1, 'N', 'Y') = 'N')";

/// Names with rows on hosts other than `'%'` only, up to which a page is merged from them
/// here; beyond, the caller reads the `mysql.user` view.
const OTHER_HOST_NAMES_MAX: usize = 200;

/// Up to how many accounts a read names its users; beyond, it reads every `'%'` row.
const USER_LIST_MAX: usize = 200;

/// Whether `e` says the table cannot be read by this admin, or is not there.
fn unreadable(e: &mysql_async::Error) -> bool {
    // 1044: database access denied; 1142/1143: table/column access denied; 1146: no such table.
    matches!(e, mysql_async::Error::Server(s) if matches!(s.code, 1044 | 1142 | 1143 | 1146))
}

/// `Ok(None)` for an error [`unreadable`] recognises; any other error as it is.
fn or_fallback<T>(result: Result<T, mysql_async::Error>) -> Result<Option<T>, mysql_async::Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if unreadable(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| quote::string_literal(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// ` AND User IN (…)` for `names`, or nothing when they are too many to name (every row is read).
fn users_among(names: &[String]) -> String {
    if names.len() <= USER_LIST_MAX {
        format!(" AND User IN ({})", list(names))
    } else {
        String::new()
    }
}

/// MariaDB: one page of user names (each once, in byte order) and the count of all, as the
/// `mysql.user` view gives them (`DISTINCT User … WHERE is_role = 'N'`), without building the
/// view or a temporary table of distinct names.
///
/// Each name has at most one `'%'` row (the key is host and user), and a `'%'` row is never a
/// role's (a role's host is empty), so the names are those of the `'%'` rows plus the few that
/// only have rows on other hosts (`root` and `mariadb.sys` on every server). The `'%'` names
/// are read in byte order through a window wider than the page by the number of those others
/// on each side, which places every other name exactly where it falls inside the page and
/// shows which fall before or after it ([`merge_page`]). Their number is the table's rows less
/// those on other hosts: a count the engine keeps and a short range of the key, where counting
/// or ranking the `'%'` rows reads all of them.
pub(super) async fn mariadb_names(
    conn: &mut Conn,
    name: Option<&str>,
    limit: u32,
    offset: u64,
) -> Result<Option<(Vec<String>, u64)>, mysql_async::Error> {
    let only = name
        .map(|n| format!(" AND User = {}", quote::string_literal(n)))
        .unwrap_or_default();
    let Some(mut others) = or_fallback(
        conn.query::<String, _>(format!(
            "SELECT DISTINCT User FROM mysql.global_priv \
             WHERE Host <> '%' AND {MARIADB_USER}{only}"
        ))
        .await,
    )?
    else {
        return Ok(None);
    };
    if !others.is_empty() {
        let on_percent: Vec<String> = conn
            .query(format!(
                "SELECT User FROM mysql.global_priv WHERE Host = '%' AND User IN ({})",
                list(&others)
            ))
            .await?;
        others.retain(|n| !on_percent.contains(n));
    }
    if others.len() > OTHER_HOST_NAMES_MAX {
        return Ok(None);
    }
    // Rust orders strings by their bytes, as `CAST(… AS BINARY)` does.
    others.sort();
    let percent: Option<u64> = if name.is_some() {
        conn.query_first(format!(
            "SELECT COUNT(*) FROM mysql.global_priv WHERE Host = '%'{only}"
        ))
        .await?
    } else {
        conn.query_first(
            "SELECT CAST((SELECT COUNT(*) FROM mysql.global_priv) \
             - (SELECT COUNT(*) FROM mysql.global_priv WHERE Host <> '%') AS UNSIGNED)",
        )
        .await?
    };
    let percent = percent.unwrap_or(0);
    let window = Window::around(offset, limit, others.len());
    let names: Vec<String> = if window.start < percent && window.len > 0 {
        conn.query(format!(
            "SELECT User FROM mysql.global_priv WHERE Host = '%'{only} \
             ORDER BY CAST(User AS BINARY) LIMIT {} OFFSET {}",
            window.len, window.start
        ))
        .await?
    } else {
        Vec::new()
    };
    let page = merge_page(&window, &names, &others, offset, limit);
    Ok(Some((page, percent + others.len() as u64)))
}

/// The `'%'` names read for a page: `len` of them from position `start` in byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    start: u64,
    len: u64,
}

impl Window {
    /// The page at `offset` widened by `others` names on each side (as far as the start allows).
    fn around(offset: u64, limit: u32, others: usize) -> Self {
        let others = others as u64;
        let start = offset.saturating_sub(others);
        Window {
            start,
            len: (offset - start) + u64::from(limit) + others,
        }
    }
}

/// The page at `offset` of the sorted union of the `'%'` names and `others` (sorted, none of
/// them a `'%'` name), given `read`: the `'%'` names of `window`, in byte order (fewer than the
/// window's length where the names end).
///
/// A name's place in the union is the number of `'%'` names before it plus the number of
/// others before it. For a name read, both are known. For another name, the `'%'` names before
/// it are known exactly where it sorts inside what was read, or after all of it when the names
/// ended there; where it sorts before all of it (and the window does not start at 0) it is
/// before the page, and where after all of a full window, after the page: the window reaches
/// as many names beyond the page on each side as there are others.
fn merge_page(
    window: &Window,
    read: &[String],
    others: &[String],
    offset: u64,
    limit: u32,
) -> Vec<String> {
    let end = offset.saturating_add(u64::from(limit));
    let on_page = |place: u64| (offset..end).contains(&place);
    let mut page: Vec<String> = Vec::new();
    for (j, name) in read.iter().enumerate() {
        let others_before = others.partition_point(|o| o < name) as u64;
        if on_page(window.start + j as u64 + others_before) {
            page.push(name.clone());
        }
    }
    let full = read.len() as u64 >= window.len;
    for (i, other) in others.iter().enumerate() {
        let read_before = read.partition_point(|n| n < other);
        let before_the_page = read_before == 0 && window.start > 0;
        let after_the_page = read_before == read.len() && full;
        if !before_the_page
            && !after_the_page
            && on_page(window.start + read_before as u64 + i as u64)
        {
            page.push(other.clone());
        }
    }
    page.sort();
    page
}

/// The database-level grants of the `'<name>'@'%'` accounts among `names`, from `mysql.db`, as
/// `information_schema.SCHEMA_PRIVILEGES` shows them: (user, database as stored, privilege,
/// grantable). A row holding nothing but the grant option shows as `USAGE`.
pub(super) async fn database_grants(
    conn: &mut Conn,
    names: &[String],
) -> Result<Option<Vec<(String, String, String, bool)>>, mysql_async::Error> {
    let Some(rows) = or_fallback(
        conn.query::<Row, _>(format!(
            "SELECT * FROM mysql.db WHERE Host = '%'{}",
            users_among(names)
        ))
        .await,
    )?
    else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for row in rows {
        let (mut user, mut database) = (None, None);
        let mut privileges = Vec::new();
        let mut grantable = false;
        for (i, column) in row.columns_ref().iter().enumerate() {
            let column = column.name_str();
            let value: Option<String> = row.get(i);
            if column.eq_ignore_ascii_case("User") {
                user = value;
            } else if column.eq_ignore_ascii_case("Db") {
                database = value;
            } else if let Some(privilege) = column
                .strip_suffix("_priv")
                .filter(|_| value.as_deref() == Some("Y"))
            {
                if privilege.eq_ignore_ascii_case("Grant") {
                    grantable = true;
                } else {
                    privileges.push(privilege_of_column(privilege));
                }
            }
        }
        let (Some(user), Some(database)) = (user, database) else {
            continue;
        };
        if privileges.is_empty() {
            privileges.push("USAGE".to_owned());
        }
        out.extend(
            privileges
                .into_iter()
                .map(|p| (user.clone(), database.clone(), p, grantable)),
        );
    }
    Ok(Some(out))
}

/// The privilege a `mysql.db` column (`Create_view_priv`, without `_priv`) holds, named as
/// `information_schema` names it.
fn privilege_of_column(column: &str) -> String {
    if column.eq_ignore_ascii_case("Create_tmp_table") {
        "CREATE TEMPORARY TABLES".to_owned()
    } else {
        column.replace('_', " ").to_ascii_uppercase()
    }
}

/// MariaDB: which `'<name>'@'%'` accounts among `names` hold anything server-wide (their
/// `access` bits, the grant option included), with those bits. Only these have rows in
/// `USER_PRIVILEGES` other than `USAGE` ([`ServerWideRows`]).
pub(super) async fn mariadb_server_wide_holders(
    conn: &mut Conn,
    names: &[String],
) -> Result<Option<Vec<(String, u64)>>, mysql_async::Error> {
    or_fallback(
        conn.query(format!(
            "SELECT User, CAST(json_value(Priv, '$.access') AS UNSIGNED) \
             FROM mysql.global_priv WHERE Host = '%'{} \
             AND COALESCE(json_value(Priv, '$.access'), 0) <> 0",
            users_among(names)
        ))
        .await,
    )
}

/// MariaDB's grant option among an account's `access` bits (`GRANT_ACL`).
const GRANT_OPTION_BIT: u64 = 1 << 10;

/// At most this many `access` values are remembered; past it the memory starts again.
const ACCESS_VALUES_MAX: usize = 256;

/// MariaDB: the rows `information_schema.USER_PRIVILEGES` shows for an account's server-wide
/// `access` bits, learnt from the server once per server version and value.
///
/// The server builds that table for every account at each query and filters afterwards (about
/// 30 ms at 100,000 accounts), although an account's rows follow from its `access` bits alone:
/// one row per privilege bit, each grantable when the grant option bit is set, or one `USAGE`
/// row. Accounts share a few such values (an admin's, a monitor's), so each value's rows are read
/// for one of its accounts and kept. Rows are kept only where that same statement read the
/// account's bits unchanged and the rows account for them (as many rows as privilege bits, the
/// grant option as the bits say), so a grant made meanwhile is read but not kept.
#[derive(Debug, Default)]
pub(super) struct ServerWideRows {
    learnt: Mutex<Learnt>,
}

type ServerVersion = (u16, u16, u16);

/// `(privilege, grantable)` rows by server version and `access` value.
type Learnt = HashMap<(ServerVersion, u64), Arc<Vec<(String, String)>>>;

impl ServerWideRows {
    /// `(grantee, privilege, grantable)` rows, as `USER_PRIVILEGES` gives them, of `holders`
    /// (user and `access` bits).
    pub(super) async fn of(
        &self,
        conn: &mut Conn,
        holders: &[(String, u64)],
    ) -> Result<Vec<(String, String, String)>, mysql_async::Error> {
        let version = conn.server_version();
        let mut out = Vec::new();
        for (user, access) in holders {
            let known = self.lock().get(&(version, *access)).cloned();
            let rows = match known {
                Some(rows) => rows,
                None => self.learn(conn, version, user, *access).await?,
            };
            let grantee = MysqlDialect::grantee(user);
            out.extend(rows.iter().map(|(privilege, grantable)| {
                (grantee.clone(), privilege.clone(), grantable.clone())
            }));
        }
        Ok(out)
    }

    async fn learn(
        &self,
        conn: &mut Conn,
        version: ServerVersion,
        user: &str,
        access: u64,
    ) -> Result<Arc<Vec<(String, String)>>, mysql_async::Error> {
        let read: Vec<(String, String, Option<u64>)> = conn
            .query(format!(
                "SELECT PRIVILEGE_TYPE, IS_GRANTABLE, \
                 (SELECT CAST(json_value(Priv, '$.access') AS UNSIGNED) FROM mysql.global_priv \
                 WHERE Host = '%' AND User = {}) \
                 FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = {}",
                quote::string_literal(user),
                quote::string_literal(&MysqlDialect::grantee(user))
            ))
            .await?;
        let unchanged = read.iter().all(|(_, _, now)| *now == Some(access));
        let rows: Vec<(String, String)> = read
            .into_iter()
            .map(|(privilege, grantable, _)| (privilege, grantable))
            .collect();
        let rows = Arc::new(rows);
        if unchanged && accounts_for(access, &rows) {
            let mut learnt = self.lock();
            if learnt.len() >= ACCESS_VALUES_MAX {
                learnt.clear();
            }
            learnt.insert((version, access), Arc::clone(&rows));
        }
        Ok(rows)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Learnt> {
        self.learnt
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether `rows` are what `access` bits show as: one row per privilege bit (or one `USAGE`
/// row for none), each grantable exactly when the grant option bit is set.
fn accounts_for(access: u64, rows: &[(String, String)]) -> bool {
    let grantable = if access & GRANT_OPTION_BIT != 0 {
        "YES"
    } else {
        "NO"
    };
    let privileges = (access & !GRANT_OPTION_BIT).count_ones() as usize;
    let shape = if privileges == 0 {
        rows.len() == 1 && rows[0].0.eq_ignore_ascii_case("USAGE")
    } else {
        rows.len() == privileges
    };
    shape && rows.iter().all(|(_, g)| g.eq_ignore_ascii_case(grantable))
}

/// Which `'<name>'@'%'` accounts among `names` hold a table- or column-level privilege, as
/// `information_schema.TABLE_PRIVILEGES` and `COLUMN_PRIVILEGES` show them, `USAGE` left out: a
/// table row holding nothing but the grant option (or only column privileges) shows as `USAGE`.
pub(super) async fn object_grant_holders(
    conn: &mut Conn,
    names: &[String],
) -> Result<Option<Vec<String>>, mysql_async::Error> {
    let users = users_among(names);
    or_fallback(
        conn.query(format!(
            "SELECT User FROM mysql.tables_priv WHERE Host = '%'{users} \
             AND Table_priv NOT IN ('', 'Grant') \
             UNION SELECT User FROM mysql.columns_priv WHERE Host = '%'{users} \
             AND Column_priv <> ''"
        ))
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `mariadb_names` reads for a page, from a server whose `'%'` names are `percent`.
    fn read_for(percent: &[String], window: &Window) -> Vec<String> {
        percent
            .iter()
            .skip(window.start as usize)
            .take(window.len as usize)
            .cloned()
            .collect()
    }

    proptest! {
        /// Every page merged from a window equals the same page of the whole sorted union.
        #[test]
        fn a_merged_page_is_that_page_of_the_union(
            names in proptest::collection::btree_set("[a-e\u{1}]{0,3}", 0..40),
            split in proptest::collection::vec(any::<bool>(), 40),
            limit in 1u32..9,
            offset in 0u64..50,
        ) {
            let mut percent = Vec::new();
            let mut others = Vec::new();
            for (name, other) in names.iter().zip(&split) {
                if *other && others.len() < 6 {
                    others.push(name.clone());
                } else {
                    percent.push(name.clone());
                }
            }
            let window = Window::around(offset, limit, others.len());
            let read = if window.start < percent.len() as u64 {
                read_for(&percent, &window)
            } else {
                Vec::new()
            };
            let page = merge_page(&window, &read, &others, offset, limit);
            let expected: Vec<String> = names
                .iter()
                .skip(offset as usize)
                .take(limit as usize)
                .cloned()
                .collect();
            prop_assert_eq!(page, expected);
        }
    }

    #[test]
    fn the_window_reaches_as_far_as_there_are_other_names_on_each_side() {
        assert_eq!(
            Window::around(1_000, 100, 3),
            Window {
                start: 997,
                len: 106
            }
        );
        assert_eq!(Window::around(1, 100, 3), Window { start: 0, len: 104 });
        assert_eq!(Window::around(0, 100, 0), Window { start: 0, len: 100 });
    }
}
