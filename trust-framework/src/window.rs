//! Validity windows for certifications and agreements. Time is always passed in.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A half-open interval `[not_before, not_after)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

impl Window {
    pub fn contains(&self, now: OffsetDateTime) -> bool {
        self.not_before <= now && now < self.not_after
    }

    pub fn has_ended(&self, now: OffsetDateTime) -> bool {
        now >= self.not_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn half_open() {
        let w = Window {
            not_before: datetime!(2025-01-01 0:00 UTC),
            not_after: datetime!(2026-01-01 0:00 UTC),
        };
        assert!(!w.contains(datetime!(2024-12-31 23:59:59 UTC)));
        assert!(w.contains(datetime!(2025-01-01 0:00 UTC)));
        assert!(w.contains(datetime!(2025-12-31 23:59:59 UTC)));
        assert!(!w.contains(datetime!(2026-01-01 0:00 UTC)));
        assert!(w.has_ended(datetime!(2026-01-01 0:00 UTC)));
    }
}
