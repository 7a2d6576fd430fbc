//! Property tests of the `SDK-HMAC-SHA256` parsers: any `Authorization` value, path, query or
//! `X-Sdk-Date` is read without a panic; every authorization we write reads back as itself; and
//! what a parse accepts writes back to a value that parses to the same thing. Signing and
//! verification against the SDK's own vectors live in `sdk_vectors.rs`.

use proptest::prelude::*;
use starkeep_auth::sdk_signature::{
    canonical_query, canonical_request, canonical_uri, parse_sdk_date, verify, Authorization,
    ReceivedRequest,
};

/// Authorizations as a client (ours, or the SDKs) writes them: an access key of printable ASCII
/// without `,`, lower-case header names, any signature.
fn authorization() -> impl Strategy<Value = Authorization> {
    (
        "[!-+\\--~]{1,128}",
        prop::collection::vec("[a-z0-9._-]{1,24}", 1..12),
        any::<[u8; 32]>(),
    )
        .prop_map(|(access_key, signed_headers, signature)| Authorization {
            access_key,
            signed_headers,
            signature,
        })
}

/// Valid header values written by other hands: the fields in any order, with any white space
/// around them.
fn other_writers_header() -> impl Strategy<Value = String> {
    (
        authorization(),
        Just(vec![0usize, 1, 2]).prop_shuffle(),
        prop::collection::vec("[ \t]{0,3}", 6),
    )
        .prop_map(|(auth, order, space)| {
            let fields = [
                format!("Access={}", auth.access_key),
                format!("SignedHeaders={}", auth.signed_headers.join(";")),
                format!("Signature={}", hex::encode(auth.signature)),
            ];
            let mut out = "SDK-HMAC-SHA256 ".to_owned();
            for (i, at) in order.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&space[2 * i]);
                out.push_str(&fields[*at]);
                out.push_str(&space[2 * i + 1]);
            }
            out
        })
}

/// Header values near the valid form: the scheme, then fields made of plausible pieces.
fn near_valid_header() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("Access=".to_owned()),
        Just("SignedHeaders=".to_owned()),
        Just("Signature=".to_owned()),
        Just(",".to_owned()),
        Just(", ".to_owned()),
        Just(";".to_owned()),
        Just("=".to_owned()),
        Just(" ".to_owned()),
        "[0-9a-f]{0,70}",
        "[a-z;-]{0,30}",
        "\\PC{0,8}",
    ];
    (
        prop_oneof![
            Just("SDK-HMAC-SHA256 ".to_owned()),
            Just("SDK-HMAC-SHA256\t".to_owned()),
            Just("SDK-HMAC-SHA256".to_owned()),
            "\\PC{0,20}",
        ],
        prop::collection::vec(piece, 0..16),
    )
        .prop_map(|(scheme, pieces)| scheme + &pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_header_values_never_panic(value in prop_oneof![any::<String>(), near_valid_header()]) {
        let _ = Authorization::claims_scheme(value.as_bytes());
        let _ = Authorization::parse(&value);
    }

    #[test]
    fn what_we_write_reads_back(auth in authorization()) {
        let written = auth.to_string();
        prop_assert!(Authorization::claims_scheme(written.as_bytes()));
        prop_assert_eq!(Authorization::parse(&written), Ok(auth));
    }

    #[test]
    fn what_parses_writes_back_to_the_same(value in near_valid_header()) {
        if let Ok(parsed) = Authorization::parse(&value) {
            prop_assert_eq!(Authorization::parse(&parsed.to_string()), Ok(parsed));
        }
    }

    #[test]
    fn other_writers_spacing_and_order_are_read(value in other_writers_header()) {
        let parsed = Authorization::parse(&value);
        prop_assert!(parsed.is_ok(), "{:?}", value);
        let parsed = parsed.unwrap();
        prop_assert_eq!(Authorization::parse(&parsed.to_string()), Ok(parsed));
    }

    #[test]
    fn one_changed_signature_byte_is_another_authorization(auth in authorization(), at in 0usize..32, flip in 1u8..=255) {
        let mut changed = auth.clone();
        changed.signature[at] ^= flip;
        let read = Authorization::parse(&changed.to_string()).unwrap();
        prop_assert_ne!(read, auth);
    }

    #[test]
    fn arbitrary_paths_queries_and_dates_never_panic(
        path in any::<String>(),
        query in prop_oneof![any::<String>(), "([a-z%0-9A-F]{0,6}=?[a-z%0-9A-F+]{0,6}&?){0,6}"],
        date in prop_oneof![any::<String>(), "[0-9]{8}T[0-9]{6}Z"],
        body in prop::collection::vec(any::<u8>(), 0..64),
        auth in authorization(),
    ) {
        let _ = canonical_uri(&path);
        let _ = canonical_query(&query);
        let _ = parse_sdk_date(date.as_bytes());
        let headers: Vec<(&str, &[u8])> = vec![
            ("host", b"127.0.0.1:8800"),
            ("x-sdk-date", date.as_bytes()),
            ("content-type", b"application/json"),
        ];
        let req = ReceivedRequest { method: "POST", path: &path, query: &query, headers: &headers, body: &body };
        let _ = canonical_request(&req, &auth);
        // A signature made up by the strategy never verifies.
        prop_assert!(verify(&req, &auth, b"secret", 1_800_000_000).is_err());
    }

    #[test]
    fn valid_dates_parse_and_order_like_their_text(
        a in (1970i64..9999, 1i64..=12, 1i64..=28, 0i64..24, 0i64..60, 0i64..60),
        b in (1970i64..9999, 1i64..=12, 1i64..=28, 0i64..24, 0i64..60, 0i64..60),
    ) {
        let text = |(y, mo, d, h, mi, s): (i64, i64, i64, i64, i64, i64)| {
            format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
        };
        let (ta, tb) = (text(a), text(b));
        let (sa, sb) = (parse_sdk_date(ta.as_bytes()).unwrap(), parse_sdk_date(tb.as_bytes()).unwrap());
        // The text is fixed-width, most significant first: it orders as the instants do.
        prop_assert_eq!(ta.cmp(&tb), sa.cmp(&sb));
        prop_assert_eq!(sa.rem_euclid(60), a.5);
    }
}
