//! Matching requested database names against the databases an instance really has.

use std::collections::BTreeSet;

use starkeep_domain::{DatabaseName, DatabaseSelection};

use crate::EngineError;

/// Maps each requested name to the instance's own spelling of it: an exact match first, else
/// the one database whose name matches ignoring ASCII case (so `INFORMATION_SCHEMA` finds
/// `information_schema`). A name with no match is refused before anything changes.
pub fn resolve_databases<S: AsRef<str>>(
    requested: &DatabaseSelection,
    existing: &[S],
) -> Result<DatabaseSelection, EngineError> {
    let DatabaseSelection::Named(names) = requested else {
        return Ok(DatabaseSelection::All);
    };
    let mut resolved = BTreeSet::new();
    for name in names {
        let wanted = name.as_str();
        let exact = existing.iter().find(|e| e.as_ref() == wanted);
        let found = exact.or_else(|| {
            let mut folded = existing
                .iter()
                .filter(|e| e.as_ref().eq_ignore_ascii_case(wanted));
            match (folded.next(), folded.next()) {
                (Some(one), None) => Some(one),
                _ => None,
            }
        });
        let Some(found) = found else {
            return Err(EngineError::UnknownDatabase(wanted.to_owned()));
        };
        resolved.insert(
            DatabaseName::parse(found.as_ref())
                .map_err(|_| EngineError::UnknownDatabase(wanted.to_owned()))?,
        );
    }
    Ok(DatabaseSelection::Named(resolved))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_exact_then_case_folded() {
        let have = ["default", "information_schema", "Sales", "sales"];
        let sel = DatabaseSelection::parse(&["INFORMATION_SCHEMA", "default"]).unwrap();
        assert_eq!(
            resolve_databases(&sel, &have).unwrap().to_wire(),
            vec!["default", "information_schema"]
        );
        // Two case-folded candidates and no exact match: ambiguous, refused.
        let sel = DatabaseSelection::parse(&["SALES"]).unwrap();
        assert!(matches!(
            resolve_databases(&sel, &have),
            Err(EngineError::UnknownDatabase(n)) if n == "SALES"
        ));
        let sel = DatabaseSelection::parse(&["sales"]).unwrap();
        assert_eq!(
            resolve_databases(&sel, &have).unwrap().to_wire(),
            vec!["sales"]
        );
        let sel = DatabaseSelection::parse(&["nope", "default"]).unwrap();
        assert!(resolve_databases(&sel, &have).is_err());
        assert_eq!(
            resolve_databases(&DatabaseSelection::All, &have).unwrap(),
            DatabaseSelection::All
        );
    }
}
