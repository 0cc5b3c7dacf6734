//! The one place where library errors become Retryable or Permanent (`docs/architecture.md`, "One service shape";
//! README, "What one batch does").

use cls_core::EnvelopeError;
use github_app::GithubError;
use lambda_kit::{Classify, ErrorClass};
use spoke_client::{RequestId, SpokeError};

/// Why a record was not applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The body is not a usable envelope (not JSON / malformed: permanent; unknown `v`/`kind`: retryable).
    #[error("queue message refused")]
    Envelope(#[source] EnvelopeError),
    /// A Spoke call failed.
    #[error("Spoke call failed")]
    Spoke(#[source] SpokeError),
    /// A GitHub call failed.
    #[error("GitHub call failed")]
    Github(#[source] GithubError),
    /// The identity directory could not answer.
    #[error("identity lookup failed")]
    Identity(#[source] cls_core::identity::IdentityError),
    /// `POST /requests` failed with an unknown outcome and the search does not show the ticket yet.
    #[error("ticket creation outcome unknown; not found by the lookup yet")]
    CreateOutcomeUnknown,
    /// A Slack Web API call failed (transient: retried; `invalid_auth` and friends: permanent).
    #[error("Slack call failed")]
    Slack(#[source] slack_notify::SlackError),
    /// The Slack secret could not be read or has no bot token: retried (then dead-lettered with the alarm).
    #[error("Slack bot unavailable: {0}")]
    SlackUnavailable(String),
    /// A command names a collaborator or ticket CLS does not track, or asks for something the ticket's state
    /// forbids (e.g. extending closed access): permanent, alerted.
    #[error("command refused: {0}")]
    Refused(&'static str),
}

impl From<slack_notify::SlackError> for RecordError {
    fn from(e: slack_notify::SlackError) -> Self {
        Self::Slack(e)
    }
}

impl From<SpokeError> for RecordError {
    fn from(e: SpokeError) -> Self {
        Self::Spoke(e)
    }
}

impl From<GithubError> for RecordError {
    fn from(e: GithubError) -> Self {
        Self::Github(e)
    }
}

impl From<EnvelopeError> for RecordError {
    fn from(e: EnvelopeError) -> Self {
        Self::Envelope(e)
    }
}

impl Classify for RecordError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Envelope(e) if e.is_retryable() => ErrorClass::Retryable,
            Self::Envelope(_) => ErrorClass::Permanent,
            Self::CreateOutcomeUnknown | Self::Identity(_) | Self::SlackUnavailable(_) => {
                ErrorClass::Retryable
            }
            Self::Slack(e) => e.class(),
            Self::Refused(_) => ErrorClass::Permanent,
            // A refused key is operational (a rotation in progress; README, "Spoke key rotation"): the handler re-reads
            // the secret, and the record is retried instead of being acknowledged and lost.
            Self::Spoke(SpokeError::InvalidApiKey { .. }) => ErrorClass::Retryable,
            Self::Spoke(e) => e.class(),
            Self::Github(e) => e.class(),
        }
    }
}

impl RecordError {
    /// True when Spoke refused the API key.
    pub fn is_key_refused(&self) -> bool {
        matches!(self, Self::Spoke(SpokeError::InvalidApiKey { .. }))
    }

    /// A short stable reason for metrics and logs (`error_kind`).
    pub fn reason(&self) -> String {
        match self {
            Self::Envelope(e) => e.reason().to_owned(),
            Self::Spoke(e) => format!(
                "spoke_{}",
                e.status()
                    .map_or_else(|| "transport".to_owned(), |s| s.to_string())
            ),
            Self::Github(e) => format!("github_{}", github_reason(e)),
            Self::CreateOutcomeUnknown => "create_outcome_unknown".to_owned(),
            Self::Identity(_) => "identity_unavailable".to_owned(),
            Self::Slack(e) => format!("slack_{}", e.kind()),
            Self::SlackUnavailable(_) => "slack_unavailable".to_owned(),
            Self::Refused(_) => "command_refused".to_owned(),
        }
    }

    /// The error with its sources, for the one log line at the edge.
    pub fn chain(&self) -> String {
        lambda_kit::error::chain(self)
    }
}

fn github_reason(e: &GithubError) -> String {
    let debug = format!("{e:?}");
    debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("error")
        .to_lowercase()
}

/// A failed record with what is known about its subject, for the alert and the needs-attention tag.
#[derive(Debug)]
pub struct Failure {
    /// The error.
    pub error: RecordError,
    /// The collaborator's ticket, when one was found.
    pub ticket: Option<RequestId>,
}

impl<E: Into<RecordError>> From<E> for Failure {
    fn from(e: E) -> Self {
        Self {
            error: e.into(),
            ticket: None,
        }
    }
}
