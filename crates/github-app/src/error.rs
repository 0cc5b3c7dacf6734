//! The one error type of this crate.

use std::time::Duration;

use lambda_kit::{Classify, ErrorClass};

/// The endpoint template of the removal call (`DELETE /orgs/{org}/outside_collaborators/{username}`): the only
/// GitHub call whose plain 403 is a permanent failure (docs/operations/cls.md).
pub const REMOVE_OUTSIDE_COLLABORATOR: &str = "DELETE /orgs/{org}/outside_collaborators/{username}";
/// The endpoint template of the audit-log query; its plain 403 means the App lacks "Administration: read".
pub const AUDIT_LOG: &str = "GET /orgs/{org}/audit-log";

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
    /// 403 without rate-limit signs: a permission problem (permanent only on the removal call, see
    /// [`Classify`]).
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
    /// Only what docs/operations/cls.md calls permanent is [`ErrorClass::Permanent`]: a 403 without rate-limit signs on
    /// the removal call. Everything else is retryable, so a work item is retried and dead-lettered (with an
    /// alert) instead of being dropped: a 401 after the token refresh, a plain 403 on the membership check, a
    /// suspended (403) or removed (404) installation on the token call, an unusable key or an unknown
    /// organisation are configuration states that an operator fixes, after which a redrive succeeds.
    fn class(&self) -> ErrorClass {
        if self.is_removal_forbidden() {
            ErrorClass::Permanent
        } else {
            ErrorClass::Retryable
        }
    }
}

impl GithubError {
    /// The endpoint template of the failed call, when the error came from one.
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            Self::Unauthorized { operation }
            | Self::Forbidden { operation, .. }
            | Self::NotFound { operation }
            | Self::MembershipHidden { operation }
            | Self::RateLimited { operation, .. }
            | Self::Api { operation, .. }
            | Self::Timeout { operation }
            | Self::Transport { operation, .. }
            | Self::Decode { operation, .. }
            | Self::Pagination { operation, .. } => Some(operation),
            Self::UnknownOrg { .. } | Self::InvalidKey { .. } | Self::Config(_) => None,
        }
    }

    /// True for a 403 without rate-limit signs on [`REMOVE_OUTSIDE_COLLABORATOR`] (the App lacks
    /// "Members: write"): permanent, the ticket is tagged and IT alerted.
    pub fn is_removal_forbidden(&self) -> bool {
        matches!(self, Self::Forbidden { operation, .. } if *operation == REMOVE_OUTSIDE_COLLABORATOR)
    }

    /// True for a 403 without rate-limit signs on `operation`.
    pub fn is_forbidden_on(&self, operation: &str) -> bool {
        matches!(self, Self::Forbidden { operation: op, .. } if *op == operation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_403_on_the_removal_is_permanent() {
        let permanent = GithubError::Forbidden {
            operation: REMOVE_OUTSIDE_COLLABORATOR,
            message: None,
        };
        assert_eq!(permanent.class(), ErrorClass::Permanent);
        let retryable = [
            GithubError::Unauthorized {
                operation: "GET /orgs/{org}/members/{username}",
            },
            GithubError::Forbidden {
                operation: "GET /orgs/{org}/members/{username}",
                message: None,
            },
            GithubError::Forbidden {
                operation: "POST /app/installations/{installation_id}/access_tokens",
                message: Some("This installation has been suspended".into()),
            },
            GithubError::NotFound {
                operation: "POST /app/installations/{installation_id}/access_tokens",
            },
            GithubError::InvalidKey { app_id: 1 },
            GithubError::UnknownOrg { org: "acme".into() },
            GithubError::Api {
                operation: "GET /orgs/{org}/members/{username}",
                status: 422,
                message: None,
            },
        ];
        for e in retryable {
            assert_eq!(e.class(), ErrorClass::Retryable, "{e:?}");
        }
    }
}
