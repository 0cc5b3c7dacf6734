//! The HTTP clients: [`SlackClient`] (Web API with a bot token, `response_url` replies, webhooks) and
//! [`WebhookClient`] (incoming webhooks only), plus the traits services depend on.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use lambda_kit::config::{ConfigError, ConfigReader, check_base_url, is_loopback};
use lambda_kit::http::{RetryPolicy, rate_limit_jitter, retry_after};
use lambda_kit::{Clock, SystemClock};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::blocks::{Message, ResponseMessage};
use crate::error::{SlackError, sanitize_code};
use crate::models::{ChannelId, MessageTs, PostedMessage, UserId};

/// Production Web API base.
pub const DEFAULT_API_BASE_URL: &str = "https://slack.com/api";
/// Production `response_url` prefix.
pub const DEFAULT_RESPONSE_URL_PREFIX: &str = "https://hooks.slack.com/";

/// The Web API calls the services make with the bot token, as a trait object-friendly interface.
/// [`SlackClient`] implements it; tests substitute a hand fake.
pub trait SlackApi: Send + Sync {
    /// `users.lookupByEmail`: the user's id, or `Ok(None)` when Slack answers `users_not_found`.
    fn lookup_user_by_email<'a>(
        &'a self,
        email: &'a str,
    ) -> BoxFuture<'a, Result<Option<UserId>, SlackError>>;

    /// `conversations.open` with one user: the DM channel id.
    fn open_conversation<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<ChannelId, SlackError>>;

    /// `chat.postMessage`. Not idempotent: retried only on 429 (rejected before processing) or a failed
    /// connect, never after a timeout or 5xx.
    fn post_message<'a>(
        &'a self,
        channel: &'a ChannelId,
        message: &'a Message,
    ) -> BoxFuture<'a, Result<PostedMessage, SlackError>>;

    /// `chat.update` of the message at `channel`/`ts`; `blocks` are always sent, so an empty list removes
    /// the old blocks (e.g. the buttons). `message_not_found` → [`SlackError::MessageNotFound`].
    fn update_message<'a>(
        &'a self,
        channel: &'a ChannelId,
        ts: &'a MessageTs,
        message: &'a Message,
    ) -> BoxFuture<'a, Result<(), SlackError>>;

    /// POSTs a reply to an interaction's `response_url`, which must start with the configured
    /// `SLACK_RESPONSE_URL_PREFIX` ([`SlackError::ResponseUrlRefused`] otherwise; nothing is sent).
    fn respond<'a>(
        &'a self,
        response_url: &'a str,
        reply: &'a ResponseMessage,
    ) -> BoxFuture<'a, Result<(), SlackError>>;
}

/// Posting to an incoming webhook, whose URL is a secret.
pub trait WebhookPoster: Send + Sync {
    /// POSTs `message` as JSON. Success is HTTP 200 with body `ok`. Retries 429 (honouring `Retry-After`
    /// up to the policy's `max_rate_limit_wait`), 5xx and connect failures with bounded backoff; other
    /// 4xx fail at once. The URL never appears in logs or errors.
    fn post_webhook<'a>(
        &'a self,
        url: &'a SecretString,
        message: &'a Message,
    ) -> BoxFuture<'a, Result<(), SlackError>>;
}

/// Where the Slack Web API and `response_url`s live (platform spec §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackEndpoints {
    /// Web API base, without trailing slash. `SLACK_API_BASE_URL` (alias `CLS_SLACK_API_URL`), default
    /// `https://slack.com/api`; `https://` unless loopback.
    pub api_base_url: Url,
    /// Accepted `response_url` prefix, always ending in `/`. `SLACK_RESPONSE_URL_PREFIX`, default
    /// `https://hooks.slack.com/`; `https://` unless loopback.
    pub response_url_prefix: String,
}

impl Default for SlackEndpoints {
    fn default() -> Self {
        Self {
            #[allow(clippy::expect_used)] // a valid constant, covered by a unit test
            api_base_url: Url::parse(DEFAULT_API_BASE_URL).expect("valid default Slack API URL"),
            response_url_prefix: DEFAULT_RESPONSE_URL_PREFIX.to_owned(),
        }
    }
}

impl SlackEndpoints {
    /// Endpoints from explicit values (checked as the config reader would).
    pub fn new(api_base_url: &str, response_url_prefix: &str) -> Result<Self, String> {
        let api_base_url = check_base_url(api_base_url)?;
        let response_url_prefix = check_prefix(response_url_prefix)?;
        Ok(Self {
            api_base_url,
            response_url_prefix,
        })
    }

    /// Reads `SLACK_API_BASE_URL` (alias `CLS_SLACK_API_URL`) and `SLACK_RESPONSE_URL_PREFIX`.
    pub fn from_config<F: Fn(&str) -> Option<String>>(
        reader: &ConfigReader<F>,
    ) -> Result<Self, ConfigError> {
        let api_base_url = reader.base_url(
            &["SLACK_API_BASE_URL", "CLS_SLACK_API_URL"],
            DEFAULT_API_BASE_URL,
        )?;
        let raw_prefix = reader
            .optional("SLACK_RESPONSE_URL_PREFIX")
            .unwrap_or_else(|| DEFAULT_RESPONSE_URL_PREFIX.to_owned());
        let response_url_prefix = check_prefix(&raw_prefix)
            .map_err(|reason| ConfigError::new("SLACK_RESPONSE_URL_PREFIX", reason))?;
        Ok(Self {
            api_base_url,
            response_url_prefix,
        })
    }

    /// True when `url` may receive a `response_url` POST.
    pub fn accepts_response_url(&self, url: &str) -> bool {
        url.starts_with(&self.response_url_prefix) && Url::parse(url).is_ok()
    }
}

fn check_prefix(raw: &str) -> Result<String, String> {
    let url = check_base_url(raw)?;
    let mut prefix = url.as_str().to_owned();
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    Ok(prefix)
}

/// How a call may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Safe to repeat: retry 429, 5xx, timeouts and transport failures.
    Idempotent,
    /// Repeating may duplicate: retry only 429 and failed connects.
    RateLimitOrConnect,
    /// Webhooks: 429, 5xx and failed connects (a duplicated alert is acceptable), not timeouts.
    Webhook,
}

/// One failed attempt, with what is needed to decide on a retry.
struct Failure {
    error: SlackError,
    connect: bool,
    status: Option<u16>,
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

fn transport_failure(e: reqwest::Error) -> Failure {
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
struct Retrier {
    policy: RetryPolicy,
    clock: Arc<dyn Clock>,
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

    async fn run<T, F, Fut>(
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

    fn rate_limited(&self, response: &reqwest::Response) -> SlackError {
        SlackError::RateLimited {
            retry_after: retry_after(response.headers(), self.clock.now()),
        }
    }
}

/// Posts to incoming webhooks only (no bot token needed). Cheap to clone.
#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    retrier: Retrier,
}

impl std::fmt::Debug for WebhookClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookClient")
            .field("retry", &self.retrier.policy)
            .finish_non_exhaustive()
    }
}

impl WebhookClient {
    /// A poster over a shared `reqwest::Client` (build it with `lambda_kit::http::http_client`).
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            retrier: Retrier {
                policy: RetryPolicy::default(),
                clock: Arc::new(SystemClock),
            },
        }
    }

    /// Replaces the retry policy.
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retrier.policy = policy;
        self
    }

    /// Replaces the clock (used to read `Retry-After` relative to now).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.retrier.clock = clock;
        self
    }

    /// See [`WebhookPoster::post_webhook`].
    pub async fn post(&self, url: &SecretString, message: &Message) -> Result<(), SlackError> {
        message.validate().map_err(SlackError::InvalidMessage)?;
        let parsed = Url::parse(url.expose_secret()).map_err(|_| SlackError::InvalidWebhookUrl)?;
        let allowed = match parsed.scheme() {
            "https" => true,
            "http" => is_loopback(&parsed),
            _ => false,
        };
        if !allowed {
            return Err(SlackError::InvalidWebhookUrl);
        }
        let print = lambda_kit::redact::fingerprint(url.expose_secret());
        self.retrier
            .run("webhook", Some(&print), Retry::Webhook, || async {
                let response = self
                    .http
                    .post(parsed.clone())
                    .json(message)
                    .send()
                    .await
                    .map_err(transport_failure)?;
                let status = response.status();
                if status == StatusCode::TOO_MANY_REQUESTS {
                    return Err(Failure {
                        error: self.retrier.rate_limited(&response),
                        connect: false,
                        status: Some(status.as_u16()),
                    });
                }
                let body = response.text().await.map_err(transport_failure)?;
                let code = body.trim();
                if status == StatusCode::OK && code == "ok" {
                    return Ok(());
                }
                Err(Failure {
                    error: webhook_error(status, code),
                    connect: false,
                    status: Some(status.as_u16()),
                })
            })
            .await
    }
}

fn webhook_error(status: StatusCode, code: &str) -> SlackError {
    if status.is_server_error() {
        return SlackError::Server {
            status: status.as_u16(),
        };
    }
    let by_code = SlackError::from_api_code(code);
    if !matches!(by_code, SlackError::Api { .. }) && !code.is_empty() {
        return by_code;
    }
    match status.as_u16() {
        400 => SlackError::InvalidPayload {
            error: sanitize_code(code),
        },
        403 => SlackError::ActionProhibited,
        404 => SlackError::NoService,
        410 => SlackError::ChannelArchived,
        200 => SlackError::Api {
            error: "unexpected_body".to_owned(),
        },
        other => SlackError::Api {
            error: format!("http_{other}"),
        },
    }
}

impl WebhookPoster for WebhookClient {
    fn post_webhook<'a>(
        &'a self,
        url: &'a SecretString,
        message: &'a Message,
    ) -> BoxFuture<'a, Result<(), SlackError>> {
        Box::pin(self.post(url, message))
    }
}

/// The Web API client with a bot token (`Authorization: Bearer`, marked sensitive). Also posts to
/// `response_url`s and incoming webhooks. Cheap to clone; build once per process.
#[derive(Clone)]
pub struct SlackClient {
    webhooks: WebhookClient,
    endpoints: SlackEndpoints,
    bot_token: SecretString,
}

impl std::fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackClient")
            .field("api_base_url", &self.endpoints.api_base_url.as_str())
            .field("bot_token", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ApiEnvelope {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct LookupAnswer {
    user: IdOnly,
}

#[derive(Deserialize)]
struct OpenAnswer {
    channel: IdOnly,
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Deserialize)]
struct PostAnswer {
    channel: String,
    ts: String,
}

enum Payload<'a> {
    Json(serde_json::Value),
    Form(&'a [(&'a str, &'a str)]),
}

/// The JSON body `chat.postMessage` receives for `message` in `channel` (public for snapshot tests).
pub fn post_message_body(channel: &ChannelId, message: &Message) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    body.insert("channel".into(), channel.as_str().into());
    body.insert("text".into(), message.text.clone().into());
    if !message.blocks.is_empty() {
        body.insert(
            "blocks".into(),
            serde_json::to_value(&message.blocks).unwrap_or_default(),
        );
    }
    if let Some(username) = &message.username {
        body.insert("username".into(), username.clone().into());
    }
    if let Some(icon) = &message.icon_emoji {
        body.insert("icon_emoji".into(), icon.clone().into());
    }
    serde_json::Value::Object(body)
}

/// The JSON body `chat.update` receives (public for snapshot tests). `blocks` is always present.
pub fn update_message_body(
    channel: &ChannelId,
    ts: &MessageTs,
    message: &Message,
) -> serde_json::Value {
    serde_json::json!({
        "channel": channel.as_str(),
        "ts": ts.as_str(),
        "text": message.text,
        "blocks": message.blocks,
    })
}

impl SlackClient {
    /// A client over a shared `reqwest::Client`, the endpoints and the bot token (`xoxb-…`).
    pub fn new(http: reqwest::Client, endpoints: SlackEndpoints, bot_token: SecretString) -> Self {
        Self {
            webhooks: WebhookClient::new(http),
            endpoints,
            bot_token,
        }
    }

    /// Replaces the retry policy (shared by Web API, `response_url` and webhook calls).
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.webhooks = self.webhooks.with_retry_policy(policy);
        self
    }

    /// Replaces the clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.webhooks = self.webhooks.with_clock(clock);
        self
    }

    /// The configured endpoints.
    pub fn endpoints(&self) -> &SlackEndpoints {
        &self.endpoints
    }

    fn method_url(&self, method: &str) -> String {
        format!(
            "{}/{method}",
            self.endpoints.api_base_url.as_str().trim_end_matches('/')
        )
    }

    fn auth_header(&self) -> Result<HeaderValue, SlackError> {
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", self.bot_token.expose_secret())).map_err(
                |_| SlackError::InvalidAuth {
                    error: "malformed_token".to_owned(),
                },
            )?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// One Web API call: POST, check HTTP status and `ok`, return the decoded JSON body.
    async fn call(
        &self,
        method: &'static str,
        payload: Payload<'_>,
        mode: Retry,
    ) -> Result<serde_json::Value, SlackError> {
        let url = self.method_url(method);
        let auth = self.auth_header()?;
        let retrier = &self.webhooks.retrier;
        retrier
            .run(method, None, mode, || async {
                let request = self
                    .webhooks
                    .http
                    .post(&url)
                    .header(AUTHORIZATION, auth.clone());
                let request = match &payload {
                    Payload::Json(body) => request.json(body),
                    Payload::Form(fields) => request.form(fields),
                };
                let response = request.send().await.map_err(transport_failure)?;
                let status = response.status();
                let fail = |error| Failure {
                    error,
                    connect: false,
                    status: Some(status.as_u16()),
                };
                if status == StatusCode::TOO_MANY_REQUESTS {
                    return Err(fail(retrier.rate_limited(&response)));
                }
                if status.is_server_error() {
                    return Err(fail(SlackError::Server {
                        status: status.as_u16(),
                    }));
                }
                let bytes = response.bytes().await.map_err(transport_failure)?;
                let value: serde_json::Value = match serde_json::from_slice(&bytes) {
                    Ok(v) => v,
                    Err(_) if !status.is_success() => {
                        return Err(fail(SlackError::Api {
                            error: format!("http_{}", status.as_u16()),
                        }));
                    }
                    Err(e) => return Err(fail(SlackError::Decode(e))),
                };
                let envelope: ApiEnvelope = serde_json::from_value(value.clone())
                    .map_err(|e| fail(SlackError::Decode(e)))?;
                if !envelope.ok {
                    let code = envelope.error.unwrap_or_default();
                    return Err(fail(SlackError::from_api_code(&code)));
                }
                if !status.is_success() {
                    return Err(fail(SlackError::Api {
                        error: format!("http_{}", status.as_u16()),
                    }));
                }
                Ok(value)
            })
            .await
    }

    /// See [`SlackApi::lookup_user_by_email`].
    pub async fn lookup_user_by_email(&self, email: &str) -> Result<Option<UserId>, SlackError> {
        let fields = [("email", email)];
        match self
            .call(
                "users.lookupByEmail",
                Payload::Form(&fields),
                Retry::Idempotent,
            )
            .await
        {
            Ok(value) => {
                let answer: LookupAnswer =
                    serde_json::from_value(value).map_err(SlackError::Decode)?;
                Ok(Some(UserId::new(answer.user.id)))
            }
            Err(SlackError::UsersNotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// See [`SlackApi::open_conversation`].
    pub async fn open_conversation(&self, user: &UserId) -> Result<ChannelId, SlackError> {
        let body = serde_json::json!({ "users": user.as_str() });
        let value = self
            .call("conversations.open", Payload::Json(body), Retry::Idempotent)
            .await?;
        let answer: OpenAnswer = serde_json::from_value(value).map_err(SlackError::Decode)?;
        Ok(ChannelId::new(answer.channel.id))
    }

    /// See [`SlackApi::post_message`].
    pub async fn post_message(
        &self,
        channel: &ChannelId,
        message: &Message,
    ) -> Result<PostedMessage, SlackError> {
        message.validate().map_err(SlackError::InvalidMessage)?;
        let body = post_message_body(channel, message);
        let value = self
            .call(
                "chat.postMessage",
                Payload::Json(body),
                Retry::RateLimitOrConnect,
            )
            .await?;
        let answer: PostAnswer = serde_json::from_value(value).map_err(SlackError::Decode)?;
        Ok(PostedMessage {
            channel: ChannelId::new(answer.channel),
            ts: MessageTs::new(answer.ts),
        })
    }

    /// See [`SlackApi::update_message`].
    pub async fn update_message(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        message: &Message,
    ) -> Result<(), SlackError> {
        message.validate().map_err(SlackError::InvalidMessage)?;
        let body = update_message_body(channel, ts, message);
        self.call("chat.update", Payload::Json(body), Retry::Idempotent)
            .await
            .map(|_| ())
    }

    /// See [`SlackApi::respond`].
    pub async fn respond(
        &self,
        response_url: &str,
        reply: &ResponseMessage,
    ) -> Result<(), SlackError> {
        if !self.endpoints.accepts_response_url(response_url) {
            return Err(SlackError::ResponseUrlRefused);
        }
        reply.validate().map_err(SlackError::InvalidMessage)?;
        let retrier = &self.webhooks.retrier;
        retrier
            .run("response_url", None, Retry::RateLimitOrConnect, || async {
                let response = self
                    .webhooks
                    .http
                    .post(response_url)
                    .json(reply)
                    .send()
                    .await
                    .map_err(transport_failure)?;
                let status = response.status();
                let fail = |error| Failure {
                    error,
                    connect: false,
                    status: Some(status.as_u16()),
                };
                if status == StatusCode::TOO_MANY_REQUESTS {
                    return Err(fail(retrier.rate_limited(&response)));
                }
                if status.is_success() {
                    // Slack answers `ok` or `{"ok":true}`; an `ok:false` JSON body is still a failure.
                    let bytes = response.bytes().await.map_err(transport_failure)?;
                    if let Ok(envelope) = serde_json::from_slice::<ApiEnvelope>(&bytes)
                        && !envelope.ok
                    {
                        let code = envelope.error.unwrap_or_default();
                        return Err(fail(SlackError::from_api_code(&code)));
                    }
                    return Ok(());
                }
                if status.is_server_error() {
                    return Err(fail(SlackError::Server {
                        status: status.as_u16(),
                    }));
                }
                let body = response.text().await.unwrap_or_default();
                let code = serde_json::from_str::<ApiEnvelope>(&body)
                    .ok()
                    .and_then(|e| e.error)
                    .unwrap_or_else(|| body.trim().to_owned());
                // `expired_url`/`used_url` and friends keep their code; a bare status maps as for webhooks.
                let error = if code.is_empty() {
                    webhook_error(status, &code)
                } else {
                    SlackError::from_api_code(&code)
                };
                Err(fail(error))
            })
            .await
    }
}

impl SlackApi for SlackClient {
    fn lookup_user_by_email<'a>(
        &'a self,
        email: &'a str,
    ) -> BoxFuture<'a, Result<Option<UserId>, SlackError>> {
        Box::pin(SlackClient::lookup_user_by_email(self, email))
    }

    fn open_conversation<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<ChannelId, SlackError>> {
        Box::pin(SlackClient::open_conversation(self, user))
    }

    fn post_message<'a>(
        &'a self,
        channel: &'a ChannelId,
        message: &'a Message,
    ) -> BoxFuture<'a, Result<PostedMessage, SlackError>> {
        Box::pin(SlackClient::post_message(self, channel, message))
    }

    fn update_message<'a>(
        &'a self,
        channel: &'a ChannelId,
        ts: &'a MessageTs,
        message: &'a Message,
    ) -> BoxFuture<'a, Result<(), SlackError>> {
        Box::pin(SlackClient::update_message(self, channel, ts, message))
    }

    fn respond<'a>(
        &'a self,
        response_url: &'a str,
        reply: &'a ResponseMessage,
    ) -> BoxFuture<'a, Result<(), SlackError>> {
        Box::pin(SlackClient::respond(self, response_url, reply))
    }
}

impl WebhookPoster for SlackClient {
    fn post_webhook<'a>(
        &'a self,
        url: &'a SecretString,
        message: &'a Message,
    ) -> BoxFuture<'a, Result<(), SlackError>> {
        Box::pin(self.webhooks.post(url, message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn endpoints_default_to_production_and_accept_loopback_overrides() {
        let empty = ConfigReader::new(lambda_kit::config::map_lookup(HashMap::new()));
        let prod = SlackEndpoints::from_config(&empty).unwrap();
        assert_eq!(prod, SlackEndpoints::default());
        assert!(prod.accepts_response_url("https://hooks.slack.com/actions/T1/2/abc"));
        assert!(!prod.accepts_response_url("https://hooks.slack.com.evil.example/actions"));
        assert!(!prod.accepts_response_url("http://hooks.slack.com/actions"));

        let map = HashMap::from([
            (
                "CLS_SLACK_API_URL".to_owned(),
                "http://127.0.0.1:8800/slack/api".to_owned(),
            ),
            (
                "SLACK_RESPONSE_URL_PREFIX".to_owned(),
                "http://127.0.0.1:8800/slack".to_owned(),
            ),
        ]);
        let local =
            SlackEndpoints::from_config(&ConfigReader::new(lambda_kit::config::map_lookup(map)))
                .unwrap();
        assert_eq!(
            local.api_base_url.as_str(),
            "http://127.0.0.1:8800/slack/api"
        );
        assert_eq!(local.response_url_prefix, "http://127.0.0.1:8800/slack/");
        assert!(local.accepts_response_url("http://127.0.0.1:8800/slack/actions/1"));
    }

    #[test]
    fn a_plain_http_prefix_outside_loopback_is_refused() {
        let map = HashMap::from([(
            "SLACK_RESPONSE_URL_PREFIX".to_owned(),
            "http://hooks.slack.com/".to_owned(),
        )]);
        let err =
            SlackEndpoints::from_config(&ConfigReader::new(lambda_kit::config::map_lookup(map)))
                .unwrap_err();
        assert_eq!(err.var, "SLACK_RESPONSE_URL_PREFIX");
    }

    #[test]
    fn debug_output_hides_the_bot_token() {
        let client = SlackClient::new(
            reqwest::Client::new(),
            SlackEndpoints::default(),
            SecretString::from("xoxb-very-secret".to_owned()),
        );
        assert!(!format!("{client:?}").contains("xoxb-very-secret"));
    }
}
