//! The grant read-back: arbitrary text as a StarRocks `SHOW GRANTS` row or user identity, and
//! as a MySQL stored grant database name, must be read without a panic; a MySQL database scope
//! must re-escape to exactly what was stored; any folded grants must decode.

#![no_main]

use libfuzzer_sys::fuzz_target;
use starkeep_engine::mysql_wire::dialect::Scope;
use starkeep_engine::mysql_wire::mapping::PrivilegeMap;
use starkeep_engine::mysql_wire::{mysql, starrocks};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = starrocks::parse_grant(&text);
    let _ = starrocks::identity_user(&text);
    let raw = starrocks::fold_grants([(Some("default_catalog"), text.as_ref())]);
    let map = PrivilegeMap::starrocks_default();
    for (scope, found) in &raw.scopes {
        let _ = map.decode(found, *scope == Scope::All);
    }
    if let Scope::Database(name) = mysql::scope_of_schema(&text) {
        let mut escaped = String::new();
        for c in name.chars() {
            if matches!(c, '_' | '%' | '\\') {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        assert_eq!(escaped, text);
    }
});
