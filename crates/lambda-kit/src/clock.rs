//! Injected time. Handlers never read the system clock directly; they take a `&dyn Clock`.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current instant in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock. The only place in the workspace allowed to read the system time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock for tests: starts at a given instant and only moves when told to.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<DateTime<Utc>>,
}

impl FixedClock {
    /// A clock frozen at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(at),
        }
    }

    /// A clock frozen at an RFC 3339 instant, e.g. `"2026-01-01T00:00:00Z"`.
    ///
    /// Returns `None` when the text is not RFC 3339.
    pub fn at(rfc3339: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(rfc3339)
            .ok()
            .map(|t| Self::new(t.with_timezone(&Utc)))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.lock() = at;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A poisoned lock only means another test thread panicked; the time is still valid.
        self.now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(clock.now().to_rfc3339(), "2026-01-01T00:00:00+00:00");
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.now().to_rfc3339(), "2026-01-01T00:01:30+00:00");
    }

    #[test]
    fn the_system_clock_is_after_2025() {
        assert!(SystemClock.now().timestamp() > 1_735_689_600);
    }
}
