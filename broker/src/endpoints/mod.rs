//! HTTP endpoints, one file each. Handlers parse, call the domain, and map the result.

pub mod authorize;
pub mod callback;
pub mod consent;
pub mod discovery;
pub mod health;
pub mod par;
pub mod register;
pub mod select;
pub mod token;
pub mod userinfo;

pub(crate) mod browser;
pub(crate) mod params;
