//! A raw `/authorize` query string through the broker's authorization request parsing:
//! form decoding, repeated parameters, the language and its switch link, the PKCE challenge,
//! the `claims` JSON, the requested attributes and level, and the provider hints.
#![no_main]

use broker_fuzz::{example_registry, is_s256_shape};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let request = broker::fuzzing::authorize_request(example_registry(), data);
    broker_fuzz::debug(&request);
    let Ok(request) = request else {
        return;
    };
    // The language switch is this request again, with exactly one `lang`: the other language.
    let (path, query) = request.switch.split_once('?').expect("a query");
    assert_eq!(path, "/authorize");
    let langs: Vec<_> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "lang")
        .collect();
    assert_eq!(langs.len(), 1, "{}", request.switch);
    assert_eq!(langs[0].1, request.lang.other().code());
    if let Some((challenge, s256)) = &request.code_challenge {
        assert_eq!(*s256, is_s256_shape(challenge));
    }
});
