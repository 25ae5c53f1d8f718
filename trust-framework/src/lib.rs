//! The Pan-Canadian Trust Framework as code: levels of assurance, jurisdictions, identity
//! attributes, certified providers, relying parties, information sharing agreements, the
//! registry that holds them, and the policy decisions made over them.
//!
//! This crate is pure: no network, no store, and no clock. Every rule that depends on time
//! takes `now` as an argument, so that tests run at fixed times and an auditor can replay a
//! decision exactly.

pub mod agreement;
pub mod attribute;
pub mod jurisdiction;
pub mod level;
pub mod policy;
pub mod provider;
pub mod registry;
pub mod relying_party;
pub mod secret;
pub mod text;
pub mod upstream;
pub mod window;

pub use agreement::{Agreement, AgreementStatus, LegalAuthority, LegalBasis, ProviderSelector};
pub use attribute::Attribute;
pub use jurisdiction::Jurisdiction;
pub use level::AssuranceLevel;
pub use policy::{
    Basis, Candidate, Decision, NotReused, Refusal, Release, RequestContext, ReuseRules,
    SessionFacts, UpstreamAssertion, WithdrawalReason, decide, release, reusable, still_stands,
};
pub use provider::{Certification, Component, IdentityProvider, Status};
pub use registry::{Problem, Registry, RegistryError, RegistryFile};
pub use relying_party::{ClientAuth, ClientKeys, RelyingParty, SigningAlg};
pub use secret::SecretRef;
pub use text::{Bilingual, Lang};
pub use window::Window;

#[cfg(test)]
mod testing;
