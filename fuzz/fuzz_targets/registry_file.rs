//! Registry TOML through `Registry::from_toml`; a registry that validates must also survive
//! being saved and read back as the records keep it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = broker::fuzzing::registry_file(text);
    broker_fuzz::debug(&parsed.as_ref().map(|s| &s.round_trip));
    if let Ok(stored) = parsed {
        if let Err(e) = stored.round_trip {
            panic!("a valid registry does not survive the records: {e}");
        }
    }
});
