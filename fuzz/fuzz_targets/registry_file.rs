//! Registry TOML through `Registry::from_toml` and the registry store's version line; a
//! registry that validates must also survive being saved and loaded by the registry store.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = broker::fuzzing::registry_file(text);
    broker_fuzz::debug(&(
        parsed.version,
        parsed.registry.as_ref().map(|s| &s.round_trip),
    ));
    if text.lines().next() == Some("# registry-version = 0") {
        assert_eq!(parsed.version, 0);
    }
    if let Ok(stored) = parsed.registry {
        if let Err(e) = stored.round_trip {
            panic!("a valid registry does not survive the registry store: {e}");
        }
    }
});
