//! JSON bytes as every admin API request body (provider, service, agreement, amendment,
//! suspension and termination reasons), applied to the development registry the way the
//! handlers do; whatever validates must survive the registry store.
#![no_main]

use broker_fuzz::example_registry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let payload = broker::fuzzing::admin_payload(example_registry().source(), data);
    broker_fuzz::debug(
        &payload
            .outcomes
            .iter()
            .map(|(k, o)| (k, o.as_ref().map(|s| &s.round_trip)))
            .collect::<Vec<_>>(),
    );
    for (kind, outcome) in payload.outcomes {
        if let Ok(stored) = outcome {
            if let Err(e) = stored.round_trip {
                panic!("an accepted {kind} does not survive the registry store: {e}");
            }
        }
    }
});
