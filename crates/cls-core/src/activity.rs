//! Inactivity signals (`services/cls-sweep/README.md`, "What one invocation does", step 3): the
//! [`ActivitySource`] trait the sweep queries once per organisation per run, the per-org choice
//! ([`ActivitySourceKind`], default `audit_log`) and the answer ([`ActivityIndex`]).
//!
//! The GitHub-backed implementations (`audit_log`, `repo_events`) live in `cls-sweep`, over `github-app`;
//! [`Off`] lives here. A source that fails makes its org [`Activity::Unavailable`] for the run, so a failing
//! signal never removes anyone.

use std::collections::HashMap;
use std::fmt;

use chrono::NaiveDate;
use futures::future::BoxFuture;

use crate::review::Activity;

/// Which signal an org uses (`activity_source` in the `cls/github` secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ActivitySourceKind {
    /// The org audit log (Enterprise Cloud; web and Git events, including clone/fetch). The default.
    #[default]
    AuditLog,
    /// Repository events (writes only, last 30 days / 300 events per repository).
    RepoEvents,
    /// No signal: the org never gets inactivity actions.
    Off,
}

impl ActivitySourceKind {
    /// The configuration value: `audit_log`, `repo_events` or `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuditLog => "audit_log",
            Self::RepoEvents => "repo_events",
            Self::Off => "off",
        }
    }

    /// Parses the org's `activity_source`; unset means `audit_log`. `None` for an unknown value.
    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Some(Self::AuditLog),
            Some(v) if v.eq_ignore_ascii_case("audit_log") => Some(Self::AuditLog),
            Some(v) if v.eq_ignore_ascii_case("repo_events") => Some(Self::RepoEvents),
            Some(v) if v.eq_ignore_ascii_case("off") => Some(Self::Off),
            Some(_) => None,
        }
    }
}

impl fmt::Display for ActivitySourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One collaborator whose activity the sweep wants to know (the open tickets of the org).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// GitHub user id.
    pub user_id: u64,
    /// Current login as the ticket shows it.
    pub login: String,
    /// `owner/name` of the repositories on the ticket (what `repo_events` reads).
    pub repositories: Vec<String>,
}

/// What one query of one org's source learnt: the latest activity date per collaborator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityIndex {
    by_id: HashMap<u64, NaiveDate>,
    by_login: HashMap<String, NaiveDate>,
}

impl ActivityIndex {
    /// Records that `user_id` (or, when the event names no id, `login`) was active on `on`; keeps the latest.
    pub fn record(&mut self, user_id: Option<u64>, login: Option<&str>, on: NaiveDate) {
        if let Some(id) = user_id {
            let entry = self.by_id.entry(id).or_insert(on);
            *entry = (*entry).max(on);
        }
        if let Some(login) = login.map(str::trim).filter(|l| !l.is_empty()) {
            let entry = self.by_login.entry(login.to_lowercase()).or_insert(on);
            *entry = (*entry).max(on);
        }
    }

    /// The latest date seen for the collaborator, by id or login (case-insensitive).
    pub fn latest(&self, user_id: u64, login: &str) -> Option<NaiveDate> {
        let by_id = self.by_id.get(&user_id).copied();
        let by_login = self.by_login.get(&login.to_lowercase()).copied();
        by_id.max(by_login)
    }

    /// The [`Activity`] the review of this collaborator sees: the source answered, with or without a date.
    pub fn activity(&self, user_id: u64, login: &str) -> Activity {
        Activity::Known(self.latest(user_id, login))
    }

    /// How many distinct collaborators (ids and logins) have a date.
    pub fn len(&self) -> usize {
        self.by_id.len() + self.by_login.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty() && self.by_login.is_empty()
    }
}

/// The signal could not be read this run (404: not Enterprise Cloud, 403: missing permission, 5xx, timeout).
/// Carries no token, URL or body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("activity source {source_kind} unavailable for {org}: {reason}")]
pub struct ActivityError {
    /// The source that failed.
    pub source_kind: ActivitySourceKind,
    /// The organisation.
    pub org: String,
    /// The HTTP status, when the upstream answered one.
    pub status: Option<u16>,
    /// What went wrong, for the alert.
    pub reason: String,
}

/// An inactivity signal for one organisation.
pub trait ActivitySource: Send + Sync {
    /// Which kind this is (what the `review` message records as `activity_source`).
    fn kind(&self) -> ActivitySourceKind;

    /// The latest activity per collaborator of `org` since `since` (inclusive), for `subjects`.
    /// `Ok(None)`: the source gives no signal by design ([`Off`]); `Err`: it failed this run.
    fn activity<'a>(
        &'a self,
        org: &'a str,
        since: NaiveDate,
        subjects: &'a [Subject],
    ) -> BoxFuture<'a, Result<Option<ActivityIndex>, ActivityError>>;
}

/// The `off` source: never a signal, never an inactivity action, never an alert.
#[derive(Debug, Clone, Copy, Default)]
pub struct Off;

impl ActivitySource for Off {
    fn kind(&self) -> ActivitySourceKind {
        ActivitySourceKind::Off
    }

    fn activity<'a>(
        &'a self,
        _org: &'a str,
        _since: NaiveDate,
        _subjects: &'a [Subject],
    ) -> BoxFuture<'a, Result<Option<ActivityIndex>, ActivityError>> {
        Box::pin(async { Ok(None) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::parse_date;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn the_kind_defaults_to_the_audit_log_and_refuses_unknown_values() {
        assert_eq!(
            ActivitySourceKind::parse(None),
            Some(ActivitySourceKind::AuditLog)
        );
        assert_eq!(
            ActivitySourceKind::parse(Some(" ")),
            Some(ActivitySourceKind::AuditLog)
        );
        assert_eq!(
            ActivitySourceKind::parse(Some("Repo_Events")),
            Some(ActivitySourceKind::RepoEvents)
        );
        assert_eq!(
            ActivitySourceKind::parse(Some("off")),
            Some(ActivitySourceKind::Off)
        );
        assert_eq!(ActivitySourceKind::parse(Some("search")), None);
    }

    #[test]
    fn the_index_keeps_the_latest_date_by_id_or_login() {
        let mut index = ActivityIndex::default();
        index.record(Some(7), Some("octocat"), d("2026-03-01"));
        index.record(Some(7), None, d("2026-02-01"));
        index.record(None, Some("OctoCat"), d("2026-03-05"));
        assert_eq!(index.latest(7, "octocat"), Some(d("2026-03-05")));
        assert_eq!(index.latest(7, "renamed"), Some(d("2026-03-01")));
        assert_eq!(index.latest(8, "someone"), None);
        assert_eq!(index.activity(8, "someone"), Activity::Known(None));
    }

    #[tokio::test]
    async fn off_gives_no_signal() {
        let answer = Off.activity("acme", d("2026-01-01"), &[]).await;
        assert_eq!(answer, Ok(None));
        assert_eq!(Off.kind().as_str(), "off");
    }
}
