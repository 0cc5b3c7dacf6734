//! The one error type of the crate (crate README, "Errors").

use std::fmt;
use std::time::Duration;

use lambda_kit::{Classify, ErrorClass};

/// Where an error happened: the operation, the route template (never the filled path), how many attempts
/// were made and whether a non-idempotent call may have been applied anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorContext {
    /// Operation name, e.g. `"update team"`.
    pub operation: &'static str,
    /// HTTP method.
    pub method: &'static str,
    /// Route template, e.g. `"/teams/{teamId}"`.
    pub route: &'static str,
    /// Attempts made (0 when none was started).
    pub attempts: u32,
    /// True when a non-idempotent call failed after the request was sent: it may have been applied.
    pub outcome_unknown: bool,
}

impl fmt::Display for ErrorContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Spoke {} ({} {}) failed after {} attempt{}",
            self.operation,
            self.method,
            self.route,
            self.attempts,
            if self.attempts == 1 { "" } else { "s" }
        )?;
        if self.outcome_unknown {
            f.write_str(", outcome unknown")?;
        }
        Ok(())
    }
}

/// The first characters of an undecodable body. `Debug` prints only its length.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct BodyExcerpt(pub String);

impl fmt::Debug for BodyExcerpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BodyExcerpt({} chars)", self.0.chars().count())
    }
}

/// A Spoke call failed. `Display` names the operation and route template only; it never contains the API
/// key, a filled path (which may hold an e-mail address) or a body beyond Spoke's own message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpokeError {
    /// 401, or 403 with code 11038: the key is missing or invalid.
    #[error("{ctx}: invalid API key")]
    InvalidApiKey {
        /// Where.
        ctx: ErrorContext,
    },
    /// Any other 403: the key's user lacks a permission.
    #[error("{ctx}: forbidden ({})", message.as_deref().unwrap_or("no message"))]
    Forbidden {
        /// Spoke error code.
        code: Option<i64>,
        /// Spoke error message.
        message: Option<String>,
        /// Where.
        ctx: ErrorContext,
    },
    /// 400 or 422.
    #[error("{ctx}: bad request ({})", message.as_deref().unwrap_or("no message"))]
    BadRequest {
        /// HTTP status (400 or 422).
        status: u16,
        /// Spoke error code (11008 for malformed requests).
        code: Option<i64>,
        /// Spoke error message.
        message: Option<String>,
        /// Where.
        ctx: ErrorContext,
    },
    /// 404 on a write (lookups return `Ok(None)` instead).
    #[error("{ctx}: not found")]
    NotFound {
        /// Spoke error code (11003).
        code: Option<i64>,
        /// Spoke error message.
        message: Option<String>,
        /// Where.
        ctx: ErrorContext,
    },
    /// 402: the plan lacks the feature.
    #[error("{ctx}: payment required")]
    PaymentRequired {
        /// Spoke error code.
        code: Option<i64>,
        /// Spoke error message.
        message: Option<String>,
        /// Where.
        ctx: ErrorContext,
    },
    /// 429 after the retry budget, or a wait longer than allowed.
    #[error("{ctx}: rate limited")]
    RateLimited {
        /// How long the server asked us to wait, when known.
        retry_after: Option<Duration>,
        /// Where.
        ctx: ErrorContext,
    },
    /// 5xx after the retry budget (or at once for a non-idempotent call).
    #[error("{ctx}: server error {status}")]
    Server {
        /// HTTP status.
        status: u16,
        /// Spoke error code.
        code: Option<i64>,
        /// Spoke error message.
        message: Option<String>,
        /// Where.
        ctx: ErrorContext,
    },
    /// The per-attempt timeout or the call's deadline elapsed.
    #[error("{ctx}: timed out")]
    Timeout {
        /// Where.
        ctx: ErrorContext,
    },
    /// Connect failure, DNS failure, connection reset.
    #[error("{ctx}: transport error")]
    Transport {
        /// The cause, with its URL removed.
        #[source]
        source: reqwest::Error,
        /// Where.
        ctx: ErrorContext,
    },
    /// A 2xx body that could not be decoded. Never retried.
    #[error("{ctx}: undecodable response ({detail})")]
    Decode {
        /// What was wrong (serde's category and position; no values).
        detail: String,
        /// At most the first 512 characters of the body.
        body: BodyExcerpt,
        /// Where.
        ctx: ErrorContext,
    },
    /// Any other status.
    #[error("{ctx}: unexpected status {status}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// Where.
        ctx: ErrorContext,
    },
    /// Paging did not end within the page cap.
    #[error("{ctx}: more than {max_pages} pages")]
    TooManyPages {
        /// The cap that was hit.
        max_pages: u32,
        /// Where.
        ctx: ErrorContext,
    },
}

impl SpokeError {
    /// Where the error happened.
    pub fn context(&self) -> &ErrorContext {
        match self {
            Self::InvalidApiKey { ctx }
            | Self::Forbidden { ctx, .. }
            | Self::BadRequest { ctx, .. }
            | Self::NotFound { ctx, .. }
            | Self::PaymentRequired { ctx, .. }
            | Self::RateLimited { ctx, .. }
            | Self::Server { ctx, .. }
            | Self::Timeout { ctx }
            | Self::Transport { ctx, .. }
            | Self::Decode { ctx, .. }
            | Self::Unexpected { ctx, .. }
            | Self::TooManyPages { ctx, .. } => ctx,
        }
    }

    pub(crate) fn context_mut(&mut self) -> &mut ErrorContext {
        match self {
            Self::InvalidApiKey { ctx }
            | Self::Forbidden { ctx, .. }
            | Self::BadRequest { ctx, .. }
            | Self::NotFound { ctx, .. }
            | Self::PaymentRequired { ctx, .. }
            | Self::RateLimited { ctx, .. }
            | Self::Server { ctx, .. }
            | Self::Timeout { ctx }
            | Self::Transport { ctx, .. }
            | Self::Decode { ctx, .. }
            | Self::Unexpected { ctx, .. }
            | Self::TooManyPages { ctx, .. } => ctx,
        }
    }

    /// True for 429, 5xx, timeouts and transport failures.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Timeout { .. }
                | Self::Transport { .. }
        )
    }

    /// The HTTP status of the last response, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::InvalidApiKey { .. } | Self::Forbidden { .. } => Some(403),
            Self::BadRequest { status, .. }
            | Self::Server { status, .. }
            | Self::Unexpected { status, .. } => Some(*status),
            Self::NotFound { .. } => Some(404),
            Self::PaymentRequired { .. } => Some(402),
            Self::RateLimited { .. } => Some(429),
            Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::Decode { .. }
            | Self::TooManyPages { .. } => None,
        }
    }

    /// Spoke's error code, when the body carried one (`InvalidApiKey` reports 11038).
    pub fn spoke_code(&self) -> Option<i64> {
        match self {
            Self::InvalidApiKey { .. } => Some(11038),
            Self::Forbidden { code, .. }
            | Self::BadRequest { code, .. }
            | Self::NotFound { code, .. }
            | Self::PaymentRequired { code, .. }
            | Self::Server { code, .. } => *code,
            _ => None,
        }
    }

    /// Spoke's error message, when the body carried one.
    pub fn spoke_message(&self) -> Option<&str> {
        match self {
            Self::Forbidden { message, .. }
            | Self::BadRequest { message, .. }
            | Self::NotFound { message, .. }
            | Self::PaymentRequired { message, .. }
            | Self::Server { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// The route template, e.g. `/users/email/{address}`.
    pub fn route(&self) -> &'static str {
        self.context().route
    }

    /// The operation name.
    pub fn operation(&self) -> &'static str {
        self.context().operation
    }

    /// Attempts made.
    pub fn attempts(&self) -> u32 {
        self.context().attempts
    }

    /// True when a non-idempotent call (POST) failed after it was sent: search before creating again.
    pub fn outcome_unknown(&self) -> bool {
        self.context().outcome_unknown
    }

    /// For `RateLimited`, the wait the server asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A stable short name of the kind, for the `error_kind` log field.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidApiKey { .. } => "invalid_api_key",
            Self::Forbidden { .. } => "forbidden",
            Self::BadRequest { .. } => "bad_request",
            Self::NotFound { .. } => "not_found",
            Self::PaymentRequired { .. } => "payment_required",
            Self::RateLimited { .. } => "rate_limited",
            Self::Server { .. } => "server",
            Self::Timeout { .. } => "timeout",
            Self::Transport { .. } => "transport",
            Self::Decode { .. } => "decode",
            Self::Unexpected { .. } => "unexpected",
            Self::TooManyPages { .. } => "too_many_pages",
        }
    }
}

impl Classify for SpokeError {
    fn class(&self) -> ErrorClass {
        if self.is_transient() {
            ErrorClass::Retryable
        } else {
            ErrorClass::Permanent
        }
    }
}

/// The client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The base URL is not a URL, or not `https://` for a non-loopback host.
    #[error("invalid Spoke base URL: {0}")]
    BaseUrl(String),
    /// The user agent is not a valid header value.
    #[error("invalid user agent")]
    UserAgent,
    /// The API key contains characters a header cannot carry (the key itself is not printed).
    #[error("invalid API key characters")]
    ApiKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ErrorContext {
        ErrorContext {
            operation: "get user by e-mail",
            method: "GET",
            route: "/users/email/{address}",
            attempts: 1,
            outcome_unknown: false,
        }
    }

    #[test]
    fn display_names_the_operation_and_route_template_only() {
        let e = SpokeError::NotFound {
            code: Some(11003),
            message: Some("The requested item could not be found.".into()),
            ctx: ctx(),
        };
        assert_eq!(
            e.to_string(),
            "Spoke get user by e-mail (GET /users/email/{address}) failed after 1 attempt: not found"
        );
        assert!(!e.is_transient());
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.spoke_code(), Some(11003));
    }

    #[test]
    fn transient_errors_classify_as_retryable() {
        let mut c = ctx();
        c.attempts = 4;
        c.outcome_unknown = true;
        let e = SpokeError::Server {
            status: 503,
            code: None,
            message: None,
            ctx: c,
        };
        assert!(e.is_transient());
        assert_eq!(e.class(), ErrorClass::Retryable);
        assert!(
            e.to_string()
                .ends_with("after 4 attempts, outcome unknown: server error 503")
        );
    }

    #[test]
    fn a_body_excerpt_does_not_print_its_content() {
        let b = BodyExcerpt("alice@example.com".into());
        assert_eq!(format!("{b:?}"), "BodyExcerpt(17 chars)");
    }
}
