//! A login from the service's request to the code.

pub mod abandoned;
pub mod choose;
pub mod consent;
pub mod decide;
pub mod ending;
pub mod form_tokens;
pub mod returned;
pub mod state;
