//! The retry loop every Slack call goes through: which failures may be repeated for which kind of call,
//! how long to wait (the policy's backoff, or Slack's `Retry-After` within the policy's bound), and one log
//! event per attempt.

use std::sync::Arc;
use std::time::Duration;

use lambda_kit::Clock;
use lambda_kit::http::{RetryPolicy, rate_limit_jitter, retry_after};
use reqwest::StatusCode;

use crate::error::SlackError;

/// How a call may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// Safe to repeat: retry 429, 5xx, timeouts and transport failures.
    Idempotent,
    /// Repeating may duplicate: retry only 429 and failed connects.
    RateLimitOrConnect,
    /// Webhooks: 429, 5xx and failed connects (a duplicated alert is acceptable), not timeouts.
    Webhook,
}

/// One failed attempt, with what is needed to decide on a retry.
pub(super) struct Failure {
    pub(super) error: SlackError,
    pub(super) connect: bool,
    pub(super) status: Option<u16>,
}

impl Failure {
    /// A failed attempt that Slack answered with `status`.
    pub(super) fn answered(status: StatusCode, error: SlackError) -> Self {
        Self {
            error,
            connect: false,
            status: Some(status.as_u16()),
        }
    }
}

impl From<SlackError> for Failure {
    fn from(error: SlackError) -> Self {
        Self {
            error,
            connect: false,
            status: None,
        }
    }
}

pub(super) fn transport_failure(e: reqwest::Error) -> Failure {
    let connect = e.is_connect();
    let error = if e.is_timeout() {
        SlackError::Timeout
    } else {
        SlackError::Transport(e.without_url())
    };
    Failure {
        error,
        connect,
        status: None,
    }
}

/// Shared retry loop state for one logical call.
#[derive(Clone)]
pub(super) struct Retrier {
    pub(super) policy: RetryPolicy,
    pub(super) clock: Arc<dyn Clock>,
}

impl Retrier {
    /// The wait before the next attempt, or `None` to give up with the error.
    fn delay(&self, failure: &Failure, mode: Retry, attempt: u32) -> Option<Duration> {
        if !self.policy.may_retry(attempt) {
            return None;
        }
        match &failure.error {
            SlackError::RateLimited { retry_after } => {
                let wait = retry_after.unwrap_or_else(|| self.policy.backoff(attempt));
                (wait <= self.policy.max_rate_limit_wait).then(|| wait + rate_limit_jitter())
            }
            SlackError::Server { .. } if mode != Retry::RateLimitOrConnect => {
                Some(self.policy.backoff(attempt))
            }
            SlackError::Timeout if mode == Retry::Idempotent => Some(self.policy.backoff(attempt)),
            SlackError::Transport(_) if mode == Retry::Idempotent || failure.connect => {
                Some(self.policy.backoff(attempt))
            }
            _ => None,
        }
    }

    pub(super) async fn run<T, F, Fut>(
        &self,
        operation: &'static str,
        target: Option<&str>,
        mode: Retry,
        mut attempt_fn: F,
    ) -> Result<T, SlackError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let started = std::time::Instant::now();
            match attempt_fn().await {
                Ok(value) => {
                    tracing::debug!(
                        upstream = "slack",
                        operation,
                        webhook = target,
                        attempt,
                        duration_ms =
                            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        outcome = "ok",
                        "Slack call succeeded"
                    );
                    return Ok(value);
                }
                Err(failure) => {
                    let delay = self.delay(&failure, mode, attempt);
                    tracing::warn!(
                        upstream = "slack",
                        operation,
                        webhook = target,
                        attempt,
                        http_status = failure.status,
                        error_kind = failure.error.kind(),
                        retry_in_ms =
                            delay.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                        "Slack call failed"
                    );
                    match delay {
                        Some(wait) => tokio::time::sleep(wait).await,
                        None => return Err(failure.error),
                    }
                }
            }
        }
    }

    /// A 429 answer as a failure carrying Slack's `Retry-After`; any other answer passes.
    pub(super) fn check_rate_limit(&self, response: &reqwest::Response) -> Result<(), Failure> {
        let status = response.status();
        if status != StatusCode::TOO_MANY_REQUESTS {
            return Ok(());
        }
        let error = SlackError::RateLimited {
            retry_after: retry_after(response.headers(), self.clock.now()),
        };
        Err(Failure::answered(status, error))
    }
}
