//! A `/token` request: the first line is the `Authorization` header value (an empty line: no
//! header), the rest is the form body, through `/token`'s own parsing: form decoding, repeated
//! parameters, Basic credentials, the code grant's parameters and the PKCE verifier.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use broker_fuzz::{is_s256_shape, split_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (authorization, body) = split_line(data);
    let authorization = (!authorization.is_empty()).then_some(authorization);
    let request = broker::fuzzing::token_request(body, authorization);
    broker_fuzz::debug(&request);
    let Ok(request) = request else {
        return;
    };
    // A code grant read has its verifier.
    if request.grant.is_ok() {
        assert!(request.verifier.is_some());
    }
    if let Some((verifier, shaped, challenge)) = &request.verifier {
        assert!(is_s256_shape(challenge), "{challenge}");
        if *shaped {
            assert!((43..=128).contains(&verifier.len()));
        }
    }
    // Credentials encoded as RFC 6749 section 2.3.1 says decode to themselves.
    if let Some((id, secret)) = request.basic {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let header = format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", encode(&id), encode(&secret)))
        );
        let again = broker::fuzzing::token_request(b"", Some(header.as_bytes()))
            .expect("well-formed Basic credentials parse");
        assert_eq!(again.basic, Some((id, secret)));
    }
});
