//! The trust framework's decisions: [`decide`] at the start of a login, [`release`] at its end.

mod decide;
mod freshness;
mod refusal;
mod release;

pub use decide::{Candidate, Decision, RequestContext, decide};
pub use freshness::{FRESHNESS_SKEW, check_freshness};
pub use refusal::Refusal;
pub use release::{Basis, Release, UpstreamAssertion, release, still_stands};

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
