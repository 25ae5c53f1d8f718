//! A raw `/authorize` query string through the broker's own parsing, as its handler runs it:
//! form decoding, the language and its switch link, `Params`, then `AuthorizeRequest::parse`
//! (client and redirect URI, PKCE, the `claims` JSON, the requested attributes and level, the
//! provider hints).
#![no_main]

use broker::login::Failure;
use broker_fuzz::{example_registry, is_s256_shape};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = broker::fuzzing::authorize_request(example_registry(), data);
    broker_fuzz::debug(&parsed);
    let Ok(parsed) = parsed else {
        return;
    };
    // The language switch is this request again, with exactly one `lang`: the other language.
    let (path, query) = parsed.switch.split_once('?').expect("a query");
    assert_eq!(path, "/authorize");
    let langs: Vec<_> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "lang")
        .collect();
    assert_eq!(langs.len(), 1, "{}", parsed.switch);
    assert_eq!(langs[0].1, parsed.lang.other().code());
    let client = url::form_urlencoded::parse(data)
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.into_owned());
    match parsed.request {
        // A checked request is a registered client's, with an S256 challenge.
        Ok(request) => {
            assert!(is_s256_shape(&request.service.code_challenge));
            assert_eq!(Some(&request.service.client_id), client.as_ref());
        }
        // Never an open redirect: an error goes back only to a URI the client registered.
        Err(Failure::Redirect { return_to, .. }) => {
            let rp = client
                .as_deref()
                .and_then(|c| example_registry().relying_party(c))
                .expect("a redirect only for a registered client");
            assert!(rp.allows_redirect(&return_to.redirect_uri));
        }
        Err(_) => {}
    }
});
