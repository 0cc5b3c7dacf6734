//! The error taxonomy (README, "Failure classes and alarms"): one class per operator action, ordered by
//! severity, and the start-up error of [`crate::Deps::new`].

use std::fmt;

use lambda_kit::{Classify, ErrorClass};
use lambda_runtime::Diagnostic;

use crate::sweep::SweepSummary;

/// What went wrong, as the operator has to act on it. Declared most severe first (the README's table); the
/// derived `Ord` follows that order, so the *smallest* class of a sweep is the one reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FailureClass {
    /// The integration's refresh token is expired or revoked: run `byods setup-oauth`.
    ReauthRequired,
    /// `PutSecretValue` failed; rotated tokens may be only in memory.
    SecretWriteFailed,
    /// The secret is missing or unreadable.
    SecretReadFailed,
    /// Bad environment or secret, `invalid_client`, wrong `appId`.
    ConfigInvalid,
    /// Minting got 401 even after a fresh integration token.
    IntegrationScopeMissing,
    /// Minting got 403: a Full Admin must authorise the service app.
    ServiceAppNotAuthorized,
    /// The data source does not exist.
    DataSourceNotFound,
    /// The data source lacks a field needed for the update.
    DataSourceInvalid,
    /// Webex answered another 4xx.
    WebexRejected,
    /// The update did not move the expiry.
    ExtensionNotEffective,
    /// 429/423 still failing, or a wait beyond the cap.
    RateLimited,
    /// 5xx or a transport error still failing after retries.
    Upstream,
    /// Requests timed out after retries.
    Timeout,
    /// The invocation ran out of time before the work started.
    DeadlineExceeded,
}

impl FailureClass {
    /// The stable class name, used as the Lambda `errorType` and the `error_class` log field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReauthRequired => "ReauthRequired",
            Self::SecretWriteFailed => "SecretWriteFailed",
            Self::SecretReadFailed => "SecretReadFailed",
            Self::ConfigInvalid => "ConfigInvalid",
            Self::IntegrationScopeMissing => "IntegrationScopeMissing",
            Self::ServiceAppNotAuthorized => "ServiceAppNotAuthorized",
            Self::DataSourceNotFound => "DataSourceNotFound",
            Self::DataSourceInvalid => "DataSourceInvalid",
            Self::WebexRejected => "WebexRejected",
            Self::ExtensionNotEffective => "ExtensionNotEffective",
            Self::RateLimited => "RateLimited",
            Self::Upstream => "Upstream",
            Self::Timeout => "Timeout",
            Self::DeadlineExceeded => "DeadlineExceeded",
        }
    }

    /// The CLI exit code for this class (README, "CLI exit codes").
    pub fn exit_code(self) -> i32 {
        match self {
            Self::ReauthRequired => 3,
            Self::SecretWriteFailed | Self::SecretReadFailed => 5,
            Self::ConfigInvalid => 2,
            Self::IntegrationScopeMissing
            | Self::ServiceAppNotAuthorized
            | Self::DataSourceNotFound
            | Self::DataSourceInvalid
            | Self::WebexRejected
            | Self::ExtensionNotEffective => 6,
            Self::RateLimited | Self::Upstream | Self::Timeout | Self::DeadlineExceeded => 4,
        }
    }

    /// What the operator should do about it.
    pub fn action(self) -> &'static str {
        match self {
            Self::ReauthRequired => "run `byods setup-oauth`",
            Self::SecretWriteFailed => {
                "fix IAM/KMS for PutSecretValue, then run `byods status` (and `byods setup-oauth` if it reports ReauthRequired)"
            }
            Self::SecretReadFailed => "check the secret name, region and IAM",
            Self::ConfigInvalid => "fix the configuration (environment or secret values)",
            Self::IntegrationScopeMissing => {
                "give the integration the spark:applications_token scope, then run `byods setup-oauth`"
            }
            Self::ServiceAppNotAuthorized => {
                "a Full Admin must authorise the service app in Control Hub"
            }
            Self::DataSourceNotFound
            | Self::DataSourceInvalid
            | Self::WebexRejected
            | Self::ExtensionNotEffective => {
                "check the data source in Control Hub; the other sources carry on"
            }
            Self::RateLimited | Self::Upstream | Self::Timeout | Self::DeadlineExceeded => {
                "transient: the next run retries"
            }
        }
    }

    /// True for the classes that are expected to clear by themselves.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::RateLimited | Self::Upstream | Self::Timeout | Self::DeadlineExceeded
        )
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Classify for FailureClass {
    fn class(&self) -> ErrorClass {
        if self.is_transient() || matches!(self, Self::SecretWriteFailed | Self::SecretReadFailed) {
            ErrorClass::Retryable
        } else {
            ErrorClass::Permanent
        }
    }
}

/// One failure inside a sweep: its class and a sanitised description (ids, statuses, tracking ids only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The class.
    pub class: FailureClass,
    /// What failed, without secrets.
    pub message: String,
    /// The data source concerned, if any.
    pub data_source_id: Option<String>,
    /// The upstream HTTP status, if any.
    pub http_status: Option<u16>,
    /// The Webex tracking id of the failing response, if any.
    pub tracking_id: Option<String>,
}

impl Failure {
    /// A failure of `class` described by `message`.
    pub fn new(class: FailureClass, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
            data_source_id: None,
            http_status: None,
            tracking_id: None,
        }
    }

    /// The same failure, attributed to a data source.
    #[must_use]
    pub fn for_data_source(mut self, id: &str) -> Self {
        self.data_source_id = Some(id.to_owned());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class, self.message)?;
        if let Some(id) = &self.data_source_id {
            write!(f, " (data source {id})")?;
        }
        if let Some(t) = &self.tracking_id {
            write!(f, " [trackingId {t}]")?;
        }
        Ok(())
    }
}

/// The error a sweep returns: the most severe class, every failure, and the summary of what was done.
#[derive(Debug, Clone, thiserror::Error)]
#[error("sweep failed with {class}: {message}")]
pub struct SweepError {
    /// The most severe class among the failures.
    pub class: FailureClass,
    /// A one-line, secret-free description naming the failing ids.
    pub message: String,
    /// Every failure recorded.
    pub failures: Vec<Failure>,
    /// What the sweep did before and despite the failures, when it got that far.
    pub summary: Option<SweepSummary>,
}

impl SweepError {
    /// Builds the error from a non-empty list of failures.
    pub fn from_failures(failures: Vec<Failure>, summary: Option<SweepSummary>) -> Self {
        let class = failures
            .iter()
            .map(|f| f.class)
            .min()
            .unwrap_or(FailureClass::Upstream);
        let message = failures
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            class,
            message,
            failures,
            summary,
        }
    }

    /// A sweep that failed with a single failure.
    pub fn single(failure: Failure) -> Self {
        Self::from_failures(vec![failure], None)
    }
}

/// Building [`crate::Deps`] failed: an HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// The Webex client could not be built.
    #[error("building the Webex client failed")]
    Webex(#[source] crate::webex::WebexError),
}

impl From<SweepError> for Diagnostic {
    fn from(e: SweepError) -> Self {
        Diagnostic {
            error_type: e.class.as_str().to_owned(),
            error_message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_severe_class_is_reported() {
        let e = SweepError::from_failures(
            vec![
                Failure::new(FailureClass::Upstream, "x"),
                Failure::new(FailureClass::DataSourceNotFound, "y").for_data_source("ds-1"),
                Failure::new(FailureClass::SecretWriteFailed, "z"),
            ],
            None,
        );
        assert_eq!(e.class, FailureClass::SecretWriteFailed);
        assert!(e.message.contains("ds-1"));
        let d: Diagnostic = e.into();
        assert_eq!(d.error_type, "SecretWriteFailed");
    }

    #[test]
    fn exit_codes_follow_the_cli_table() {
        assert_eq!(FailureClass::ReauthRequired.exit_code(), 3);
        assert_eq!(FailureClass::ConfigInvalid.exit_code(), 2);
        assert_eq!(FailureClass::Timeout.exit_code(), 4);
        assert_eq!(FailureClass::SecretReadFailed.exit_code(), 5);
        assert_eq!(FailureClass::DataSourceNotFound.exit_code(), 6);
    }
}
