//! The fake workspace: seed format and mutable state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The seed a fake starts from (`fixtures/*.json`, or the body of `POST /__fake/reset`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    /// The workspace.
    #[serde(default)]
    pub team: Team,
    /// The only bot token the Web API accepts (`Authorization: Bearer …` or a `token` field).
    pub bot_token: String,
    /// The signing secret used to sign interactions sent by `POST /__fake/interactions/send`.
    pub signing_secret: String,
    /// Workspace members.
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// Public and private channels.
    #[serde(default)]
    pub channels: Vec<SeedChannel>,
    /// Registered incoming webhooks.
    #[serde(default)]
    pub webhooks: Vec<SeedWebhook>,
}

/// The workspace identity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Team {
    /// `T…` id.
    pub id: String,
    /// Workspace domain.
    pub domain: String,
}

impl Default for Team {
    fn default() -> Self {
        Self {
            id: "T0FAKE0001".to_owned(),
            domain: "fake-workspace".to_owned(),
        }
    }
}

/// A workspace member.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedUser {
    /// `U…` id.
    pub id: String,
    /// Handle (`user.name`/`username` in interactions).
    pub name: String,
    /// Display name.
    #[serde(default)]
    pub real_name: Option<String>,
    /// E-mail for `users.lookupByEmail` (case-insensitive).
    #[serde(default)]
    pub email: Option<String>,
    /// A deactivated account: `users.lookupByEmail` answers `users_not_found`, DMs fail.
    #[serde(default)]
    pub deleted: bool,
}

/// A channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedChannel {
    /// `C…`/`G…` id.
    pub id: String,
    /// Name without `#`.
    pub name: String,
    /// Archived channels refuse posts (`is_archived`, webhook 410 `channel_is_archived`).
    #[serde(default)]
    pub archived: bool,
    /// The bot is a member (default `true`); otherwise `chat.postMessage` answers `not_in_channel` until the bot
    /// joins (`POST /__fake/channels/{channel}/join`).
    #[serde(default = "default_true")]
    pub bot_member: bool,
}

fn default_true() -> bool {
    true
}

/// An incoming webhook bound to one channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedWebhook {
    /// `T…/B…/secret`, the part after `/services/`.
    pub path: String,
    /// The channel it posts to: a name (with or without `#`) or an id.
    pub channel: String,
    /// Legacy webhooks honour a `channel` override in the payload; app webhooks ignore it.
    #[serde(default)]
    pub legacy: bool,
    /// Answers 403 `action_prohibited` (e.g. an admin restricted posting).
    #[serde(default)]
    pub prohibited: bool,
}

/// A seed could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeedError {
    /// The JSON does not match the seed format.
    #[error("invalid slack-fake seed: {0}")]
    Json(#[from] serde_json::Error),
    /// The seed is inconsistent.
    #[error("invalid slack-fake seed: {0}")]
    Invalid(String),
}

impl Seed {
    /// Parses a seed.
    pub fn from_json(text: &str) -> Result<Self, SeedError> {
        let seed: Self = serde_json::from_str(text)?;
        seed.check()?;
        Ok(seed)
    }

    /// Parses a seed from a JSON value.
    pub fn from_value(value: Value) -> Result<Self, SeedError> {
        let seed: Self = serde_json::from_value(value)?;
        seed.check()?;
        Ok(seed)
    }

    /// `fixtures/minimal.json`.
    pub fn minimal() -> Self {
        Self::builtin(include_str!("../fixtures/minimal.json"))
    }

    /// `fixtures/demo.json`.
    pub fn demo() -> Self {
        Self::builtin(include_str!("../fixtures/demo.json"))
    }

    fn builtin(text: &str) -> Self {
        // The fixtures are part of the crate and checked by a unit test; a broken one is a build defect.
        #[allow(clippy::expect_used)]
        Self::from_json(text).expect("built-in slack-fake fixture is valid")
    }

    fn check(&self) -> Result<(), SeedError> {
        if self.bot_token.is_empty() || self.signing_secret.is_empty() {
            return Err(SeedError::Invalid(
                "botToken and signingSecret must not be empty".to_owned(),
            ));
        }
        for hook in &self.webhooks {
            if hook.path.split('/').filter(|s| !s.is_empty()).count() != 3 {
                return Err(SeedError::Invalid(format!(
                    "webhook for {} must have a path T…/B…/secret",
                    hook.channel
                )));
            }
            if self.find_channel(&hook.channel).is_none() {
                return Err(SeedError::Invalid(format!(
                    "webhook channel {} is not a seeded channel",
                    hook.channel
                )));
            }
        }
        Ok(())
    }

    fn find_channel(&self, key: &str) -> Option<&SeedChannel> {
        let name = key.trim_start_matches('#');
        self.channels.iter().find(|c| c.id == key || c.name == name)
    }
}

/// A message stored in a channel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredMessage {
    /// The message id within the channel.
    pub ts: String,
    /// Text.
    pub text: String,
    /// Block Kit blocks as received.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Value>,
    /// `api` (chat.postMessage), `webhook` or `response_url`.
    pub via: String,
    /// `username` override, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `icon_emoji` override, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_emoji: Option<String>,
    /// How often it was edited (chat.update or a replacing response_url post).
    #[serde(default)]
    pub edits: u32,
}

/// A channel with its messages.
#[derive(Debug, Clone, Serialize)]
pub struct Channel {
    /// Id.
    pub id: String,
    /// Name (for DMs: the user id).
    pub name: String,
    /// A DM with `user`.
    pub is_im: bool,
    /// The DM's user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Archived.
    pub archived: bool,
    /// The bot is a member (always true for DMs it opened).
    pub bot_member: bool,
    /// Messages, oldest first.
    pub messages: Vec<StoredMessage>,
}

/// A `response_url` handed out with an interaction.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseUrl {
    /// The message the interaction came from.
    pub channel: String,
    /// Its ts.
    pub ts: String,
    /// When it was issued (fake-clock epoch seconds); it expires after 30 minutes.
    pub issued_at: i64,
    /// Every payload posted to it, in order (at most 5 are accepted).
    pub posts: Vec<Value>,
}

/// An interaction request this fake sent (`POST /__fake/interactions/send`), kept for replays.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentInteraction {
    /// Sequence number (`deliveryId` in the answers; `POST /__fake/interactions/replay` takes it).
    pub id: u64,
    /// Where it was sent.
    pub url: String,
    /// The raw form body (`payload=…`), exactly as sent.
    #[serde(skip)]
    pub body: String,
    /// `X-Slack-Request-Timestamp` as sent, if any.
    pub timestamp: Option<String>,
    /// `X-Slack-Signature` as sent, if any.
    #[serde(skip)]
    pub signature: Option<String>,
    /// How it was signed: `valid`, `wrong_secret`, `forged`, `unsigned`, or `replay` (the headers of the original).
    pub signing: String,
    /// The receiver's HTTP status (0 when unreachable).
    pub status: u16,
    /// The delivery this one replays, if it is a replay.
    pub replay_of: Option<u64>,
    /// `actions[0].action_id` of the payload, if any.
    pub action_id: Option<String>,
    /// `user.id` of the payload, if any.
    pub user: Option<String>,
}

/// The mutable state of the fake.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) seed: Seed,
    pub(crate) channels: BTreeMap<String, Channel>,
    pub(crate) response_urls: BTreeMap<String, ResponseUrl>,
    pub(crate) interactions: Vec<SentInteraction>,
    pub(crate) seq: u64,
}

impl State {
    pub(crate) fn new(seed: Seed) -> Self {
        let channels = seed
            .channels
            .iter()
            .map(|c| {
                (
                    c.id.clone(),
                    Channel {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        is_im: false,
                        user: None,
                        archived: c.archived,
                        bot_member: c.bot_member,
                        messages: Vec::new(),
                    },
                )
            })
            .collect();
        Self {
            seed,
            channels,
            response_urls: BTreeMap::new(),
            interactions: Vec::new(),
            seq: 0,
        }
    }

    pub(crate) fn user(&self, id: &str) -> Option<&SeedUser> {
        self.seed.users.iter().find(|u| u.id == id)
    }

    pub(crate) fn user_by_email(&self, email: &str) -> Option<&SeedUser> {
        self.seed.users.iter().find(|u| {
            u.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email.trim()))
        })
    }

    /// Resolves `C…`/`G…`/`D…` ids, `#name`/`name`, and `U…` user ids (their DM, opened on demand).
    pub(crate) fn resolve_channel(&mut self, key: &str) -> Option<String> {
        let key = key.trim();
        if self.channels.contains_key(key) {
            return Some(key.to_owned());
        }
        let name = key.trim_start_matches('#');
        if let Some(c) = self.channels.values().find(|c| !c.is_im && c.name == name) {
            return Some(c.id.clone());
        }
        if self.user(key).is_some_and(|u| !u.deleted) {
            return Some(self.open_dm(key));
        }
        None
    }

    /// The DM channel id with `user` (created when missing).
    pub(crate) fn open_dm(&mut self, user: &str) -> String {
        if let Some(c) = self
            .channels
            .values()
            .find(|c| c.is_im && c.user.as_deref() == Some(user))
        {
            return c.id.clone();
        }
        let suffix = user.strip_prefix('U').unwrap_or(user);
        let mut id = format!("D{suffix}");
        while self.channels.contains_key(&id) {
            id.push('X');
        }
        self.channels.insert(
            id.clone(),
            Channel {
                id: id.clone(),
                name: user.to_owned(),
                is_im: true,
                user: Some(user.to_owned()),
                archived: false,
                bot_member: true,
                messages: Vec::new(),
            },
        );
        id
    }

    /// A fresh message ts from the fake clock, unique within the fake.
    pub(crate) fn next_ts(&mut self, now_secs: i64) -> String {
        self.seq += 1;
        format!("{now_secs}.{:06}", self.seq % 1_000_000)
    }

    pub(crate) fn webhook(&self, path: &str) -> Option<&SeedWebhook> {
        self.seed
            .webhooks
            .iter()
            .find(|w| w.path.trim_matches('/') == path.trim_matches('/'))
    }

    pub(crate) fn to_json(&self) -> Value {
        let webhooks: Vec<Value> = self
            .seed
            .webhooks
            .iter()
            .map(|w| {
                json!({
                    "url": redact_webhook_path(&w.path),
                    "channel": w.channel,
                    "legacy": w.legacy,
                    "prohibited": w.prohibited,
                })
            })
            .collect();
        let response_urls: Vec<Value> = self
            .response_urls
            .values()
            .map(|r| {
                json!({
                    "url": "/actions/[REDACTED]",
                    "channel": r.channel,
                    "ts": r.ts,
                    "issuedAt": r.issued_at,
                    "posts": r.posts,
                })
            })
            .collect();
        json!({
            "team": self.seed.team,
            "botToken": "[REDACTED]",
            "signingSecret": "[REDACTED]",
            "users": self.seed.users,
            "channels": self.channels.values().collect::<Vec<_>>(),
            "botChannels": self
                .channels
                .values()
                .filter(|c| !c.is_im && c.bot_member)
                .map(|c| json!({"id": c.id, "name": c.name}))
                .collect::<Vec<_>>(),
            "interactions": self.interactions,
            "webhooks": webhooks,
            "responseUrls": response_urls,
        })
    }
}

/// `/services/T…/B…/[REDACTED]`: the secret part of a webhook URL is never shown.
pub(crate) fn redact_webhook_path(path: &str) -> String {
    let mut parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let Some(last) = parts.last_mut() {
        *last = "[REDACTED]";
    }
    format!("/services/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_fixtures_are_valid() {
        let demo = Seed::demo();
        assert!(demo.webhooks.len() >= 2);
        assert!(demo.users.iter().any(|u| u.email.is_some()));
        let minimal = Seed::minimal();
        assert!(!minimal.bot_token.is_empty());
    }

    #[test]
    fn a_webhook_to_an_unknown_channel_is_an_invalid_seed() {
        let err = Seed::from_value(json!({
            "botToken": "x", "signingSecret": "y",
            "webhooks": [{"path": "T/B/X", "channel": "nowhere"}]
        }))
        .unwrap_err();
        assert!(err.to_string().contains("nowhere"));
    }

    #[test]
    fn webhook_secrets_are_redacted() {
        assert_eq!(
            redact_webhook_path("T1/B2/secret"),
            "/services/T1/B2/[REDACTED]"
        );
    }

    #[test]
    fn message_ts_values_are_unique_within_a_second() {
        let mut state = State::new(Seed::minimal());
        let a = state.next_ts(1_700_000_000);
        let b = state.next_ts(1_700_000_000);
        assert_ne!(a, b);
        assert!(a.starts_with("1700000000."));
    }
}
