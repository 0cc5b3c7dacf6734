//! The vocabulary of the decision table (README, "Behaviour"): results, reasons, alert kinds and the decision
//! record.

use std::fmt;

use spoke_client::{TeamId, UserId};

/// The `result` field of the summary line and the `Result` metric dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandoffResult {
    /// The team's delegation was changed and verified.
    Updated,
    /// Nothing to change.
    Noop,
    /// Deliberately not processed.
    Skipped,
    /// Dry run: a change would have been made.
    DryRun,
    /// Bad data: alerted once and acknowledged.
    PermanentError,
    /// Transient or operational failure: the invocation fails so that the platform retries.
    RetryableError,
}

impl HandoffResult {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Updated => "updated",
            Self::Noop => "noop",
            Self::Skipped => "skipped",
            Self::DryRun => "dry_run",
            Self::PermanentError => "permanent_error",
            Self::RetryableError => "retryable_error",
        }
    }
}

impl fmt::Display for HandoffResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The reason code of an alert (README, "Alarms: what each alert means and what to do").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// `Team.spoke` present but empty.
    TeamKeyEmpty,
    /// The event lacks a required field.
    MalformedEvent,
    /// No Spoke team with that name.
    TeamNotFound,
    /// Several Spoke teams match the name.
    TeamAmbiguous,
    /// The Spoke team is closed.
    TeamClosed,
    /// No Spoke user with the on-call e-mail.
    UserNotFound,
    /// Several Spoke users match the on-call e-mail.
    UserAmbiguous,
    /// The on-call person is not an agent of the team.
    NotTeamMember,
    /// Spoke refused the PATCH.
    UpdateRejected,
    /// Spoke accepted the PATCH but did not apply it.
    UpdateNotApplied,
    /// Spoke could not be reached.
    SpokeUnavailable,
    /// Spoke refused the service's credentials.
    SpokeAuth,
    /// The event is older than the maximum age (IT only).
    StaleEvent,
    /// An earlier retryable failure for this handoff was resolved (IT only).
    Recovered,
}

impl AlertKind {
    /// The reason code shown in IT messages and used in the de-duplication key.
    pub fn code(self) -> &'static str {
        match self {
            Self::TeamKeyEmpty => "team_key_empty",
            Self::MalformedEvent => "malformed_event",
            Self::TeamNotFound => "team_not_found",
            Self::TeamAmbiguous => "team_ambiguous",
            Self::TeamClosed => "team_closed",
            Self::UserNotFound => "user_not_found",
            Self::UserAmbiguous => "user_ambiguous",
            Self::NotTeamMember => "not_team_member",
            Self::UpdateRejected => "update_rejected",
            Self::UpdateNotApplied => "update_not_applied",
            Self::SpokeUnavailable => "spoke_unavailable",
            Self::SpokeAuth => "spoke_auth",
            Self::StaleEvent => "stale_event",
            Self::Recovered => "recovered",
        }
    }

    /// Alerts that go to the IT channel only, whatever the event says.
    pub fn is_it_only(self) -> bool {
        matches!(self, Self::StaleEvent | Self::Recovered)
    }

    /// The alerts of a retryable failure.
    pub const RETRYABLE: [Self; 3] = [
        Self::UpdateNotApplied,
        Self::SpokeUnavailable,
        Self::SpokeAuth,
    ];

    /// Alerts of a retryable failure: a later success for the same handoff sends a `recovered` note.
    pub fn is_retryable(self) -> bool {
        Self::RETRYABLE.contains(&self)
    }

    /// True when `code` is the reason code of a retryable alert.
    pub fn is_retryable_code(code: &str) -> bool {
        Self::RETRYABLE.iter().any(|k| k.code() == code)
    }
}

/// An alert to send: its kind and the technical detail IT sees (never a secret, URL or body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Reason code.
    pub kind: AlertKind,
    /// Technical context for the IT message.
    pub detail: String,
}

impl Alert {
    /// A new alert.
    pub fn new(kind: AlertKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}

/// Facts gathered along the way, reported in the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The resolved Spoke team id.
    pub team_id: Option<TeamId>,
    /// The resolved Spoke team's name.
    pub team_name: Option<String>,
    /// The resolved Spoke team's settings page (`permalink`, else built from the org and slug).
    pub team_link: Option<String>,
    /// The resolved Spoke user id of the on-call person.
    pub user_id: Option<UserId>,
    /// The team's delegation strategy before any change.
    pub previous_strategy: Option<String>,
    /// The team's specific user before any change.
    pub previous_user_id: Option<UserId>,
}

/// The outcome of one row of the decision table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The summary `result`.
    pub result: HandoffResult,
    /// The summary `reason` (snake_case), e.g. `already_assigned`.
    pub reason: &'static str,
    /// The alert this row sends, if any.
    pub alert: Option<Alert>,
    /// What was learnt.
    pub facts: Facts,
}

impl Decision {
    /// A decision without alert.
    pub fn new(result: HandoffResult, reason: &'static str) -> Self {
        Self {
            result,
            reason,
            alert: None,
            facts: Facts::default(),
        }
    }

    /// The same decision with an alert.
    pub fn with_alert(mut self, kind: AlertKind, detail: impl Into<String>) -> Self {
        self.alert = Some(Alert::new(kind, detail));
        self
    }

    /// The same decision with facts.
    pub fn with_facts(mut self, facts: Facts) -> Self {
        self.facts = facts;
        self
    }

    /// A permanent error alerted with `kind`, whose summary reason is the alert code.
    pub fn permanent(kind: AlertKind, detail: impl Into<String>) -> Self {
        Self::new(HandoffResult::PermanentError, kind.code()).with_alert(kind, detail)
    }

    /// A retryable error alerted with `kind`, whose summary reason is the alert code.
    pub fn retryable(kind: AlertKind, detail: impl Into<String>) -> Self {
        Self::new(HandoffResult::RetryableError, kind.code()).with_alert(kind, detail)
    }

    /// True when the invocation must fail so that the platform retries.
    pub fn is_err(&self) -> bool {
        self.result == HandoffResult::RetryableError
    }
}
