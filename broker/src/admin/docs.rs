//! The admin API's OpenAPI document and the bilingual admin page (routes filled in below).

use axum::Router;

use crate::app::Broker;

pub fn router() -> Router<Broker> {
    Router::new()
}
