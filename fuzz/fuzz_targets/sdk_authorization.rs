//! The `SDK-HMAC-SHA256` parsers: arbitrary bytes as an `Authorization` value, a path, a query
//! and an `X-Sdk-Date` must be read without a panic, and an authorization that parses must write
//! back to text that parses to the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use starkeep_auth::sdk_signature::{canonical_query, canonical_uri, parse_sdk_date, Authorization};

fuzz_target!(|data: &[u8]| {
    let _ = Authorization::claims_scheme(data);
    let text = String::from_utf8_lossy(data);
    let _ = canonical_uri(&text);
    let _ = canonical_query(&text);
    let _ = parse_sdk_date(data);
    // The same bytes behind the scheme name, so the field parser is reached.
    let value = format!("SDK-HMAC-SHA256 {text}");
    for candidate in [text.as_ref(), value.as_str()] {
        if let Ok(parsed) = Authorization::parse(candidate) {
            assert_eq!(Authorization::parse(&parsed.to_string()), Ok(parsed));
        }
    }
});
