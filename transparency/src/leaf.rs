//! The canonical encoding of a record, whose hash is the record's leaf in the log.
//!
//! The broker and the auditor must turn the same record into the same bytes, independently and
//! years apart, so the encoding is a published standard rather than whatever a serializer does
//! today: RFC 8785, the JSON Canonicalization Scheme (JCS). Members are sorted by the UTF-16
//! code units of their names, with no whitespace; strings are escaped as JCS (and serde_json)
//! escape them: `"` and `\` escaped, the control characters as `\b \t \n \f \r` or `\u00xx`,
//! everything else (non-ASCII included) kept as UTF-8.
//!
//! A record is a flat object whose values are strings, integers or null. Floats, booleans, arrays
//! and nested objects are refused rather than encoded: JCS encodes numbers as ECMAScript doubles,
//! which is where implementations disagree, and a flat, typed record is all the log needs.
//! For the same reason integers must be within ±(2^53 - 1), where an ECMAScript number is exact
//! and JCS writes the integer's plain decimal digits; a larger one would be rounded by any other
//! JCS implementation, so it is an error here, not a silent difference.
//!
//! The leaf hash is RFC 6962's: SHA-256(0x00 || canonical bytes), of the record without the
//! members [`NUMBERED_BY_THE_DATABASE`]: the broker hashes a record as it writes it, before the
//! database gives the row its number, and the record's place in the log is its leaf number
//! anyway. An export still carries those numbers, to name a record to a person.

use serde_json::{Map, Value};
use tlog_tiles::{Hash, record_hash};

/// The largest integer JCS (an ECMAScript double) represents exactly: 2^53 - 1.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Why a record has no canonical encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LeafError {
    /// A member's value is not a string, an integer or null.
    #[error("member {key:?} is {kind}: a record's values are strings, integers or null")]
    UnsupportedValue {
        /// The member's name.
        key: String,
        /// What the value is.
        kind: &'static str,
    },
    /// An integer outside ±(2^53 - 1), which JCS cannot write exactly.
    #[error("member {key:?} is the integer {value}, outside ±(2^53 - 1)")]
    IntegerOutOfRange {
        /// The member's name.
        key: String,
        /// The value as written.
        value: String,
    },
}

fn check_value(key: &str, value: &Value) -> Result<(), LeafError> {
    let unsupported = |kind| {
        Err(LeafError::UnsupportedValue {
            key: key.to_owned(),
            kind,
        })
    };
    match value {
        Value::Null | Value::String(_) => Ok(()),
        Value::Number(n) => match n.as_i64() {
            Some(i) if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i) => Ok(()),
            Some(_) => Err(LeafError::IntegerOutOfRange {
                key: key.to_owned(),
                value: n.to_string(),
            }),
            None if n.is_u64() => Err(LeafError::IntegerOutOfRange {
                key: key.to_owned(),
                value: n.to_string(),
            }),
            None => unsupported("a float"),
        },
        Value::Bool(_) => unsupported("a boolean"),
        Value::Array(_) => unsupported("an array"),
        Value::Object(_) => unsupported("an object"),
    }
}

/// The record's RFC 8785 (JCS) encoding. The map's own order is ignored (the workspace's
/// serde_json keeps insertion order): members are sorted here.
pub fn canonical(record: &Map<String, Value>) -> Result<Vec<u8>, LeafError> {
    let mut members: Vec<(&String, &Value)> = record.iter().collect();
    for (key, value) in &members {
        check_value(key, value)?;
    }
    members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    let mut out = Vec::with_capacity(64 * members.len() + 2);
    out.push(b'{');
    for (i, (key, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Writing a string, an integer or null into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, key);
        out.push(b':');
        let _ = serde_json::to_writer(&mut out, value);
    }
    out.push(b'}');
    Ok(out)
}

/// The members a database gives a row as it inserts it (`id`, `seq`): not hashed.
pub const NUMBERED_BY_THE_DATABASE: [&str; 2] = ["id", "seq"];

/// The record's leaf hash: SHA-256(0x00 || canonical bytes), without the members
/// [`NUMBERED_BY_THE_DATABASE`].
pub fn leaf_hash(record: &Map<String, Value>) -> Result<Hash, LeafError> {
    if NUMBERED_BY_THE_DATABASE
        .iter()
        .any(|k| record.contains_key(*k))
    {
        let mut hashed = record.clone();
        for key in NUMBERED_BY_THE_DATABASE {
            hashed.remove(key);
        }
        return Ok(record_hash(&canonical(&hashed)?));
    }
    Ok(record_hash(&canonical(record)?))
}

#[cfg(test)]
mod tests;
