use aws_lc_rs::digest;
use serde_json::json;

use super::*;

fn record(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn text(value: Value) -> String {
    String::from_utf8(canonical(&record(value)).unwrap()).unwrap()
}

#[test]
fn members_are_sorted_whatever_the_insertion_order() {
    assert_eq!(
        text(json!({"table": "disclosures", "id": 9, "b": null, "B": "x", "aa": 1, "a": 2})),
        r#"{"B":"x","a":2,"aa":1,"b":null,"id":9,"table":"disclosures"}"#
    );
    let mut forward = Map::new();
    let mut backward = Map::new();
    for (k, v) in [("x", json!(1)), ("y", json!("2")), ("z", Value::Null)] {
        forward.insert(k.into(), v);
    }
    for (k, v) in [("z", Value::Null), ("y", json!("2")), ("x", json!(1))] {
        backward.insert(k.into(), v);
    }
    assert_eq!(canonical(&forward).unwrap(), canonical(&backward).unwrap());
    assert_eq!(text(json!({})), "{}");
}

/// RFC 8785 section 3.2.3's sorting example: by UTF-16 code units, so U+1F600 (a surrogate pair,
/// 0xD83D...) sorts before U+FB33, where UTF-8 byte order would put it after.
#[test]
fn members_sort_by_utf16_code_units() {
    let keys = [
        "\u{20ac}",
        "\r",
        "\u{fb33}",
        "1",
        "\u{1f600}",
        "\u{80}",
        "\u{f6}",
    ];
    let mut map = Map::new();
    for (i, key) in keys.iter().enumerate() {
        map.insert((*key).to_owned(), json!(i));
    }
    let out = String::from_utf8(canonical(&map).unwrap()).unwrap();
    assert_eq!(
        out,
        "{\"\\r\":1,\"1\":3,\"\u{80}\":5,\"\u{f6}\":6,\"\u{20ac}\":0,\"\u{1f600}\":4,\"\u{fb33}\":2}"
    );
}

#[test]
fn strings_are_escaped_as_jcs_escapes_them() {
    assert_eq!(
        text(
            json!({"s": "quote \" backslash \\ slash / nl \n tab \t cr \r bs \u{8} ff \u{c} nul \u{0} us \u{1f} del \u{7f}"})
        ),
        "{\"s\":\"quote \\\" backslash \\\\ slash / nl \\n tab \\t cr \\r bs \\b ff \\f nul \\u0000 us \\u001f del \u{7f}\"}"
    );
    // Non-ASCII is kept as UTF-8, not escaped.
    assert_eq!(
        text(json!({"nom": "Québec – 東京 😀 \u{2028}"})),
        "{\"nom\":\"Québec – 東京 😀 \u{2028}\"}"
    );
}

#[test]
fn integers_and_null_are_written_plainly() {
    assert_eq!(
        text(
            json!({"a": 0, "b": -1, "c": 9_007_199_254_740_991_i64, "d": -9_007_199_254_740_991_i64, "e": null})
        ),
        r#"{"a":0,"b":-1,"c":9007199254740991,"d":-9007199254740991,"e":null}"#
    );
}

#[test]
fn other_values_are_refused() {
    for (value, kind) in [
        (json!(1.5), "a float"),
        (json!(1.0), "a float"),
        (json!(true), "a boolean"),
        (json!([1]), "an array"),
        (json!({"x": 1}), "an object"),
    ] {
        let mut map = Map::new();
        map.insert("k".into(), value);
        assert_eq!(
            canonical(&map),
            Err(LeafError::UnsupportedValue {
                key: "k".into(),
                kind
            })
        );
    }
    for value in [
        json!(9_007_199_254_740_992_i64),
        json!(-9_007_199_254_740_992_i64),
        json!(u64::MAX),
        json!(i64::MIN),
    ] {
        let mut map = Map::new();
        map.insert("k".into(), value);
        assert!(matches!(
            canonical(&map),
            Err(LeafError::IntegerOutOfRange { .. })
        ));
    }
}

#[test]
fn the_leaf_hash_is_sha256_of_zero_and_the_encoding() {
    let map = record(json!({"table": "consents", "when": 3, "who": "é"}));
    let bytes = canonical(&map).unwrap();
    assert_eq!(
        bytes,
        "{\"table\":\"consents\",\"when\":3,\"who\":\"é\"}".as_bytes()
    );
    let expected = digest::digest(&digest::SHA256, &[&[0u8][..], &bytes].concat());
    assert_eq!(leaf_hash(&map).unwrap().0, expected.as_ref());
    let mut changed = map.clone();
    changed.insert("who".into(), json!("e"));
    assert_ne!(leaf_hash(&changed).unwrap(), leaf_hash(&map).unwrap());
}

#[test]
fn the_rows_database_number_is_not_hashed_and_everything_else_is() {
    let with = record(json!({"table": "disclosures", "id": 9, "client_id": "a"}));
    let without = record(json!({"table": "disclosures", "client_id": "a"}));
    assert_eq!(leaf_hash(&with).unwrap(), leaf_hash(&without).unwrap());
    let seq = record(json!({"table": "audit_events", "seq": 3, "event": "x"}));
    let other = record(json!({"table": "audit_events", "seq": 4, "event": "x"}));
    assert_eq!(leaf_hash(&seq).unwrap(), leaf_hash(&other).unwrap());
    let edited = record(json!({"table": "disclosures", "id": 9, "client_id": "b"}));
    assert_ne!(leaf_hash(&with).unwrap(), leaf_hash(&edited).unwrap());
}
