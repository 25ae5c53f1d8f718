//! The person's own record (`/my-record`, `/mon-dossier`): every disclosure of their identity,
//! their remembered consents with a way to withdraw them, a way to report a disclosure that was
//! not their doing, and a proof that each disclosure is in the witnessed audit log.
//!
//! The broker reads the record as its own relying service: the person signs in at their own
//! provider, at the operator's level (`[record] level`, 2 by default), through the same
//! eligibility rules as a service's login (`trust_framework::policy::record_providers`). The
//! records are found by the keyed hash of that provider and the person's subject there, so a
//! person sees their own records and nobody else's, and two accounts of one person at two
//! providers stay apart: nothing links them. Attribute names only, never values: the records
//! hold no values.

pub(crate) mod endpoints;
mod export;
mod proof;
mod report;
pub mod session;
pub(crate) mod sign_in;
pub(crate) mod view;
mod withdraw;

use std::time::Duration;

use serde::Deserialize;
use trust_framework::AssuranceLevel;

pub use session::RecordSession;

/// `[record]`: who may read a record, and for how long.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordPolicy {
    /// The level (1 to 4) a person signs in at to read their record.
    #[serde(default = "default_level")]
    pub level: u8,
    /// How long a record session lasts from its sign-in, used or not.
    #[serde(default = "default_session")]
    pub session_minutes: u64,
    /// How recent a `prompt=login` sign-in must be for a withdrawal to act on it.
    #[serde(default = "default_fresh")]
    pub fresh_minutes: u64,
}

fn default_level() -> u8 {
    2
}
fn default_session() -> u64 {
    15
}
fn default_fresh() -> u64 {
    5
}

impl Default for RecordPolicy {
    fn default() -> Self {
        Self {
            level: default_level(),
            session_minutes: default_session(),
            fresh_minutes: default_fresh(),
        }
    }
}

impl RecordPolicy {
    pub fn level(&self) -> AssuranceLevel {
        AssuranceLevel::from_number(i64::from(self.level)).unwrap_or(AssuranceLevel::Two)
    }

    pub fn session(&self) -> Duration {
        Duration::from_secs(self.session_minutes.max(1) * 60)
    }

    pub fn fresh(&self) -> Duration {
        Duration::from_secs(self.fresh_minutes.max(1) * 60)
    }

    /// Why the policy cannot be used, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=4).contains(&self.level) {
            return Err(format!("[record] level must be 1 to 4, not {}", self.level));
        }
        if self.session_minutes == 0 || self.session_minutes > 24 * 60 {
            return Err("[record] session_minutes must be 1 to 1440".into());
        }
        if self.fresh_minutes == 0 || self.fresh_minutes > self.session_minutes {
            return Err(
                "[record] fresh_minutes must be at least 1 and at most session_minutes".into(),
            );
        }
        Ok(())
    }
}

/// The record's address in the person's language.
pub fn path(lang: trust_framework::Lang) -> &'static str {
    match lang {
        trust_framework::Lang::En => "/my-record",
        trust_framework::Lang::Fr => "/mon-dossier",
    }
}
