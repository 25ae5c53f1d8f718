//! What relying parties call: the OpenID Provider endpoints (discovery, `/authorize`, `/par`,
//! `/token`, `/userinfo`, registration), client authentication, the protocol error type and
//! the broker's own ID token. One file per endpoint; each parses, calls the login or the
//! store, and maps the result.

pub(crate) mod authorize;
pub mod client_auth;
pub(crate) mod discovery;
pub(crate) mod error;
pub mod id_token;
pub mod pairwise;
pub(crate) mod par;
pub(crate) mod params;
pub(crate) mod register;
pub(crate) mod token;
pub(crate) mod userinfo;
