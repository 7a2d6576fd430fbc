//! The lexical scan of one statement text, by hand: routing hints in comments, executable
//! comments, several statements in one text, user variables, the leading words, and the
//! fingerprint (literals replaced by `?`, whitespace folded, plain comments dropped, hints kept).
//!
//! Why by hand and not with sqlparser's tokenizer: sqlparser drops what matters here (a comment's
//! body is not tied to the statement, `/*! ... */` is code to MySQL but a comment to it) and its
//! tokens would have to be printed back for a fingerprint; one linear pass over the bytes does all
//! of this for every statement, cheaply enough to run before the analysis cache is consulted.
//! The lexical rules are MySQL's (reference manual, "Comments" and "String Literals"): `#` and
//! `-- ` (dash dash and a space or control character) start line comments, strings take backslash
//! escapes and doubled quotes, backticks quote identifiers, and a word may begin with a digit.
//! Parsing the grammar lives in `analysis.rs`, not here.

use std::ops::Range;

use crate::analysis::Hint;

/// What a scan of one statement text found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scan {
    /// The normalised text, the key of the analysis and decision caches.
    pub(crate) fingerprint: String,
    /// The first routing hint found in a comment, if any.
    pub(crate) hint: Option<Hint>,
    /// A `/*! ... */` or `/*M! ... */` comment, which MySQL and MariaDB execute as code.
    pub(crate) executable_comment: bool,
    /// Something other than whitespace and comments follows a `;` outside quotes.
    pub(crate) several_statements: bool,
    /// A user variable (`@name`, `@'name'`, `` @`name` ``) appears outside quotes.
    pub(crate) user_variable: bool,
    /// A quote or comment was left open at the end of the text.
    pub(crate) unterminated: bool,
    /// Where the first words of the statement are in its text (at most [`LEADING_WORDS`];
    /// ranges, so a scan whose analysis is cached allocates nothing for them).
    leading: [Range<usize>; LEADING_WORDS],
    leading_count: usize,
}

impl Scan {
    /// The first words of the statement, upper-cased; `sql` is the text scanned.
    pub(crate) fn leading_words(&self, sql: &str) -> Vec<String> {
        self.leading[..self.leading_count]
            .iter()
            .map(|r| sql[r.clone()].to_ascii_uppercase())
            .collect()
    }
}

/// How many leading words a scan keeps (enough for `START TRANSACTION`, `XA COMMIT`,
/// `SET SESSION autocommit`, `CREATE TEMPORARY TABLE`).
pub(crate) const LEADING_WORDS: usize = 3;

/// Scans one statement text. Never fails: a text MySQL would reject still gets a fingerprint.
pub(crate) fn scan(sql: &str) -> Scan {
    let bytes = sql.as_bytes();
    let mut out = Scan {
        fingerprint: String::with_capacity(sql.len()),
        hint: None,
        executable_comment: false,
        several_statements: false,
        user_variable: false,
        unterminated: false,
        leading: [0..0, 0..0, 0..0],
        leading_count: 0,
    };
    // Whether a separator (whitespace or a dropped comment) came since the last token written.
    let mut gap = false;
    // A `;` was seen; anything but whitespace and comments after it makes several statements.
    let mut after_semicolon = false;
    let mut leading_open = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // Whitespace.
        if b.is_ascii_whitespace() || b == 0x0b {
            gap = true;
            i += 1;
            continue;
        }
        // Line comments: `#` and `-- `.
        if b == b'#' || starts_dash_comment(bytes, i) {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            gap = true;
            continue;
        }
        // Block comments.
        if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
            let body_start = i + 2;
            let Some(end) = find(bytes, body_start, b"*/") else {
                out.unterminated = true;
                break;
            };
            let body = &sql[body_start..end];
            let next = end + 2;
            if body.starts_with('!') || body.starts_with("M!") {
                out.executable_comment = true;
                emit(&mut out.fingerprint, &mut gap, &sql[i..next]);
                after_semicolon_token(&mut out, &mut after_semicolon);
            } else if let Some(hint) = Hint::from_comment(body) {
                out.hint.get_or_insert(hint);
                emit(&mut out.fingerprint, &mut gap, hint.comment());
            } else if body.starts_with('+') {
                // Optimizer hints change the plan, so they belong to the fingerprint.
                emit(&mut out.fingerprint, &mut gap, &sql[i..next]);
            } else {
                gap = true;
            }
            i = next;
            continue;
        }
        after_semicolon_token(&mut out, &mut after_semicolon);
        // Leading words are the words before any other token (comments do not count).
        if !is_word_byte(b) || b.is_ascii_digit() {
            leading_open = false;
        }
        match b {
            b'\'' | b'"' => {
                match end_of_quoted(bytes, i, b, true) {
                    Some(end) => i = end,
                    None => {
                        out.unterminated = true;
                        break;
                    }
                }
                emit(&mut out.fingerprint, &mut gap, "?");
            }
            b'`' => {
                let start = i;
                match end_of_quoted(bytes, i, b'`', false) {
                    Some(end) => i = end,
                    None => {
                        out.unterminated = true;
                        break;
                    }
                }
                emit(&mut out.fingerprint, &mut gap, &sql[start..i]);
            }
            b'@' => {
                let start = i;
                if bytes.get(i + 1) == Some(&b'@') {
                    // A system variable: `@@name`, `@@session.name`.
                    i += 2;
                    while i < bytes.len() && (is_word_byte(bytes[i]) || bytes[i] == b'.') {
                        i += 1;
                    }
                } else {
                    out.user_variable = true;
                    i += 1;
                    match bytes.get(i) {
                        Some(&q @ (b'\'' | b'"' | b'`')) => {
                            match end_of_quoted(bytes, i, q, q != b'`') {
                                Some(end) => i = end,
                                None => {
                                    out.unterminated = true;
                                    break;
                                }
                            }
                        }
                        _ => {
                            while i < bytes.len() && (is_word_byte(bytes[i]) || bytes[i] == b'.') {
                                i += 1;
                            }
                        }
                    }
                }
                emit(&mut out.fingerprint, &mut gap, &sql[start..i]);
            }
            b';' => {
                after_semicolon = true;
                i += 1;
                // Trailing semicolons are not part of the statement's shape; a second statement
                // is recorded by `after_semicolon_token`.
                gap = true;
            }
            b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                && !previous_is_word(&out.fingerprint, gap) =>
            {
                let start = i;
                i = end_of_word(bytes, i + 1);
                emit(
                    &mut out.fingerprint,
                    &mut gap,
                    if is_number(&sql[start..i]) {
                        "?"
                    } else {
                        &sql[start..i]
                    },
                );
            }
            _ if is_word_byte(b) => {
                let start = i;
                i = end_of_word(bytes, i);
                // `1.5`, `1.5e-3`: a number goes on through its fraction and exponent.
                if b.is_ascii_digit() {
                    i = end_of_number(bytes, start, i);
                }
                let word = &sql[start..i];
                if b.is_ascii_digit() && is_number(word) {
                    emit(&mut out.fingerprint, &mut gap, "?");
                } else {
                    if leading_open && out.leading_count < LEADING_WORDS {
                        out.leading[out.leading_count] = start..i;
                        out.leading_count += 1;
                    }
                    emit(&mut out.fingerprint, &mut gap, word);
                }
            }
            _ => {
                // One character of punctuation or an operator; multi-byte UTF-8 is copied whole.
                let len = utf8_len(b);
                let end = (i + len).min(bytes.len());
                emit(&mut out.fingerprint, &mut gap, &sql[i..end]);
                i = end;
            }
        }
    }
    out
}

/// Records that a token came; after a `;`, that makes the text several statements.
fn after_semicolon_token(out: &mut Scan, after_semicolon: &mut bool) {
    if *after_semicolon {
        out.several_statements = true;
        *after_semicolon = false;
        // Keep the separator visible in the fingerprint of a multi-statement text.
        out.fingerprint.push(';');
    }
}

/// Appends one token, with a single space before it if whitespace separated it in the text.
fn emit(fingerprint: &mut String, gap: &mut bool, token: &str) {
    if *gap && !fingerprint.is_empty() {
        fingerprint.push(' ');
    }
    *gap = false;
    fingerprint.push_str(token);
}

/// MySQL's `-- ` comment: two dashes and then whitespace, a control character or the end.
fn starts_dash_comment(bytes: &[u8], i: usize) -> bool {
    bytes[i] == b'-'
        && bytes.get(i + 1) == Some(&b'-')
        && bytes.get(i + 2).is_none_or(|c| *c <= b' ')
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The index just past a quoted string or identifier that opens at `start`; a doubled quote is
/// the quote itself, and in strings a backslash escapes the next byte.
fn end_of_quoted(bytes: &[u8], start: usize, quote: u8, backslash: bool) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        let b = bytes[i];
        if backslash && b == b'\\' {
            i += 2;
            continue;
        }
        if b == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

/// Letters, digits, `_`, `$` and any byte of a non-ASCII character make up MySQL words.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn end_of_word(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && is_word_byte(bytes[i]) {
        i += 1;
    }
    i
}

/// Extends a word that began with a digit over a decimal fraction and a signed exponent.
fn end_of_number(bytes: &[u8], start: usize, mut i: usize) -> usize {
    if !bytes[start..i].iter().all(u8::is_ascii_digit) {
        // `1e5` is a whole word already; `1e` followed by `-5` needs the sign.
        if let [.., b'e' | b'E'] = &bytes[start..i] {
            if bytes[start..i - 1]
                .iter()
                .all(|c| c.is_ascii_digit() || *c == b'.')
                && matches!(bytes.get(i), Some(b'+' | b'-'))
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
            {
                return end_of_word(bytes, i + 1);
            }
        }
        return i;
    }
    if bytes.get(i) == Some(&b'.') {
        i = end_of_word(bytes, i + 1);
        if let [.., b'e' | b'E'] = &bytes[start..i] {
            if matches!(bytes.get(i), Some(b'+' | b'-'))
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
            {
                i = end_of_word(bytes, i + 1);
            }
        }
    }
    i
}

/// Whether a word is a numeric literal: decimal with optional fraction and exponent,
/// `0x` hexadecimal or `0b` binary. Anything else beginning with a digit is an identifier.
fn is_number(word: &str) -> bool {
    let b = word.as_bytes();
    if let Some(hex) = word.strip_prefix("0x") {
        return !hex.is_empty() && hex.bytes().all(|c| c.is_ascii_hexdigit());
    }
    if let Some(bin) = word.strip_prefix("0b") {
        return !bin.is_empty() && bin.bytes().all(|c| c == b'0' || c == b'1');
    }
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let digits = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == digits {
            return false;
        }
    }
    i == b.len() && b.first().is_some_and(|c| c.is_ascii_digit() || *c == b'.')
}

/// Whether the token just written ends in a word character with no space since (so a `.`
/// after it qualifies a name, as in `t.5col`, rather than starting `.5`).
fn previous_is_word(fingerprint: &str, gap: bool) -> bool {
    !gap && fingerprint
        .as_bytes()
        .last()
        .is_some_and(|b| is_word_byte(*b) || *b == b'`')
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_become_placeholders_and_whitespace_folds() {
        let sql = "SELECT  name\n FROM t\tWHERE id = 42 AND tag = 'a''b' AND x IN (1.5, -2e-3, 0x1F, \"q\\\"\")";
        let s = scan(sql);
        assert_eq!(
            s.fingerprint,
            "SELECT name FROM t WHERE id = ? AND tag = ? AND x IN (?, -?, ?, ?)"
        );
        assert_eq!(s.leading_words(sql), ["SELECT", "NAME", "FROM"]);
    }

    #[test]
    fn words_beginning_with_digits_and_quoted_names_are_kept() {
        let s = scan("SELECT `a``b`, 1col, t.5c FROM `db`.`t1` WHERE c=0b101");
        assert_eq!(
            s.fingerprint,
            "SELECT `a``b`, 1col, t.5c FROM `db`.`t1` WHERE c=?"
        );
    }

    #[test]
    fn plain_comments_drop_hints_stay() {
        let sql = "/* app=x */ SELECT /*force_column*/ a -- trailing\n FROM t # more\n";
        let s = scan(sql);
        assert_eq!(s.fingerprint, "SELECT /*FORCE_COLUMN*/ a FROM t");
        assert_eq!(s.hint, Some(Hint::Column));
        assert_eq!(s.leading_words(sql), ["SELECT", "A", "FROM"]);
    }

    #[test]
    fn double_dash_without_space_is_minus_minus() {
        let s = scan("SELECT 1--1");
        assert_eq!(s.fingerprint, "SELECT ?--?");
    }

    #[test]
    fn executable_comments_are_code() {
        let s = scan("SELECT /*!40001 SQL_NO_CACHE */ * FROM t");
        assert!(s.executable_comment);
        assert_eq!(s.fingerprint, "SELECT /*!40001 SQL_NO_CACHE */ * FROM t");
        assert!(scan("/*M!100100 SET x=1 */").executable_comment);
        assert!(!scan("/* ! not */ SELECT 1").executable_comment);
    }

    #[test]
    fn semicolons_outside_quotes_split_statements() {
        assert!(!scan("SELECT 1;").several_statements);
        assert!(!scan("SELECT 1; -- done\n").several_statements);
        assert!(!scan("SELECT ';' FROM t").several_statements);
        let s = scan("SELECT 1; DROP TABLE t");
        assert!(s.several_statements);
        assert_eq!(s.fingerprint, "SELECT ?; DROP TABLE t");
        assert_eq!(scan("SELECT 1 ;").fingerprint, "SELECT ?");
    }

    #[test]
    fn user_and_system_variables() {
        assert!(scan("SELECT @x").user_variable);
        assert!(scan("SET @`a b` = 1").user_variable);
        assert!(scan("SELECT * FROM t WHERE id=@'v'").user_variable);
        let s = scan("SELECT @@session.autocommit, '@x'");
        assert!(!s.user_variable);
        assert_eq!(s.fingerprint, "SELECT @@session.autocommit, ?");
    }

    #[test]
    fn unterminated_quotes_and_comments() {
        assert!(scan("SELECT 'abc").unterminated);
        assert!(scan("SELECT `abc").unterminated);
        assert!(scan("SELECT 1 /* x").unterminated);
        assert!(!scan("SELECT 'a\\'b'").unterminated);
    }

    #[test]
    fn first_hint_wins() {
        let s = scan("SELECT /*+ FORCE_ROW */ /*FORCE_COLUMN*/ 1");
        assert_eq!(s.hint, Some(Hint::RowPrimary));
    }

    #[test]
    fn optimizer_hints_stay_in_fingerprint() {
        let s = scan("SELECT /*+ MAX_EXECUTION_TIME(1000) */ a FROM t");
        assert_eq!(
            s.fingerprint,
            "SELECT /*+ MAX_EXECUTION_TIME(1000) */ a FROM t"
        );
        assert_eq!(s.hint, None);
    }

    #[test]
    fn non_ascii_text_is_copied() {
        let s = scan("SELECT 名字 FROM 表 WHERE x = 'ü'");
        assert_eq!(s.fingerprint, "SELECT 名字 FROM 表 WHERE x = ?");
    }
}
