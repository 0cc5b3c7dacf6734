//! `GET /oncalls` over the shared HTTP client: token auth with a key re-read once after a refusal, bounded
//! retries with backoff and jitter, PagerDuty's rate-limit headers, the invocation's deadline, and paging.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use lambda_kit::http::{RetryPolicy, rate_limit_jitter};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use secrets::SecretField;
use tokio::time::Instant;
use url::Url;

use super::error::PagerDutyError;
use super::models::{OnCall, OncallPage};

/// PagerDuty's REST API v2 media type.
pub const ACCEPT_V2: &str = "application/vnd.pagerduty+json;version=2";
/// Entries asked for per page (PagerDuty's maximum).
pub const PAGE_LIMIT: usize = 100;
/// Pages followed at most for one query.
pub const MAX_PAGES: usize = 100;

/// What one invocation's calls share: the deadline, the key as last read, and counters for the summary.
#[derive(Debug)]
pub struct CallCtx {
    deadline: Option<Instant>,
    key: Mutex<Option<SecretString>>,
    calls: AtomicU32,
    retries: AtomicU32,
    failures: AtomicU32,
}

impl CallCtx {
    /// A context whose calls end by `deadline` (`None`: only the HTTP client's timeouts).
    pub fn new(deadline: Option<Instant>) -> Self {
        Self {
            deadline,
            key: Mutex::new(None),
            calls: AtomicU32::new(0),
            retries: AtomicU32::new(0),
            failures: AtomicU32::new(0),
        }
    }

    /// HTTP requests sent so far.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Requests that were retries.
    pub fn retries(&self) -> u32 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Calls that failed for good, after their retries (`PagerDutyErrors`).
    pub fn failures(&self) -> u32 {
        self.failures.load(Ordering::Relaxed)
    }

    fn passes_deadline(&self, wait: Duration) -> bool {
        self.deadline
            .is_some_and(|d| Instant::now().checked_add(wait).is_none_or(|at| at > d))
    }

    fn cached_key(&self) -> Option<SecretString> {
        self.key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn remember_key(&self, key: SecretString) {
        *self
            .key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(key);
    }
}

/// One `GET /oncalls` query: the ids to filter by (policies or schedules, not both) and the instant range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OncallQuery {
    /// `escalation_policy_ids[]`.
    pub policy_ids: Vec<String>,
    /// `schedule_ids[]`.
    pub schedule_ids: Vec<String>,
    /// `since`.
    pub since: DateTime<Utc>,
    /// `until`.
    pub until: DateTime<Utc>,
}

impl OncallQuery {
    fn pairs(&self, offset: usize) -> Vec<(&'static str, String)> {
        let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut pairs: Vec<(&'static str, String)> = self
            .policy_ids
            .iter()
            .map(|id| ("escalation_policy_ids[]", id.clone()))
            .chain(
                self.schedule_ids
                    .iter()
                    .map(|id| ("schedule_ids[]", id.clone())),
            )
            .collect();
        pairs.extend([
            ("since", time(&self.since)),
            ("until", time(&self.until)),
            ("earliest", "true".to_owned()),
            ("include[]", "users".to_owned()),
            ("limit", PAGE_LIMIT.to_string()),
            ("offset", offset.to_string()),
        ]);
        pairs
    }
}

/// The PagerDuty client. Cheap to clone; built once per execution environment.
#[derive(Clone)]
pub struct PagerDutyClient {
    http: reqwest::Client,
    oncalls_url: Url,
    key: SecretField,
    policy: RetryPolicy,
}

impl std::fmt::Debug for PagerDutyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagerDutyClient")
            .field("oncalls_url", &self.oncalls_url.as_str())
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// What one attempt ended in.
enum Attempt {
    Done(OncallPage),
    Refused(u16),
    Retry {
        wait: Option<Duration>,
        error: PagerDutyError,
    },
    Fail(PagerDutyError),
}

impl PagerDutyClient {
    /// A client for the API at `base` (its `/oncalls` joined to it) reading the key from `key`. `None` when
    /// `base` cannot take a path.
    pub fn new(http: reqwest::Client, base: &Url, key: SecretField) -> Option<Self> {
        let mut oncalls_url = base.clone();
        oncalls_url
            .path_segments_mut()
            .ok()?
            .pop_if_empty()
            .push("oncalls");
        Some(Self {
            http,
            oncalls_url,
            key,
            policy: RetryPolicy {
                max_attempts: 5,
                base: Duration::from_millis(500),
                cap: Duration::from_secs(8),
                max_rate_limit_wait: Duration::from_secs(30),
            },
        })
    }

    /// Every entry of `query`, following `offset` while PagerDuty says `more` (at most [`MAX_PAGES`] pages).
    pub async fn oncalls(
        &self,
        query: &OncallQuery,
        ctx: &CallCtx,
    ) -> Result<Vec<OnCall>, PagerDutyError> {
        let mut entries = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = match self.page(query, entries.len(), ctx).await {
                Ok(page) => page,
                Err(e) => {
                    ctx.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
            };
            let more = page.more && !page.oncalls.is_empty();
            entries.extend(page.oncalls);
            if !more {
                return Ok(entries);
            }
        }
        tracing::warn!(
            upstream = "pagerduty",
            pages = MAX_PAGES,
            "the on-call listing was cut at the page limit"
        );
        Ok(entries)
    }

    /// One page, with the key re-read once past its cache when PagerDuty refuses it.
    async fn page(
        &self,
        query: &OncallQuery,
        offset: usize,
        ctx: &CallCtx,
    ) -> Result<OncallPage, PagerDutyError> {
        match self.with_retries(query, offset, ctx, false).await {
            Err(PagerDutyError::Unauthorized { status }) => {
                tracing::warn!(
                    upstream = "pagerduty",
                    http_status = status,
                    "PagerDuty refused the API key; re-reading the secret once"
                );
                self.with_retries(query, offset, ctx, true).await
            }
            other => other,
        }
    }

    async fn key(&self, ctx: &CallCtx, fresh: bool) -> Result<SecretString, PagerDutyError> {
        if !fresh && let Some(key) = ctx.cached_key() {
            return Ok(key);
        }
        let key = self
            .key
            .read(fresh)
            .await
            .map_err(|e| PagerDutyError::Key(lambda_kit::error::chain(&e)))?;
        ctx.remember_key(key.clone());
        Ok(key)
    }

    async fn with_retries(
        &self,
        query: &OncallQuery,
        offset: usize,
        ctx: &CallCtx,
        fresh_key: bool,
    ) -> Result<OncallPage, PagerDutyError> {
        let key = self.key(ctx, fresh_key).await?;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            if ctx.passes_deadline(Duration::ZERO) {
                return Err(PagerDutyError::Deadline);
            }
            ctx.calls.fetch_add(1, Ordering::Relaxed);
            if attempt > 1 {
                ctx.retries.fetch_add(1, Ordering::Relaxed);
            }
            let (wait, error) = match self.attempt(query, offset, &key, ctx).await {
                Attempt::Done(page) => return Ok(page),
                Attempt::Refused(status) => return Err(PagerDutyError::Unauthorized { status }),
                Attempt::Fail(error) => return Err(error),
                Attempt::Retry { wait, error } => (wait, error),
            };
            let wait = match wait {
                Some(asked) if asked > self.policy.max_rate_limit_wait => return Err(error),
                Some(asked) => asked + rate_limit_jitter(),
                None => self.policy.backoff(attempt),
            };
            if !self.policy.may_retry(attempt) || ctx.passes_deadline(wait) {
                return Err(error);
            }
            tracing::warn!(upstream = "pagerduty", attempt, error = %error, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "PagerDuty call failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(
        &self,
        query: &OncallQuery,
        offset: usize,
        key: &SecretString,
        ctx: &CallCtx,
    ) -> Attempt {
        let mut auth = match HeaderValue::from_str(&format!("Token token={}", key.expose_secret()))
        {
            Ok(v) => v,
            Err(_) => {
                return Attempt::Fail(PagerDutyError::Key(
                    "the API key is not a valid header value".to_owned(),
                ));
            }
        };
        auth.set_sensitive(true);
        let send = self
            .http
            .get(self.oncalls_url.clone())
            .query(&query.pairs(offset))
            .header(AUTHORIZATION, auth)
            .header(ACCEPT, ACCEPT_V2)
            .send();
        let sent = match ctx.deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, send).await {
                Ok(sent) => sent,
                Err(_) => return Attempt::Fail(PagerDutyError::Deadline),
            },
            None => send.await,
        };
        let response = match sent {
            Ok(response) => response,
            Err(e) if e.is_timeout() => {
                return Attempt::Retry {
                    wait: None,
                    error: PagerDutyError::Timeout,
                };
            }
            Err(e) => {
                return Attempt::Retry {
                    wait: None,
                    error: PagerDutyError::Transport(e.without_url().to_string()),
                };
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => {
                return Attempt::Retry {
                    wait: None,
                    error: PagerDutyError::Transport(e.without_url().to_string()),
                };
            }
        };
        classify(status, &headers, &body)
    }
}

/// What an answer means for the call.
fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Attempt {
    match status.as_u16() {
        200..=299 => match serde_json::from_slice::<OncallPage>(body) {
            Ok(page) => Attempt::Done(page),
            Err(e) => Attempt::Fail(PagerDutyError::Decode(e.to_string())),
        },
        401 | 403 => Attempt::Refused(status.as_u16()),
        429 => {
            let wait = rate_limit_wait(headers);
            Attempt::Retry {
                wait,
                error: PagerDutyError::RateLimited { wait },
            }
        }
        500..=599 => Attempt::Retry {
            wait: None,
            error: PagerDutyError::Server {
                status: status.as_u16(),
            },
        },
        other => Attempt::Fail(PagerDutyError::Rejected {
            status: other,
            message: error_message(body),
        }),
    }
}

/// How long a 429 asks to wait: PagerDuty's `ratelimit-reset` (seconds until the budget resets), else
/// `Retry-After` (seconds).
pub fn rate_limit_wait(headers: &HeaderMap) -> Option<Duration> {
    ["ratelimit-reset", "retry-after"].iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|secs| secs.is_finite())
            .map(|secs| Duration::from_secs_f64(secs.max(0.0)))
    })
}

/// PagerDuty's `error.message` and `error.errors` of an error body, at most 300 characters.
fn error_message(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let error = &value["error"];
    let mut text = error["message"].as_str().unwrap_or("no message").to_owned();
    if let Some(errors) = error["errors"].as_array() {
        let details: Vec<&str> = errors.iter().filter_map(|e| e.as_str()).collect();
        if !details.is_empty() {
            text = format!("{text}: {}", details.join("; "));
        }
    }
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_429_waits_for_pagerdutys_reset_before_retry_after() {
        let both = headers(&[("ratelimit-reset", "7"), ("retry-after", "2")]);
        assert_eq!(rate_limit_wait(&both), Some(Duration::from_secs(7)));
        let retry_after = headers(&[("retry-after", "2")]);
        assert_eq!(rate_limit_wait(&retry_after), Some(Duration::from_secs(2)));
        assert_eq!(rate_limit_wait(&HeaderMap::new()), None);
    }

    #[test]
    fn the_query_sends_pagerdutys_array_parameters() {
        let at = DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let q = OncallQuery {
            policy_ids: vec!["P1".into(), "P2".into()],
            schedule_ids: Vec::new(),
            since: at,
            until: at,
        };
        let pairs = q.pairs(200);
        assert_eq!(pairs[0], ("escalation_policy_ids[]", "P1".to_owned()));
        assert_eq!(pairs[1], ("escalation_policy_ids[]", "P2".to_owned()));
        assert!(pairs.contains(&("since", "2026-03-02T10:00:00Z".to_owned())));
        assert!(pairs.contains(&("earliest", "true".to_owned())));
        assert!(pairs.contains(&("include[]", "users".to_owned())));
        assert!(pairs.contains(&("offset", "200".to_owned())));
    }

    #[test]
    fn statuses_map_to_retry_refusal_or_failure() {
        let none = HeaderMap::new();
        assert!(matches!(
            classify(StatusCode::UNAUTHORIZED, &none, b""),
            Attempt::Refused(401)
        ));
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, &none, b""),
            Attempt::Retry { wait: None, .. }
        ));
        let bad =
            br#"{"error": {"message": "Invalid Input Provided", "errors": ["until is bad"]}}"#;
        match classify(StatusCode::BAD_REQUEST, &none, bad) {
            Attempt::Fail(PagerDutyError::Rejected { status, message }) => {
                assert_eq!(status, 400);
                assert_eq!(message, "Invalid Input Provided: until is bad");
            }
            _ => panic!("a 400 is not retried"),
        }
        assert!(matches!(
            classify(StatusCode::OK, &none, b"<html>"),
            Attempt::Fail(PagerDutyError::Decode(_))
        ));
    }
}
