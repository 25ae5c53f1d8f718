//! A provider's answer at its token endpoint, as the broker reads it after redeeming a code.
//!
//! Input: the first line is `STATUS CONTENT-TYPE` (`200 application/json`; the content type may
//! be missing), the rest is the body.
#![no_main]

use broker_fuzz::split_line;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (head, body) = split_line(data);
    let Ok(head) = std::str::from_utf8(head) else {
        return;
    };
    let (status, content_type) = match head.split_once(' ') {
        Some((s, t)) => (s, Some(t)),
        None => (head, None),
    };
    let Ok(status) = status.parse::<u16>() else {
        return;
    };
    let answer = broker::fuzzing::upstream_token_response(status, content_type, body);
    broker_fuzz::debug(&answer);
    // Tokens come only from a 200 in JSON, of the Bearer type, with an ID token.
    if let Ok((token_type, id_token)) = answer {
        assert_eq!(status, 200);
        assert!(token_type.eq_ignore_ascii_case("bearer"), "{token_type}");
        assert!(id_token);
        let media = content_type.unwrap_or_default().split(';').next().unwrap_or_default();
        assert!(media.trim().eq_ignore_ascii_case("application/json"), "{content_type:?}");
    }
});
