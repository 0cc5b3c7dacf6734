//! The service error: the one place where a failed invocation is classified (docs/architecture.md).

use lambda_kit::{Classify, ErrorClass};
use lambda_runtime::Diagnostic;

use crate::handler::HandoffResponse;

/// Why the invocation failed. Only retryable failures fail an invocation: permanent data errors are alerted
/// and acknowledged with `Ok` (README, "Behaviour").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// Spoke, Slack or the secret is unavailable, the key is refused or the change was not applied: the
    /// platform retries and, when retries are exhausted, the event goes to the DLQ.
    #[error("handoff {} not applied: {} (retryable)", .0.event_id, .0.reason)]
    Retryable(Box<HandoffResponse>),
}

impl ServiceError {
    /// The summary of the failed invocation.
    pub fn response(&self) -> &HandoffResponse {
        match self {
            Self::Retryable(response) => response,
        }
    }
}

impl Classify for ServiceError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Retryable(_) => ErrorClass::Retryable,
        }
    }
}

impl From<ServiceError> for Diagnostic {
    fn from(error: ServiceError) -> Self {
        Diagnostic {
            error_type: error.class().as_str().to_owned(),
            error_message: error.to_string(),
        }
    }
}
