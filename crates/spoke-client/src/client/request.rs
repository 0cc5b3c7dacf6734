//! The one request helper: joins the path, sets the headers, retries per "Retries" in the crate README,
//! respects the deadline, records the rate-limit headers, maps statuses to [`SpokeError`] and decodes.

use std::sync::atomic::Ordering;
use std::time::Duration;

use lambda_kit::http::{rate_limit_jitter, retry_after};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, USER_AGENT};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::endpoints::Endpoint;
use super::pace::Budget;
use super::{RateLimitStatus, SpokeClient, lock};
use crate::api::SpokeResult;
use crate::error::{BodyExcerpt, ErrorContext, SpokeError};
use crate::models::{Envelope, Page};
use crate::query::Pairs;

const API_KEY: HeaderName = HeaderName::from_static("api-key");
const JSON: &str = "application/json";
const EXCERPT_CHARS: usize = 512;

struct Success {
    body: Vec<u8>,
    attempts: u32,
}

impl SpokeClient {
    fn record_rate_limit(&self, headers: &HeaderMap) {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok())
        };
        let status = RateLimitStatus {
            limit: num("x-ratelimit-limit").and_then(|v| u64::try_from(v).ok()),
            remaining: num("x-ratelimit-remaining").and_then(|v| u64::try_from(v).ok()),
            reset: num("x-ratelimit-reset"),
        };
        if status == RateLimitStatus::default() {
            return;
        }
        if let (Some(limit), Some(remaining)) = (status.limit, status.remaining) {
            if let Some(until_reset) = retry_after(headers, self.inner.clock.now()) {
                *lock(&self.inner.budget) =
                    Some(Budget::new(limit, remaining, until_reset, Instant::now()));
            }
            if remaining.saturating_mul(10) < limit {
                warn!(
                    upstream = "spoke",
                    limit, remaining, "Spoke rate-limit budget below 10 %"
                );
            }
        }
        *lock(&self.inner.rate) = Some(status);
    }

    /// The wait before the next call under a low budget (`pace`), never past `deadline`.
    fn pace(&self, deadline: Option<Instant>) -> Option<Duration> {
        let now = Instant::now();
        let wait = lock(&self.inner.budget)
            .as_mut()?
            .take(now, self.inner.policy.max_rate_limit_wait)?;
        Some(deadline.map_or(wait, |d| wait.min(d.saturating_duration_since(now))))
    }

    /// The one request helper: joins the path, sets the headers, classifies the status, retries per
    /// "Retries" in the crate README and respects the deadline. Returns the body of a 2xx response.
    async fn request(
        &self,
        ep: Endpoint,
        segments: &[&str],
        query: &Pairs,
        body: Option<Vec<u8>>,
    ) -> SpokeResult<Success> {
        let url = self.url(segments);
        let deadline = self.effective_deadline();
        let policy = self.inner.policy;
        let max_attempts = policy.max_attempts.max(1);
        let mut last: Option<SpokeError> = None;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if let Some(wait) = self.pace(deadline) {
                debug!(
                    upstream = "spoke",
                    route = ep.route,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "pacing Spoke call: rate-limit budget low"
                );
                tokio::time::sleep(wait).await;
            }
            let mut timeout = self.inner.attempt_timeout;
            if let Some(deadline) = deadline {
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    return Err(last.unwrap_or_else(|| SpokeError::Timeout {
                        ctx: context(ep, attempt - 1),
                    }));
                }
                timeout = timeout.min(remaining);
            }
            let mut builder = self
                .inner
                .http
                .request(ep.verb.method(), url.as_str())
                .timeout(timeout)
                .header(API_KEY, self.inner.api_key.clone())
                .header(ACCEPT, JSON)
                .header(USER_AGENT, self.inner.user_agent.clone());
            if !query.is_empty() {
                builder = builder.query(query);
            }
            if let Some(body) = &body {
                builder = builder.header(CONTENT_TYPE, JSON).body(body.clone());
            }
            let started = Instant::now();
            let outcome = match builder.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    response
                        .bytes()
                        .await
                        .map(|bytes| (status, headers, bytes.to_vec()))
                }
                Err(e) => Err(e),
            };
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let (error, wait) = match outcome {
                Ok((status, headers, bytes)) => {
                    self.record_rate_limit(&headers);
                    let (code, message) = if status.is_success() {
                        (None, None)
                    } else {
                        error_body(&bytes)
                    };
                    debug!(
                        upstream = "spoke",
                        method = ep.verb.as_str(),
                        route = ep.route,
                        http_status = status.as_u16(),
                        attempt,
                        duration_ms = elapsed_ms,
                        spoke_code = code,
                        "Spoke call"
                    );
                    if status.is_success() {
                        return Ok(Success {
                            body: bytes,
                            attempts: attempt,
                        });
                    }
                    let ctx = context(ep, attempt);
                    match status.as_u16() {
                        429 => {
                            let asked = retry_after(&headers, self.inner.clock.now());
                            let base = asked.unwrap_or_else(|| policy.backoff(attempt));
                            let error = SpokeError::RateLimited {
                                retry_after: Some(base),
                                ctx,
                            };
                            if base > policy.max_rate_limit_wait {
                                return Err(error);
                            }
                            (error, base + rate_limit_jitter())
                        }
                        500..=599 => {
                            let mut error = SpokeError::Server {
                                status: status.as_u16(),
                                code,
                                message,
                                ctx,
                            };
                            if !ep.idempotent {
                                error.context_mut().outcome_unknown = true;
                                return Err(error);
                            }
                            (error, policy.backoff(attempt))
                        }
                        _ => return Err(status_error(status, code, message, ctx)),
                    }
                }
                Err(e) => {
                    debug!(
                        upstream = "spoke",
                        method = ep.verb.as_str(),
                        route = ep.route,
                        attempt,
                        duration_ms = elapsed_ms,
                        error_kind = if e.is_timeout() {
                            "timeout"
                        } else {
                            "transport"
                        },
                        "Spoke call failed"
                    );
                    let sent = !e.is_connect();
                    let mut ctx = context(ep, attempt);
                    ctx.outcome_unknown = sent && !ep.idempotent;
                    let error = if e.is_timeout() {
                        SpokeError::Timeout { ctx }
                    } else {
                        SpokeError::Transport {
                            source: e.without_url(),
                            ctx,
                        }
                    };
                    if sent && !ep.idempotent {
                        return Err(error);
                    }
                    (error, policy.backoff(attempt))
                }
            };
            if attempt >= max_attempts {
                return Err(error);
            }
            if let Some(deadline) = deadline
                && Instant::now() + wait >= deadline
            {
                return Err(error);
            }
            warn!(
                upstream = "spoke",
                method = ep.verb.as_str(),
                route = ep.route,
                attempt,
                reason = error.kind(),
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "retrying Spoke call"
            );
            self.inner.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
            last = Some(error);
        }
    }

    pub(super) async fn call_json<T: DeserializeOwned>(
        &self,
        ep: Endpoint,
        segments: &[&str],
        query: &Pairs,
        body: Option<Vec<u8>>,
    ) -> SpokeResult<T> {
        let success = self.request(ep, segments, query, body).await?;
        decode(ep, &success)
    }

    pub(super) async fn lookup<T: DeserializeOwned>(
        &self,
        ep: Endpoint,
        segments: &[&str],
    ) -> SpokeResult<Option<T>> {
        match self.call_json(ep, segments, &Pairs::new(), None).await {
            Ok(found) => Ok(Some(found)),
            Err(SpokeError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn page<T: DeserializeOwned>(
        &self,
        ep: Endpoint,
        segments: &[&str],
        query: &Pairs,
    ) -> SpokeResult<Page<T>> {
        let envelope: Envelope = self.call_json(ep, segments, query, None).await?;
        let raw = envelope.results.unwrap_or_default();
        let received = raw.len() as u64;
        let mut results = Vec::with_capacity(raw.len());
        let mut skipped = 0_u32;
        for item in raw {
            match serde_json::from_value::<T>(item) {
                Ok(item) => results.push(item),
                Err(_) => skipped += 1,
            }
        }
        if skipped > 0 {
            warn!(
                upstream = "spoke",
                route = ep.route,
                skipped,
                "skipped list items without a usable id"
            );
        }
        Ok(Page {
            results,
            received,
            total: envelope.total,
            start: envelope.start,
            limit: envelope.limit,
        })
    }

    pub(super) async fn write<B: serde::Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        ep: Endpoint,
        segments: &[&str],
        body: &B,
    ) -> SpokeResult<T> {
        let bytes = serde_json::to_vec(body).map_err(|e| SpokeError::Decode {
            detail: format!("request body not serialisable: {:?}", e.classify()),
            body: BodyExcerpt::default(),
            ctx: context(ep, 0),
        })?;
        self.call_json(ep, segments, &Pairs::new(), Some(bytes))
            .await
    }

    pub(super) async fn write_no_content(
        &self,
        ep: Endpoint,
        segments: &[&str],
        body: Option<Vec<u8>>,
    ) -> SpokeResult<()> {
        self.request(ep, segments, &Pairs::new(), body)
            .await
            .map(|_| ())
    }
}

fn context(ep: Endpoint, attempts: u32) -> ErrorContext {
    ErrorContext {
        operation: ep.operation,
        method: ep.verb.as_str(),
        route: ep.route,
        attempts,
        outcome_unknown: false,
    }
}

fn decode<T: DeserializeOwned>(ep: Endpoint, success: &Success) -> SpokeResult<T> {
    serde_json::from_slice(&success.body).map_err(|e| SpokeError::Decode {
        detail: format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ),
        body: BodyExcerpt(
            String::from_utf8_lossy(&success.body)
                .chars()
                .take(EXCERPT_CHARS)
                .collect(),
        ),
        ctx: context(ep, success.attempts),
    })
}

/// Reads `{"code": <int>, "message": "<text>"}` leniently.
fn error_body(bytes: &[u8]) -> (Option<i64>, Option<String>) {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(bytes) else {
        return (None, None);
    };
    let code = match map.get("code") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let message = map
        .get("message")
        .and_then(Value::as_str)
        .map(|m| m.chars().take(EXCERPT_CHARS).collect());
    (code, message)
}

fn status_error(
    status: StatusCode,
    code: Option<i64>,
    message: Option<String>,
    ctx: ErrorContext,
) -> SpokeError {
    match status.as_u16() {
        401 => SpokeError::InvalidApiKey { ctx },
        403 if code == Some(11038) => SpokeError::InvalidApiKey { ctx },
        403 => SpokeError::Forbidden { code, message, ctx },
        400 | 422 => SpokeError::BadRequest {
            status: status.as_u16(),
            code,
            message,
            ctx,
        },
        402 => SpokeError::PaymentRequired { code, message, ctx },
        404 => SpokeError::NotFound { code, message, ctx },
        other => SpokeError::Unexpected { status: other, ctx },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_read_leniently() {
        assert_eq!(
            error_body(br#"{"code": "11038", "message": "API Key invalid."}"#),
            (Some(11038), Some("API Key invalid.".into()))
        );
        assert_eq!(error_body(b"<html>"), (None, None));
    }
}
