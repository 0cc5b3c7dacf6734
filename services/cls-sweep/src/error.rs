//! The sweep's one error type, classified once (`docs/architecture.md`, "One service shape"): a scheduled invocation
//! that fails is retried by Lambda; the run is idempotent (dedup ids and the consumer's recheck).

use cls_core::EnqueueError;
use lambda_kit::{Classify, ErrorClass};
use lambda_runtime::Diagnostic;
use spoke_client::SpokeError;

/// Why a sweep invocation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// The event has a field of the wrong type.
    #[error("the sweep event is invalid: {0}")]
    BadEvent(String),
    /// `today` (or `CLS_FAKE_TODAY`) in production.
    #[error("the test clock (today / CLS_FAKE_TODAY) is refused when CLS_STAGE is production")]
    TestClockRefused,
    /// Listing the tickets failed.
    #[error("listing the open tickets in Spoke failed")]
    Spoke(#[source] SpokeError),
    /// The open tickets fill more pages than the sweep may read: nothing was planned or sent.
    #[error(
        "the open tickets fill more than {max_pages} pages of 100 (CLS_SWEEP_MAX_PAGES); nothing was reviewed: raise CLS_SWEEP_MAX_PAGES"
    )]
    TooManyPages {
        /// The cap.
        max_pages: u32,
    },
    /// Some review messages could not be sent; the run is retried (sending again is deduplicated).
    #[error("{failed} review message(s) could not be enqueued")]
    Enqueue {
        /// How many.
        failed: usize,
        /// The first failure.
        #[source]
        first: EnqueueError,
    },
    /// The self-invocation for the rest of the run failed.
    #[error("the continuation could not be started: {0}")]
    Continuation(String),
}

impl Classify for SweepError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::BadEvent(_) | Self::TestClockRefused | Self::TooManyPages { .. } => {
                ErrorClass::Permanent
            }
            Self::Spoke(SpokeError::InvalidApiKey { .. }) => ErrorClass::Retryable,
            Self::Spoke(e) => e.class(),
            Self::Enqueue { .. } | Self::Continuation(_) => ErrorClass::Retryable,
        }
    }
}

impl SweepError {
    /// A short stable name for logs and the alert.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BadEvent(_) => "BadEvent",
            Self::TestClockRefused => "TestClockRefused",
            Self::Spoke(_) => "SpokeUnavailable",
            Self::TooManyPages { .. } => "SweepTooManyTickets",
            Self::Enqueue { .. } => "EnqueueFailed",
            Self::Continuation(_) => "ContinuationFailed",
        }
    }

    /// The error with its sources, for the one log line and the alert.
    pub fn chain(&self) -> String {
        lambda_kit::error::chain(self)
    }
}

impl From<SweepError> for Diagnostic {
    fn from(e: SweepError) -> Self {
        Diagnostic {
            error_type: e.class().as_str().to_owned(),
            error_message: e.chain(),
        }
    }
}
