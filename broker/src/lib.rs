//! The pan-Canadian identity broker: an OpenID Provider toward relying parties and an OpenID
//! Connect client toward Trusted Digital Identity Providers, enforcing the trust framework.

pub mod admin;
pub mod app;
pub mod audit;
pub mod budget;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod delivery;
/// Entry points for the fuzz targets in `fuzz/`: compiled for fuzzing (and its regression
/// tests) only, never into the service.
#[cfg(any(test, fuzzing))]
pub mod fuzzing;
pub mod http;
pub mod jose;
pub mod keys;
pub mod login;
pub(crate) mod metrics;
pub mod oidc;
pub mod record;
pub mod records;
pub mod secevent;
pub mod secrets;
pub mod session;
pub mod store;
pub mod tlog;
pub mod upstream;
