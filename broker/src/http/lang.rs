//! Which official language to speak to a person: an explicit `lang` switch, then the
//! relying party's `ui_locales`, then `Accept-Language`, then English.

use axum::http::HeaderMap;
use trust_framework::Lang;

pub fn negotiate(explicit: Option<&str>, ui_locales: Option<&str>, headers: &HeaderMap) -> Lang {
    let accept = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    explicit
        .and_then(|l| Lang::negotiate([l]))
        .or_else(|| ui_locales.and_then(|u| Lang::negotiate(u.split_whitespace())))
        .or_else(|| Lang::negotiate(accept.split(',')))
        .unwrap_or_default()
}
