//! The one place the broker reads the time.
//!
//! Everything the broker judges by the time (a certification or an agreement in force, a
//! token's `iat` and `exp`, a consent's age, a key's publication window) asks the [`Clock`] of
//! the application state, so that tests run at fixed times and never start failing the day a
//! fixture's date passes. Production uses [`SystemClock`]; tests use [`FixedClock`], set and
//! stepped by hand.
//!
//! Two things run on the machine's time whatever the clock says, and read it through
//! [`wall_time`]: the timestamps of log lines (an operator correlates them with other logs),
//! and the deadlines of values kept in Redis (Redis expires them on its own time).
//! `clippy.toml` forbids reading the time anywhere else.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

/// The time, for the broker's judgements.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

/// The machine's time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        wall_time()
    }
}

/// The machine's time, for log timestamps and store deadlines (see the module's note).
#[allow(clippy::disallowed_methods)]
pub fn wall_time() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A clock that says what it is told: tests set it to a fixed time and step it forward.
#[derive(Debug)]
pub struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    pub fn at(time: OffsetDateTime) -> Self {
        Self(Mutex::new(time))
    }

    pub fn set(&self, time: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = time;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now = now.saturating_add(by.try_into().unwrap_or(time::Duration::MAX));
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at(datetime!(2026-11-24 12:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-11-24 12:00 UTC));
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), datetime!(2026-11-24 12:01:30 UTC));
        clock.set(datetime!(2031-01-01 0:00 UTC));
        assert_eq!(clock.now(), datetime!(2031-01-01 0:00 UTC));
    }

    #[test]
    fn the_system_clock_is_the_machine_s() {
        let before = wall_time();
        let now = SystemClock.now();
        assert!(now >= before && now - before < time::Duration::seconds(5));
    }
}
