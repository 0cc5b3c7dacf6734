//! Whether a team's on-call needs an event, and why (ADR 0017): pure, so every case is a unit test.

use chrono::{DateTime, Duration, NaiveTime, Utc};

use crate::memory::Seen;

/// Why an event is put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The level-1 on-call changed since the team was last looked at.
    ShiftChange,
    /// The daily reconcile (or an operator's `reconcile` request): the current state, changed or not.
    Reconcile,
}

impl Reason {
    /// The event's `Reason` and the log field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ShiftChange => "shift_change",
            Self::Reconcile => "reconcile",
        }
    }
}

/// What [`decide`] needs beyond the team's entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// How far back a team never looked at in this execution environment is searched for a shift start.
    pub lookback: Duration,
    /// The hour (UTC) of the daily reconcile.
    pub reconcile_hour_utc: u32,
    /// The run was asked to reconcile every team.
    pub force_reconcile: bool,
}

/// Since when the team's changes are this run's to report: the last handled look, else `now − lookback`.
pub fn window_start(now: DateTime<Utc>, seen: Option<&Seen>, lookback: Duration) -> DateTime<Utc> {
    seen.map_or(now - lookback, |s| s.at)
}

/// True when a daily reconcile instant (`hour`:00 UTC) lies in `(since, now]`.
pub fn reconcile_due(since: DateTime<Utc>, now: DateTime<Utc>, hour: u32) -> bool {
    let Some(time) = NaiveTime::from_hms_opt(hour, 0, 0) else {
        return false;
    };
    let today = now.date_naive().and_time(time).and_utc();
    let latest = if today <= now {
        today
    } else {
        today - Duration::days(1)
    };
    latest > since
}

/// Whether the team whose on-call is `user_id` (shift started at `start`, `None` for a permanent on-call)
/// needs an event at `now`.
pub fn decide(
    now: DateTime<Utc>,
    user_id: &str,
    start: Option<DateTime<Utc>>,
    seen: Option<&Seen>,
    rules: Rules,
) -> Option<Reason> {
    let since = window_start(now, seen, rules.lookback);
    let other_person = seen.is_some_and(|s| s.user.id != user_id);
    let started_since = start.is_some_and(|s| s > since);
    if other_person || started_since {
        return Some(Reason::ShiftChange);
    }
    if rules.force_reconcile || reconcile_due(since, now, rules.reconcile_hour_utc) {
        return Some(Reason::Reconcile);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pagerduty::User;

    fn at(t: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)
    }

    fn seen(when: &str, user: &str) -> Seen {
        Seen {
            at: at(when),
            user: User {
                id: user.into(),
                summary: None,
                name: None,
                email: None,
                self_url: None,
                html_url: None,
            },
        }
    }

    const RULES: Rules = Rules {
        lookback: Duration::minutes(60),
        reconcile_hour_utc: 6,
        force_reconcile: false,
    };

    #[test]
    fn a_shift_that_started_since_the_last_look_is_a_change_and_an_older_one_is_not() {
        let now = at("2026-03-02T10:05:00Z");
        let last = seen("2026-03-02T10:00:00Z", "alice");
        let fresh = Some(at("2026-03-02T10:00:01Z"));
        let older = Some(at("2026-03-02T10:00:00Z"));
        assert_eq!(
            decide(now, "alice", fresh, Some(&last), RULES),
            Some(Reason::ShiftChange)
        );
        assert_eq!(decide(now, "alice", older, Some(&last), RULES), None);
        assert_eq!(decide(now, "alice", None, Some(&last), RULES), None);
    }

    #[test]
    fn another_person_than_last_seen_is_a_change_whatever_their_start() {
        let now = at("2026-03-02T10:05:00Z");
        let last = seen("2026-03-02T10:00:00Z", "alice");
        let backdated = Some(at("2026-03-02T08:00:00Z"));
        assert_eq!(
            decide(now, "bob", backdated, Some(&last), RULES),
            Some(Reason::ShiftChange)
        );
        assert_eq!(
            decide(now, "bob", None, Some(&last), RULES),
            Some(Reason::ShiftChange)
        );
    }

    #[test]
    fn missed_runs_widen_the_window_to_the_last_look() {
        let now = at("2026-03-02T10:20:00Z");
        let last = seen("2026-03-02T10:00:00Z", "alice");
        let during_outage = Some(at("2026-03-02T10:07:00Z"));
        assert_eq!(
            decide(now, "alice", during_outage, Some(&last), RULES),
            Some(Reason::ShiftChange)
        );
    }

    #[test]
    fn a_cold_start_looks_back_over_the_lookback_only() {
        let now = at("2026-03-02T10:20:00Z");
        assert_eq!(
            decide(now, "bob", Some(at("2026-03-02T09:21:00Z")), None, RULES),
            Some(Reason::ShiftChange)
        );
        assert_eq!(
            decide(now, "bob", Some(at("2026-03-02T09:20:00Z")), None, RULES),
            None
        );
    }

    #[test]
    fn the_reconcile_falls_to_the_first_run_whose_window_holds_the_hour() {
        let last = seen("2026-03-02T05:58:00Z", "alice");
        let old_start = Some(at("2026-03-01T09:00:00Z"));
        assert_eq!(
            decide(
                at("2026-03-02T06:03:00Z"),
                "alice",
                old_start,
                Some(&last),
                RULES
            ),
            Some(Reason::Reconcile)
        );
        let after = seen("2026-03-02T06:03:00Z", "alice");
        assert_eq!(
            decide(
                at("2026-03-02T06:08:00Z"),
                "alice",
                old_start,
                Some(&after),
                RULES
            ),
            None
        );
        assert!(reconcile_due(
            at("2026-03-01T23:00:00Z"),
            at("2026-03-02T06:00:00Z"),
            6
        ));
        assert!(!reconcile_due(
            at("2026-03-02T06:00:00Z"),
            at("2026-03-02T07:00:00Z"),
            6
        ));
        assert!(reconcile_due(
            at("2026-03-01T22:00:00Z"),
            at("2026-03-02T01:00:00Z"),
            23
        ));
        let forced = Rules {
            force_reconcile: true,
            ..RULES
        };
        assert_eq!(
            decide(
                at("2026-03-02T12:00:00Z"),
                "alice",
                old_start,
                Some(&after),
                forced
            ),
            Some(Reason::Reconcile)
        );
    }
}
