//! Binding a login to the browser that started it, with an HttpOnly cookie, so that a code
//! or a state captured elsewhere cannot be completed in another browser (login CSRF, RFC 9700
//! section 4.7).

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub const COOKIE: &str = "pcb_browser";
/// The person's remembered provider choice (opt-in on the picker).
pub const REMEMBERED: &str = "pcb_idp";

/// Random 256-bit value, base64url: for codes, tokens, states, nonces and verifiers.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(crate::crypto::random_bytes::<32>())
}

pub fn hash(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(crate::crypto::sha256(value.as_bytes()))
}

/// The value of the cookie `wanted` the browser sent, if any.
pub(crate) fn cookie_named(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_owned())
}

/// The browser's binding cookie, if it sent one of the right shape.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    cookie_named(headers, COOKIE).filter(|v| v.len() == 43)
}

/// The remembered provider id, if any (only ever used if it names an eligible candidate).
pub fn remembered_provider(headers: &HeaderMap) -> Option<String> {
    cookie_named(headers, REMEMBERED).filter(|v| !v.is_empty() && v.len() <= 128)
}

pub fn remember_provider(provider_id: &str, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    let value: String = provider_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    HeaderValue::from_str(&format!(
        "{REMEMBERED}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000{secure}"
    ))
    .ok()
}

pub fn set_cookie(value: &str, secure: bool) -> Option<HeaderValue> {
    set_cookie_for(value, secure, std::time::Duration::from_secs(3600))
}

/// The binding cookie, living `lifetime` (a session's, when one starts in this browser).
pub fn set_cookie_for(
    value: &str,
    secure: bool,
    lifetime: std::time::Duration,
) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        lifetime.as_secs()
    ))
    .ok()
}

/// Whether the binding cookie the browser sent (if any) is the one whose SHA-256 the login
/// kept; constant-time.
pub fn matches_cookie(stored_hash: &str, cookie: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    cookie.is_some_and(|c| hash(c).as_bytes().ct_eq(stored_hash.as_bytes()).into())
}
