//! [`SlackClient`]: the Web API calls with the bot token, `response_url` replies, and webhooks through its
//! [`WebhookClient`].

use std::sync::Arc;

use futures::future::BoxFuture;
use lambda_kit::Clock;
use lambda_kit::http::RetryPolicy;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::retry::{Failure, Retry, transport_failure};
use super::webhook::{WebhookClient, webhook_error};
use super::{SlackApi, SlackEndpoints, WebhookPoster};
use crate::blocks::{Message, ResponseMessage};
use crate::error::SlackError;
use crate::models::{ChannelId, MessageTs, PostedMessage, UserId};

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
                retrier.check_rate_limit(&response)?;
                let status = response.status();
                let fail = |error| Failure::answered(status, error);
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
                retrier.check_rate_limit(&response)?;
                let status = response.status();
                let fail = |error| Failure::answered(status, error);
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

    #[test]
    fn debug_output_hides_the_bot_token() {
        let client = SlackClient::new(
            lambda_kit::http::default_client(),
            SlackEndpoints::default(),
            SecretString::from("xoxb-very-secret".to_owned()),
        );
        assert!(!format!("{client:?}").contains("xoxb-very-secret"));
    }
}
