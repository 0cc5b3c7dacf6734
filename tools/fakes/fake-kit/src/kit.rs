//! The per-fake shared state and the middleware that applies it to every API call.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::faults::{ActiveFault, FaultRule};
use crate::journal::{JournalEntry, is_credential_header};

const MAX_BODY: usize = 10 * 1024 * 1024;
const MAX_JOURNAL_BODY: usize = 64 * 1024;

/// Rate-limit settings of `POST /__fake/rate-limit`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitConfig {
    /// Calls allowed per key and window.
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// Window length.
    #[serde(default = "default_window")]
    pub window_secs: u64,
    /// Answer this many next calls with 429 regardless of the budget.
    #[serde(default)]
    pub reject_next: u32,
    /// For `reject_next`: seconds until the advertised reset.
    #[serde(default = "default_reset_in")]
    pub reset_in_secs: u64,
    /// Whether 429 answers carry `Retry-After`.
    #[serde(default)]
    pub retry_after: bool,
}

fn default_limit() -> u32 {
    6000
}
fn default_window() -> u64 {
    60
}
fn default_reset_in() -> u64 {
    1
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            limit: default_limit(),
            window_secs: default_window(),
            reject_next: 0,
            reset_in_secs: default_reset_in(),
            retry_after: false,
        }
    }
}

#[derive(Debug)]
struct Inner {
    name: String,
    rate_limit_headers: bool,
    /// Whether a 429 always names its reset (`x-ratelimit-*`): the APIs that speak those headers (Spoke,
    /// GitHub) do; Webex answers a 429 with `Retry-After` only.
    reset_on_429: bool,
    retry_after_on_429: bool,
    rate_limited_body: Value,
    journal: Mutex<Vec<JournalEntry>>,
    seq: AtomicU64,
    faults: Mutex<Vec<FaultRule>>,
    fault_seq: AtomicU64,
    rng: Mutex<StdRng>,
    clock_offset: Mutex<chrono::Duration>,
    rate: Mutex<RateState>,
}

#[derive(Debug, Default)]
struct RateState {
    config: RateLimitConfig,
    window_start: i64,
    counts: HashMap<u64, u32>,
}

/// Shared state of one fake: journal, faults, rate limits, clock. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FakeKit {
    inner: Arc<Inner>,
}

impl FakeKit {
    /// A kit for the fake called `name` (used in logs and the aggregate state).
    pub fn new(name: &str) -> Self {
        Self {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                rate_limit_headers: false,
                reset_on_429: false,
                retry_after_on_429: false,
                rate_limited_body: json!({"message": "Too many requests"}),
                journal: Mutex::default(),
                seq: AtomicU64::new(0),
                faults: Mutex::default(),
                fault_seq: AtomicU64::new(0),
                rng: Mutex::new(StdRng::seed_from_u64(42)),
                clock_offset: Mutex::new(chrono::Duration::zero()),
                rate: Mutex::default(),
            }),
        }
    }

    /// Adds `x-ratelimit-limit/remaining/reset` to every API response (Spoke, GitHub), and the body of a
    /// rate-limited answer.
    pub fn with_rate_limit(name: &str, headers: bool, rate_limited_body: Value) -> Self {
        let mut kit = Self::new(name);
        if let Some(inner) = Arc::get_mut(&mut kit.inner) {
            inner.rate_limit_headers = headers;
            inner.reset_on_429 = true;
            inner.rate_limited_body = rate_limited_body;
        }
        kit
    }

    /// Every 429 this kit answers (a rate limit or a fault rule) carries `Retry-After`, as Slack's do: the rule's
    /// own value, else the seconds until the advertised reset (at least 1).
    pub fn with_retry_after_on_every_429(mut self) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.retry_after_on_429 = true;
        }
        self
    }

    /// The fake's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The fake clock's current time.
    pub fn now(&self) -> DateTime<Utc> {
        system_now() + *lock(&self.inner.clock_offset)
    }

    /// Moves the fake clock to `at`.
    pub fn set_time(&self, at: DateTime<Utc>) {
        *lock(&self.inner.clock_offset) = at - system_now();
    }

    /// Moves the fake clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        *lock(&self.inner.clock_offset) += by;
    }

    /// Every call journaled so far.
    pub fn journal(&self) -> Vec<JournalEntry> {
        lock(&self.inner.journal).clone()
    }

    /// Journaled calls with `method` whose path matches `pattern` (fault-rule syntax).
    pub fn calls(&self, method: &str, pattern: &str) -> Vec<JournalEntry> {
        self.journal()
            .into_iter()
            .filter(|e| {
                e.method.eq_ignore_ascii_case(method)
                    && crate::faults::path_matches(pattern, &e.path)
            })
            .collect()
    }

    /// Forgets the journal.
    pub fn clear_journal(&self) {
        lock(&self.inner.journal).clear();
    }

    /// Adds a fault rule and returns its id.
    pub fn add_fault(&self, mut rule: FaultRule) -> u64 {
        let id = self.inner.fault_seq.fetch_add(1, Ordering::SeqCst) + 1;
        rule.id = id;
        if let Some(seed) = rule.action.get("seed").and_then(Value::as_u64) {
            *lock(&self.inner.rng) = StdRng::seed_from_u64(seed);
        }
        lock(&self.inner.faults).push(rule);
        id
    }

    /// The active fault rules.
    pub fn faults(&self) -> Vec<FaultRule> {
        lock(&self.inner.faults).clone()
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// Replaces the rate-limit settings.
    pub fn set_rate_limit(&self, config: RateLimitConfig) {
        let mut rate = lock(&self.inner.rate);
        rate.config = config;
        rate.counts.clear();
    }

    /// Clears journal, faults, rate limits and the clock offset.
    pub fn reset(&self) {
        self.clear_journal();
        self.clear_faults();
        self.set_rate_limit(RateLimitConfig::default());
        *lock(&self.inner.clock_offset) = chrono::Duration::zero();
        *lock(&self.inner.rng) = StdRng::seed_from_u64(42);
    }

    /// The first rule matching the call, consuming one use.
    fn take_fault(&self, method: &str, path: &str) -> Option<Value> {
        let mut faults = lock(&self.inner.faults);
        let idx = faults.iter().position(|r| r.matches(method, path))?;
        let rule = &mut faults[idx];
        if let Some(rate) = rule.rate {
            let roll: f64 = lock(&self.inner.rng).random();
            return (roll < rate).then(|| self.pick(&rule.action));
        }
        let action = self.pick(&rule.action);
        if let Some(times) = rule.times.as_mut() {
            *times = times.saturating_sub(1);
            if *times == 0 {
                faults.remove(idx);
            }
        }
        Some(action)
    }

    /// The action itself, or for `{"oneOf":[a, b, …]}` one of the listed actions drawn with the kit's seeded
    /// RNG (a mix of fault kinds under one `rate`).
    fn pick(&self, action: &Value) -> Value {
        match action.get("oneOf").and_then(Value::as_array) {
            Some(choices) if !choices.is_empty() => {
                let index = lock(&self.inner.rng).random_range(0..choices.len());
                choices[index].clone()
            }
            _ => action.clone(),
        }
    }

    /// Applies the rate limit; returns the headers to add and whether the call is refused.
    fn rate_check(&self, headers: &HeaderMap) -> (Vec<(&'static str, String)>, bool) {
        let now = self.now().timestamp();
        let mut rate = lock(&self.inner.rate);
        let cfg = rate.config.clone();
        if rate.config.reject_next > 0 {
            rate.config.reject_next -= 1;
            let reset = now + i64::try_from(cfg.reset_in_secs).unwrap_or(1);
            let mut h = vec![
                ("x-ratelimit-limit", cfg.limit.to_string()),
                ("x-ratelimit-remaining", "0".to_owned()),
                ("x-ratelimit-reset", reset.to_string()),
            ];
            if cfg.retry_after {
                h.push(("retry-after", cfg.reset_in_secs.to_string()));
            }
            return (h, true);
        }
        let window = i64::try_from(cfg.window_secs.max(1)).unwrap_or(60);
        if now >= rate.window_start + window {
            rate.window_start = now - now.rem_euclid(window);
            rate.counts.clear();
        }
        let reset = rate.window_start + window;
        let key = credential_key(headers);
        let count = rate.counts.entry(key).or_insert(0);
        *count += 1;
        let used = *count;
        let refused = used > cfg.limit;
        let mut h = vec![
            ("x-ratelimit-limit", cfg.limit.to_string()),
            (
                "x-ratelimit-remaining",
                cfg.limit.saturating_sub(used).to_string(),
            ),
            ("x-ratelimit-reset", reset.to_string()),
        ];
        if refused && cfg.retry_after {
            h.push(("retry-after", (reset - now).max(0).to_string()));
        }
        (h, refused)
    }

    /// The headers every answer gets: the rate-limit headers (always on a 429 of a kit built
    /// [`FakeKit::with_rate_limit`], with `remaining` 0, so a refusal names its reset; on every answer when the fake asks for them), `Retry-After` on a 429 when the
    /// fake asks for it, and a `Date` from the fake clock, which clients measure `x-ratelimit-reset` against.
    /// Headers a fault rule or the fake itself set win over the rate-limit defaults.
    fn finish(&self, mut resp: Response, rate_headers: &[(&'static str, String)]) -> Response {
        let limited = resp.status() == StatusCode::TOO_MANY_REQUESTS;
        let now = self.now();
        if self.inner.rate_limit_headers || (limited && self.inner.reset_on_429) {
            for (name, value) in rate_headers {
                let value = if limited && *name == "x-ratelimit-remaining" {
                    "0"
                } else {
                    value.as_str()
                };
                if let Ok(v) = HeaderValue::from_str(value) {
                    resp.headers_mut()
                        .entry(HeaderName::from_static(name))
                        .or_insert(v);
                }
            }
        }
        if limited && self.inner.retry_after_on_429 && !resp.headers().contains_key("retry-after") {
            let reset = rate_headers
                .iter()
                .find(|(name, _)| *name == "x-ratelimit-reset")
                .and_then(|(_, v)| v.parse::<i64>().ok())
                .unwrap_or_default();
            let secs = (reset - now.timestamp()).max(1);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert("retry-after", v);
            }
        }
        let date = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        if let Ok(v) = HeaderValue::from_str(&date) {
            resp.headers_mut().insert("date", v);
        }
        resp
    }

    fn record(&self, parts: &axum::http::request::Parts, body: &[u8], status: u16, faulted: bool) {
        let seq = self.inner.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let mut headers = serde_json::Map::new();
        for (name, value) in &parts.headers {
            let name = name.as_str().to_ascii_lowercase();
            let value = if is_credential_header(&name) {
                "[REDACTED]".to_owned()
            } else {
                value.to_str().unwrap_or("<binary>").to_owned()
            };
            headers.insert(name, Value::String(value));
        }
        let body = String::from_utf8_lossy(&body[..body.len().min(MAX_JOURNAL_BODY)]).into_owned();
        lock(&self.inner.journal).push(JournalEntry {
            seq,
            at: self
                .now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers,
            body,
            status,
            faulted,
        });
    }
}

/// The middleware every API call of a fake passes through (installed by [`crate::fake_app`]).
pub(crate) async fn kit_middleware(
    State(kit): State<FakeKit>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        kit.record(&parts, b"", 413, false);
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();

    let (rate_headers, refused) = kit.rate_check(&parts.headers);
    if refused {
        kit.record(&parts, &bytes, 429, true);
        let resp = (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(kit.inner.rate_limited_body.clone()),
        )
            .into_response();
        return kit.finish(resp, &rate_headers);
    }

    let fault = kit.take_fault(&method, &path).map(ActiveFault);
    if let Some(f) = &fault {
        if let Some(ms) = f.number("delayMs") {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if f.flag("drop") {
            kit.record(&parts, &bytes, 0, true);
            return dropped_connection();
        }
        if let Some(status) = f.number("status") {
            let status = u16::try_from(status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            kit.record(&parts, &bytes, status.as_u16(), true);
            return kit.finish(fault_response(status, &f.0), &rate_headers);
        }
    }

    let mut req = Request::from_parts(parts.clone(), Body::from(bytes.clone()));
    if let Some(f) = &fault {
        req.extensions_mut().insert(f.clone());
    }
    let mut resp = next.run(req).await;
    if let Some(f) = &fault {
        if let Some(ms) = f.number("commitThenDelayMs") {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if f.flag("malformedBody") {
            resp = (
                StatusCode::OK,
                [("content-type", "application/json")],
                "<html>upstream error</html>",
            )
                .into_response();
        }
    }
    kit.record(&parts, &bytes, resp.status().as_u16(), fault.is_some());
    kit.finish(resp, &rate_headers)
}

fn fault_response(status: StatusCode, action: &Value) -> Response {
    let body = action
        .get("body")
        .cloned()
        .unwrap_or_else(|| json!({"message": status.canonical_reason().unwrap_or("fault")}));
    let mut resp = (status, axum::Json(body)).into_response();
    if let Some(secs) = action.get("retryAfter").and_then(Value::as_u64)
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert("retry-after", v);
    }
    if let Some(extra) = action.get("headers").and_then(Value::as_object) {
        for (name, value) in extra {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            if let (Ok(n), Ok(v)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::from_str(&value),
            ) {
                resp.headers_mut().insert(n, v);
            }
        }
    }
    resp
}

/// A response whose body fails before any byte is sent: hyper aborts the connection and the client sees a
/// transport error, as when a load balancer drops it.
fn dropped_connection() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("fault: connection dropped"))
    });
    Response::new(Body::from_stream(stream))
}

fn credential_key(headers: &HeaderMap) -> u64 {
    let mut hasher = DefaultHasher::new();
    headers
        .get("authorization")
        .or_else(|| headers.get("api-key"))
        .map(HeaderValue::as_bytes)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Fakes are test infrastructure: their clock is the system clock plus a controllable offset.
#[allow(clippy::disallowed_methods)]
fn system_now() -> DateTime<Utc> {
    Utc::now()
}
