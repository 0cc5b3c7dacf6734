//! The seed document (`fixtures/*.json`) and how the state is built from it.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    AgentRec, AnswerRec, Data, FormField, RequestRec, RequestTypeRec, SEED_TIME, STRATEGIES,
    TagRec, TeamRec, UserRec,
};

/// The seed document (README, "Seeds"). Unknown keys are ignored.
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
    /// Start with strict privacy on (README, "Privacy").
    #[serde(default)]
    strict_privacy: bool,
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

impl fake_kit::SeededState for Data {
    fn from_seed(seed: &Value, _now: DateTime<Utc>) -> Result<Self, String> {
        Data::from_seed(seed)
    }

    fn state_json(&self, _now: DateTime<Utc>) -> Value {
        Data::state_json(self)
    }
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
            strict_privacy: seed.strict_privacy,
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
}
