//! The service's error: a run that left a team unhandled fails, so Lambda retries it and the Errors alarm
//! fires; and the start-up error of [`crate::Deps::new`].

use lambda_kit::{Classify, ErrorClass};
use lambda_runtime::Diagnostic;

use crate::handler::RunSummary;

/// A run failed for at least one team (its summary lists which and why); the others were handled.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ServiceError {
    /// PagerDuty could not be read, or an event could not be put, for some team: the next run (or Lambda's
    /// retry of this one) covers it again.
    #[error("{} of {} team(s) not handled: {}", .0.failed, .0.teams, .0.failures.join("; "))]
    Retryable(Box<RunSummary>),
}

impl Classify for ServiceError {
    fn class(&self) -> ErrorClass {
        ErrorClass::Retryable
    }
}

impl From<ServiceError> for Diagnostic {
    fn from(e: ServiceError) -> Self {
        Diagnostic {
            error_type: e.class().as_str().to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// The cold start failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// `PAGERDUTY_API_URL` cannot take the `/oncalls` path.
    #[error("PAGERDUTY_API_URL cannot be used as a base URL")]
    ApiUrl,
}
