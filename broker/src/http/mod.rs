//! The web side every endpoint shares: serving connections (TLS, limits on heads, bodies and
//! rates), the browser's cookies, the person's language, and the bilingual pages.

#[cfg(test)]
mod bilingual_tests;
pub mod browser;
pub mod design_system;
pub(crate) mod error_text;
pub(crate) mod health;
pub(crate) mod lang;
pub mod limits;
pub(crate) mod logout_pages;
pub mod operator;
pub(crate) mod pages;
pub(crate) mod record_pages;
pub(crate) mod request_body;
pub(crate) mod request_head;
pub mod server;
pub(crate) mod values;
