//! Property tests: each validator accepts exactly what the contract's rule, written here a second
//! time as a plain predicate (the oracle), accepts, and never panics on anything else.

use proptest::prelude::*;
use starkeep_domain::{
    AccountName, AccountPassword, InstanceId, PageRequest, ProjectId, PASSWORD_SPECIALS,
};

fn name_oracle(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=32).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && b[0].is_ascii_lowercase()
        && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
}

fn password_oracle(pw: &str, name: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || PASSWORD_SPECIALS.contains(c);
    let kinds = [
        pw.chars().any(|c| c.is_ascii_uppercase()),
        pw.chars().any(|c| c.is_ascii_lowercase()),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| PASSWORD_SPECIALS.contains(c)),
    ];
    let reversed: String = name.chars().rev().collect();
    (8..=32).contains(&pw.chars().count())
        && pw.chars().all(allowed)
        && kinds.iter().filter(|k| **k).count() >= 3
        && pw != name
        && pw != reversed
}

/// Strings drawn mostly from the interesting alphabet, sometimes from anything.
fn near_names() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9_]{0,34}",
        "[a-zA-Z0-9_\\-. ]{0,34}",
        any::<String>(),
    ]
}

fn near_passwords() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9~!@#%^*\\-_=+?,]{0,34}",
        "[A-Za-z0-9~!@#%^*\\-_=+?,'\"\\\\$ ]{0,34}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn account_names_match_the_rule(s in near_names()) {
        prop_assert_eq!(AccountName::parse(&s).is_ok(), name_oracle(&s), "{:?}", s);
    }

    #[test]
    fn passwords_match_the_rule(pw in near_passwords(), name in "[a-z][a-z0-9_]{0,30}[a-z0-9]") {
        let name = AccountName::parse(&name).unwrap();
        let accepted = AccountPassword::parse(&pw, &name).is_ok();
        prop_assert_eq!(accepted, password_oracle(&pw, name.as_str()), "{:?}", pw);
        if accepted {
            // What may reach SQL can never carry a quote, a backslash or a control character.
            prop_assert!(!pw.contains(['\'', '"', '\\', '`']) && !pw.chars().any(char::is_control));
        }
    }

    #[test]
    fn a_name_and_its_reverse_are_never_the_password(name in "[a-z][a-z0-9_]{6,30}[A-Z0-9]") {
        // Names are lower case, so build a password-shaped name variant and check both forms.
        let lower = name.to_ascii_lowercase();
        if let Ok(n) = AccountName::parse(&lower) {
            let reversed: String = lower.chars().rev().collect();
            prop_assert!(AccountPassword::parse(&lower, &n).is_err());
            prop_assert!(AccountPassword::parse(&reversed, &n).is_err());
        }
    }

    #[test]
    fn ids_match_their_shapes(s in prop_oneof!["[0-9a-fA-F]{32}in[0-9]{2}", "[0-9a-zA-Z]{30,38}", any::<String>()]) {
        let b = s.as_bytes();
        let instance_ok = b.len() == 36
            && b[..32].iter().all(u8::is_ascii_hexdigit)
            && b[32..34].eq_ignore_ascii_case(b"in")
            && b[34..].iter().all(u8::is_ascii_digit);
        prop_assert_eq!(InstanceId::parse(&s).is_ok(), instance_ok);
        let project_ok = b.len() == 32 && b.iter().all(u8::is_ascii_alphanumeric);
        prop_assert_eq!(ProjectId::parse(&s).is_ok(), project_ok);
    }

    #[test]
    fn pages_accept_exactly_the_range(limit in any::<Option<String>>(), offset in any::<Option<String>>(), n in -5i64..200, o in -5i64..100_000) {
        // Arbitrary text never panics.
        let _ = PageRequest::parse(limit.as_deref(), offset.as_deref());
        let page = PageRequest::parse(Some(&n.to_string()), Some(&o.to_string()));
        prop_assert_eq!(page.is_ok(), (1..=100).contains(&n) && o >= 0);
    }
}
