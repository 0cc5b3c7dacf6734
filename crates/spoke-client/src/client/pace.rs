//! Pacing under a low rate-limit budget ("Retries" in the crate README). Spoke counts calls per key in a fixed
//! window and answers 429 once the window's budget is spent. Calling at full speed until then turns the end of
//! every window into a burst of 429s for every process sharing the key (each one a failed SQS record and a
//! redelivery for `cls-queue`). Instead, once fewer than a fifth of the window's calls remain, each call first
//! waits its share of the time left in the window, so the rest of the budget is spread over it; with none left,
//! a call waits for the reset when that is within the policy's rate-limit wait.

use std::time::Duration;

use tokio::time::Instant;

/// Below `limit / LOW_BUDGET_DIVISOR` remaining calls, calls are paced.
const LOW_BUDGET_DIVISOR: u64 = 5;
/// The longest a call waits for its share while budget remains.
pub(super) const MAX_SHARE: Duration = Duration::from_secs(1);

/// The budget of the current window as the last response described it, counted down by the calls sent since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Budget {
    limit: u64,
    remaining: u64,
    resets_at: Instant,
}

impl Budget {
    /// The window from a response's `x-ratelimit-limit`, `x-ratelimit-remaining` and the time until
    /// `x-ratelimit-reset` (measured against the response's `Date`), read at `now`.
    pub(super) fn new(limit: u64, remaining: u64, until_reset: Duration, now: Instant) -> Self {
        Self {
            limit,
            remaining,
            resets_at: now + until_reset,
        }
    }

    /// How long the next call waits at `now` (`None`: send at once), given the longest wait allowed for a
    /// spent budget. Counts the call against the budget, so concurrent calls of one process share it.
    pub(super) fn take(&mut self, now: Instant, max_wait: Duration) -> Option<Duration> {
        let left = self.resets_at.checked_duration_since(now)?;
        if left.is_zero() || self.remaining.saturating_mul(LOW_BUDGET_DIVISOR) >= self.limit {
            self.remaining = self.remaining.saturating_sub(1);
            return None;
        }
        if self.remaining == 0 {
            return (left <= max_wait).then_some(left);
        }
        let share = left / u32::try_from(self.remaining + 1).unwrap_or(u32::MAX);
        self.remaining -= 1;
        Some(share.min(MAX_SHARE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_WAIT: Duration = Duration::from_secs(15);

    fn budget(limit: u64, remaining: u64, until_reset_secs: u64) -> (Budget, Instant) {
        let now = Instant::now();
        (
            Budget::new(limit, remaining, Duration::from_secs(until_reset_secs), now),
            now,
        )
    }

    #[test]
    fn a_fifth_or_more_of_the_budget_left_sends_at_once() {
        let (mut b, now) = budget(1_200, 240, 30);
        assert_eq!(b.take(now, MAX_WAIT), None);
        assert_eq!(b.remaining, 239);
    }

    #[test]
    fn a_low_budget_spreads_the_calls_over_the_time_left() {
        let (mut b, now) = budget(1_200, 239, 24);
        assert_eq!(b.take(now, MAX_WAIT), Some(Duration::from_millis(100)));
        assert_eq!(b.remaining, 238);
        let (mut b, now) = budget(1_200, 3, 2);
        assert_eq!(b.take(now, MAX_WAIT), Some(Duration::from_millis(500)));
    }

    #[test]
    fn a_share_is_capped_so_a_far_reset_does_not_stall_a_call() {
        let (mut b, now) = budget(6_000, 12, 3_600);
        assert_eq!(b.take(now, MAX_WAIT), Some(MAX_SHARE));
    }

    #[test]
    fn a_spent_budget_waits_for_the_reset_only_when_it_is_near() {
        let (mut near, now) = budget(1_200, 0, 10);
        assert_eq!(near.take(now, MAX_WAIT), Some(Duration::from_secs(10)));
        let (mut far, now) = budget(1_200, 0, 60);
        assert_eq!(far.take(now, MAX_WAIT), None);
    }

    #[test]
    fn a_window_that_has_reset_is_not_paced() {
        let (mut b, now) = budget(1_200, 0, 2);
        assert_eq!(b.take(now + Duration::from_secs(3), MAX_WAIT), None);
    }

    #[test]
    fn concurrent_calls_of_one_process_each_count_against_the_budget() {
        let (mut b, now) = budget(100, 4, 2);
        let waits: Vec<_> = (0..5).map(|_| b.take(now, MAX_WAIT)).collect();
        let ms = Duration::from_millis;
        assert_eq!(
            waits,
            vec![
                Some(ms(400)),
                Some(ms(500)),
                Some(Duration::from_nanos(666_666_666)),
                Some(ms(1_000)),
                Some(ms(2_000)),
            ]
        );
    }
}
