//! The repeat window: an alert key delivered within the window is not sent again.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Alert keys delivered within the last `window`, per instance. Holds keys and times only, never a secret;
/// bounded (at [`RepeatWindow::CAP`] keys, expired ones are dropped, and if none expired the memory is
/// cleared: a repeat is better than unbounded memory).
#[derive(Debug)]
pub struct RepeatWindow {
    window: Duration,
    sent: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl RepeatWindow {
    /// The default window: identical alerts at most once per 10 minutes.
    pub const DEFAULT: Duration = Duration::from_secs(600);
    /// The most keys remembered.
    pub const CAP: usize = 10_000;

    /// An empty window of `window`.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            sent: Mutex::new(HashMap::new()),
        }
    }

    /// The window's length.
    pub fn window(&self) -> Duration {
        self.window
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, DateTime<Utc>>> {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn alive(&self, at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now.signed_duration_since(at).to_std().unwrap_or_default() < self.window
    }

    /// True when `key` was delivered less than the window before `now`.
    pub fn was_sent(&self, key: &str, now: DateTime<Utc>) -> bool {
        self.lock().get(key).is_some_and(|at| self.alive(*at, now))
    }

    /// Remembers that `key` was delivered at `now`.
    pub fn record(&self, key: &str, now: DateTime<Utc>) {
        let mut sent = self.lock();
        if sent.len() >= Self::CAP {
            sent.retain(|_, at| self.alive(*at, now));
            if sent.len() >= Self::CAP {
                sent.clear();
            }
        }
        sent.insert(key.to_owned(), now);
    }

    /// Forgets every live key for which `matches` holds (an alert that supersedes them, such as "recovered",
    /// then goes out once); true when any was live.
    pub fn forget_where(&self, now: DateTime<Utc>, matches: impl Fn(&str) -> bool) -> bool {
        let mut sent = self.lock();
        let before = sent.len();
        sent.retain(|key, at| !(self.alive(*at, now) && matches(key)));
        sent.len() != before
    }
}

impl Default for RepeatWindow {
    fn default() -> Self {
        Self::new(Self::DEFAULT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + secs, 0).unwrap()
    }

    #[test]
    fn a_key_is_remembered_for_the_window_only() {
        let window = RepeatWindow::new(Duration::from_secs(60));
        assert!(!window.was_sent("k", at(0)));
        window.record("k", at(0));
        assert!(window.was_sent("k", at(59)));
        assert!(!window.was_sent("k", at(60)));
        assert!(!window.was_sent("other", at(1)));
    }

    #[test]
    fn forgetting_removes_live_matching_keys_once() {
        let window = RepeatWindow::new(Duration::from_secs(60));
        window.record("it|alice|spoke_unavailable", at(0));
        window.record("it|alice|not_team_member", at(0));
        let retryable = |k: &str| k.starts_with("it|alice|") && k.ends_with("spoke_unavailable");
        assert!(window.forget_where(at(1), retryable));
        assert!(!window.forget_where(at(1), retryable));
        assert!(!window.was_sent("it|alice|spoke_unavailable", at(1)));
        assert!(window.was_sent("it|alice|not_team_member", at(1)));
    }

    #[test]
    fn the_memory_is_bounded() {
        let window = RepeatWindow::new(Duration::from_secs(60));
        for i in 0..RepeatWindow::CAP {
            window.record(&format!("k{i}"), at(0));
        }
        window.record("last", at(1));
        assert!(window.lock().len() <= RepeatWindow::CAP);
        assert!(window.was_sent("last", at(1)));
    }
}
