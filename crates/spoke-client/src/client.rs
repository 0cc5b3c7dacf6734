//! `SpokeClient`: the HTTP implementation of [`SpokeApi`].

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use lambda_kit::Clock;
use lambda_kit::http::{RetryPolicy, rate_limit_jitter, retry_after};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::api::{SpokeApi, SpokeResult};
use crate::deadline;
use crate::error::{BodyExcerpt, BuildError, ErrorContext, SpokeError};
use crate::models::{
    Envelope, NewMessage, NewRequest, Page, Request, RequestId, RequestPatch, RequestType,
    RequestTypeId, Tag, TagId, Team, TeamId, TeamPatch, Update, User, UserId, WhoAmI,
};
use crate::paging::DEFAULT_MAX_PAGES;
use crate::query::{Pairs, RequestQuery, RequestTypeQuery, TagQuery, TeamQuery, UserQuery};

/// The production base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.askspoke.com/api/v1";
/// The default per-attempt timeout (whole response).
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default user agent, `spoke-client/<version>`; services pass their own.
pub const DEFAULT_USER_AGENT: &str = concat!("spoke-client/", env!("CARGO_PKG_VERSION"));

const API_KEY: HeaderName = HeaderName::from_static("api-key");
const JSON: &str = "application/json";
const EXCERPT_CHARS: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Get,
    Post,
    Patch,
    Delete,
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    fn method(self) -> reqwest::Method {
        match self {
            Self::Get => reqwest::Method::GET,
            Self::Post => reqwest::Method::POST,
            Self::Patch => reqwest::Method::PATCH,
            Self::Delete => reqwest::Method::DELETE,
        }
    }
}

/// One endpoint of §4: what it is called in logs and errors, and how it may be retried (§8.2).
#[derive(Debug, Clone, Copy)]
struct Endpoint {
    operation: &'static str,
    verb: Verb,
    route: &'static str,
    idempotent: bool,
}

const fn get(operation: &'static str, route: &'static str) -> Endpoint {
    Endpoint {
        operation,
        verb: Verb::Get,
        route,
        idempotent: true,
    }
}

const E1: Endpoint = get("whoami", "/whoami");
const E2: Endpoint = get("get user by e-mail", "/users/email/{address}");
const E3: Endpoint = get("list users", "/users");
const E4: Endpoint = get("get user", "/users/{userId}");
const E5: Endpoint = get("list teams", "/teams");
const E6: Endpoint = get("get team", "/teams/{teamId}");
const E7: Endpoint = Endpoint {
    operation: "update team",
    verb: Verb::Patch,
    route: "/teams/{teamId}",
    idempotent: true,
};
const E8: Endpoint = get("list requests", "/requests");
const E9: Endpoint = Endpoint {
    operation: "create request",
    verb: Verb::Post,
    route: "/requests",
    idempotent: false,
};
const E10: Endpoint = get("get request", "/requests/{requestId}");
const E11: Endpoint = Endpoint {
    operation: "update request",
    verb: Verb::Patch,
    route: "/requests/{requestId}",
    idempotent: true,
};
const E12: Endpoint = Endpoint {
    operation: "post message",
    verb: Verb::Post,
    route: "/requests/{requestId}/messages",
    idempotent: false,
};
const E13: Endpoint = Endpoint {
    operation: "add tags",
    verb: Verb::Patch,
    route: "/requests/{requestId}/tags",
    idempotent: true,
};
const E14: Endpoint = Endpoint {
    operation: "remove tag",
    verb: Verb::Delete,
    route: "/requests/{requestId}/tags/{tagId}",
    idempotent: true,
};
const E15: Endpoint = get("list request types", "/request_types");
const E16: Endpoint = get("get request type", "/request_types/{requestTypeId}");
const E17: Endpoint = get("list tags", "/tags");

/// Every route template the client calls, as `(METHOD, template)`; the contract test checks them against
/// the vendored OpenAPI description.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", E1.route),
    ("GET", E2.route),
    ("GET", E3.route),
    ("GET", E4.route),
    ("GET", E5.route),
    ("GET", E6.route),
    ("PATCH", E7.route),
    ("GET", E8.route),
    ("POST", E9.route),
    ("GET", E10.route),
    ("PATCH", E11.route),
    ("POST", E12.route),
    ("PATCH", E13.route),
    ("DELETE", E14.route),
    ("GET", E15.route),
    ("GET", E16.route),
    ("GET", E17.route),
];

/// The latest `x-ratelimit-*` values seen (spec §8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimitStatus {
    /// `x-ratelimit-limit`.
    pub limit: Option<u64>,
    /// `x-ratelimit-remaining`.
    pub remaining: Option<u64>,
    /// `x-ratelimit-reset` (Unix epoch seconds).
    pub reset: Option<i64>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    api_key: HeaderValue,
    user_agent: HeaderValue,
    policy: RetryPolicy,
    attempt_timeout: Duration,
    clock: Arc<dyn Clock>,
    max_pages: u32,
    rate: Mutex<Option<RateLimitStatus>>,
    retries: AtomicU32,
}

/// The Spoke REST client. Build once per process; clones share the connection pool and settings.
#[derive(Clone)]
pub struct SpokeClient {
    inner: Arc<Inner>,
    deadline: Option<Instant>,
}

impl fmt::Debug for SpokeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpokeClient")
            .field("base_url", &self.inner.base)
            .field("api_key", &"[REDACTED]")
            .field("policy", &self.inner.policy)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`SpokeClient`]; start with [`SpokeClient::builder`].
pub struct SpokeClientBuilder {
    http: reqwest::Client,
    api_key: SecretString,
    base_url: String,
    user_agent: String,
    policy: RetryPolicy,
    attempt_timeout: Duration,
    clock: Arc<dyn Clock>,
    max_pages: u32,
}

impl fmt::Debug for SpokeClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpokeClientBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl SpokeClientBuilder {
    /// The API base, e.g. `https://api.askspoke.com/api/v1` or `http://127.0.0.1:8801/api/v1`, with or
    /// without a trailing slash. Must be `https://` unless the host is loopback.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// `User-Agent`, `<service>/<version>`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Attempts and backoff (default: 4 attempts, 250 ms base, 4 s cap, 15 s max rate-limit wait).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Per-attempt timeout for the whole response (default 5 s). The connect timeout is the injected
    /// `reqwest::Client`'s.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// The clock used to measure `x-ratelimit-reset` when a response has no `Date` header.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The page cap of the all-pages forms (default 50).
    pub fn max_pages(mut self, max_pages: u32) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    /// Validates the settings.
    pub fn build(self) -> Result<SpokeClient, BuildError> {
        let url =
            lambda_kit::config::check_base_url(&self.base_url).map_err(BuildError::BaseUrl)?;
        let base = url.as_str().trim_end_matches('/').to_owned();
        let mut api_key =
            HeaderValue::from_str(self.api_key.expose_secret()).map_err(|_| BuildError::ApiKey)?;
        api_key.set_sensitive(true);
        let user_agent =
            HeaderValue::from_str(&self.user_agent).map_err(|_| BuildError::UserAgent)?;
        Ok(SpokeClient {
            inner: Arc::new(Inner {
                http: self.http,
                base,
                api_key,
                user_agent,
                policy: self.policy,
                attempt_timeout: self.attempt_timeout,
                clock: self.clock,
                max_pages: self.max_pages,
                rate: Mutex::new(None),
                retries: AtomicU32::new(0),
            }),
            deadline: None,
        })
    }
}

struct Success {
    body: Vec<u8>,
    attempts: u32,
}

impl SpokeClient {
    /// Starts a builder over an injected HTTP client (share one pool with the other clients; build it
    /// with `lambda_kit::http::http_client`, which sets the connect timeout).
    pub fn builder(http: reqwest::Client, api_key: SecretString) -> SpokeClientBuilder {
        SpokeClientBuilder {
            http,
            api_key,
            base_url: DEFAULT_BASE_URL.to_owned(),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            policy: RetryPolicy::default(),
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            clock: Arc::new(lambda_kit::SystemClock),
            max_pages: DEFAULT_MAX_PAGES,
        }
    }

    /// A clone whose calls never start an attempt or a wait that would end after `deadline` (spec §3).
    /// [`crate::with_deadline`] does the same for calls made through an `Arc<dyn SpokeApi>`.
    pub fn with_deadline(&self, deadline: Instant) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            deadline: Some(deadline),
        }
    }

    /// The base URL without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// Retries made so far (429 waits and transient failures), by this client and every clone sharing its
    /// settings: a service that reports its retry count per invocation builds one client per invocation.
    pub fn retries(&self) -> u32 {
        self.inner.retries.load(Ordering::Relaxed)
    }

    /// The latest rate-limit headers seen, if any.
    pub fn rate_limit(&self) -> Option<RateLimitStatus> {
        *self
            .inner
            .rate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn effective_deadline(&self) -> Option<Instant> {
        match (self.deadline, deadline::current()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn url(&self, segments: &[&str]) -> String {
        let mut url = self.inner.base.clone();
        for segment in segments {
            url.push('/');
            url.push_str(&urlencoding::encode(segment));
        }
        url
    }

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
        if let (Some(limit), Some(remaining)) = (status.limit, status.remaining)
            && remaining.saturating_mul(10) < limit
        {
            warn!(
                upstream = "spoke",
                limit, remaining, "Spoke rate-limit budget below 10 %"
            );
        }
        *self
            .inner
            .rate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(status);
    }

    /// The one request helper: joins the path, sets the headers, classifies the status, retries per
    /// §8.2 and respects the deadline. Returns the body of a 2xx response.
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

    async fn call_json<T: DeserializeOwned>(
        &self,
        ep: Endpoint,
        segments: &[&str],
        query: &Pairs,
        body: Option<Vec<u8>>,
    ) -> SpokeResult<T> {
        let success = self.request(ep, segments, query, body).await?;
        decode(ep, &success)
    }

    async fn lookup<T: DeserializeOwned>(
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

    async fn page<T: DeserializeOwned>(
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

    async fn write<B: serde::Serialize + ?Sized, T: DeserializeOwned>(
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

    async fn write_no_content(
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

impl SpokeApi for SpokeClient {
    fn whoami(&self) -> BoxFuture<'_, SpokeResult<WhoAmI>> {
        Box::pin(async move { self.call_json(E1, &["whoami"], &Pairs::new(), None).await })
    }

    fn user_by_email<'a>(&'a self, address: &'a str) -> BoxFuture<'a, SpokeResult<Option<User>>> {
        Box::pin(async move { self.lookup(E2, &["users", "email", address.trim()]).await })
    }

    fn list_users<'a>(&'a self, query: &'a UserQuery) -> BoxFuture<'a, SpokeResult<Page<User>>> {
        Box::pin(async move { self.page(E3, &["users"], &query.pairs()).await })
    }

    fn get_user<'a>(&'a self, id: &'a UserId) -> BoxFuture<'a, SpokeResult<Option<User>>> {
        Box::pin(async move { self.lookup(E4, &["users", id.as_str()]).await })
    }

    fn list_teams<'a>(&'a self, query: &'a TeamQuery) -> BoxFuture<'a, SpokeResult<Page<Team>>> {
        Box::pin(async move { self.page(E5, &["teams"], &query.pairs()).await })
    }

    fn get_team<'a>(&'a self, id: &'a TeamId) -> BoxFuture<'a, SpokeResult<Option<Team>>> {
        Box::pin(async move { self.lookup(E6, &["teams", id.as_str()]).await })
    }

    fn update_team<'a>(
        &'a self,
        id: &'a TeamId,
        patch: &'a TeamPatch,
    ) -> BoxFuture<'a, SpokeResult<Team>> {
        Box::pin(async move { self.write(E7, &["teams", id.as_str()], patch).await })
    }

    fn list_requests<'a>(
        &'a self,
        query: &'a RequestQuery,
    ) -> BoxFuture<'a, SpokeResult<Page<Request>>> {
        Box::pin(async move { self.page(E8, &["requests"], &query.pairs()).await })
    }

    fn create_request<'a>(
        &'a self,
        request: &'a NewRequest,
    ) -> BoxFuture<'a, SpokeResult<Request>> {
        Box::pin(async move { self.write(E9, &["requests"], request).await })
    }

    fn get_request<'a>(&'a self, id: &'a RequestId) -> BoxFuture<'a, SpokeResult<Option<Request>>> {
        Box::pin(async move { self.lookup(E10, &["requests", id.as_str()]).await })
    }

    fn update_request<'a>(
        &'a self,
        id: &'a RequestId,
        patch: &'a RequestPatch,
    ) -> BoxFuture<'a, SpokeResult<Request>> {
        Box::pin(async move { self.write(E11, &["requests", id.as_str()], patch).await })
    }

    fn post_message<'a>(
        &'a self,
        id: &'a RequestId,
        message: &'a NewMessage,
    ) -> BoxFuture<'a, SpokeResult<Update>> {
        Box::pin(async move {
            self.write(E12, &["requests", id.as_str(), "messages"], message)
                .await
        })
    }

    fn add_tags<'a>(
        &'a self,
        id: &'a RequestId,
        tags: &'a [TagId],
    ) -> BoxFuture<'a, SpokeResult<()>> {
        Box::pin(async move {
            let body = serde_json::json!({
                "tags": tags.iter().map(|t| serde_json::json!({"_id": t.as_str()})).collect::<Vec<_>>()
            });
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            self.write_no_content(E13, &["requests", id.as_str(), "tags"], Some(bytes))
                .await
        })
    }

    fn remove_tag<'a>(
        &'a self,
        id: &'a RequestId,
        tag: &'a TagId,
    ) -> BoxFuture<'a, SpokeResult<()>> {
        Box::pin(async move {
            self.write_no_content(E14, &["requests", id.as_str(), "tags", tag.as_str()], None)
                .await
        })
    }

    fn list_request_types<'a>(
        &'a self,
        query: &'a RequestTypeQuery,
    ) -> BoxFuture<'a, SpokeResult<Page<RequestType>>> {
        Box::pin(async move { self.page(E15, &["request_types"], &query.pairs()).await })
    }

    fn get_request_type<'a>(
        &'a self,
        id: &'a RequestTypeId,
    ) -> BoxFuture<'a, SpokeResult<Option<RequestType>>> {
        Box::pin(async move { self.lookup(E16, &["request_types", id.as_str()]).await })
    }

    fn list_tags<'a>(&'a self, query: &'a TagQuery) -> BoxFuture<'a, SpokeResult<Page<Tag>>> {
        Box::pin(async move { self.page(E17, &["tags"], &query.pairs()).await })
    }

    fn max_pages(&self) -> u32 {
        self.inner.max_pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> SpokeClient {
        SpokeClient::builder(reqwest::Client::new(), SecretString::from("k"))
            .base_url(base)
            .build()
            .unwrap()
    }

    #[test]
    fn path_segments_are_percent_encoded_onto_the_base_path() {
        let c = client("http://127.0.0.1:1/api/v1/");
        assert_eq!(
            c.url(&["users", "email", "a+b@example.com"]),
            "http://127.0.0.1:1/api/v1/users/email/a%2Bb%40example.com"
        );
        assert_eq!(
            client("http://127.0.0.1:1/api/v1").url(&["whoami"]),
            "http://127.0.0.1:1/api/v1/whoami"
        );
    }

    #[test]
    fn plain_http_is_refused_for_remote_hosts() {
        let err = SpokeClient::builder(reqwest::Client::new(), SecretString::from("k"))
            .base_url("http://api.askspoke.com/api/v1")
            .build()
            .unwrap_err();
        assert!(matches!(err, BuildError::BaseUrl(_)));
    }

    #[test]
    fn debug_output_redacts_the_key() {
        let c = SpokeClient::builder(reqwest::Client::new(), SecretString::from("sekrit-key"))
            .base_url("http://127.0.0.1:1/api/v1")
            .build()
            .unwrap();
        assert!(!format!("{c:?}").contains("sekrit-key"));
    }

    #[test]
    fn error_bodies_are_read_leniently() {
        assert_eq!(
            error_body(br#"{"code": "11038", "message": "API Key invalid."}"#),
            (Some(11038), Some("API Key invalid.".into()))
        );
        assert_eq!(error_body(b"<html>"), (None, None));
    }
}
