//! How a failed Spoke call maps to a row of the decision table (README, "Behaviour").

use spoke_client::{Delegation, SpokeError};

use crate::outcome::{AlertKind, Decision};

/// Where a Spoke call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// A read, named for the alert detail.
    Read(&'static str),
    /// The PATCH of the team's delegation.
    Patch,
    /// The read-back after a PATCH whose answer had no delegation.
    Verify,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Self::Read(name) => name,
            Self::Patch => "PATCH team",
            Self::Verify => "GET team after PATCH",
        }
    }
}

/// A Spoke call that failed, or ran into the invocation's Spoke deadline.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The client's error, after its own retries.
    Spoke(SpokeError),
    /// The deadline (the Lambda's remaining time minus the Slack reserve) was reached first.
    Deadline,
}

impl CallError {
    /// Spoke refused the API key (401, or 403 with code 11038).
    pub(crate) fn is_invalid_key(&self) -> bool {
        matches!(self, Self::Spoke(SpokeError::InvalidApiKey { .. }))
    }
}

/// A short description of a transient failure: `rate limited (reset in 60 s)`, `HTTP 503`, `timeout`, ….
fn transient_kind(e: &SpokeError) -> String {
    match (e, e.status(), e.retry_after()) {
        (SpokeError::RateLimited { .. }, _, Some(wait)) => {
            format!("rate limited (reset in {} s)", wait.as_secs())
        }
        (_, Some(status), _) => format!("HTTP {status}"),
        (e, None, _) => e.kind().to_owned(),
    }
}

/// Maps a failed Spoke call (other than a refused key) to its row.
pub(crate) fn classify(stage: Stage, failure: &CallError) -> Decision {
    let e = match failure {
        CallError::Deadline => {
            return Decision::retryable(
                AlertKind::SpokeUnavailable,
                format!("{}: deadline reached", stage.name()),
            );
        }
        CallError::Spoke(e) => e,
    };
    if e.is_transient() {
        return Decision::retryable(
            AlertKind::SpokeUnavailable,
            format!(
                "{}: {} after {} attempt(s)",
                stage.name(),
                transient_kind(e),
                e.attempts()
            ),
        );
    }
    match (stage, e) {
        (Stage::Patch, SpokeError::NotFound { .. }) => Decision::permanent(
            AlertKind::UpdateRejected,
            "PATCH answered HTTP 404: the team no longer exists",
        ),
        (Stage::Patch, e) => {
            let status = e.status();
            let mut detail = format!(
                "PATCH answered HTTP {}, Spoke code {}: {}",
                status.map_or_else(|| "?".to_owned(), |s| s.to_string()),
                e.spoke_code()
                    .map_or_else(|| "none".to_owned(), |c| c.to_string()),
                e.spoke_message().unwrap_or(e.kind())
            );
            if status == Some(403) {
                detail.push_str("; add the service account to the team");
            }
            Decision::permanent(AlertKind::UpdateRejected, detail)
        }
        // A read that Spoke refuses for a reason other than the key (or a bad response) is operational:
        // fail so the platform retries and the alarm fires.
        (stage, e) => Decision::retryable(
            AlertKind::SpokeUnavailable,
            format!("{}: {e}", stage.name()),
        ),
    }
}

/// The delegation as the alert detail shows it.
pub(crate) fn describe(d: Option<&Delegation>) -> String {
    let strategy = d.and_then(|d| d.strategy.as_ref()).map(|s| s.as_str());
    let user = d.and_then(|d| d.specific_user.as_ref()).map(|u| u.as_str());
    match (strategy, user) {
        (None, None) => "no delegation".to_owned(),
        (s, u) => format!(
            "{} → {}",
            s.unwrap_or("(no strategy)"),
            u.unwrap_or("(no user)")
        ),
    }
}
