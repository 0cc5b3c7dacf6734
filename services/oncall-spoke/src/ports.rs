//! The capabilities the handoff domain needs from the outside world, as small object-safe traits, plus the
//! minimal models it reads. Adapters over the real clients live in [`crate::adapters`]; tests use in-memory
//! implementations.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use secrecy::SecretString;
use serde_json::Value;

/// One Spoke team, reduced to what the handoff needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpokeTeam {
    /// Team id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// URL slug, when known.
    pub slug: Option<String>,
    /// `ACTIVE`, `CLOSED`, … when known.
    pub status: Option<String>,
    /// Team page, when known.
    pub permalink: Option<String>,
    /// `settings` was present in the response.
    pub has_settings: bool,
    /// `settings.delegation`, when present and not empty.
    pub delegation: Option<Delegation>,
    /// `settings.flags.AUTO_DELEGATION`, when present.
    pub auto_delegation: Option<bool>,
    /// `agentList`, when present in the response.
    pub agents: Option<Vec<Agent>>,
}

impl SpokeTeam {
    /// True when the team is closed (it then counts as not found).
    pub fn is_closed(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("CLOSED"))
    }

    /// True when the object carries everything the decision needs (`settings` and `agentList`).
    pub fn is_complete(&self) -> bool {
        self.has_settings && self.agents.is_some()
    }
}

/// A team's delegation settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delegation {
    /// `SPECIFIC_USER`, `ROUND_ROBIN`, `SMART_ASSIGNMENT` or any other raw value.
    pub strategy: Option<String>,
    /// The specific user id (only meaningful for `SPECIFIC_USER`).
    pub specific_user: Option<String>,
}

impl Delegation {
    /// True when the delegation points at `user_id` with `SPECIFIC_USER`.
    pub fn is_specific_user(&self, user_id: &str) -> bool {
        self.strategy.as_deref() == Some(SPECIFIC_USER)
            && self.specific_user.as_deref() == Some(user_id)
    }
}

/// The strategy value this service writes.
pub const SPECIFIC_USER: &str = "SPECIFIC_USER";

/// A member of a team.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Agent {
    /// The agent's user id.
    pub user_id: String,
    /// `AVAILABLE`, `AWAY`, … when known.
    pub status: Option<String>,
}

/// A Spoke user, reduced to what the handoff needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpokeUser {
    /// User id.
    pub id: String,
    /// E-mail address, when present.
    pub email: Option<String>,
    /// Display name, when present.
    pub display_name: Option<String>,
}

/// One page of a list call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page (items without an id are dropped by the client).
    pub items: Vec<T>,
    /// How many items the server sent, including dropped ones; the next `start` advances by this.
    pub received: u64,
    /// `total` when the server sent it.
    pub total: Option<u64>,
}

/// Why a Spoke call failed, in the terms the decision table uses. Never carries the key, a URL or a body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpokeFailure {
    /// 401, or 403 with code 11038: the API key was refused.
    #[error("Spoke refused the API key")]
    InvalidApiKey,
    /// 404 on a write (lookups report absence as `Ok(None)`).
    #[error("Spoke answered 404")]
    NotFound,
    /// The e-mail lookup endpoint is not supported (400 or 405): fall back to search.
    #[error("Spoke does not support this lookup (HTTP {status})")]
    Unsupported {
        /// HTTP status.
        status: u16,
    },
    /// A permanent refusal: 400, 402, 403 other than an invalid key, an undecodable body, another status.
    #[error("Spoke refused the call (HTTP {status:?}, code {code:?})")]
    Rejected {
        /// HTTP status, when there was a response.
        status: Option<u16>,
        /// Spoke error code.
        code: Option<i64>,
        /// Spoke error message (never a body).
        message: Option<String>,
    },
    /// 429, 5xx, timeout or transport failure still failing after the client's retries, or the deadline.
    #[error("Spoke unavailable ({kind})")]
    Unavailable {
        /// Short kind: `http 503`, `rate limited`, `timeout`, `transport`, `deadline`.
        kind: String,
        /// Attempts made.
        attempts: u32,
    },
}

impl SpokeFailure {
    /// True for failures that time or an operator may fix.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// The Spoke calls the handoff makes, on behalf of one API key. Implementations keep their own counters of
/// calls and retries so the summary line can report them.
pub trait SpokeDirectory: Send + Sync {
    /// GET `/teams/{id}`; `Ok(None)` on 404.
    fn team<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SpokeTeam>, SpokeFailure>>;
    /// GET `/teams?start=&limit=`: one page.
    fn teams_page(
        &self,
        start: u64,
        limit: u64,
    ) -> BoxFuture<'_, Result<Page<SpokeTeam>, SpokeFailure>>;
    /// GET `/users/email/{address}`; `Ok(None)` on 404; [`SpokeFailure::Unsupported`] on 400/405.
    fn user_by_email<'a>(
        &'a self,
        email: &'a str,
    ) -> BoxFuture<'a, Result<Option<SpokeUser>, SpokeFailure>>;
    /// GET `/users?q=&start=&limit=`: one page.
    fn search_users<'a>(
        &'a self,
        query: &'a str,
        start: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<Page<SpokeUser>, SpokeFailure>>;
    /// PATCH `/teams/{id}` with exactly
    /// `{"settings": {"delegation": {"strategy": "SPECIFIC_USER", "specificUser": user_id}}}`; the updated team.
    fn set_specific_user<'a>(
        &'a self,
        team_id: &'a str,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<SpokeTeam, SpokeFailure>>;
    /// Retries the client made so far (429 and transient failures), across all calls on this handle.
    fn retries(&self) -> u32;
}

/// Builds a [`SpokeDirectory`] for one API key and one deadline (the Lambda's remaining time minus the
/// margin reserved for Slack). Cheap: the HTTP connection pool is shared.
pub trait SpokeConnector: Send + Sync {
    /// A directory using `api_key`, whose calls never start a wait or attempt ending after `deadline`.
    fn connect(
        &self,
        api_key: SecretString,
        deadline: Option<tokio::time::Instant>,
    ) -> Arc<dyn SpokeDirectory>;
}

/// Why a Slack webhook post failed. Never carries the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Slack webhook post failed: {reason}")]
pub struct PostFailure {
    /// 429, 5xx, timeout or transport still failing after the poster's own retry.
    pub transient: bool,
    /// Short reason, e.g. `no_service`, `http 500`, `timeout`.
    pub reason: String,
}

/// Posts one incoming-webhook JSON payload. Implementations retry once on 429 (honouring `Retry-After`) and
/// on 5xx/timeouts, and never log or return the URL.
pub trait WebhookPoster: Send + Sync {
    /// POST `payload` to the webhook `url`.
    fn post<'a>(
        &'a self,
        url: &'a SecretString,
        payload: &'a Value,
    ) -> BoxFuture<'a, Result<(), PostFailure>>;
}

/// Why the secret could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret unavailable: {reason}")]
pub struct SecretReadError {
    /// What went wrong, without the value.
    pub reason: String,
}

/// Where the service's JSON secret comes from (Secrets Manager, or a file for local runs).
pub trait SecretSource: Send + Sync {
    /// The secret JSON. `fresh = true` bypasses any cache (used after Spoke refused the key).
    fn read(&self, fresh: bool) -> BoxFuture<'_, Result<Value, SecretReadError>>;
}

/// A redacted marker used in Debug output of types that hold credentials.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}
