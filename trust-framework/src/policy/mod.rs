//! The trust framework's decisions: [`decide`] at the start of a login, [`release`] at its end,
//! [`reusable`] for a session standing in for a sign-in, and [`record_providers`] for the
//! person reading their own record.

mod decide;
mod freshness;
mod own_record;
mod refusal;
mod release;
mod session;

pub use decide::{Candidate, Decision, RequestContext, decide};
pub use freshness::{FRESHNESS_SKEW, check_freshness};
pub use own_record::{
    RecordProvider, RecordRefusal, WithdrawalReason, fresh_enough, record_level, record_providers,
};
pub use refusal::Refusal;
pub use release::{Basis, Release, UpstreamAssertion, release, still_stands};
pub use session::{NotReused, ReuseRules, SessionFacts, reusable};

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
