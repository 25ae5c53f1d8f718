//! Demo identity providers and a demo relying service.
//!
//! - [`provider`]: a small but real OpenID Provider (one per jurisdiction in `demo`), with
//!   test persons, `login_hint` sign-in and [`provider::Fault`]s that tamper with exactly one
//!   aspect of its answers, to test the broker's strict validation.
//! - [`relying_service`]: a government service's front end that signs a person in through the
//!   broker with plain OpenID Connect (code + PKCE S256 + state + nonce) and shows the result.
//!
//! Both are axum routers with `serve(listener, config, shutdown)` entry points; their pages are
//! server-rendered, bilingual (`?lang=fr` / `?lang=en`) and carry a strict Content-Security-Policy.

mod html;
mod util;

pub mod jose;
pub mod provider;
pub mod relying_service;
pub mod witness;

/// The port of a registry URL that a demo serves on this machine (`127.0.0.1` or
/// `localhost`, where the demo binds), or none for any other host: `demo` and the load
/// tool serve only the providers and services the registry places here.
pub fn loopback_port(url: &str) -> Option<u16> {
    let url = url::Url::parse(url).ok()?;
    match url.host_str()? {
        "127.0.0.1" | "localhost" => url.port(),
        _ => None,
    }
}
