//! The pan-Canadian identity broker: an OpenID Provider toward relying parties and an OpenID
//! Connect client toward Trusted Digital Identity Providers, enforcing the trust framework.

pub mod abandoned;
pub mod admin;
pub mod app;
pub mod audit;
pub mod cli;
pub mod client_auth;
pub mod config;
pub mod consent;
pub mod endpoints;
pub mod flow;
pub mod form_tokens;
/// Entry points for the fuzz targets in `fuzz/`; not an API.
#[doc(hidden)]
pub mod fuzzing;
pub mod grant;
pub mod id_token;
pub mod keys;
pub mod lang;
pub mod limits;
pub mod metrics;
pub mod oauth_error;
pub mod pages;
pub mod pairwise;
pub mod registry_store;
pub mod request_body;
pub mod request_head;
pub mod secrets;
pub mod server;
pub mod store;
pub mod upstream;
