//! Arbitrary bytes as the query string of `GET …/users`, read as the list handler reads it
//! (`QueryParams`, then `PageRequest` and the name filter). Nothing may panic, and an accepted
//! page stays within the contract's bounds.

#![no_main]

use libfuzzer_sys::fuzz_target;
use starkeep_api::accounts::list::query_from;
use starkeep_api::extract::QueryParams;
use starkeep_domain::Language;

fuzz_target!(|raw: &[u8]| {
    let raw = String::from_utf8_lossy(raw);
    match query_from(&QueryParams::parse(&raw)) {
        Ok(query) => {
            assert!((1..=100).contains(&query.page.limit()), "{query:?}");
            if let Some(name) = &query.name {
                assert!((1..=64).contains(&name.chars().count()));
            }
        }
        Err(e) => {
            assert!(!e.message(Language::EnUs).is_empty());
            assert!(!e.message(Language::ZhCn).is_empty());
        }
    }
});
