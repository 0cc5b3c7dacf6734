//! The Slack bot (README, `slack_action` and **notify**): the Web API client built from the `cls/slack` secret (bot
//! token, `fallback_channel_id`, `admin_user_ids`, re-read through the secrets cache so a rotated token needs no
//! redeploy), and who a person is in Slack (identity directory or Spoke → e-mail → `users.lookupByEmail`).

use std::sync::Arc;

use cls_core::settings::SlackSettings;
use lambda_kit::Clock;
use secrets::{SecretStore, SecretStoreExt};
use slack_notify::{
    ChannelId, Message, MessageTs, ResponseMessage, SlackApi, SlackClient, SlackEndpoints,
    SlackError, UserId,
};

use crate::deps::Deps;
use crate::error::RecordError;

/// Builds [`SlackBot`]s from the Slack secret.
pub struct SlackAccess {
    secrets: Arc<dyn SecretStore>,
    secret_id: String,
    http: reqwest::Client,
    endpoints: SlackEndpoints,
    clock: Arc<dyn Clock>,
}

impl SlackAccess {
    /// Access through `secrets` (cached with its TTL) to the secret `secret_id`.
    pub fn new(
        secrets: Arc<dyn SecretStore>,
        secret_id: &str,
        http: reqwest::Client,
        endpoints: SlackEndpoints,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            secrets,
            secret_id: secret_id.to_owned(),
            http,
            endpoints,
            clock,
        }
    }

    /// The bot as the secret currently says.
    pub async fn bot(&self) -> Result<SlackBot, RecordError> {
        let settings: SlackSettings = self
            .secrets
            .get_json(&self.secret_id)
            .await
            .map_err(|e| RecordError::SlackUnavailable(e.to_string()))?;
        let token = settings.bot_token.clone().ok_or_else(|| {
            RecordError::SlackUnavailable(format!("{}: bot_token is missing", self.secret_id))
        })?;
        let client = SlackClient::new(self.http.clone(), self.endpoints.clone(), token)
            .with_clock(Arc::clone(&self.clock));
        Ok(SlackBot {
            api: Arc::new(client),
            settings,
        })
    }
}

/// A Web API client and the Slack settings it came with.
pub struct SlackBot {
    /// The Web API.
    pub api: Arc<dyn SlackApi>,
    /// `fallback_channel_id`, `admin_user_ids`.
    pub settings: SlackSettings,
}

impl SlackBot {
    /// Opens the DM with `user` and posts `message` there.
    pub async fn dm(
        &self,
        user: &UserId,
        message: &Message,
    ) -> Result<(ChannelId, MessageTs), SlackError> {
        let channel = self.api.open_conversation(user).await?;
        let posted = self.api.post_message(&channel, message).await?;
        Ok((posted.channel, posted.ts))
    }

    /// Answers a clicker: through `response_url` (ephemeral) while it is fresh, else as a DM (README,
    /// `slack_action`: a `response_url` older than 25 minutes is not used). Best effort: failures are logged.
    pub async fn reply(&self, response_url: Option<&str>, clicker: &str, text: &str) {
        let result = match response_url {
            Some(url) => {
                self.api
                    .respond(url, &ResponseMessage::ephemeral(text.to_owned()))
                    .await
            }
            None => self
                .api
                .post_message(&ChannelId::new(clicker), &Message::text(text.to_owned()))
                .await
                .map(|_| ()),
        };
        if let Err(error) = result {
            tracing::warn!(error = %error, error_kind = error.kind(), upstream = "slack", "reply to the clicker failed");
        }
    }
}

impl Deps {
    /// The Slack bot as the Slack secret currently says.
    pub async fn slack_bot(&self) -> Result<SlackBot, RecordError> {
        self.slack.bot().await
    }

    /// Today: `CLS_FAKE_TODAY` when set (never in production), else the clock's UTC date.
    pub fn today(&self) -> chrono::NaiveDate {
        self.config
            .fake_today
            .unwrap_or_else(|| cls_core::dates::today(self.clock.now()))
    }
}

/// The e-mail of a GitHub login, from the identity directory.
pub async fn email_of_login(login: &str, deps: &Deps) -> Result<Option<String>, RecordError> {
    if login.is_empty() || login == cls_core::ticket::UNKNOWN_ADDER {
        return Ok(None);
    }
    Ok(deps
        .identity
        .lookup(login)
        .await
        .map_err(RecordError::Identity)?
        .and_then(|i| i.email))
}

/// The e-mail of a Spoke user.
pub async fn email_of_spoke_user(
    user: &spoke_client::UserId,
    deps: &Deps,
) -> Result<Option<String>, RecordError> {
    Ok(deps.spoke().get_user(user).await?.and_then(|u| u.email))
}

/// Slack ids for e-mails, in order, without repeats; addresses Slack does not know are skipped.
pub async fn slack_ids_for(bot: &SlackBot, emails: &[String]) -> Result<Vec<UserId>, SlackError> {
    let mut seen: Vec<String> = Vec::new();
    let mut ids = Vec::new();
    for email in emails {
        let lower = email.to_lowercase();
        if seen.contains(&lower) {
            continue;
        }
        seen.push(lower);
        if let Some(id) = bot.api.lookup_user_by_email(email).await?
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    Ok(ids)
}
