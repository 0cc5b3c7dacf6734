//! [`WebhookClient`]: posting to incoming webhooks, whose URL is a secret (logged only as a fingerprint).

use std::sync::Arc;

use futures::future::BoxFuture;
use lambda_kit::config::is_loopback;
use lambda_kit::http::RetryPolicy;
use lambda_kit::{Clock, SystemClock};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::WebhookPoster;
use super::retry::{Failure, Retrier, Retry, transport_failure};
use crate::blocks::Message;
use crate::error::{SlackError, sanitize_code};

/// Posts to incoming webhooks only (no bot token needed). Cheap to clone.
#[derive(Clone)]
pub struct WebhookClient {
    pub(super) http: reqwest::Client,
    pub(super) retrier: Retrier,
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
                self.retrier.check_rate_limit(&response)?;
                let status = response.status();
                let body = response.text().await.map_err(transport_failure)?;
                let code = body.trim();
                if status == StatusCode::OK && code == "ok" {
                    return Ok(());
                }
                Err(Failure::answered(status, webhook_error(status, code)))
            })
            .await
    }
}

pub(super) fn webhook_error(status: StatusCode, code: &str) -> SlackError {
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
