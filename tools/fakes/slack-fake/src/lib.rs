#![doc = include_str!("../README.md")]

mod api;
mod channels;
mod hooks;
mod interactions;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::routing::{any, post};
use fake_kit::{FakeKit, FakeState, RunningServer, ServeError, fake_app, serve_ephemeral};
use serde_json::{Value, json};

pub use channels::MembershipError;
pub use hooks::{RESPONSE_URL_MAX_POSTS, RESPONSE_URL_TTL_SECS};
pub use state::{
    Channel, ResponseUrl, Seed, SeedChannel, SeedError, SeedUser, SeedWebhook, SentInteraction,
    StoredMessage, Team,
};

/// A stateful Slack stand-in. Cheap to clone; all clones share one workspace.
#[derive(Clone)]
pub struct SlackFake {
    kit: FakeKit,
    state: Arc<Mutex<state::State>>,
    initial: Arc<Seed>,
}

impl std::fmt::Debug for SlackFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackFake").finish_non_exhaustive()
    }
}

impl SlackFake {
    /// A fake seeded with `seed`.
    pub fn new(seed: Seed) -> Self {
        Self {
            kit: FakeKit::with_rate_limit(
                "slack",
                false,
                json!({"ok": false, "error": "ratelimited"}),
            )
            .with_retry_after_on_every_429(),
            state: Arc::new(Mutex::new(state::State::new(seed.clone()))),
            initial: Arc::new(seed),
        }
    }

    /// A fake seeded with `fixtures/demo.json`.
    pub fn demo() -> Self {
        Self::new(Seed::demo())
    }

    /// A fake seeded with `fixtures/minimal.json`.
    pub fn minimal() -> Self {
        Self::new(Seed::minimal())
    }

    /// The shared fake-kit state (journal, faults, rate limits, clock).
    pub fn kit(&self) -> &FakeKit {
        &self.kit
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The complete app: the Slack routes behind fake-kit's middleware, and the control API under
    /// `/__fake/` (fake-kit's routes plus `POST /__fake/interactions/send`, `POST /__fake/interactions/replay`,
    /// `POST /__fake/response-urls` and `POST /__fake/channels/{channel}/join|leave`).
    ///
    /// | Route | Behaviour |
    /// |---|---|
    /// | `GET`/`POST /api/{method}` | `users.lookupByEmail`, `conversations.open`, `chat.postMessage`, `chat.update` (and `auth.test`) |
    /// | `POST /services/{T}/{B}/{X}` | incoming webhook of the seed; `ok`, or `no_service`/`invalid_payload`/… |
    /// | `POST /actions/{id}` | a `response_url` issued with an interaction; 5 posts within 30 minutes |
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/api/{method}", any(api::dispatch))
            .route("/services/{team}/{bot}/{secret}", post(hooks::webhook))
            .route("/actions/{id}", post(hooks::response_url))
            .with_state(self.clone());
        let control = Router::new()
            .route("/interactions/send", post(interactions::send_interaction))
            .route(
                "/interactions/replay",
                post(interactions::replay_interaction),
            )
            .route("/response-urls", post(interactions::create_response_url))
            .route("/channels/{channel}/{verb}", post(channels::set_membership))
            .with_state(self.clone());
        fake_app(self.kit.clone(), api, Arc::new(self.clone()), control)
    }

    /// Serves the fake on `127.0.0.1` with an ephemeral port (for tests).
    pub async fn spawn(&self) -> Result<SpawnedSlackFake, ServeError> {
        let server = serve_ephemeral(self.router()).await?;
        Ok(SpawnedSlackFake {
            fake: self.clone(),
            server,
        })
    }

    /// The bot token the Web API accepts (a test-only value from the seed).
    pub fn bot_token(&self) -> String {
        self.lock().seed.bot_token.clone()
    }

    /// The signing secret interactions are signed with (a test-only value from the seed).
    pub fn signing_secret(&self) -> String {
        self.lock().seed.signing_secret.clone()
    }

    /// The path (`/services/T/B/X`) of the first webhook bound to `channel` (name with or without `#`, or id).
    pub fn webhook_path(&self, channel: &str) -> Option<String> {
        let st = self.lock();
        let name = channel.trim_start_matches('#');
        st.seed
            .webhooks
            .iter()
            .find(|w| {
                !w.legacy && (w.channel.trim_start_matches('#') == name || w.channel == channel)
            })
            .or_else(|| {
                st.seed
                    .webhooks
                    .iter()
                    .find(|w| w.channel.trim_start_matches('#') == name || w.channel == channel)
            })
            .map(|w| format!("/services/{}", w.path.trim_matches('/')))
    }

    /// The path of the first legacy (channel-overridable) webhook, if any.
    pub fn default_webhook_path(&self) -> Option<String> {
        self.lock()
            .seed
            .webhooks
            .iter()
            .find(|w| w.legacy)
            .map(|w| format!("/services/{}", w.path.trim_matches('/')))
    }

    /// The messages of a channel (id, `#name` or name), oldest first; empty when unknown.
    pub fn messages(&self, channel: &str) -> Vec<StoredMessage> {
        let st = self.lock();
        let name = channel.trim_start_matches('#');
        st.channels
            .values()
            .find(|c| c.id == channel || (!c.is_im && c.name == name))
            .map(|c| c.messages.clone())
            .unwrap_or_default()
    }

    /// The messages of the DM with `user`; empty when no DM was opened.
    pub fn dm_messages(&self, user: &str) -> Vec<StoredMessage> {
        self.lock()
            .channels
            .values()
            .find(|c| c.is_im && c.user.as_deref() == Some(user))
            .map(|c| c.messages.clone())
            .unwrap_or_default()
    }

    /// Every payload posted to `response_url`s, per issued URL, oldest first.
    pub fn response_url_posts(&self) -> Vec<Vec<Value>> {
        self.lock()
            .response_urls
            .values()
            .map(|r| r.posts.clone())
            .collect()
    }

    /// The bot joins (`member = true`) or leaves a channel (id, `name` or `#name`); answers its id.
    pub fn set_bot_member(&self, channel: &str, member: bool) -> Result<String, MembershipError> {
        let mut st = self.lock();
        let name = channel.trim_start_matches('#');
        let Some(c) = st
            .channels
            .values_mut()
            .find(|c| !c.is_im && (c.id == channel || c.name == name))
        else {
            return Err(MembershipError::UnknownChannel);
        };
        if member && c.archived {
            return Err(MembershipError::Archived);
        }
        c.bot_member = member;
        Ok(c.id.clone())
    }

    /// The bot joins a channel; see [`SlackFake::set_bot_member`].
    pub fn join_channel(&self, channel: &str) -> Result<String, MembershipError> {
        self.set_bot_member(channel, true)
    }

    /// Whether the bot is a member of a channel (id, `name` or `#name`; DMs count as member); `None` when
    /// unknown.
    pub fn is_bot_member(&self, channel: &str) -> Option<bool> {
        let st = self.lock();
        let name = channel.trim_start_matches('#');
        st.channels
            .values()
            .find(|c| c.id == channel || (!c.is_im && c.name == name))
            .map(|c| c.bot_member)
    }

    /// Every interaction request sent so far (sends and replays), oldest first.
    pub fn sent_interactions(&self) -> Vec<SentInteraction> {
        self.lock().interactions.clone()
    }

    /// Archives or unarchives a channel.
    pub fn set_archived(&self, channel: &str, archived: bool) -> bool {
        let mut st = self.lock();
        let Some(id) = st.resolve_channel(channel) else {
            return false;
        };
        st.channels
            .get_mut(&id)
            .map(|c| c.archived = archived)
            .is_some()
    }
}

impl FakeState for SlackFake {
    fn state_json(&self) -> Value {
        self.lock().to_json()
    }

    fn reset(&self, seed: Option<Value>) -> Result<(), String> {
        let seed = match seed {
            None => (*self.initial).clone(),
            Some(v) => Seed::from_value(v).map_err(|e| e.to_string())?,
        };
        *self.lock() = state::State::new(seed);
        Ok(())
    }
}

/// A fake served on an ephemeral loopback port; stops when dropped.
#[derive(Debug)]
pub struct SpawnedSlackFake {
    /// The fake (state, journal, helpers).
    pub fake: SlackFake,
    /// The server.
    pub server: RunningServer,
}

impl SpawnedSlackFake {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The Web API base, `http://127.0.0.1:<port>/api` (for `SLACK_API_BASE_URL`).
    pub fn api_base_url(&self) -> String {
        format!("{}/api", self.base_url())
    }

    /// The full URL of the webhook bound to `channel`.
    pub fn webhook_url(&self, channel: &str) -> Option<String> {
        self.fake
            .webhook_path(channel)
            .map(|p| format!("{}{p}", self.base_url()))
    }

    /// The `SLACK_RESPONSE_URL_PREFIX` matching this fake's `response_url`s: `http://127.0.0.1:<port>/`.
    pub fn response_url_prefix(&self) -> String {
        format!("{}/", self.base_url())
    }
}
