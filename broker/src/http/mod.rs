//! The web side every endpoint shares: serving connections (TLS, limits on heads, bodies and
//! rates), the browser's cookies, the person's language, and the bilingual pages.

pub mod browser;
pub(crate) mod health;
pub(crate) mod lang;
pub mod limits;
pub(crate) mod logout_pages;
pub(crate) mod pages;
pub(crate) mod request_body;
pub(crate) mod request_head;
pub mod server;
