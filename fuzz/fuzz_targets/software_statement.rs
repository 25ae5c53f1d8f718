//! A dynamic client registration (RFC 7591) request body through `/register`'s parsing, with
//! the development registry trusting one fixed statement key for CA-NS.
//!
//! Input: `sign:<payload>` signs the payload (any bytes) with that key and posts it as the
//! `software_statement`, to reach the claim checks; anything else is the request body.
#![no_main]

use std::sync::OnceLock;

use broker_fuzz::{FixedKey, NOW, SIGN, STATEMENT_KEY, example_registry};
use libfuzzer_sys::fuzz_target;
use trust_framework::Registry;
use trust_framework::registry::StatementKeyEntry;

fn setup() -> &'static (FixedKey, Registry) {
    static SETUP: OnceLock<(FixedKey, Registry)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let key = FixedKey::new(STATEMENT_KEY, "fuzz-ns");
        let mut file = example_registry().source().clone();
        file.statement_keys.push(StatementKeyEntry {
            jurisdiction: "CA-NS".into(),
            kid: "fuzz-ns".into(),
            jwk: key.public.clone(),
        });
        let registry = Registry::from_file(file).expect("the registry with a statement key");
        (key, registry)
    })
}

fuzz_target!(|data: &[u8]| {
    let (key, registry) = setup();
    let body = match data.strip_prefix(SIGN) {
        Some(payload) => serde_json::json!({ "software_statement": key.sign(payload) })
            .to_string()
            .into_bytes(),
        None => data.to_vec(),
    };
    let registered = broker::fuzzing::software_statement(registry, &body, NOW);
    broker_fuzz::debug(
        &registered
            .as_ref()
            .map(|(entry, stored)| (entry, &stored.round_trip)),
    );
    let Ok((entry, stored)) = registered else {
        return;
    };
    assert_eq!(entry.status, "pending");
    assert_eq!(entry.jurisdiction, "CA-NS");
    if let Err(e) = stored.round_trip {
        panic!("a registered client does not survive the registry store: {e}");
    }
});
