//! Typed Webex errors. `Display` names the operation and status only; never a token or a body.

use std::time::Duration;

/// A failed Webex call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebexError {
    /// A 4xx other than 429/423 (never retried).
    #[error("{op} was rejected with HTTP {status}")]
    Api {
        /// The operation, e.g. `PUT /dataSources/{id}`.
        op: &'static str,
        /// HTTP status.
        status: u16,
        /// The OAuth `error` code (`invalid_grant`, `invalid_client`), when present.
        code: Option<String>,
        /// The parsed, sanitised error text.
        message: String,
        /// Webex tracking id of the response.
        tracking_id: Option<String>,
    },
    /// 429/423 still answered after the allowed attempts, or a wait beyond the cap or deadline.
    #[error("{op} was rate limited")]
    RateLimited {
        /// The operation.
        op: &'static str,
        /// The wait Webex asked for, if any.
        retry_after: Option<Duration>,
        /// Webex tracking id of the response.
        tracking_id: Option<String>,
    },
    /// 5xx still answered after the allowed attempts.
    #[error("{op} failed with HTTP {status} after retries")]
    Upstream {
        /// The operation.
        op: &'static str,
        /// HTTP status of the last attempt.
        status: u16,
        /// Webex tracking id of the last response.
        tracking_id: Option<String>,
    },
    /// Every attempt timed out.
    #[error("{op} timed out")]
    Timeout {
        /// The operation.
        op: &'static str,
    },
    /// Webex could not be reached.
    #[error("{op} could not reach Webex: {detail}")]
    Transport {
        /// The operation.
        op: &'static str,
        /// The sanitised transport error (no URL).
        detail: String,
    },
    /// A 2xx body that could not be decoded.
    #[error("{op} returned a body that could not be decoded: {detail}")]
    Decode {
        /// The operation.
        op: &'static str,
        /// What was wrong (serde's message, no values).
        detail: String,
    },
    /// The invocation deadline passed before the call could be made or retried.
    #[error("{op} was not attempted: the invocation deadline has passed")]
    Deadline {
        /// The operation.
        op: &'static str,
    },
}

impl WebexError {
    /// The HTTP status, if the error came with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Upstream { status, .. } => Some(*status),
            Self::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// The Webex tracking id of the failing response, if any.
    pub fn tracking_id(&self) -> Option<&str> {
        match self {
            Self::Api { tracking_id, .. }
            | Self::RateLimited { tracking_id, .. }
            | Self::Upstream { tracking_id, .. } => tracking_id.as_deref(),
            _ => None,
        }
    }

    /// The OAuth error code (`invalid_grant`, `invalid_client`, …), if any.
    pub fn oauth_code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// True for a 4xx with exactly this status.
    pub fn is_status(&self, want: u16) -> bool {
        matches!(self, Self::Api { status, .. } if *status == want)
    }

    /// True when retrying later may help.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Upstream { .. }
                | Self::Timeout { .. }
                | Self::Transport { .. }
                | Self::Deadline { .. }
        )
    }
}

/// Shortens an upstream text (error description, tracking id) so that it is safe and small enough to log.
pub(crate) fn sanitise(text: &str) -> String {
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}
