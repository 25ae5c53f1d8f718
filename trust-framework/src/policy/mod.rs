//! The trust framework's decisions: [`decide`] at the start of a login, [`release`] at its end,
//! and [`reusable`] for a session standing in for a sign-in.

mod decide;
mod freshness;
mod refusal;
mod release;
mod session;

pub use decide::{Candidate, Decision, RequestContext, decide};
pub use freshness::{FRESHNESS_SKEW, check_freshness};
pub use refusal::Refusal;
pub use release::{Basis, Release, UpstreamAssertion, release, still_stands};
pub use session::{NotReused, ReuseRules, SessionFacts, reusable};

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
