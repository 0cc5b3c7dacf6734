//! The HTTP clients: [`SlackClient`] (Web API with a bot token, `response_url` replies, webhooks) and
//! [`WebhookClient`] (incoming webhooks only), plus the traits services depend on and where Slack lives
//! ([`SlackEndpoints`]). The retry loop they share is in `retry`, each client in its own module.

mod retry;
mod web_api;
mod webhook;

use futures::future::BoxFuture;
use lambda_kit::config::{ConfigError, ConfigReader, check_base_url};
use secrecy::SecretString;
use url::Url;

use crate::blocks::{Message, ResponseMessage};
use crate::error::SlackError;
use crate::models::{ChannelId, MessageTs, PostedMessage, UserId};

pub use web_api::{SlackClient, post_message_body, update_message_body};
pub use webhook::WebhookClient;

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

/// Where the Slack Web API and `response_url`s live; configurable so tests and the local stack use `slack-fake`.
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
}
