//! Reading the MySQL family's accounts straight from the server's grant tables, the cheap way to
//! the rows `information_schema` answers: MariaDB's account names from `mysql.global_priv`, and
//! for every server of the family the database-, table- and column-level grants from `mysql.db`,
//! `mysql.tables_priv` and `mysql.columns_priv`, looked up by their keys.
//!
//! MariaDB answers `mysql.user` (a view that parses each account's JSON) and the
//! `information_schema` privilege tables by building them in full for every query and filtering
//! afterwards; at 100,000 accounts a page of 100 cost over half a second that way.
//!
//! Each reading answers `Ok(None)` where the admin may not read the table (or the server has no
//! such table); the caller then reads `information_schema` and `mysql.user` as before. Nothing
//! here decides what grants mean: rows come back in the shape of `information_schema`'s, for
//! [`MysqlDialect`](super::MysqlDialect) to fold. Nothing here writes.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

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
/// Each name has at most one `'%'` row (the key is host and user), so the names are those of the
/// `'%'` rows, read in order by offset, plus the few names that only have rows on other hosts,
/// merged in here at the positions the count places them.
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
    let below: String = others
        .iter()
        .map(|n| {
            format!(
                ", CAST(COALESCE(SUM(CAST(User AS BINARY) < CAST({} AS BINARY)), 0) AS UNSIGNED)",
                quote::string_literal(n)
            )
        })
        .collect();
    let counts: Option<Row> = conn
        .query_first(format!(
            "SELECT COUNT(*){below} FROM mysql.global_priv \
             WHERE Host = '%' AND {MARIADB_USER}{only}"
        ))
        .await?;
    let count = |i: usize| {
        counts
            .as_ref()
            .and_then(|row| row.get::<u64, _>(i))
            .unwrap_or(0)
    };
    let end = offset.saturating_add(u64::from(limit));
    let mut before = 0u64;
    let mut inside = Vec::new();
    for (i, other) in others.iter().enumerate() {
        // Its place among all names: the `'%'` names before it, and the other names before it.
        let position = count(i + 1) + i as u64;
        if position < offset {
            before += 1;
        } else if position < end {
            inside.push(other.clone());
        }
    }
    let from_percent = u64::from(limit).saturating_sub(inside.len() as u64);
    let mut names: Vec<String> = if from_percent > 0 {
        conn.query(format!(
            "SELECT User FROM mysql.global_priv WHERE Host = '%' AND {MARIADB_USER}{only} \
             ORDER BY CAST(User AS BINARY) LIMIT {from_percent} OFFSET {}",
            offset - before
        ))
        .await?
    } else {
        Vec::new()
    };
    names.extend(inside);
    names.sort();
    Ok(Some((names, count(0) + others.len() as u64)))
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
/// `access` bits, the grant option included). Only these need `USER_PRIVILEGES` read.
pub(super) async fn mariadb_server_wide_holders(
    conn: &mut Conn,
    names: &[String],
) -> Result<Option<Vec<String>>, mysql_async::Error> {
    or_fallback(
        conn.query(format!(
            "SELECT User FROM mysql.global_priv WHERE Host = '%'{} \
             AND COALESCE(json_value(Priv, '$.access'), 0) <> 0",
            users_among(names)
        ))
        .await,
    )
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
