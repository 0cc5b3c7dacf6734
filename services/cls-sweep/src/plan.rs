//! The pure step of a sweep (README, "What one invocation does", step 4): every reviewable ticket through
//! [`cls_core::review()`], then the safety brake and the per-invocation limit. No I/O, no Lambda types: the
//! handler, `cls-admin sweep` and the unit tests below call it the same way.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use cls_core::{Activity, ActivityIndex, ActivitySourceKind, ReviewAction, ReviewConfig, review};
use serde::{Deserialize, Serialize};

use crate::scan::TicketView;

/// What one org's activity source said this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgActivity {
    /// The configured source.
    pub kind: ActivitySourceKind,
    /// `Some` when the source answered; `None` when it is `off` or failed (no inactivity action then).
    pub index: Option<ActivityIndex>,
}

impl OrgActivity {
    /// The signal for one collaborator.
    pub fn activity(&self, user_id: u64, login: &str) -> Activity {
        match &self.index {
            Some(index) => index.activity(user_id, login),
            None => Activity::Unavailable,
        }
    }
}

/// `activity_source` of a review whose org's source failed this run.
pub const UNAVAILABLE: &str = "unavailable";

/// Activity per org, keyed by lower-case org login. An org without an entry is [`Activity::Unavailable`].
pub type ActivityByOrg = HashMap<String, OrgActivity>;

/// Where the previous invocation of this run stopped: tickets at or before it were already enqueued.
/// Tickets are ordered by (`created_at`, `id`), which no processing in between changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cursor {
    /// The last enqueued ticket's creation time.
    pub created_at: String,
    /// The last enqueued ticket's id.
    pub id: String,
}

impl Cursor {
    /// The position of `ticket`.
    pub fn of(ticket: &TicketView) -> Self {
        Self {
            created_at: ticket.created_at.clone(),
            id: ticket.id.clone(),
        }
    }
}

/// One action due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The ticket.
    pub ticket: TicketView,
    /// What `review` asked for.
    pub action: ReviewAction,
    /// The latest activity the source saw (carried in the `review` message).
    pub last_activity: Option<NaiveDate>,
    /// The `activity_source` the `review` message carries: the source that answered (`audit_log`,
    /// `repo_events`), else `off` or `unavailable` (failed this run) — both mean no usable signal
    /// (`cls_core::Activity::from_message`).
    pub activity_source: &'static str,
}

/// The limits of one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Messages this invocation may send (`CLS_SWEEP_MAX_ACTIONS`).
    pub max_actions: usize,
    /// Removals allowed in one run (`CLS_SWEEP_MAX_REMOVALS`, raised by `allow_removals`).
    pub removal_brake: usize,
}

/// The result of [`plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The run date.
    pub run_date: NaiveDate,
    /// Every action due this run, in ticket order (before the brake and the limit).
    pub due: Vec<Due>,
    /// True when more removals were due than the brake allows: then none of them is sent.
    pub brake_tripped: bool,
    /// The removals held back by the brake.
    pub held: Vec<Due>,
    /// What this invocation sends, at most `max_actions`, after the cursor.
    pub send: Vec<Due>,
    /// Sendable actions after `send`: a continuation is needed when this is not zero.
    pub remaining: usize,
}

impl Plan {
    /// Count per action name over everything due (`SweepDue{action}` and the summary).
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for d in &self.due {
            *counts.entry(d.action.as_str()).or_insert(0) += 1;
        }
        counts
    }

    /// Where a continuation resumes: after the last ticket sent.
    pub fn cursor(&self) -> Option<Cursor> {
        self.send.last().map(|d| Cursor::of(&d.ticket))
    }
}

/// Reviews every ticket and applies the brake and the limit.
///
/// - Each ticket gets at most one action from [`review()`], with its org's activity signal.
/// - Brake: when more removals (`expire`, `inactivity_expire`) are due than `limits.removal_brake`, none of
///   them is sendable (they are listed in `held`); every other action still is.
/// - Limit: sendable actions are ordered by (`created_at`, `id`); those at or before `after` were sent by an
///   earlier invocation of this run; the next `max_actions` form `send`, the rest `remaining`.
pub fn plan(
    tickets: &[TicketView],
    activity: &ActivityByOrg,
    run_date: NaiveDate,
    config: &ReviewConfig,
    limits: &Limits,
    after: Option<&Cursor>,
) -> Plan {
    let mut due = Vec::new();
    for ticket in tickets {
        let org = activity.get(&ticket.org.to_lowercase());
        let signal = org.map_or(Activity::Unavailable, |a| {
            a.activity(ticket.user_id, &ticket.login)
        });
        let Some(action) = review(&ticket.state, run_date, signal, config) else {
            continue;
        };
        let (last_activity, activity_source) = match (signal, org.map(|a| a.kind)) {
            (Activity::Known(date), Some(kind)) => (date, kind.as_str()),
            (_, Some(ActivitySourceKind::Off)) => (None, ActivitySourceKind::Off.as_str()),
            _ => (None, UNAVAILABLE),
        };
        due.push(Due {
            ticket: ticket.clone(),
            action,
            last_activity,
            activity_source,
        });
    }
    let removals = due.iter().filter(|d| d.action.is_removal()).count();
    let brake_tripped = removals > limits.removal_brake;
    let (held, mut sendable): (Vec<Due>, Vec<Due>) = due
        .iter()
        .cloned()
        .partition(|d| brake_tripped && d.action.is_removal());
    sendable.sort_by_key(|d| Cursor::of(&d.ticket));
    sendable.retain(|d| after.is_none_or(|c| Cursor::of(&d.ticket) > *c));
    let remaining = sendable.len().saturating_sub(limits.max_actions);
    sendable.truncate(limits.max_actions);
    Plan {
        run_date,
        due,
        brake_tripped,
        held,
        send: sendable,
        remaining,
    }
}

#[cfg(test)]
mod tests {
    use cls_core::ClsState;
    use cls_core::dates::parse_date;

    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn ticket(n: u32, expires_on: &str) -> TicketView {
        TicketView {
            id: format!("t{n:04}"),
            link: format!("t{n:04}"),
            created_at: format!("2026-01-01T00:{:02}:{:02}Z", n / 60, n % 60),
            offset: u64::from(n),
            org: "acme".into(),
            org_id: 1,
            user_id: u64::from(n) + 100,
            login: format!("user{n}"),
            repositories: vec!["acme/widgets".into()],
            state: ClsState {
                granted_on: Some(d("2026-01-01")),
                expires_on: Some(d(expires_on)),
                ..ClsState::default()
            },
        }
    }

    fn off() -> ReviewConfig {
        ReviewConfig {
            inactivity_days: 0,
            ..ReviewConfig::default()
        }
    }

    fn limits(max_actions: usize, removal_brake: usize) -> Limits {
        Limits {
            max_actions,
            removal_brake,
        }
    }

    #[test]
    fn expiries_before_and_on_the_run_date_are_due_and_future_ones_are_not() {
        let tickets = [
            ticket(1, "2027-01-09"),
            ticket(2, "2027-01-10"),
            ticket(3, "2027-06-01"),
        ];
        let plan = plan(
            &tickets,
            &ActivityByOrg::new(),
            d("2027-01-10"),
            &off(),
            &limits(500, 25),
            None,
        );
        let ids: Vec<&str> = plan.send.iter().map(|x| x.ticket.id.as_str()).collect();
        assert_eq!(ids, ["t0001", "t0002"]);
        assert!(plan.send.iter().all(|x| x.action == ReviewAction::Expire));
        assert_eq!(plan.counts().get("expire"), Some(&2));
        assert_eq!(plan.remaining, 0);
    }

    #[test]
    fn more_removals_than_the_brake_holds_every_removal_and_sends_the_rest() {
        let mut tickets: Vec<TicketView> = (0..30).map(|n| ticket(n, "2027-01-01")).collect();
        tickets.push(ticket(99, "2027-01-25")); // a 21-day reminder
        let plan = plan(
            &tickets,
            &ActivityByOrg::new(),
            d("2027-01-04"),
            &off(),
            &limits(500, 25),
            None,
        );
        assert!(plan.brake_tripped);
        assert_eq!(plan.held.len(), 30);
        assert_eq!(plan.send.len(), 1);
        assert_eq!(plan.send[0].action.as_str(), "notify");
        // Raised for an operator run: everything goes.
        let raised = super::plan(
            &tickets,
            &ActivityByOrg::new(),
            d("2027-01-04"),
            &off(),
            &limits(500, 30),
            None,
        );
        assert!(!raised.brake_tripped);
        assert_eq!(raised.send.len(), 31);
    }

    #[test]
    fn the_limit_splits_the_run_and_the_cursor_resumes_after_the_last_sent() {
        let tickets: Vec<TicketView> = (0..7).map(|n| ticket(n, "2027-01-01")).collect();
        let first = plan(
            &tickets,
            &ActivityByOrg::new(),
            d("2027-01-04"),
            &off(),
            &limits(3, 25),
            None,
        );
        assert_eq!(first.send.len(), 3);
        assert_eq!(first.remaining, 4);
        let cursor = first.cursor().unwrap();
        // The first three were processed meanwhile and are no longer open: the cursor still resumes right.
        let second = plan(
            &tickets[3..],
            &ActivityByOrg::new(),
            d("2027-01-04"),
            &off(),
            &limits(3, 25),
            Some(&cursor),
        );
        let ids: Vec<&str> = second.send.iter().map(|x| x.ticket.id.as_str()).collect();
        assert_eq!(ids, ["t0003", "t0004", "t0005"]);
        assert_eq!(second.remaining, 1);
    }

    #[test]
    fn an_unavailable_signal_never_gives_an_inactivity_action() {
        let mut quiet = ticket(1, "2028-01-01");
        quiet.state.granted_on = Some(d("2026-01-01"));
        let run = d("2026-06-01");
        let failed = ActivityByOrg::from([(
            "acme".to_owned(),
            OrgActivity {
                kind: ActivitySourceKind::AuditLog,
                index: None,
            },
        )]);
        let p = plan(
            std::slice::from_ref(&quiet),
            &failed,
            run,
            &ReviewConfig::default(),
            &limits(500, 25),
            None,
        );
        assert!(p.due.is_empty());
        let answered = ActivityByOrg::from([(
            "acme".to_owned(),
            OrgActivity {
                kind: ActivitySourceKind::AuditLog,
                index: Some(ActivityIndex::default()),
            },
        )]);
        let p = plan(
            &[quiet],
            &answered,
            run,
            &ReviewConfig::default(),
            &limits(500, 25),
            None,
        );
        assert_eq!(p.due[0].action.as_str(), "inactivity_warn");
        assert_eq!(p.due[0].activity_source, "audit_log");
    }

    #[test]
    fn newer_activity_is_carried_in_the_plan() {
        let t = ticket(1, "2028-01-01");
        let mut index = ActivityIndex::default();
        index.record(Some(t.user_id), None, d("2026-02-01"));
        let activity = ActivityByOrg::from([(
            "acme".to_owned(),
            OrgActivity {
                kind: ActivitySourceKind::AuditLog,
                index: Some(index),
            },
        )]);
        let p = plan(
            &[t],
            &activity,
            d("2026-02-02"),
            &ReviewConfig::default(),
            &limits(500, 25),
            None,
        );
        assert_eq!(
            p.send[0].action,
            ReviewAction::RecordActivity(d("2026-02-01"))
        );
        assert_eq!(p.send[0].last_activity, Some(d("2026-02-01")));
    }
}
