//! The reqwest-based Webex client: one private `send` helper applies the HTTP policy of the README
//! ("Webex client": timeouts, tracking ids, bounded retries, `Retry-After`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use lambda_kit::Clock;
use lambda_kit::http::{RetryPolicy, retry_after};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tracing::{debug, warn};
use url::Url;

use super::error::WebexError;
use super::error::sanitise;
use super::models::{
    ClientCredentials, CodeGrant, DataSource, MintRequest, TokenResponse, UpdateDataSource, Updated,
};
use crate::sleep::Sleeper;

/// Per-sweep call context: the tracking-id sequence, the deadline and retry counters.
#[derive(Debug)]
pub struct CallCtx {
    sweep_id: String,
    seq: AtomicU64,
    deadline: Option<Instant>,
    retries: AtomicU64,
    rate_limited: AtomicU64,
}

impl CallCtx {
    /// A context for sweep `sweep_id` that must not start work after `deadline`.
    pub fn new(sweep_id: &str, deadline: Option<Instant>) -> Self {
        Self {
            sweep_id: sweep_id.to_owned(),
            seq: AtomicU64::new(0),
            deadline,
            retries: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
        }
    }

    /// The sweep id.
    pub fn sweep_id(&self) -> &str {
        &self.sweep_id
    }

    /// The deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The next `TrackingID`: `byods_<sweepId>_<seq>`.
    pub fn next_tracking_id(&self) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        format!("byods_{}_{n}", self.sweep_id)
    }

    /// Retries made so far (`HttpRetries`).
    pub fn http_retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Rate-limited responses seen so far (`RateLimitedResponses`).
    pub fn rate_limited_responses(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }
}

/// The Webex REST client. Cheap to clone; build one per process.
#[derive(Clone)]
pub struct WebexClient {
    http: reqwest::Client,
    base: Url,
    clock: Arc<dyn Clock>,
    sleeper: Arc<dyn Sleeper>,
    policy: RetryPolicy,
}

impl std::fmt::Debug for WebexClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebexClient")
            .field("base", &self.base.as_str())
            .finish()
    }
}

struct Answer {
    body: Vec<u8>,
    headers: HeaderMap,
    /// The response's tracking id, else the one we sent.
    tracking_id: String,
}

impl WebexClient {
    /// A client for `base` (e.g. `https://webexapis.com/v1`) with the given timeouts and retry bounds.
    pub fn new(
        base: Url,
        timeout: Duration,
        connect_timeout: Duration,
        max_attempts: u32,
        max_retry_after: Duration,
        clock: Arc<dyn Clock>,
        sleeper: Arc<dyn Sleeper>,
    ) -> Result<Self, WebexError> {
        let http = lambda_kit::http::http_client_with(crate::USER_AGENT, connect_timeout, timeout)
            .map_err(|e| WebexError::Transport {
                op: "build client",
                detail: sanitise(&e.without_url().to_string()),
            })?;
        let policy = RetryPolicy {
            max_attempts: max_attempts.max(1),
            base: Duration::from_secs(1),
            cap: Duration::from_secs(8),
            max_rate_limit_wait: max_retry_after,
        };
        Ok(Self {
            http,
            base,
            clock,
            sleeper,
            policy,
        })
    }

    /// A client built from the service configuration.
    pub fn from_config(
        config: &crate::Config,
        clock: Arc<dyn Clock>,
        sleeper: Arc<dyn Sleeper>,
    ) -> Result<Self, WebexError> {
        Self::new(
            config.webex_base_url.clone(),
            config.http_timeout,
            config.http_connect_timeout,
            config.max_attempts,
            config.max_retry_after,
            clock,
            sleeper,
        )
    }

    /// The same client waiting through `sleeper`.
    #[must_use]
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            for s in segments {
                path.push(s);
            }
        }
        url
    }

    /// Whether waiting `wait` from now would pass the deadline.
    fn passes_deadline(ctx: &CallCtx, wait: Duration) -> bool {
        ctx.deadline
            .is_some_and(|d| Instant::now().checked_add(wait).is_none_or(|at| at > d))
    }

    /// The backoff before the next attempt, or `err` when attempts or time have run out.
    fn backoff_or(
        &self,
        ctx: &CallCtx,
        attempt: u32,
        err: WebexError,
    ) -> Result<Duration, WebexError> {
        let wait = self.policy.backoff(attempt);
        if !self.policy.may_retry(attempt) || Self::passes_deadline(ctx, wait) {
            return Err(err);
        }
        Ok(wait)
    }

    /// Sends one logical request with retries. `build` is called once per attempt with the same inputs, so
    /// a retried PUT resends the same body and nonce.
    async fn send(
        &self,
        ctx: &CallCtx,
        op: &'static str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Answer, WebexError> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            if Self::passes_deadline(ctx, Duration::ZERO) {
                return Err(WebexError::Deadline { op });
            }
            let tracking = ctx.next_tracking_id();
            debug!(event = "http_request", upstream = "webex", op, attempt, client_tracking_id = %tracking, "calling webex");
            let request = build().header("TrackingID", tracking.as_str());
            let retry_wait = match request.send().await {
                Err(e) => {
                    let err = if e.is_timeout() {
                        WebexError::Timeout { op }
                    } else {
                        WebexError::Transport {
                            op,
                            detail: sanitise(&e.without_url().to_string()),
                        }
                    };
                    warn!(event = "http_retryable", upstream = "webex", op, attempt, error_kind = %err, client_tracking_id = %tracking, "webex call failed");
                    self.backoff_or(ctx, attempt, err)?
                }
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                    let tracking_id = tracking_id_of(&headers, &body);
                    if status.is_success() {
                        let tracking_id = tracking_id.unwrap_or(tracking);
                        return Ok(Answer {
                            body,
                            headers,
                            tracking_id,
                        });
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::LOCKED {
                        ctx.rate_limited.fetch_add(1, Ordering::Relaxed);
                        let asked = retry_after(&headers, self.clock.now());
                        let wait = match asked {
                            None => Duration::from_secs(15),
                            Some(d) if d.is_zero() => Duration::from_secs(1),
                            Some(d) => d,
                        };
                        warn!(
                            event = "http_rate_limited",
                            upstream = "webex",
                            op,
                            attempt,
                            http_status = status.as_u16(),
                            retry_after_s = wait.as_secs_f64(),
                            webex_tracking_id = tracking_id.as_deref().unwrap_or(""),
                            "webex rate limited the call"
                        );
                        let err = WebexError::RateLimited {
                            op,
                            retry_after: asked,
                            tracking_id,
                        };
                        if wait > self.policy.max_rate_limit_wait
                            || !self.policy.may_retry(attempt)
                            || Self::passes_deadline(ctx, wait)
                        {
                            return Err(err);
                        }
                        wait
                    } else if matches!(status.as_u16(), 500 | 502 | 503 | 504) {
                        warn!(
                            event = "http_retryable",
                            upstream = "webex",
                            op,
                            attempt,
                            http_status = status.as_u16(),
                            webex_tracking_id = tracking_id.as_deref().unwrap_or(""),
                            "webex answered a server error"
                        );
                        let err = WebexError::Upstream {
                            op,
                            status: status.as_u16(),
                            tracking_id,
                        };
                        self.backoff_or(ctx, attempt, err)?
                    } else {
                        let (code, message) = parse_error_body(&body);
                        return Err(WebexError::Api {
                            op,
                            status: status.as_u16(),
                            code,
                            message,
                            tracking_id,
                        });
                    }
                }
            };
            ctx.retries.fetch_add(1, Ordering::Relaxed);
            self.sleeper.sleep(retry_wait).await;
        }
    }

    async fn send_json<T: DeserializeOwned>(
        &self,
        ctx: &CallCtx,
        op: &'static str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<T, WebexError> {
        let answer = self.send(ctx, op, build).await?;
        decode(op, &answer.body)
    }

    fn bearer(builder: RequestBuilder, token: &SecretString) -> RequestBuilder {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid"));
        value.set_sensitive(true);
        builder.header(reqwest::header::AUTHORIZATION, value)
    }

    /// `POST /access_token` with the grant's fields and the client's id and secret as a form.
    async fn token_request<const N: usize>(
        &self,
        ctx: &CallCtx,
        op: &'static str,
        client: &ClientCredentials,
        grant: [(&'static str, String); N],
    ) -> Result<TokenResponse, WebexError> {
        let form: Vec<(&'static str, String)> =
            grant.into_iter().chain(client.form_fields()).collect();
        let url = self.url(&["access_token"]);
        self.send_json(ctx, op, || self.http.post(url.clone()).form(&form))
            .await
    }
}

impl WebexClient {
    /// The API base URL (e.g. `https://webexapis.com/v1`).
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// `POST /access_token` with `grant_type=refresh_token`.
    pub async fn refresh_access_token(
        &self,
        ctx: &CallCtx,
        client: &ClientCredentials,
        refresh_token: &SecretString,
    ) -> Result<TokenResponse, WebexError> {
        let grant = [
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.expose_secret().to_owned()),
        ];
        self.token_request(ctx, "POST /access_token (refresh_token)", client, grant)
            .await
    }

    /// `POST /access_token` with `grant_type=authorization_code` and a PKCE verifier.
    pub async fn exchange_code(
        &self,
        ctx: &CallCtx,
        client: &ClientCredentials,
        grant: &CodeGrant,
    ) -> Result<TokenResponse, WebexError> {
        let fields = [
            ("grant_type", "authorization_code".to_owned()),
            ("code", grant.code.expose_secret().to_owned()),
            ("redirect_uri", grant.redirect_uri.clone()),
            (
                "code_verifier",
                grant.code_verifier.expose_secret().to_owned(),
            ),
        ];
        let op = "POST /access_token (authorization_code)";
        self.token_request(ctx, op, client, fields).await
    }

    /// `POST /applications/{appId}/token` with the integration's bearer token.
    pub async fn mint_service_app_token(
        &self,
        ctx: &CallCtx,
        app_id: &str,
        integration_token: &SecretString,
        request: &MintRequest,
    ) -> Result<TokenResponse, WebexError> {
        let url = self.url(&["applications", app_id, "token"]);
        let body = serde_json::json!({
            "clientId": request.client_id,
            "clientSecret": request.client_secret.expose_secret(),
            "targetOrgId": request.target_org_id,
        });
        self.send_json(ctx, "POST /applications/{appId}/token", || {
            Self::bearer(self.http.post(url.clone()), integration_token).json(&body)
        })
        .await
    }

    /// `GET /dataSources`, following `Link: rel="next"`: every listed item, also one without an id.
    pub async fn list_data_sources(
        &self,
        ctx: &CallCtx,
        token: &SecretString,
    ) -> Result<Vec<DataSource>, WebexError> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            items: Vec<serde_json::Value>,
        }
        let op = "GET /dataSources";
        let mut out = Vec::new();
        let mut next = Some(self.url(&["dataSources"]));
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            let answer = self
                .send(ctx, op, || Self::bearer(self.http.get(url.clone()), token))
                .await?;
            let page: Page =
                serde_json::from_slice(&answer.body).map_err(|e| WebexError::Decode {
                    op,
                    detail: format!("{:?}", e.classify()),
                })?;
            for item in page.items {
                let ds =
                    serde_json::from_value::<DataSource>(item).map_err(|e| WebexError::Decode {
                        op,
                        detail: format!("a listed item: {:?}", e.classify()),
                    })?;
                out.push(ds);
            }
            next = next_link(&answer.headers).filter(|u| u.origin() == self.base.origin());
            if pages >= 100 {
                warn!(
                    event = "pagination_stopped",
                    pages, "stopped following Link headers after 100 pages"
                );
                break;
            }
        }
        Ok(out)
    }

    /// `GET /dataSources/{id}`.
    pub async fn get_data_source(
        &self,
        ctx: &CallCtx,
        token: &SecretString,
        id: &str,
    ) -> Result<DataSource, WebexError> {
        let url = self.url(&["dataSources", id]);
        self.send_json(ctx, "GET /dataSources/{id}", || {
            Self::bearer(self.http.get(url.clone()), token)
        })
        .await
    }

    /// `PUT /dataSources/{id}`: the updated data source and the tracking id of the answer.
    pub async fn update_data_source(
        &self,
        ctx: &CallCtx,
        token: &SecretString,
        id: &str,
        body: &UpdateDataSource,
    ) -> Result<Updated, WebexError> {
        let url = self.url(&["dataSources", id]);
        let op = "PUT /dataSources/{id}";
        let answer = self
            .send(ctx, op, || {
                Self::bearer(self.http.request(Method::PUT, url.clone()), token).json(body)
            })
            .await?;
        Ok(Updated {
            data_source: decode(op, &answer.body)?,
            tracking_id: answer.tracking_id,
        })
    }
}

/// Decodes a 2xx JSON body; the error names the position, never a value.
fn decode<T: DeserializeOwned>(op: &'static str, body: &[u8]) -> Result<T, WebexError> {
    serde_json::from_slice(body).map_err(|e| WebexError::Decode {
        op,
        detail: format!(
            "line {} column {}: {:?}",
            e.line(),
            e.column(),
            e.classify()
        ),
    })
}

/// The Webex tracking id: the `TrackingID` header (any case), else the body's `trackingId`.
fn tracking_id_of(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    headers
        .get("trackingid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| {
                    v.get("trackingId")
                        .and_then(|t| t.as_str())
                        .map(str::to_owned)
                })
        })
        .map(|t| sanitise(&t))
}

/// Parses both Webex error body shapes into (OAuth code, text).
fn parse_error_body(body: &[u8]) -> (Option<String>, String) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (None, String::new());
    };
    let code = v.get("error").and_then(|e| e.as_str()).map(sanitise);
    let text = v
        .get("error_description")
        .or_else(|| v.get("message"))
        .and_then(|m| m.as_str())
        .map(str::to_owned)
        .or_else(|| {
            v.get("errors")
                .and_then(|e| e.get(0))
                .and_then(|e| e.get("description"))
                .and_then(|d| d.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    (code, sanitise(&text))
}

/// The `rel="next"` target of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<Url> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let mut pieces = part.split(';');
        let target = pieces
            .next()?
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        pieces
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"")
            .then(|| Url::parse(target).ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_body_shapes_are_parsed() {
        let (code, text) =
            parse_error_body(br#"{"error":"invalid_grant","error_description":"expired"}"#);
        assert_eq!(code.as_deref(), Some("invalid_grant"));
        assert_eq!(text, "expired");
        let (code, text) =
            parse_error_body(br#"{"message":"m","errors":[{"description":"d"}],"trackingId":"T"}"#);
        assert_eq!(code, None);
        assert_eq!(text, "m");
        let (_, text) = parse_error_body(br#"{"errors":[{"description":"d"}]}"#);
        assert_eq!(text, "d");
    }

    #[test]
    fn the_next_link_is_found_among_several() {
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            HeaderValue::from_static("<https://x/v1/dataSources?p=1>; rel=\"prev\", <https://x/v1/dataSources?p=3>; rel=\"next\""),
        );
        assert_eq!(
            next_link(&h).unwrap().as_str(),
            "https://x/v1/dataSources?p=3"
        );
    }

    #[test]
    fn tracking_ids_come_from_the_header_or_the_body() {
        let mut h = HeaderMap::new();
        assert_eq!(
            tracking_id_of(&h, br#"{"trackingId":"ROUTER_1"}"#).as_deref(),
            Some("ROUTER_1")
        );
        h.insert("TrackingID", HeaderValue::from_static("WEBEX_2"));
        assert_eq!(tracking_id_of(&h, b"").as_deref(), Some("WEBEX_2"));
    }
}
