//! Quoting for the account statements: the only way request text reaches SQL.
//!
//! Account statements go over the text protocol (StarRocks cannot prepare all of them), so every
//! value is written as a literal here. Names have already passed the contract's rules
//! (`starkeep-domain`) and database names have been matched against the instance's real list;
//! quoting is the second fence, not the first.

/// A single-quoted string literal, with `'` and `\` escaped.
pub fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A backtick-quoted identifier, with backticks doubled.
pub fn identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A database name for a MySQL database-level grant (`ON <here>.*`): `_` and `%` are wildcards
/// at that level, so they are escaped to mean themselves.
pub fn grant_database(name: &str) -> String {
    let mut escaped = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        match c {
            '_' | '%' | '\\' => {
                escaped.push('\\');
                escaped.push(c);
            }
            c => escaped.push(c),
        }
    }
    identifier(&escaped)
}

/// The inverse of the escaping in [`grant_database`], for names read back from the grant tables.
pub fn unescape_grant_database(stored: &str) -> String {
    let mut out = String::with_capacity(stored.len());
    let mut chars = stored.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next) => out.push(next),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `'user'@'host'`.
pub fn account(user: &str, host: &str) -> String {
    format!("{}@{}", string_literal(user), string_literal(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(string_literal("a'b\\c"), "'a''b\\\\c'");
        assert_eq!(identifier("we`ird"), "`we``ird`");
        assert_eq!(account("u1", "%"), "'u1'@'%'");
    }

    #[test]
    fn grant_database_escapes_wildcards_and_round_trips() {
        assert_eq!(grant_database("sales_2024"), "`sales\\_2024`");
        assert_eq!(grant_database("100%"), "`100\\%`");
        for name in ["sales_2024", "a%b", "back\\slash", "plain"] {
            let quoted = grant_database(name);
            let inner = &quoted[1..quoted.len() - 1];
            assert_eq!(unescape_grant_database(inner), name);
        }
    }
}
