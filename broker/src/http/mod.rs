//! The web side every endpoint shares: serving connections (TLS, limits on heads, bodies and
//! rates), the browser's cookies, the person's language, and the bilingual pages.

pub mod browser;
pub(crate) mod health;
pub mod lang;
pub mod limits;
pub mod pages;
pub mod request_body;
pub mod request_head;
pub mod server;
