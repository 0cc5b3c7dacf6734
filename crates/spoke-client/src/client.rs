//! `SpokeClient`: the HTTP implementation of [`crate::SpokeApi`]. This file holds its settings, builder and
//! accessors; `request` is the one request helper (headers, retries, deadline, status mapping, decoding) and
//! `endpoints` the table of E1–E17 (see the crate README) with the trait implementation over it.

mod endpoints;
mod pace;
mod request;

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_kit::Clock;
use lambda_kit::http::RetryPolicy;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use crate::deadline;
use crate::error::BuildError;
use crate::paging::DEFAULT_MAX_PAGES;

pub use endpoints::ROUTES;

/// Locks `mutex`, taking over a poisoned one (its data is plain values, valid whatever panicked).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The production base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.askspoke.com/api/v1";
/// The default per-attempt timeout (whole response).
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default user agent, `spoke-client/<version>`; services pass their own.
pub const DEFAULT_USER_AGENT: &str = concat!("spoke-client/", env!("CARGO_PKG_VERSION"));

/// The latest `x-ratelimit-*` values seen ("Retries" and "Logging" in the crate README).
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
    budget: Mutex<Option<pace::Budget>>,
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
                budget: Mutex::new(None),
                retries: AtomicU32::new(0),
            }),
            deadline: None,
        })
    }
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

    /// A clone whose calls never start an attempt or a wait that would end after `deadline` (the per-call
    /// deadline of the crate README's entry points).
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
        *lock(&self.inner.rate)
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> SpokeClient {
        SpokeClient::builder(lambda_kit::http::default_client(), SecretString::from("k"))
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
        let err = SpokeClient::builder(lambda_kit::http::default_client(), SecretString::from("k"))
            .base_url("http://api.askspoke.com/api/v1")
            .build()
            .unwrap_err();
        assert!(matches!(err, BuildError::BaseUrl(_)));
    }

    #[test]
    fn debug_output_redacts_the_key() {
        let c = SpokeClient::builder(
            lambda_kit::http::default_client(),
            SecretString::from("sekrit-key"),
        )
        .base_url("http://127.0.0.1:1/api/v1")
        .build()
        .unwrap();
        assert!(!format!("{c:?}").contains("sekrit-key"));
    }
}
