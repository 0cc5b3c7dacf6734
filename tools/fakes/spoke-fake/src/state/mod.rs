//! The fake's in-memory state and the behaviour of every endpoint as plain functions over it, one module per
//! resource (users, teams, requests, request types and tags); `seed` builds the state from a seed document.
//! Handlers in `api.rs` only parse HTTP and render these results; the README lists the behaviour.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

/// An API error the fake answers with (README, "Behaviour").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// 400 `{"code": 11008}`.
    BadRequest,
    /// 403 `{"code": 11038}`.
    InvalidKey,
    /// 403 `{"code": 99001}` (invented by the fake, A2/A4/F11).
    Forbidden,
    /// 404 `{"code": 11003}`.
    NotFound,
}

impl ApiError {
    pub(crate) fn status(&self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::InvalidKey | Self::Forbidden => 403,
            Self::NotFound => 404,
        }
    }

    pub(crate) fn body(&self) -> Value {
        match self {
            Self::BadRequest => json!({"code": 11008, "message": "The request was malformed."}),
            Self::InvalidKey => json!({
                "code": 11038,
                "message": "API Key invalid. Use the Api-Key header to pass your key."
            }),
            Self::Forbidden => json!({"code": 99001, "message": "Forbidden"}),
            Self::NotFound => {
                json!({"code": 11003, "message": "The requested item could not be found."})
            }
        }
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// One write call: who makes it, its JSON body, the fake-clock time, and whether an `ignoreWrite` fault applies
/// (the change is validated but not applied).
#[derive(Debug, Clone)]
pub(crate) struct Write {
    pub(crate) caller: String,
    pub(crate) body: Value,
    pub(crate) now: String,
    pub(crate) ignore: bool,
}

impl Write {
    /// `(caller, body, now, ignore)`.
    fn parts(&self) -> (&str, &Value, &str, bool) {
        (&self.caller, &self.body, &self.now, self.ignore)
    }
}

mod catalog;
mod query;
mod requests;
mod seed;
mod teams;
mod users;

pub(crate) use query::ListQuery;

/// A form field of a request type.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FormField {
    uuid: String,
    #[serde(rename = "type", default = "default_field_type")]
    field_type: String,
    label: String,
    #[serde(default)]
    select: Option<Value>,
}

fn default_field_type() -> String {
    "TEXT".to_owned()
}

#[derive(Debug, Clone)]
struct UserRec {
    id: String,
    email: String,
    display_name: String,
    role: String,
    status: String,
    created_at: String,
}

#[derive(Debug, Clone)]
struct AgentRec {
    user: String,
    status: String,
    team_role: String,
    joined_at: String,
    last_assigned_at: Option<String>,
    /// Order of the last auto-assignment (the clock may stand still between calls).
    assigned_seq: u64,
}

#[derive(Debug, Clone)]
struct TeamRec {
    id: String,
    name: String,
    slug: String,
    status: String,
    owner: Option<String>,
    description: Option<String>,
    agents: Vec<AgentRec>,
    strategy: String,
    specific_user: Option<String>,
    excluded_users: Vec<String>,
    flags: BTreeMap<String, Value>,
    created_at: String,
    updated_at: String,
}

#[derive(Debug, Clone)]
struct RequestTypeRec {
    id: String,
    title: String,
    team: Option<String>,
    status: String,
    description: Option<String>,
    fields: Vec<FormField>,
    created_at: String,
}

#[derive(Debug, Clone)]
struct TagRec {
    id: String,
    text: String,
    color: String,
    status: String,
}

#[derive(Debug, Clone)]
struct AnswerRec {
    uuid: String,
    field_id: String,
    value: String,
    owner: String,
}

#[derive(Debug, Clone)]
struct RequestRec {
    id: String,
    number: u64,
    subject: String,
    body: Option<String>,
    status: String,
    privacy_level: String,
    requester: String,
    owner: Option<String>,
    team: Option<String>,
    request_type: Option<String>,
    tags: Vec<String>,
    answers: Vec<AnswerRec>,
    created_at: String,
    updated_at: String,
    last_resolved_at: Option<String>,
}

#[derive(Debug, Clone)]
struct MessageRec {
    id: String,
    request: String,
    kind: Option<String>,
    reference: Option<String>,
    text: String,
    created_at: String,
}

/// The whole store.
#[derive(Debug, Clone)]
pub(crate) struct Data {
    org: String,
    keys: Vec<(String, String)>,
    users: Vec<UserRec>,
    teams: Vec<TeamRec>,
    request_types: Vec<RequestTypeRec>,
    tags: Vec<TagRec>,
    requests: Vec<RequestRec>,
    messages: Vec<MessageRec>,
    next_number: u64,
    next_id: u64,
    assign_seq: u64,
    /// Private requests hidden from keys not involved (README, "Privacy"); off by default.
    strict_privacy: bool,
}

const STRATEGIES: &[&str] = &["SPECIFIC_USER", "ROUND_ROBIN", "SMART_ASSIGNMENT"];
const REQUEST_STATUSES: &[&str] = &["OPEN", "PENDING", "LOCKED", "RESOLVED", "AUTO_RESOLVED"];
/// The statuses `PATCH /requests/{id}` accepts: the OpenAPI's `RequestPatchBody.status` is a
/// `RequestStatus`, which lists only these (`PENDING` and `LOCKED` are list filters, not settable).
const PATCH_STATUSES: &[&str] = &["OPEN", "RESOLVED", "AUTO_RESOLVED"];
const PRIVACY: &[&str] = &["private", "public"];
const FILTERS: &[&str] = &["inbox", "unassigned", "sent"];
const REQUEST_SORTS: &[&str] = &[
    "updated",
    "updatedFirst",
    "createdLast",
    "createdFirst",
    "slaAscending",
];
const REQUEST_TYPE_SORTS: &[&str] = &["createdLast", "createdFirst", "updated", "text"];
const SEED_TIME: &str = "2026-01-05T09:00:00.000Z";

fn is_id_like(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Formats a time as Spoke does: ISO-8601 UTC with milliseconds.
pub(crate) fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Data {
    fn fresh_id(&mut self, prefix: &str) -> String {
        let n = self.next_id;
        self.next_id += 1;
        format!("{prefix}{n:0width$x}", width = 24 - prefix.len())
    }

    fn fresh_uuid(&mut self) -> String {
        let n = self.next_id;
        self.next_id += 1;
        format!("a1a1a1a1-0000-4000-8000-{n:012x}")
    }

    /// The user behind an API key (F1).
    pub(crate) fn caller(&self, key: Option<&str>) -> ApiResult<String> {
        let key = key.ok_or(ApiError::InvalidKey)?;
        self.keys
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, u)| u.clone())
            .ok_or(ApiError::InvalidKey)
    }

    fn user(&self, id: &str) -> Option<&UserRec> {
        self.users.iter().find(|u| u.id == id)
    }

    fn is_admin(&self, user: &str) -> bool {
        self.user(user).is_some_and(|u| {
            u.role.eq_ignore_ascii_case("ADMIN") || u.role.eq_ignore_ascii_case("OWNER")
        })
    }

    fn team(&self, id: &str) -> Option<&TeamRec> {
        self.teams.iter().find(|t| t.id == id)
    }

    /// Turns strict privacy on or off (the seed's `strictPrivacy` comes back on reset).
    pub(crate) fn set_strict_privacy(&mut self, strict: bool) {
        self.strict_privacy = strict;
    }

    /// The whole store as JSON for `GET /__fake/state`; API keys redacted.
    pub(crate) fn state_json(&self) -> Value {
        json!({
            "org": self.org,
            "strictPrivacy": self.strict_privacy,
            "apiKeys": self.keys.iter().map(|(_, u)| json!({"key": "[REDACTED]", "user": u})).collect::<Vec<_>>(),
            "users": self.users.iter().map(|u| self.render_user(u)).collect::<Vec<_>>(),
            "teams": self.teams.iter().map(|t| self.render_team(t)).collect::<Vec<_>>(),
            "requestTypes": self.request_types.iter().map(|rt| self.render_request_type(rt)).collect::<Vec<_>>(),
            "tags": self.tags.iter().map(|t| self.render_tag(t)).collect::<Vec<_>>(),
            "requests": self.requests.iter().map(|r| self.render_request(r)).collect::<Vec<_>>(),
            "messages": self.messages.iter().map(Self::render_message).collect::<Vec<_>>(),
        })
    }

    /// The request `id` as the API renders it.
    pub(crate) fn request_json(&self, id: &str) -> Option<Value> {
        self.requests
            .iter()
            .find(|r| r.id == id)
            .map(|r| self.render_request(r))
    }

    /// The team `id` as the API renders it.
    pub(crate) fn team_json(&self, id: &str) -> Option<Value> {
        self.team(id).map(|t| self.render_team(t))
    }

    /// Messages posted on request `id`.
    pub(crate) fn messages_json(&self, id: &str) -> Vec<Value> {
        self.messages
            .iter()
            .filter(|m| m.request == id)
            .map(Self::render_message)
            .collect()
    }

    /// How many requests exist.
    pub(crate) fn request_count(&self) -> usize {
        self.requests.len()
    }
}
