//! Property tests of the grant read-back: StarRocks' `SHOW GRANTS` parser
//! ([`starrocks::parse_grant`], [`starrocks::fold_grants`], [`starrocks::identity_user`]), the
//! MySQL family's reading of a stored database-level grant ([`mysql::scope_of_schema`]) and the
//! privilege map's decoding ([`PrivilegeMap::decode`]). Any text is read without a panic, and
//! what our own statements grant reads back as the value it was made from. Reading grants from a
//! real server is tested in the engine tests that run against MariaDB.

use std::collections::BTreeSet;

use proptest::prelude::*;
use starkeep_domain::{Ddl, Dml, Privileges};
use starkeep_engine::mysql_wire::dialect::{Dialect, Scope};
use starkeep_engine::mysql_wire::mapping::{GrantSet, Level, PrivilegeMap};
use starkeep_engine::mysql_wire::{mysql, starrocks};

fn privileges() -> impl Strategy<Value = Privileges> {
    (prop::sample::select(Dml::ALL.to_vec()), any::<bool>()).prop_map(|(dml, ddl)| Privileges {
        dml,
        ddl: if ddl { Ddl::Granted } else { Ddl::None },
    })
}

/// Database names the contract accepts: 1 to 64 characters, none a control character.
fn database_name() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Za-z0-9_]{1,64}", "[^\\p{Cc}]{1,64}"].prop_filter("not *", |n| n != "*")
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![Just(Scope::All), database_name().prop_map(Scope::Database)]
}

/// Pieces of `SHOW GRANTS` rows, assembled at random.
fn near_grant_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("GRANT ".to_owned()),
        Just(" ON ".to_owned()),
        Just(" TO ".to_owned()),
        Just("USER ".to_owned()),
        Just("ALL TABLES IN ".to_owned()),
        Just("ALL MATERIALIZED VIEWS IN ".to_owned()),
        Just("DATABASE ".to_owned()),
        Just("ALL DATABASES".to_owned()),
        Just("CATALOG ".to_owned()),
        Just("TABLE ".to_owned()),
        Just(".*".to_owned()),
        Just("*.*".to_owned()),
        Just(" WITH GRANT OPTION".to_owned()),
        Just("`".to_owned()),
        Just("'".to_owned()),
        Just("@".to_owned()),
        Just(", ".to_owned()),
        Just(";".to_owned()),
        "[A-Za-z_]{1,12}",
        "\\PC{0,6}",
    ];
    prop::collection::vec(piece, 0..14).prop_map(|p| p.concat())
}

/// MySQL's escaping of a database name in a database-level grant, as the server stores it:
/// `_`, `%` and `\` are wildcards or escapes there, so each gets a `\`.
fn stored_escaped(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '_' | '%' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn grant_set() -> impl Strategy<Value = GrantSet> {
    let level = prop::sample::select(vec![
        Level::Database,
        Level::Table,
        Level::View,
        Level::MaterializedView,
        Level::Catalog,
    ]);
    let privilege = prop_oneof![
        prop::sample::select(vec![
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
            "CREATE",
            "DROP",
            "ALTER",
            "INDEX",
            "EXPORT",
            "USAGE",
            "CREATE TABLE",
            "CREATE VIEW",
            "LOCK TABLES",
            "EXECUTE",
            "SHOW VIEW",
            "REFRESH",
            "CREATE DATABASE",
        ])
        .prop_map(str::to_owned),
        "[A-Z ]{1,12}",
    ];
    prop::collection::btree_set((level, privilege), 0..24)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn starrocks_grant_text_never_panics(
        text in prop_oneof![any::<String>(), near_grant_text()],
        catalog in prop::option::of(prop_oneof![Just("default_catalog".to_owned()), any::<String>()]),
    ) {
        let _ = starrocks::parse_grant(&text);
        let _ = starrocks::identity_user(&text);
        let raw = starrocks::fold_grants([(catalog.as_deref(), text.as_str())]);
        let _ = PrivilegeMap::starrocks_default().decode(
            raw.scopes.values().next().unwrap_or(&GrantSet::new()),
            true,
        );
    }

    /// Our statements, read back verbatim (quoted names) and as `SHOW GRANTS` prints plain
    /// names (unquoted), fold to the scope and decode to the value they were made from.
    #[test]
    fn starrocks_our_grants_read_back(value in privileges(), scope in scope()) {
        let map = PrivilegeMap::starrocks_default();
        let all = scope == Scope::All;
        let statements = starrocks::StarRocksDialect.grant("u1", &scope, &map.encode(value, all));
        let mut forms = vec![statements.clone()];
        if let Scope::Database(name) = &scope {
            if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                forms.push(statements.iter().map(|s| s.replace(&format!("`{name}`"), name)).collect());
            }
        }
        for lines in forms {
            let raw = starrocks::fold_grants(lines.iter().map(|l| (Some("default_catalog"), l.as_str())));
            prop_assert!(!raw.foreign, "{:?}", lines);
            let scopes: Vec<&Scope> = raw.scopes.keys().collect();
            prop_assert_eq!(scopes, vec![&scope], "{:?}", lines);
            let decoded = map.decode(&raw.scopes[&scope], all);
            prop_assert_eq!(decoded.privileges, value);
            prop_assert!(decoded.exact);
        }
    }

    #[test]
    fn starrocks_identities_read_back(user in "[A-Za-z0-9_.-]{1,32}", host in "[A-Za-z0-9.%-]{1,20}") {
        for quote in ['\'', '`'] {
            let identity = format!("{quote}{user}{quote}@{quote}{host}{quote}");
            prop_assert_eq!(starrocks::identity_user(&identity), Some((user.clone(), host.clone())));
        }
    }

    #[test]
    fn mysql_stored_schema_never_panics_and_database_scopes_are_faithful(stored in any::<String>()) {
        match mysql::scope_of_schema(&stored) {
            Scope::All => prop_assert_eq!(stored, "%"),
            // A database scope only when re-escaping its name gives back what was stored.
            Scope::Database(name) => prop_assert_eq!(stored_escaped(&name), stored),
            Scope::Pattern(pattern) => prop_assert_eq!(pattern, stored),
        }
    }

    #[test]
    fn mysql_our_grants_read_back(name in database_name()) {
        prop_assert_eq!(mysql::scope_of_schema(&stored_escaped(&name)), Scope::Database(name));
    }

    #[test]
    fn mysql_unescaped_wildcards_are_patterns(a in "[a-z]{0,8}", wildcard in "[_%]", b in "[a-z]{0,8}") {
        let stored = format!("{a}{wildcard}{b}");
        prop_assume!(stored != "%");
        prop_assert_eq!(mysql::scope_of_schema(&stored), Scope::Pattern(stored));
    }

    /// Any grants decode without a panic; what our values encode to decodes to them exactly;
    /// and a decode that says "exact" is the encoding of the value it names.
    #[test]
    fn decoding_is_exact_only_for_our_encodings(found in grant_set(), value in privileges(), all in any::<bool>()) {
        for map in [PrivilegeMap::mysql_default(), PrivilegeMap::starrocks_default()] {
            let ours = map.encode(value, all);
            let decoded = map.decode(&ours, all);
            prop_assert_eq!(decoded.privileges, value);
            prop_assert!(decoded.exact);

            let decoded = map.decode(&found, all);
            if decoded.exact {
                let mut expected = map.encode(decoded.privileges, all);
                let mut seen = found.clone();
                if !all {
                    // Catalog grants belong to "*" only; on one database they are not judged.
                    let not_catalog = |g: &(Level, String)| g.0 != Level::Catalog;
                    expected.retain(not_catalog);
                    seen.retain(not_catalog);
                }
                prop_assert_eq!(&seen, &expected, "{:?}", decoded.privileges);
            }
        }
    }
}

/// The other side of "exact": one grant more than a value's encoding makes a decode inexact.
#[test]
fn an_extra_grant_makes_a_decode_inexact() {
    let map = PrivilegeMap::mysql_default();
    let ours = map.encode(
        Privileges {
            dml: Dml::ReadWrite,
            ddl: Ddl::None,
        },
        false,
    );
    let mut more: BTreeSet<_> = ours.clone();
    more.insert((Level::Database, "FILE".to_owned()));
    assert!(map.decode(&ours, false).exact);
    assert!(!map.decode(&more, false).exact);
}
