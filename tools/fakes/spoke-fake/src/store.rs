//! The fake's in-memory state, its seed format (spec §10.1) and the behaviour of every endpoint (§10.2,
//! §10.3) as plain functions over it. Handlers in `api.rs` only parse HTTP and render these results.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// An API error the fake answers with (spec §10.2 F1–F3, §10.3).
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

// ------------------------------------------------------------------------------------------------ seed

/// The seed document (spec §10.1). Unknown keys are ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Seed {
    #[serde(default = "default_org")]
    org: String,
    #[serde(default)]
    api_keys: Vec<SeedKey>,
    #[serde(default)]
    users: Vec<SeedUser>,
    #[serde(default)]
    teams: Vec<SeedTeam>,
    #[serde(default)]
    request_types: Vec<SeedRequestType>,
    #[serde(default)]
    tags: Vec<SeedTag>,
    #[serde(default)]
    requests: Vec<SeedRequest>,
    /// The permalink number of the first request created through the API (default 1000).
    #[serde(default)]
    next_request_number: Option<u64>,
}

fn default_org() -> String {
    "example".to_owned()
}

#[derive(Debug, Clone, Deserialize)]
struct SeedKey {
    key: String,
    user: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedUser {
    id: String,
    email: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedAgent {
    user: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    team_role: Option<String>,
    #[serde(default)]
    joined_at: Option<String>,
    #[serde(default)]
    last_assigned_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedTeam {
    id: String,
    name: String,
    #[serde(default)]
    slug: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    agents: Vec<SeedAgent>,
    #[serde(default)]
    settings: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedRequestType {
    id: String,
    title: String,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    form: Option<SeedForm>,
}

#[derive(Debug, Clone, Deserialize)]
struct SeedForm {
    #[serde(default)]
    fields: Vec<FormField>,
}

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

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedTag {
    id: String,
    text: String,
    #[serde(default)]
    color: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedRequest {
    id: String,
    subject: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    privacy_level: Option<String>,
    requester: String,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    request_type: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    /// Answers in the request shape: `[{"fieldId": ..., "value": ...}]`.
    #[serde(default)]
    answers: Vec<SeedAnswer>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedAnswer {
    field_id: String,
    value: String,
}

// ------------------------------------------------------------------------------------------------ state

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
}

const STRATEGIES: &[&str] = &["SPECIFIC_USER", "ROUND_ROBIN", "SMART_ASSIGNMENT"];
const REQUEST_STATUSES: &[&str] = &["OPEN", "PENDING", "LOCKED", "RESOLVED", "AUTO_RESOLVED"];
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

/// Formats a time as Spoke does: ISO-8601 UTC with milliseconds.
pub(crate) fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn is_id_like(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl Data {
    /// Builds the store from a seed document.
    pub(crate) fn from_seed(seed: &Value) -> Result<Self, String> {
        let seed: Seed =
            serde_json::from_value(seed.clone()).map_err(|e| format!("invalid seed: {e}"))?;
        let users: Vec<UserRec> = seed
            .users
            .iter()
            .map(|u| UserRec {
                id: u.id.clone(),
                email: u.email.clone(),
                display_name: u.display_name.clone().unwrap_or_else(|| u.email.clone()),
                role: u.role.clone().unwrap_or_else(|| "MEMBER".to_owned()),
                status: u.status.clone().unwrap_or_else(|| "ACTIVE".to_owned()),
                created_at: u.created_at.clone().unwrap_or_else(|| SEED_TIME.to_owned()),
            })
            .collect();
        let known = |id: &str| users.iter().any(|u| u.id == id);
        for key in &seed.api_keys {
            if !known(&key.user) {
                return Err(format!("api key for unknown user {}", key.user));
            }
        }
        let mut teams = Vec::new();
        for t in &seed.teams {
            let settings = t.settings.clone().unwrap_or_else(|| json!({}));
            let delegation = settings.get("delegation").cloned().unwrap_or_default();
            let strategy = delegation
                .get("strategy")
                .and_then(Value::as_str)
                .unwrap_or("ROUND_ROBIN")
                .to_owned();
            if !STRATEGIES.contains(&strategy.as_str()) {
                return Err(format!("team {}: unknown strategy {strategy}", t.id));
            }
            let mut agents = Vec::new();
            for a in &t.agents {
                if !known(&a.user) {
                    return Err(format!("team {}: unknown agent {}", t.id, a.user));
                }
                agents.push(AgentRec {
                    user: a.user.clone(),
                    status: a.status.clone().unwrap_or_else(|| "AVAILABLE".to_owned()),
                    team_role: a.team_role.clone().unwrap_or_else(|| "AGENT".to_owned()),
                    joined_at: a.joined_at.clone().unwrap_or_else(|| SEED_TIME.to_owned()),
                    last_assigned_at: a.last_assigned_at.clone(),
                    assigned_seq: 0,
                });
            }
            let flags = settings
                .get("flags")
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            teams.push(TeamRec {
                id: t.id.clone(),
                name: t.name.clone(),
                slug: t
                    .slug
                    .clone()
                    .unwrap_or_else(|| t.name.to_ascii_lowercase().replace(' ', "-")),
                status: t.status.clone().unwrap_or_else(|| "ACTIVE".to_owned()),
                owner: t
                    .owner
                    .clone()
                    .or_else(|| t.agents.first().map(|a| a.user.clone())),
                description: t.description.clone(),
                agents,
                specific_user: delegation
                    .get("specificUser")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty() && strategy == "SPECIFIC_USER")
                    .map(str::to_owned),
                excluded_users: delegation
                    .get("excludedUsers")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                strategy,
                flags,
                created_at: SEED_TIME.to_owned(),
                updated_at: SEED_TIME.to_owned(),
            });
        }
        let request_types = seed
            .request_types
            .iter()
            .map(|rt| RequestTypeRec {
                id: rt.id.clone(),
                title: rt.title.clone(),
                team: rt.team.clone(),
                status: rt.status.clone().unwrap_or_else(|| "ACTIVE".to_owned()),
                description: rt.description.clone(),
                fields: rt
                    .form
                    .as_ref()
                    .map(|f| f.fields.clone())
                    .unwrap_or_default(),
                created_at: SEED_TIME.to_owned(),
            })
            .collect();
        let tags = seed
            .tags
            .iter()
            .map(|t| TagRec {
                id: t.id.clone(),
                text: t.text.clone(),
                color: t.color.clone().unwrap_or_else(|| "blue".to_owned()),
                status: t.status.clone().unwrap_or_else(|| "ACTIVE".to_owned()),
            })
            .collect();
        let mut data = Self {
            org: seed.org.clone(),
            keys: seed
                .api_keys
                .iter()
                .map(|k| (k.key.clone(), k.user.clone()))
                .collect(),
            users,
            teams,
            request_types,
            tags,
            requests: Vec::new(),
            messages: Vec::new(),
            next_number: seed.next_request_number.unwrap_or(1000),
            next_id: 1,
            assign_seq: 0,
        };
        for (i, r) in seed.requests.iter().enumerate() {
            let created = r.created_at.clone().unwrap_or_else(|| SEED_TIME.to_owned());
            let answers = r
                .answers
                .iter()
                .map(|a| AnswerRec {
                    uuid: data.fresh_uuid(),
                    field_id: a.field_id.clone(),
                    value: a.value.clone(),
                    owner: r.requester.clone(),
                })
                .collect();
            data.requests.push(RequestRec {
                id: r.id.clone(),
                number: u64::try_from(i).unwrap_or(0) + 1,
                subject: r.subject.clone(),
                body: r.body.clone(),
                status: r.status.clone().unwrap_or_else(|| "OPEN".to_owned()),
                privacy_level: r
                    .privacy_level
                    .clone()
                    .unwrap_or_else(|| "public".to_owned()),
                requester: r.requester.clone(),
                owner: r.owner.clone(),
                team: r.team.clone(),
                request_type: r.request_type.clone(),
                tags: r.tags.clone(),
                answers,
                updated_at: r.updated_at.clone().unwrap_or_else(|| created.clone()),
                created_at: created,
                last_resolved_at: None,
            });
        }
        Ok(data)
    }

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

    // ------------------------------------------------------------------------------------ rendering

    fn render_user(&self, u: &UserRec) -> Value {
        json!({
            "_id": u.id, "id": u.id,
            "displayName": u.display_name,
            "email": u.email,
            "isEmailVerified": true,
            "isProfileCompleted": true,
            "profile": {"locale": "en-US", "isManager": false},
            "memberships": [{"org": self.org, "status": u.status, "role": u.role}],
            "createdAt": u.created_at,
            "cdcTransactionId": format!("cdc-{}", u.id),
        })
    }

    fn render_user_ref(&self, id: &str) -> Value {
        match self.user(id) {
            Some(u) => {
                json!({"_id": u.id, "id": u.id, "displayName": u.display_name, "email": u.email})
            }
            None => json!({"_id": id, "id": id}),
        }
    }

    fn render_team(&self, t: &TeamRec) -> Value {
        let mut delegation = Map::new();
        delegation.insert("strategy".into(), json!(t.strategy));
        if t.strategy == "SPECIFIC_USER"
            && let Some(u) = &t.specific_user
        {
            delegation.insert("specificUser".into(), json!(u));
        }
        if t.strategy == "ROUND_ROBIN" {
            delegation.insert("excludedUsers".into(), json!(t.excluded_users));
        }
        let agents: Vec<Value> = t
            .agents
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let mut agent = json!({
                    "_id": format!("60aa{:020x}", i + 1),
                    "status": a.status,
                    "teamRole": a.team_role,
                    "joinedAt": a.joined_at,
                    "user": self.render_user_ref(&a.user),
                    "isExcluded": t.excluded_users.contains(&a.user),
                });
                if let (Some(at), Some(obj)) = (&a.last_assigned_at, agent.as_object_mut()) {
                    obj.insert("lastAssignedAt".into(), json!(at));
                }
                agent
            })
            .collect();
        let mut team = json!({
            "_id": t.id, "id": t.id,
            "name": t.name,
            "slug": t.slug,
            "status": t.status,
            "org": self.org,
            "permalink": format!("https://{}.askspoke.com/teams/{}", self.org, t.slug),
            "email": format!("{}@{}.askspoke.com", t.slug, self.org),
            "teamType": "STANDARD",
            "canRoute": true,
            "settings": {"delegation": delegation, "flags": t.flags},
            "agentList": agents,
            "createdAt": t.created_at,
            "updatedAt": t.updated_at,
        });
        if let Some(obj) = team.as_object_mut() {
            if let Some(owner) = &t.owner {
                obj.insert("owner".into(), json!(owner));
            }
            if let Some(d) = &t.description {
                obj.insert("description".into(), json!(d));
            }
        }
        team
    }

    fn field_of(&self, request_type: Option<&str>, field_id: &str) -> Option<&FormField> {
        self.request_types
            .iter()
            .filter(|rt| request_type.is_none_or(|id| rt.id == id))
            .flat_map(|rt| rt.fields.iter())
            .find(|f| f.uuid == field_id)
    }

    fn render_request(&self, r: &RequestRec) -> Value {
        let mut obj = Map::new();
        for (k, v) in [
            ("_id", json!(r.id)),
            ("id", json!(r.id)),
            ("subject", json!(r.subject)),
            ("status", json!(r.status)),
            ("privacyLevel", json!(r.privacy_level)),
            ("requester", json!(r.requester)),
            ("org", json!(self.org)),
            ("tags", json!(r.tags)),
            (
                "permalink",
                json!(format!(
                    "https://{}.askspoke.com/next/requests/{}",
                    self.org, r.number
                )),
            ),
            (
                "email",
                json!(format!("request-{}@{}.askspoke.com", r.id, self.org)),
            ),
            ("createdAt", json!(r.created_at)),
            ("updatedAt", json!(r.updated_at)),
            ("isAutoResolved", json!(r.status == "AUTO_RESOLVED")),
            ("isFiled", json!(true)),
            ("canRoute", json!(true)),
            (
                "cdcTransactionId",
                json!(format!("cdc-{}-{}", r.id, r.updated_at)),
            ),
        ] {
            obj.insert(k.into(), v);
        }
        for (k, v) in [
            ("body", r.body.as_ref()),
            ("owner", r.owner.as_ref()),
            ("team", r.team.as_ref()),
            ("requestType", r.request_type.as_ref()),
            ("lastResolvedAt", r.last_resolved_at.as_ref()),
        ] {
            if let Some(v) = v {
                obj.insert(k.into(), json!(v));
            }
        }
        if r.request_type.is_some() || !r.answers.is_empty() {
            let answered: Vec<Value> = r
                .answers
                .iter()
                .map(|a| {
                    let field = self.field_of(r.request_type.as_deref(), &a.field_id);
                    json!({
                        "uuid": a.uuid,
                        "simpleValue": a.value,
                        "owner": a.owner,
                        "field": {
                            "uuid": a.field_id,
                            "type": field.map_or("TEXT", |f| f.field_type.as_str()),
                            "label": field.map_or("", |f| f.label.as_str()),
                        }
                    })
                })
                .collect();
            obj.insert(
                "requestTypeInfo".into(),
                json!({"answeredFields": answered}),
            );
        }
        Value::Object(obj)
    }

    fn render_request_type(&self, rt: &RequestTypeRec) -> Value {
        let fields: Vec<Value> = rt
            .fields
            .iter()
            .map(|f| {
                let mut v = json!({"uuid": f.uuid, "type": f.field_type, "label": f.label});
                if let (Some(select), Some(obj)) = (&f.select, v.as_object_mut()) {
                    obj.insert("select".into(), select.clone());
                }
                v
            })
            .collect();
        let mut v = json!({
            "_id": rt.id, "id": rt.id,
            "title": rt.title,
            "status": rt.status,
            "org": self.org,
            "hasForm": !rt.fields.is_empty(),
            "form": {"fields": fields},
            "createdAt": rt.created_at,
            "updatedAt": rt.created_at,
        });
        if let Some(obj) = v.as_object_mut() {
            if let Some(team) = &rt.team {
                obj.insert("team".into(), json!(team));
            }
            if let Some(d) = &rt.description {
                obj.insert("description".into(), json!(d));
            }
        }
        v
    }

    fn render_tag(&self, t: &TagRec) -> Value {
        json!({"_id": t.id, "id": t.id, "text": t.text, "color": t.color, "status": t.status, "org": self.org})
    }

    fn render_message(m: &MessageRec) -> Value {
        json!({
            "_id": m.id,
            "id": m.id,
            "request": m.request,
            "actor": {"kind": m.kind, "ref": m.reference},
            "content": {"message": {"text": m.text}},
            "createdAt": m.created_at,
        })
    }

    /// The whole store as JSON for `GET /__fake/state`; API keys redacted.
    pub(crate) fn state_json(&self) -> Value {
        json!({
            "org": self.org,
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

    // ------------------------------------------------------------------------------------ reads

    pub(crate) fn whoami(&self, caller: &str) -> Value {
        let u = self.user(caller);
        json!({
            "org": self.org,
            "user": caller,
            "displayName": u.map_or("", |u| u.display_name.as_str()),
            "role": u.map_or("MEMBER", |u| u.role.as_str()),
            "status": u.map_or("ACTIVE", |u| u.status.as_str()),
        })
    }

    pub(crate) fn user_by_email(&self, address: &str) -> ApiResult<Value> {
        let address = address.trim();
        self.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(address))
            .map(|u| self.render_user(u))
            .ok_or(ApiError::NotFound)
    }

    pub(crate) fn get_user(&self, id: &str) -> ApiResult<Value> {
        self.user(id)
            .map(|u| self.render_user(u))
            .ok_or(ApiError::NotFound)
    }

    pub(crate) fn list_users(&self, q: &ListQuery, cap: Option<u64>) -> ApiResult<Value> {
        let status = q.one_of("status", &["ACTIVE", "INVITED"])?;
        let needle = q.get("q").map(str::to_lowercase);
        let team = match q.get("team") {
            Some(id) => Some(self.team(id).ok_or(ApiError::BadRequest)?),
            None => None,
        };
        let mut users: Vec<&UserRec> = self
            .users
            .iter()
            .filter(|u| {
                needle.as_deref().is_none_or(|n| {
                    u.email.to_lowercase().contains(n) || u.display_name.to_lowercase().contains(n)
                })
            })
            .filter(|u| status.is_none_or(|s| u.status == s))
            .filter(|u| team.is_none_or(|t| t.agents.iter().any(|a| a.user == u.id)))
            .collect();
        users.sort_by(|a, b| {
            a.email
                .to_lowercase()
                .cmp(&b.email.to_lowercase())
                .then(a.id.cmp(&b.id))
        });
        let items: Vec<Value> = users.into_iter().map(|u| self.render_user(u)).collect();
        q.envelope(items, 10, cap, "limit")
    }

    pub(crate) fn list_teams(&self, q: &ListQuery, cap: Option<u64>) -> ApiResult<Value> {
        let needle = q.get("q").map(str::to_lowercase);
        let slugs: Option<Vec<String>> = q.list("slug");
        let mut teams: Vec<&TeamRec> = self
            .teams
            .iter()
            .filter(|t| {
                needle
                    .as_deref()
                    .is_none_or(|n| t.name.to_lowercase().contains(n))
            })
            .filter(|t| {
                slugs
                    .as_ref()
                    .is_none_or(|s| s.iter().any(|s| s == &t.slug))
            })
            .collect();
        teams.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.id.cmp(&b.id))
        });
        let items = teams.into_iter().map(|t| self.render_team(t)).collect();
        q.envelope(items, 25, cap, "limit")
    }

    pub(crate) fn get_team(&self, id: &str) -> ApiResult<Value> {
        self.team_json(id).ok_or(ApiError::NotFound)
    }

    pub(crate) fn list_requests(
        &self,
        caller: &str,
        q: &ListQuery,
        cap: Option<u64>,
    ) -> ApiResult<Value> {
        let filter = q.one_of("filter", FILTERS)?.unwrap_or("inbox");
        let statuses = match q.list("status") {
            Some(list) => {
                if list.iter().any(|s| !REQUEST_STATUSES.contains(&s.as_str())) {
                    return Err(ApiError::BadRequest);
                }
                list
            }
            None => vec!["OPEN".to_owned()],
        };
        let sort = q.one_of("sort", REQUEST_SORTS)?.unwrap_or("updated");
        let tags = q.list("tag");
        let needle = q
            .get("q")
            .map(|s| s.trim().trim_matches('"').to_lowercase());
        let mut requests: Vec<&RequestRec> = self
            .requests
            .iter()
            .filter(|r| match filter {
                "unassigned" => r.owner.is_none(),
                "sent" => r.requester == caller,
                _ => {
                    r.owner.as_deref() == Some(caller)
                        || r.team
                            .as_deref()
                            .and_then(|t| self.team(t))
                            .is_some_and(|t| t.agents.iter().any(|a| a.user == caller))
                }
            })
            .filter(|r| statuses.iter().any(|s| s == &r.status))
            .filter(|r| q.get("team").is_none_or(|t| r.team.as_deref() == Some(t)))
            .filter(|r| {
                tags.as_ref().is_none_or(|tags| {
                    tags.iter().any(|t| {
                        if t == "none" {
                            r.tags.is_empty()
                        } else {
                            r.tags.contains(t)
                        }
                    })
                })
            })
            .filter(|r| {
                needle.as_deref().is_none_or(|n| {
                    r.subject.to_lowercase().contains(n)
                        || r.body
                            .as_deref()
                            .is_some_and(|b| b.to_lowercase().contains(n))
                        || r.answers.iter().any(|a| a.value.to_lowercase().contains(n))
                })
            })
            .collect();
        requests.sort_by(|a, b| {
            let order = match sort {
                "updatedFirst" => a.updated_at.cmp(&b.updated_at),
                "createdLast" => b.created_at.cmp(&a.created_at),
                "createdFirst" | "slaAscending" => a.created_at.cmp(&b.created_at),
                _ => b.updated_at.cmp(&a.updated_at),
            };
            order.then(a.id.cmp(&b.id))
        });
        let items = requests
            .into_iter()
            .map(|r| self.render_request(r))
            .collect();
        q.envelope(items, 25, cap, "limit")
    }

    pub(crate) fn get_request(&self, id: &str) -> ApiResult<Value> {
        self.request_json(id).ok_or(ApiError::NotFound)
    }

    pub(crate) fn list_request_types(&self, q: &ListQuery, cap: Option<u64>) -> ApiResult<Value> {
        let sort = q.one_of("sort", REQUEST_TYPE_SORTS)?;
        let needle = q.get("q").map(str::to_lowercase);
        let mut types: Vec<&RequestTypeRec> = self
            .request_types
            .iter()
            .filter(|rt| {
                needle
                    .as_deref()
                    .is_none_or(|n| rt.title.to_lowercase().contains(n))
            })
            .filter(|rt| q.get("team").is_none_or(|t| rt.team.as_deref() == Some(t)))
            .collect();
        match sort {
            Some("createdLast") => {
                types.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)))
            }
            Some("createdFirst" | "updated") => {
                types.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
            }
            _ => types.sort_by(|a, b| {
                a.title
                    .to_lowercase()
                    .cmp(&b.title.to_lowercase())
                    .then(a.id.cmp(&b.id))
            }),
        }
        let items = types
            .into_iter()
            .map(|rt| self.render_request_type(rt))
            .collect();
        q.envelope(items, 25, cap, "limit")
    }

    pub(crate) fn get_request_type(&self, id: &str) -> ApiResult<Value> {
        self.request_types
            .iter()
            .find(|rt| rt.id == id)
            .map(|rt| self.render_request_type(rt))
            .ok_or(ApiError::NotFound)
    }

    pub(crate) fn list_tags(&self, q: &ListQuery, cap: Option<u64>) -> ApiResult<Value> {
        let needle = q.get("q").map(str::to_lowercase);
        let ids = q.list("tagId");
        let mut tags: Vec<&TagRec> = self
            .tags
            .iter()
            .filter(|t| {
                needle
                    .as_deref()
                    .is_none_or(|n| t.text.to_lowercase().contains(n))
            })
            .filter(|t| ids.as_ref().is_none_or(|ids| ids.contains(&t.id)))
            .collect();
        tags.sort_by(|a, b| {
            a.text
                .to_lowercase()
                .cmp(&b.text.to_lowercase())
                .then(a.id.cmp(&b.id))
        });
        let items = tags.into_iter().map(|t| self.render_tag(t)).collect();
        q.envelope(items, 25, cap, "count")
    }

    // ------------------------------------------------------------------------------------ writes

    /// E7 (F8, A2, A3). With `ignore` the change is validated but not applied (`ignoreWrite`).
    pub(crate) fn patch_team(
        &mut self,
        caller: &str,
        id: &str,
        body: &Value,
        now: &str,
        ignore: bool,
    ) -> ApiResult<Value> {
        let body = body.as_object().ok_or(ApiError::BadRequest)?;
        let admin = self.is_admin(caller);
        let team = self.team(id).ok_or(ApiError::NotFound)?;
        if !admin && !team.agents.iter().any(|a| a.user == caller) {
            return Err(ApiError::Forbidden);
        }
        let mut next = team.clone();
        if let Some(settings) = body.get("settings") {
            let settings = settings.as_object().ok_or(ApiError::BadRequest)?;
            if let Some(delegation) = settings.get("delegation") {
                let delegation = delegation.as_object().ok_or(ApiError::BadRequest)?;
                if let Some(strategy) = delegation.get("strategy") {
                    let strategy = strategy.as_str().ok_or(ApiError::BadRequest)?;
                    if !STRATEGIES.contains(&strategy) {
                        return Err(ApiError::BadRequest);
                    }
                    next.strategy = strategy.to_owned();
                }
                if let Some(user) = delegation.get("specificUser") {
                    next.specific_user = match user {
                        Value::Null => None,
                        Value::String(s) if s.is_empty() => None,
                        Value::String(s) => Some(s.clone()),
                        _ => return Err(ApiError::BadRequest),
                    };
                }
                if let Some(excluded) = delegation.get("excludedUsers") {
                    let list = excluded.as_array().ok_or(ApiError::BadRequest)?;
                    next.excluded_users = list
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned).ok_or(ApiError::BadRequest))
                        .collect::<ApiResult<_>>()?;
                }
            }
            if let Some(flags) = settings.get("flags") {
                let flags = flags.as_object().ok_or(ApiError::BadRequest)?;
                for (k, v) in flags {
                    if !v.is_boolean() {
                        return Err(ApiError::BadRequest);
                    }
                    next.flags.insert(k.clone(), v.clone());
                }
            }
        }
        if next.strategy != "SPECIFIC_USER" {
            next.specific_user = None;
        } else {
            let user = next.specific_user.as_deref().ok_or(ApiError::BadRequest)?;
            if !next.agents.iter().any(|a| a.user == user) {
                return Err(ApiError::BadRequest);
            }
        }
        if ignore {
            return Ok(self.render_team(team));
        }
        next.updated_at = now.to_owned();
        let rendered = self.render_team(&next);
        if let Some(slot) = self.teams.iter_mut().find(|t| t.id == id) {
            *slot = next;
        }
        Ok(rendered)
    }

    fn answers_from(
        &mut self,
        info: Option<&Value>,
        request_type: Option<&str>,
        owner: &str,
    ) -> ApiResult<Vec<AnswerRec>> {
        let Some(info) = info else {
            return Ok(Vec::new());
        };
        let fields = info
            .get("answeredFields")
            .and_then(Value::as_array)
            .ok_or(ApiError::BadRequest)?;
        let mut answers = Vec::new();
        for f in fields {
            let field_id = f
                .get("fieldId")
                .and_then(Value::as_str)
                .ok_or(ApiError::BadRequest)?;
            let value = match f.get("value") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => b.to_string(),
                _ => return Err(ApiError::BadRequest),
            };
            request_type.ok_or(ApiError::BadRequest)?;
            self.field_of(request_type, field_id)
                .ok_or(ApiError::BadRequest)?;
            answers.push(AnswerRec {
                uuid: self.fresh_uuid(),
                field_id: field_id.to_owned(),
                value,
                owner: owner.to_owned(),
            });
        }
        Ok(answers)
    }

    /// A5: who gets a new request of `team` when no owner is given.
    fn delegate(&mut self, team: &str, now: &str) -> Option<String> {
        let team = self.teams.iter_mut().find(|t| t.id == team)?;
        if team.flags.get("AUTO_DELEGATION").and_then(Value::as_bool) != Some(true) {
            return None;
        }
        if team.strategy == "SPECIFIC_USER" {
            return team.specific_user.clone();
        }
        let excluded = team.excluded_users.clone();
        let pick = team
            .agents
            .iter_mut()
            .filter(|a| a.status == "AVAILABLE" && !excluded.contains(&a.user))
            .min_by_key(|a| a.assigned_seq)?;
        self.assign_seq += 1;
        pick.assigned_seq = self.assign_seq;
        pick.last_assigned_at = Some(now.to_owned());
        Some(pick.user.clone())
    }

    /// E9 (F9, A4, A5).
    pub(crate) fn create_request(
        &mut self,
        caller: &str,
        body: &Value,
        now: &str,
        ignore: bool,
    ) -> ApiResult<Value> {
        let body = body.as_object().ok_or(ApiError::BadRequest)?;
        let text = |k: &str| -> ApiResult<Option<String>> {
            match body.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ApiError::BadRequest),
            }
        };
        let subject = text("subject")?.ok_or(ApiError::BadRequest)?;
        let requester = text("requester")?.ok_or(ApiError::BadRequest)?;
        let owner = text("owner")?;
        let team = text("team")?;
        let request_type = text("requestType")?;
        let privacy = text("privacyLevel")?.unwrap_or_else(|| "public".to_owned());
        if !PRIVACY.contains(&privacy.as_str()) {
            return Err(ApiError::BadRequest);
        }
        if self.user(&requester).is_none() {
            return Err(ApiError::BadRequest);
        }
        if requester != caller && !self.is_admin(caller) {
            return Err(ApiError::Forbidden);
        }
        if owner.as_deref().is_some_and(|o| self.user(o).is_none())
            || team.as_deref().is_some_and(|t| self.team(t).is_none())
            || request_type
                .as_deref()
                .is_some_and(|rt| !self.request_types.iter().any(|r| r.id == rt))
        {
            return Err(ApiError::BadRequest);
        }
        let answers =
            self.answers_from(body.get("requestTypeInfo"), request_type.as_deref(), caller)?;
        let id = self.fresh_id("62c");
        let owner = match (owner, &team) {
            (Some(o), _) => Some(o),
            (None, Some(team)) => self.delegate(team, now),
            (None, None) => None,
        };
        let number = self.next_number;
        self.next_number += 1;
        let rec = RequestRec {
            id,
            number,
            subject,
            body: text("body")?,
            status: "OPEN".to_owned(),
            privacy_level: privacy,
            requester,
            owner,
            team,
            request_type,
            tags: Vec::new(),
            answers,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
            last_resolved_at: None,
        };
        let rendered = self.render_request(&rec);
        if !ignore {
            self.requests.push(rec);
        }
        Ok(rendered)
    }

    /// E11 (F10).
    pub(crate) fn patch_request(
        &mut self,
        caller: &str,
        id: &str,
        body: &Value,
        now: &str,
        ignore: bool,
    ) -> ApiResult<Value> {
        let body = body.as_object().ok_or(ApiError::BadRequest)?;
        let current = self
            .requests
            .iter()
            .find(|r| r.id == id)
            .ok_or(ApiError::NotFound)?;
        let mut next = current.clone();
        let text = |k: &str| -> ApiResult<Option<Option<String>>> {
            match body.get(k) {
                None => Ok(None),
                Some(Value::Null) => Ok(Some(None)),
                Some(Value::String(s)) if s.is_empty() => Ok(Some(None)),
                Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
                Some(_) => Err(ApiError::BadRequest),
            }
        };
        if let Some(status) = text("status")? {
            let status = status.ok_or(ApiError::BadRequest)?;
            if !REQUEST_STATUSES.contains(&status.as_str()) {
                return Err(ApiError::BadRequest);
            }
            if status == "RESOLVED" {
                next.last_resolved_at = Some(now.to_owned());
            }
            next.status = status;
        }
        if let Some(owner) = text("owner")? {
            if owner.as_deref().is_some_and(|o| self.user(o).is_none()) {
                return Err(ApiError::BadRequest);
            }
            next.owner = owner;
        }
        if let Some(subject) = text("subject")? {
            next.subject = subject.ok_or(ApiError::BadRequest)?;
        }
        if let Some(team) = text("team")? {
            if team.as_deref().is_some_and(|t| self.team(t).is_none()) {
                return Err(ApiError::BadRequest);
            }
            next.team = team;
        }
        if let Some(privacy) = text("privacyLevel")? {
            let privacy = privacy.ok_or(ApiError::BadRequest)?;
            if !PRIVACY.contains(&privacy.as_str()) {
                return Err(ApiError::BadRequest);
            }
            next.privacy_level = privacy;
        }
        let request_type = next.request_type.clone();
        for answer in
            self.answers_from(body.get("requestTypeInfo"), request_type.as_deref(), caller)?
        {
            match next
                .answers
                .iter_mut()
                .find(|a| a.field_id == answer.field_id)
            {
                Some(existing) => {
                    existing.value = answer.value;
                    existing.owner = answer.owner;
                }
                None => next.answers.push(answer),
            }
        }
        if ignore {
            return self.get_request(id);
        }
        next.updated_at = now.to_owned();
        let rendered = self.render_request(&next);
        if let Some(slot) = self.requests.iter_mut().find(|r| r.id == id) {
            *slot = next;
        }
        Ok(rendered)
    }

    /// E12 (F11).
    pub(crate) fn post_message(
        &mut self,
        caller: &str,
        id: &str,
        body: &Value,
        now: &str,
        ignore: bool,
    ) -> ApiResult<Value> {
        let body = body.as_object().ok_or(ApiError::BadRequest)?;
        if !self.requests.iter().any(|r| r.id == id) {
            return Err(ApiError::NotFound);
        }
        let actor = body
            .get("actor")
            .and_then(Value::as_object)
            .ok_or(ApiError::BadRequest)?;
        let kind = match actor.get("kind") {
            None | Some(Value::Null) => None,
            Some(Value::String(k)) if k == "User" || k == "Team" => Some(k.clone()),
            Some(_) => return Err(ApiError::BadRequest),
        };
        let reference = actor.get("ref").and_then(Value::as_str).map(str::to_owned);
        let text = body
            .get("content")
            .and_then(|c| c.get("message"))
            .and_then(|m| m.get("text"))
            .and_then(Value::as_str)
            .ok_or(ApiError::BadRequest)?;
        if text.trim().is_empty() {
            return Err(ApiError::BadRequest);
        }
        match kind.as_deref() {
            Some("User") if reference.as_deref() != Some(caller) => {
                return Err(ApiError::Forbidden);
            }
            Some("Team") if reference.as_deref().is_none_or(|t| self.team(t).is_none()) => {
                return Err(ApiError::BadRequest);
            }
            _ => {}
        }
        let rec = MessageRec {
            id: self.fresh_id("64e"),
            request: id.to_owned(),
            kind,
            reference,
            text: text.to_owned(),
            created_at: now.to_owned(),
        };
        let rendered = Self::render_message(&rec);
        if !ignore {
            self.messages.push(rec);
            if let Some(r) = self.requests.iter_mut().find(|r| r.id == id) {
                r.updated_at = now.to_owned();
            }
        }
        Ok(rendered)
    }

    /// E13 (F12, A7).
    pub(crate) fn add_tags(
        &mut self,
        id: &str,
        body: &Value,
        now: &str,
        ignore: bool,
    ) -> ApiResult<()> {
        let tags = body
            .get("tags")
            .and_then(Value::as_array)
            .ok_or(ApiError::BadRequest)?;
        let ids: Vec<String> = tags
            .iter()
            .map(|t| {
                t.get("_id")
                    .and_then(Value::as_str)
                    .filter(|s| is_id_like(s))
                    .map(str::to_owned)
                    .ok_or(ApiError::BadRequest)
            })
            .collect::<ApiResult<_>>()?;
        if !self.requests.iter().any(|r| r.id == id) {
            return Err(ApiError::NotFound);
        }
        if ids
            .iter()
            .any(|t| !self.tags.iter().any(|known| &known.id == t))
        {
            return Err(ApiError::NotFound);
        }
        if ignore {
            return Ok(());
        }
        if let Some(r) = self.requests.iter_mut().find(|r| r.id == id) {
            for t in ids {
                if !r.tags.contains(&t) {
                    r.tags.push(t);
                }
            }
            r.updated_at = now.to_owned();
        }
        Ok(())
    }

    /// E14 (F12, A7).
    pub(crate) fn remove_tag(
        &mut self,
        id: &str,
        tag: &str,
        now: &str,
        ignore: bool,
    ) -> ApiResult<()> {
        let r = self
            .requests
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or(ApiError::NotFound)?;
        if !ignore && r.tags.iter().any(|t| t == tag) {
            r.tags.retain(|t| t != tag);
            r.updated_at = now.to_owned();
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------------ queries

/// Query parameters of a list call, with the validation of F3/F4.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListQuery {
    pairs: Vec<(String, String)>,
}

impl ListQuery {
    pub(crate) fn new(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }

    fn one_of<'a>(&'a self, name: &str, allowed: &[&str]) -> ApiResult<Option<&'a str>> {
        match self.get(name) {
            Some(v) if allowed.contains(&v) => Ok(Some(v)),
            Some(_) => Err(ApiError::BadRequest),
            None => Ok(None),
        }
    }

    fn number(&self, name: &str) -> ApiResult<Option<u64>> {
        self.get(name)
            .map(|v| v.trim().parse::<u64>().map_err(|_| ApiError::BadRequest))
            .transpose()
    }

    /// The list envelope (F4): true `total`, echoed `start`, effective `limit` (or `count` on `/tags`).
    fn envelope(
        &self,
        items: Vec<Value>,
        default_limit: u64,
        cap: Option<u64>,
        limit_key: &str,
    ) -> ApiResult<Value> {
        let start = self.number("start")?.unwrap_or(0);
        let asked = self.number("limit")?.unwrap_or(default_limit);
        if asked == 0 {
            return Err(ApiError::BadRequest);
        }
        let limit = asked.min(100).min(cap.unwrap_or(u64::MAX)).max(1);
        let total = items.len() as u64;
        let page: Vec<Value> = items
            .into_iter()
            .skip(usize::try_from(start).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect();
        let mut envelope = json!({"results": [], "total": total, "start": start});
        if let Some(obj) = envelope.as_object_mut() {
            let shown = if limit_key == "count" {
                page.len() as u64
            } else {
                limit
            };
            obj.insert(limit_key.to_owned(), json!(shown));
            obj.insert("results".to_owned(), Value::Array(page));
        }
        Ok(envelope)
    }
}
