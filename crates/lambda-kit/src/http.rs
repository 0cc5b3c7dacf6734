//! The shared reqwest builder and the retry arithmetic every outbound client uses.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::header::HeaderMap;

/// Default connect timeout for every outbound call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default whole-request timeout for every outbound call.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds the one `reqwest::Client` a process shares: explicit connect and request timeouts, a user agent
/// `<name>/<version>`, no redirects followed (a redirect from an API is an answer, not a detour), and the
/// compiled-in roots of [`crate::tls::client_config`] (no read of the machine's certificate store).
pub fn http_client(user_agent: &str) -> Result<reqwest::Client, reqwest::Error> {
    http_client_with(user_agent, CONNECT_TIMEOUT, REQUEST_TIMEOUT)
}

/// A reqwest builder with the shared TLS configuration of [`crate::tls::client_config`]. Every reqwest client of
/// the workspace starts here: reqwest is built without a crypto provider of its own (`rustls-no-provider`,
/// docs/decisions/0019), so a bare `reqwest::Client::builder().build()` panics.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured(crate::tls::client_config())
}

/// A client with reqwest's defaults (no timeouts, redirects followed) and the shared TLS configuration: what
/// `reqwest::Client::new()` would be, for tests and local tools talking to loopback servers. Functions use
/// [`http_client`].
///
/// # Panics
///
/// As `reqwest::Client::new()`, when the client cannot be built (the TLS configuration is fixed, so never in
/// practice).
pub fn default_client() -> reqwest::Client {
    client_builder().build().unwrap_or_else(|error| {
        panic!("a reqwest client with the shared TLS configuration: {error}")
    })
}

/// [`http_client`] with explicit timeouts.
pub fn http_client_with(
    user_agent: &str,
    connect_timeout: Duration,
    request_timeout: Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    client_builder()
        .user_agent(user_agent)
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Bounded exponential backoff with full jitter: attempt `n` (1-based) waits a random time in
/// `[0, min(cap, base × 2^(n−1))]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts including the first.
    pub max_attempts: u32,
    /// Backoff base.
    pub base: Duration,
    /// Backoff cap.
    pub cap: Duration,
    /// The longest single rate-limit wait accepted; longer waits return the rate-limit error instead.
    pub max_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(4),
            max_rate_limit_wait: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// The upper bound of the wait after failed attempt `attempt` (1-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        self.base.saturating_mul(1u32 << exp).min(self.cap)
    }

    /// A jittered wait after failed attempt `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }

    /// True when another attempt may follow attempt `attempt` (1-based).
    pub fn may_retry(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }
}

/// Up to 250 ms of jitter added to rate-limit waits so that callers do not stampede.
pub fn rate_limit_jitter() -> Duration {
    Duration::from_millis(rand::rng().random_range(0..=250))
}

/// How long a rate-limited response asks us to wait: `Retry-After` seconds when present, otherwise
/// `x-ratelimit-reset` (epoch seconds) measured against the response's `Date` header, else `now`.
/// `None` when neither header is usable.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(secs) = header_str(headers, "retry-after").and_then(|v| v.parse::<f64>().ok()) {
        return Some(Duration::from_secs_f64(secs.max(0.0)));
    }
    let reset = header_str(headers, "x-ratelimit-reset")?
        .parse::<i64>()
        .ok()?;
    let reference = header_str(headers, "date")
        .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
        .map_or(now, |d| d.with_timezone(&Utc));
    let secs = (reset - reference.timestamp()).max(0);
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Clock;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.ceiling(1), Duration::from_millis(250));
        assert_eq!(p.ceiling(2), Duration::from_millis(500));
        assert_eq!(p.ceiling(3), Duration::from_secs(1));
        assert_eq!(p.ceiling(10), Duration::from_secs(4));
        for attempt in 1..6 {
            assert!(p.backoff(attempt) <= p.ceiling(attempt));
        }
        assert!(p.may_retry(3));
        assert!(!p.may_retry(4));
    }

    #[test]
    fn retry_after_seconds_win_over_the_reset_header() {
        let now = crate::SystemClock.now();
        let h = headers(&[("retry-after", "3"), ("x-ratelimit-reset", "0")]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(3)));
    }

    #[test]
    fn the_reset_header_is_measured_against_the_date_header() {
        let now = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let date = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let reset = (date.timestamp() + 60).to_string();
        let h = headers(&[("x-ratelimit-reset", &reset), ("date", &date.to_rfc2822())]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(60)));
        let h = headers(&[("x-ratelimit-reset", "1")]);
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn the_client_builds_with_timeouts() {
        assert!(http_client("lambda-kit-test/0.0.0").is_ok());
    }
}
