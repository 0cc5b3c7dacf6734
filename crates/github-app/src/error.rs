//! The one error type of this crate.

use std::time::Duration;

use lambda_kit::{Classify, ErrorClass};

/// A failed GitHub call. `operation` names the endpoint template (`GET /orgs/{org}/members/{username}`);
/// no variant carries a token, key, JWT, URL with credentials or response body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GithubError {
    /// 401 even after a fresh installation token (or on the token call itself: bad App JWT).
    #[error("{operation}: GitHub answered 401 Unauthorized")]
    Unauthorized {
        /// The endpoint template.
        operation: &'static str,
    },
    /// 403 without rate-limit signs: a permission problem (permanent).
    #[error("{operation}: GitHub answered 403 Forbidden")]
    Forbidden {
        /// The endpoint template.
        operation: &'static str,
        /// GitHub's `message`, if any.
        message: Option<String>,
    },
    /// 404 where "not found" is not a normal answer.
    #[error("{operation}: GitHub answered 404 Not Found")]
    NotFound {
        /// The endpoint template.
        operation: &'static str,
    },
    /// 302 on the membership check: the App cannot see the org's membership (retryable, alert).
    #[error("{operation}: GitHub answered 302: the App cannot see the organisation's membership")]
    MembershipHidden {
        /// The endpoint template.
        operation: &'static str,
    },
    /// 403/429 with `x-ratelimit-remaining: 0` or `retry-after`, still limited after the bounded wait.
    #[error("{operation}: rate limited by GitHub")]
    RateLimited {
        /// The endpoint template.
        operation: &'static str,
        /// How long GitHub asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// Any other unexpected status (5xx after retries, 422 where not expected, …).
    #[error("{operation}: GitHub answered HTTP {status}")]
    Api {
        /// The endpoint template.
        operation: &'static str,
        /// HTTP status.
        status: u16,
        /// GitHub's `message`, if any.
        message: Option<String>,
    },
    /// The request timed out (after retries for idempotent calls).
    #[error("{operation}: request to GitHub timed out")]
    Timeout {
        /// The endpoint template.
        operation: &'static str,
    },
    /// Connection-level failure (after retries for idempotent calls).
    #[error("{operation}: could not reach GitHub")]
    Transport {
        /// The endpoint template.
        operation: &'static str,
        /// The cause, with its URL removed.
        #[source]
        source: reqwest::Error,
    },
    /// The response body did not have the expected shape.
    #[error("{operation}: unexpected response body from GitHub")]
    Decode {
        /// The endpoint template.
        operation: &'static str,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A pagination `Link` pointed outside the configured base URL, or paging did not end.
    #[error("{operation}: refused to follow pagination link ({reason})")]
    Pagination {
        /// The endpoint template.
        operation: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// No installation is configured for this organisation.
    #[error("no GitHub App installation configured for organisation {org}")]
    UnknownOrg {
        /// The organisation login.
        org: String,
    },
    /// The App private key could not be used (not an RSA PEM) or the JWT could not be signed.
    #[error("the GitHub App private key for app {app_id} is unusable")]
    InvalidKey {
        /// The App id.
        app_id: u64,
    },
    /// Client configuration was rejected (bad base URL).
    #[error("invalid GitHub client configuration: {0}")]
    Config(String),
}

impl GithubError {
    /// True when retrying later may succeed: timeouts, transport errors, rate limits, 5xx, 429 and the
    /// 302 membership answer.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::RateLimited { .. }
            | Self::MembershipHidden { .. } => true,
            Self::Api { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// The HTTP status GitHub answered, when the error came from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { .. } => Some(401),
            Self::Forbidden { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::MembershipHidden { .. } => Some(302),
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl Classify for GithubError {
    fn class(&self) -> ErrorClass {
        if self.is_transient() {
            ErrorClass::Retryable
        } else {
            ErrorClass::Permanent
        }
    }
}
