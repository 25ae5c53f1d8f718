//! The trust framework's decisions: [`decide`] at the start of a login, [`release`] at its end.

mod decide;
mod refusal;
mod release;

pub use decide::{Candidate, Decision, RequestContext, decide};
pub use refusal::Refusal;
pub use release::{Release, UpstreamAssertion, release};

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
