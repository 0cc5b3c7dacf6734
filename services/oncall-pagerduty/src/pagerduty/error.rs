//! What a PagerDuty call can end in. Never holds the key, a URL with credentials or a response body beyond
//! PagerDuty's own error message.

use std::time::Duration;

/// A PagerDuty call failed for good (after its retries).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PagerDutyError {
    /// 401 or 403 even with a freshly read key.
    #[error("PagerDuty refused the API key (HTTP {status})")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
    },
    /// Still rate-limited when the attempts or the time ran out, or asked to wait longer than allowed.
    #[error("PagerDuty rate-limited the call (wait asked: {wait:?})")]
    RateLimited {
        /// The wait PagerDuty asked for, when it named one.
        wait: Option<Duration>,
    },
    /// 5xx after the retries.
    #[error("PagerDuty answered HTTP {status}")]
    Server {
        /// The status.
        status: u16,
    },
    /// Another 4xx: the request itself is wrong.
    #[error("PagerDuty rejected the request (HTTP {status}): {message}")]
    Rejected {
        /// The status.
        status: u16,
        /// PagerDuty's `error.message` and `error.errors`, when given.
        message: String,
    },
    /// The last attempt timed out.
    #[error("the PagerDuty call timed out")]
    Timeout,
    /// The last attempt could not connect or was cut off.
    #[error("the PagerDuty call failed in transport: {0}")]
    Transport(String),
    /// The answer was not the JSON expected.
    #[error("PagerDuty's answer could not be read: {0}")]
    Decode(String),
    /// The invocation's deadline came first.
    #[error("no time was left before the deadline")]
    Deadline,
    /// The API key could not be read from the secret.
    #[error("the API key could not be read: {0}")]
    Key(String),
}
