//! The pure sweep decision (`docs/operations/cls.md`, "The daily sweep"): given a ticket's state, the run date
//! and the activity signal, at most one action. The sweep uses it as a pre-filter; `cls-queue` re-reads the
//! ticket and calls it again before acting, so a stale `review` message changes nothing.

use chrono::{Duration, NaiveDate};
use lambda_kit::config::{ConfigError, ConfigReader};

use crate::dates::parse_date;
use crate::ticket::{Access, ClsState};

/// The thresholds of the rules, from `CLS_NOTIFY_DAYS`, `CLS_INACTIVITY_DAYS` and `CLS_INACTIVITY_WARN_DAYS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewConfig {
    /// Reminder thresholds in days before expiry (default 21, 7, 3).
    pub notify_days: Vec<u32>,
    /// Days without activity after which access is removed; 0 disables inactivity expiry (default 90).
    pub inactivity_days: u32,
    /// Days of warning before an inactivity removal (default 7).
    pub inactivity_warn_days: u32,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        Self {
            notify_days: vec![21, 7, 3],
            inactivity_days: 90,
            inactivity_warn_days: 7,
        }
    }
}

impl ReviewConfig {
    /// Reads `CLS_NOTIFY_DAYS` (comma-separated, default `21,7,3`), `CLS_INACTIVITY_DAYS` (default 90, 0
    /// disables) and `CLS_INACTIVITY_WARN_DAYS` (default 7). Shared by `cls-sweep` and `cls-queue` so that
    /// both decide with the same thresholds.
    pub fn from_reader<F: Fn(&str) -> Option<String>>(
        env: &ConfigReader<F>,
    ) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let notify_days = match env.optional("CLS_NOTIFY_DAYS") {
            None => defaults.notify_days,
            Some(_) => {
                let mut days = env
                    .list("CLS_NOTIFY_DAYS")
                    .iter()
                    .map(|d| d.parse::<u32>().ok().filter(|d| *d > 0))
                    .collect::<Option<Vec<u32>>>()
                    .ok_or_else(|| {
                        ConfigError::new(
                            "CLS_NOTIFY_DAYS",
                            "expected positive whole days, e.g. 21,7,3",
                        )
                    })?;
                days.sort_unstable_by(|a, b| b.cmp(a));
                days.dedup();
                days
            }
        };
        let inactivity_days = env.parse_or("CLS_INACTIVITY_DAYS", defaults.inactivity_days)?;
        let inactivity_warn_days =
            env.parse_or("CLS_INACTIVITY_WARN_DAYS", defaults.inactivity_warn_days)?;
        if inactivity_days > 0 && inactivity_warn_days >= inactivity_days {
            return Err(ConfigError::new(
                "CLS_INACTIVITY_WARN_DAYS",
                "must be smaller than CLS_INACTIVITY_DAYS",
            ));
        }
        Ok(Self {
            notify_days,
            inactivity_days,
            inactivity_warn_days,
        })
    }
}

/// The stage in which the test clock (`CLS_FAKE_TODAY`, the sweep event's `today`) is refused.
pub const PRODUCTION: &str = "production";

/// True when `stage` is `production` (any case).
pub fn is_production(stage: &str) -> bool {
    stage.eq_ignore_ascii_case(PRODUCTION)
}

/// `CLS_FAKE_TODAY` (`YYYY-MM-DD`): the date the CLS functions act as of, for tests and the local stack.
/// Refused when `stage` is `production`.
pub fn fake_today<F: Fn(&str) -> Option<String>>(
    env: &ConfigReader<F>,
    stage: &str,
) -> Result<Option<NaiveDate>, ConfigError> {
    let Some(raw) = env.optional("CLS_FAKE_TODAY") else {
        return Ok(None);
    };
    if is_production(stage) {
        return Err(ConfigError::new(
            "CLS_FAKE_TODAY",
            "is refused when CLS_STAGE is production",
        ));
    }
    parse_date(&raw)
        .map(Some)
        .ok_or_else(|| ConfigError::new("CLS_FAKE_TODAY", "expected YYYY-MM-DD"))
}

/// What the activity source says about a collaborator on this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// The org's source is `off`, or it failed this run: no inactivity action may follow (a failing
    /// signal never removes anyone).
    Unavailable,
    /// The source answered; the date is the latest activity it saw, if any.
    Known(Option<NaiveDate>),
}

impl Activity {
    /// The activity carried by a `review` message: `audit_log` and `repo_events` are sources that answered
    /// (with the latest date seen, if any); `off`, `unavailable`, an unknown name or none at all mean no
    /// usable signal, so no inactivity action can follow.
    pub fn from_message(source: Option<&str>, last_activity: Option<NaiveDate>) -> Self {
        match source {
            Some("audit_log" | "repo_events") => Self::Known(last_activity),
            _ => Self::Unavailable,
        }
    }

    /// The date the source saw, when it answered.
    pub fn seen(self) -> Option<NaiveDate> {
        match self {
            Self::Known(date) => date,
            Self::Unavailable => None,
        }
    }
}

/// The one action a review asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewAction {
    /// Expiry on or before the run date (catch-up of missed days): remove access.
    Expire,
    /// No activity for `inactivity_days` and a warning was sent at least `inactivity_warn_days` earlier.
    InactivityExpire,
    /// Warn that access will be removed for inactivity on `removal_on`.
    InactivityWarn {
        /// The planned removal date (recorded as `inactivity_warned_for`).
        removal_on: NaiveDate,
    },
    /// Send one reminder for the smallest due threshold and record every due one.
    Notify {
        /// The threshold the reminder names (the smallest due).
        days: u32,
        /// Every threshold now due and not yet recorded, to be recorded together (missed runs send one
        /// reminder, not several).
        record: Vec<u32>,
    },
    /// Only record a newer activity date.
    RecordActivity(NaiveDate),
}

impl ReviewAction {
    /// A short stable name for metrics, logs and the sweep summary.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Expire => "expire",
            Self::InactivityExpire => "inactivity_expire",
            Self::InactivityWarn { .. } => "inactivity_warn",
            Self::Notify { .. } => "notify",
            Self::RecordActivity(_) => "record_activity",
        }
    }

    /// True for the actions that remove access (counted against the sweep's safety brake).
    pub fn is_removal(&self) -> bool {
        matches!(self, Self::Expire | Self::InactivityExpire)
    }
}

/// Reviews one ticket. Rules, first match wins:
/// 1. access not granted, or no expiry → nothing;
/// 2. expiry ≤ run date → [`ReviewAction::Expire`];
/// 3. with a usable activity signal and inactivity enabled, baseline = max(granted_on, last activity,
///    latest extension); elapsed ≥ `inactivity_days` after a warning for this baseline whose removal date has
///    come → [`ReviewAction::InactivityExpire`]; elapsed ≥ `inactivity_days − inactivity_warn_days` without
///    such a warning → [`ReviewAction::InactivityWarn`] for max(baseline + days, run date + warn days);
/// 4. a reminder threshold T with 0 < expiry − run date ≤ T not yet recorded for this expiry →
///    [`ReviewAction::Notify`];
/// 5. the signal is newer than the recorded activity → [`ReviewAction::RecordActivity`].
pub fn review(
    state: &ClsState,
    run_date: NaiveDate,
    activity: Activity,
    config: &ReviewConfig,
) -> Option<ReviewAction> {
    if state.access != Access::Granted {
        return None;
    }
    let expires_on = state.expires_on?;
    if expires_on <= run_date {
        return Some(ReviewAction::Expire);
    }
    let seen = match activity {
        Activity::Known(date) => Some(date),
        Activity::Unavailable => None,
    };
    if let Some(seen) = seen
        && config.inactivity_days > 0
        && let Some(action) = inactivity(state, run_date, seen, config)
    {
        return Some(action);
    }
    let due = due_thresholds(state, expires_on, run_date, &config.notify_days);
    if let Some(&days) = due.iter().min() {
        return Some(ReviewAction::Notify { days, record: due });
    }
    match seen.flatten() {
        Some(date) if state.last_activity.is_none_or(|known| date > known) => {
            Some(ReviewAction::RecordActivity(date))
        }
        _ => None,
    }
}

/// The date inactivity is counted from: the latest of the grant, the recorded or newly seen activity and the
/// latest extension.
pub fn inactivity_baseline(state: &ClsState, seen: Option<NaiveDate>) -> Option<NaiveDate> {
    [
        state.granted_on,
        state.last_activity,
        seen,
        state.ext.iter().map(|e| e.on).max(),
    ]
    .into_iter()
    .flatten()
    .max()
}

fn inactivity(
    state: &ClsState,
    run_date: NaiveDate,
    seen: Option<NaiveDate>,
    config: &ReviewConfig,
) -> Option<ReviewAction> {
    let baseline = inactivity_baseline(state, seen)?;
    let elapsed = (run_date - baseline).num_days();
    let days = i64::from(config.inactivity_days);
    let warn_days = i64::from(config.inactivity_warn_days);
    let earliest_removal = baseline + Duration::days(days);
    // A warning counts only when it was for the current baseline: activity after it moves the baseline and
    // so the earliest removal past the warned date.
    let warned_for = state
        .inactivity_warned_for
        .filter(|warned| *warned >= earliest_removal);
    match warned_for {
        Some(removal_on) if elapsed >= days && run_date >= removal_on => {
            Some(ReviewAction::InactivityExpire)
        }
        Some(_) => None,
        None if elapsed >= days - warn_days => Some(ReviewAction::InactivityWarn {
            removal_on: earliest_removal.max(run_date + Duration::days(warn_days)),
        }),
        None => None,
    }
}

/// Thresholds T with 0 < expiry − run date ≤ T not yet recorded for this expiry, largest first.
pub fn due_thresholds(
    state: &ClsState,
    expires_on: NaiveDate,
    run_date: NaiveDate,
    thresholds: &[u32],
) -> Vec<u32> {
    let left = (expires_on - run_date).num_days();
    let recorded: &[u32] = match &state.notified {
        Some(n) if n.for_date == expires_on => &n.days,
        _ => &[],
    };
    let mut due: Vec<u32> = thresholds
        .iter()
        .copied()
        .filter(|t| left > 0 && left <= i64::from(*t) && !recorded.contains(t))
        .collect();
    due.sort_unstable_by(|a, b| b.cmp(a));
    due.dedup();
    due
}

/// The expiry after a Slack extension: max(current expiry, today) + `days` (CLS-31).
pub fn extended_expiry(current: NaiveDate, today: NaiveDate, days: u32) -> NaiveDate {
    current.max(today) + Duration::days(i64::from(days))
}

#[cfg(test)]
mod tests {
    use crate::dates::parse_date;
    use crate::ticket::{Extension, Notified, RemovalReason};

    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn granted(granted_on: &str, expires_on: &str) -> ClsState {
        ClsState {
            granted_on: Some(d(granted_on)),
            expires_on: Some(d(expires_on)),
            ..ClsState::default()
        }
    }

    fn off() -> ReviewConfig {
        ReviewConfig {
            inactivity_days: 0,
            ..ReviewConfig::default()
        }
    }

    #[test]
    fn expiry_on_or_before_the_run_date_expires_and_a_future_one_does_not() {
        let s = granted("2026-01-10", "2027-01-10");
        let cfg = off();
        assert_eq!(
            review(&s, d("2027-01-10"), Activity::Unavailable, &cfg),
            Some(ReviewAction::Expire)
        );
        // Three skipped days: still expired (catch-up).
        assert_eq!(
            review(&s, d("2027-01-13"), Activity::Unavailable, &cfg),
            Some(ReviewAction::Expire)
        );
        assert_eq!(
            review(&s, d("2026-06-01"), Activity::Unavailable, &cfg),
            None
        );
    }

    #[test]
    fn removed_access_or_a_missing_expiry_asks_for_nothing() {
        let mut s = granted("2026-01-10", "2026-02-01");
        s.access = Access::Removed;
        s.reason = Some(RemovalReason::Expired);
        assert_eq!(
            review(&s, d("2027-01-01"), Activity::Unavailable, &off()),
            None
        );
        let mut s = granted("2026-01-10", "2026-02-01");
        s.expires_on = None;
        assert_eq!(
            review(&s, d("2027-01-01"), Activity::Unavailable, &off()),
            None
        );
    }

    #[test]
    fn reminders_are_due_once_per_threshold_and_missed_runs_send_one() {
        let mut s = granted("2026-05-12", "2027-05-12");
        let cfg = off();
        assert_eq!(
            review(&s, d("2027-04-20"), Activity::Unavailable, &cfg),
            None
        );
        assert_eq!(
            review(&s, d("2027-04-21"), Activity::Unavailable, &cfg),
            Some(ReviewAction::Notify {
                days: 21,
                record: vec![21]
            })
        );
        s.notified = Some(Notified {
            for_date: d("2027-05-12"),
            days: vec![21],
        });
        assert_eq!(
            review(&s, d("2027-04-22"), Activity::Unavailable, &cfg),
            None
        );
        // Two missed runs around the 7-day threshold and then 3 days left: one reminder, both recorded.
        assert_eq!(
            review(&s, d("2027-05-09"), Activity::Unavailable, &cfg),
            Some(ReviewAction::Notify {
                days: 3,
                record: vec![7, 3]
            })
        );
        // Reminders recorded for an older expiry do not count for the new one.
        s.notified = Some(Notified {
            for_date: d("2027-02-01"),
            days: vec![21, 7, 3],
        });
        assert_eq!(
            review(&s, d("2027-05-06"), Activity::Unavailable, &cfg),
            Some(ReviewAction::Notify {
                days: 7,
                record: vec![21, 7]
            })
        );
    }

    #[test]
    fn inactivity_warns_at_83_days_and_removes_at_90_only_after_a_warning() {
        let cfg = ReviewConfig::default();
        let mut s = granted("2026-01-01", "2027-01-01");
        let quiet = Activity::Known(None);
        assert_eq!(review(&s, d("2026-03-24"), quiet, &cfg), None); // 82 days
        assert_eq!(
            review(&s, d("2026-03-25"), quiet, &cfg), // 83 days
            Some(ReviewAction::InactivityWarn {
                removal_on: d("2026-04-01")
            })
        );
        // 90 days without a warning: warn first, removal a full warning period later.
        assert_eq!(
            review(&s, d("2026-04-01"), quiet, &cfg),
            Some(ReviewAction::InactivityWarn {
                removal_on: d("2026-04-08")
            })
        );
        s.inactivity_warned_for = Some(d("2026-04-01"));
        assert_eq!(review(&s, d("2026-03-30"), quiet, &cfg), None);
        assert_eq!(
            review(&s, d("2026-04-01"), quiet, &cfg),
            Some(ReviewAction::InactivityExpire)
        );
        // The signal failing this run: never an inactivity action.
        assert_eq!(
            review(&s, d("2026-04-01"), Activity::Unavailable, &cfg),
            None
        );
        // Activity after the warning moves the baseline: no removal, the new date is recorded.
        assert_eq!(
            review(
                &s,
                d("2026-04-01"),
                Activity::Known(Some(d("2026-03-31"))),
                &cfg
            ),
            Some(ReviewAction::RecordActivity(d("2026-03-31")))
        );
    }

    #[test]
    fn an_extension_restarts_the_inactivity_clock() {
        let cfg = ReviewConfig::default();
        let mut s = granted("2026-01-01", "2027-01-01");
        s.ext.push(Extension {
            by: "U1".into(),
            on: d("2026-03-01"),
            to: d("2027-04-01"),
        });
        assert_eq!(
            review(&s, d("2026-04-01"), Activity::Known(None), &cfg),
            None
        );
        assert_eq!(inactivity_baseline(&s, None), Some(d("2026-03-01")));
    }

    #[test]
    fn a_newer_activity_date_is_recorded_and_an_older_one_is_not() {
        let cfg = ReviewConfig::default();
        let mut s = granted("2026-01-01", "2027-01-01");
        s.last_activity = Some(d("2026-02-01"));
        assert_eq!(
            review(
                &s,
                d("2026-02-10"),
                Activity::Known(Some(d("2026-02-09"))),
                &cfg
            ),
            Some(ReviewAction::RecordActivity(d("2026-02-09")))
        );
        assert_eq!(
            review(
                &s,
                d("2026-02-10"),
                Activity::Known(Some(d("2026-01-20"))),
                &cfg
            ),
            None
        );
    }

    #[test]
    fn expiry_wins_over_every_other_action() {
        let cfg = ReviewConfig::default();
        let s = granted("2025-01-01", "2026-01-01");
        let action = review(
            &s,
            d("2026-01-01"),
            Activity::Known(Some(d("2025-12-31"))),
            &cfg,
        );
        assert_eq!(action, Some(ReviewAction::Expire));
        assert!(action.unwrap().is_removal());
    }

    #[test]
    fn thresholds_and_the_fake_clock_come_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            ConfigReader::new(move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        assert_eq!(
            ReviewConfig::from_reader(&env(&[])).unwrap(),
            ReviewConfig::default()
        );
        let cfg = ReviewConfig::from_reader(&env(&[
            ("CLS_NOTIFY_DAYS", "3, 14,7"),
            ("CLS_INACTIVITY_DAYS", "0"),
        ]))
        .unwrap();
        assert_eq!(cfg.notify_days, vec![14, 7, 3]);
        assert_eq!(cfg.inactivity_days, 0);
        let err = ReviewConfig::from_reader(&env(&[("CLS_NOTIFY_DAYS", "21,x")])).unwrap_err();
        assert_eq!(err.var, "CLS_NOTIFY_DAYS");
        let today = env(&[("CLS_FAKE_TODAY", "2027-04-21")]);
        assert_eq!(
            fake_today(&today, "testing").unwrap(),
            Some(d("2027-04-21"))
        );
        assert_eq!(
            fake_today(&today, "production").unwrap_err().var,
            "CLS_FAKE_TODAY"
        );
        assert_eq!(fake_today(&env(&[]), "production").unwrap(), None);
    }

    #[test]
    fn only_a_source_that_answered_is_a_usable_activity_signal() {
        let day = Some(d("2026-03-01"));
        assert_eq!(
            Activity::from_message(Some("audit_log"), day),
            Activity::Known(day)
        );
        assert_eq!(
            Activity::from_message(Some("repo_events"), None),
            Activity::Known(None)
        );
        assert_eq!(
            Activity::from_message(Some("off"), day),
            Activity::Unavailable
        );
        assert_eq!(Activity::from_message(None, day), Activity::Unavailable);
    }

    #[test]
    fn an_extension_counts_from_the_later_of_expiry_and_today() {
        assert_eq!(
            extended_expiry(d("2027-05-12"), d("2027-04-21"), 90),
            d("2027-08-10")
        );
        assert_eq!(
            extended_expiry(d("2027-05-12"), d("2027-06-01"), 90),
            d("2027-08-30")
        );
    }
}
