//! The fake's state: API keys, users, schedules and escalation policies, built from a seed (README, "Seed").

mod oncalls;
mod schedule;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub(crate) use oncalls::OncallQuery;
pub(crate) use schedule::{Layer, Override, Schedule};

/// An answer the API refuses with, rendered as PagerDuty's error body `{"error": {"message", "code", "errors"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// 400 `Invalid Input Provided` (code 2001) with the reasons.
    InvalidInput(Vec<String>),
    /// 401: no `Authorization: Token token=…` header, or an unknown key.
    Unauthorized,
    /// 404 for an unknown id or route.
    NotFound,
}

impl ApiError {
    pub(crate) fn status(&self) -> u16 {
        match self {
            Self::InvalidInput(_) => 400,
            Self::Unauthorized => 401,
            Self::NotFound => 404,
        }
    }

    pub(crate) fn body(&self) -> Value {
        match self {
            Self::InvalidInput(errors) => {
                json!({"error": {"message": "Invalid Input Provided", "code": 2001, "errors": errors}})
            }
            Self::Unauthorized => json!({"error": {"message": "Authentication failed"}}),
            Self::NotFound => json!({"error": {"message": "Not Found"}}),
        }
    }
}

/// A user. `email` is `None` for a seed user without one (how the service's "unknown e-mail" case is staged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) email: Option<String>,
}

/// A target of an escalation rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Whoever the schedule puts on call.
    Schedule(String),
    /// This user, always.
    User(String),
}

/// An escalation policy: its rules, level 1 first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) rules: Vec<Vec<Target>>,
}

/// The whole state.
#[derive(Debug, Clone)]
pub(crate) struct Data {
    pub(crate) subdomain: String,
    pub(crate) keys: Vec<String>,
    pub(crate) users: Vec<User>,
    pub(crate) schedules: Vec<Schedule>,
    pub(crate) policies: Vec<Policy>,
    override_seq: u64,
}

impl fake_kit::SeededState for Data {
    fn from_seed(seed: &Value, now: DateTime<Utc>) -> Result<Self, String> {
        Data::from_seed(seed, now.timestamp())
    }

    fn state_json(&self, _now: DateTime<Utc>) -> Value {
        Data::state_json(self)
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn required(v: &Value, key: &str, what: &str) -> Result<String, String> {
    text(v, key).ok_or_else(|| format!("{what}: `{key}` is required"))
}

fn array<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// An instant from `<key>` (RFC 3339) or `<key>OffsetSecs` (seconds from the fake clock's `now`).
fn when(v: &Value, key: &str, now: i64) -> Result<Option<i64>, String> {
    if let Some(t) = v.get(key).and_then(Value::as_str) {
        return parse_time(t)
            .map(Some)
            .ok_or_else(|| format!("`{key}` is not RFC 3339: {t}"));
    }
    Ok(v.get(format!("{key}OffsetSecs"))
        .and_then(Value::as_i64)
        .map(|secs| now + secs))
}

/// Epoch seconds of an RFC 3339 instant.
pub(crate) fn parse_time(t: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(t.trim())
        .ok()
        .map(|t| t.timestamp())
}

/// An instant as PagerDuty renders it (`2026-03-02T09:00:00Z`).
pub(crate) fn render_time(t: i64) -> Value {
    DateTime::from_timestamp(t, 0).map_or(Value::Null, |t| {
        json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    })
}

impl Data {
    pub(crate) fn from_seed(seed: &Value, now: i64) -> Result<Self, String> {
        let keys = array(seed, "apiKeys")
            .map(|k| required(k, "key", "apiKeys[]"))
            .collect::<Result<Vec<_>, _>>()?;
        let users = array(seed, "users")
            .map(|u| {
                Ok(User {
                    id: required(u, "id", "users[]")?,
                    name: text(u, "name").unwrap_or_default(),
                    email: text(u, "email").filter(|e| !e.trim().is_empty()),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let mut data = Self {
            subdomain: text(seed, "subdomain").unwrap_or_else(|| "example".to_owned()),
            keys,
            users,
            schedules: Vec::new(),
            policies: Vec::new(),
            override_seq: 0,
        };
        for s in array(seed, "schedules") {
            let schedule = data.schedule_from_seed(s, now)?;
            data.schedules.push(schedule);
        }
        for p in array(seed, "escalationPolicies") {
            let policy = data.policy_from_seed(p)?;
            data.policies.push(policy);
        }
        Ok(data)
    }

    fn known_user(&self, id: &str, what: &str) -> Result<String, String> {
        if self.user(id).is_some() {
            Ok(id.to_owned())
        } else {
            Err(format!("{what}: unknown user {id}"))
        }
    }

    fn schedule_from_seed(&mut self, s: &Value, now: i64) -> Result<Schedule, String> {
        let id = required(s, "id", "schedules[]")?;
        let mut layers = Vec::new();
        for l in array(s, "layers") {
            let what = format!("schedule {id} layer");
            let virtual_start = when(l, "rotationVirtualStart", now)?
                .ok_or_else(|| format!("{what}: `rotationVirtualStart` is required"))?;
            let turn = l
                .get("rotationTurnLengthSeconds")
                .and_then(Value::as_i64)
                .filter(|t| *t > 0)
                .ok_or_else(|| {
                    format!("{what}: `rotationTurnLengthSeconds` must be a positive number")
                })?;
            let users = array(l, "users")
                .map(|u| {
                    let id = u.as_str().ok_or_else(|| format!("{what}: users are ids"))?;
                    self.known_user(id, &what)
                })
                .collect::<Result<Vec<_>, _>>()?;
            layers.push(Layer {
                start: when(l, "start", now)?.unwrap_or(virtual_start),
                end: when(l, "end", now)?,
                virtual_start,
                turn,
                users,
            });
        }
        let mut schedule = Schedule {
            name: text(s, "name").unwrap_or_else(|| id.clone()),
            id,
            layers,
            overrides: Vec::new(),
        };
        for o in array(s, "overrides") {
            let user = required(o, "user", "overrides[]")?;
            let start = when(o, "start", now)?.ok_or("overrides[]: `start` is required")?;
            let end = when(o, "end", now)?.ok_or("overrides[]: `end` is required")?;
            let over = self.new_override(&user, start, end)?;
            schedule.overrides.push(over);
        }
        Ok(schedule)
    }

    fn policy_from_seed(&self, p: &Value) -> Result<Policy, String> {
        let id = required(p, "id", "escalationPolicies[]")?;
        let mut rules = Vec::new();
        for rule in array(p, "rules") {
            let mut targets = Vec::new();
            for t in array(rule, "targets") {
                let target_id = required(t, "id", "targets[]")?;
                match t.get("type").and_then(Value::as_str) {
                    Some("schedule_reference") if self.schedule(&target_id).is_some() => {
                        targets.push(Target::Schedule(target_id));
                    }
                    Some("user_reference") => {
                        targets.push(Target::User(self.known_user(&target_id, &id)?));
                    }
                    other => {
                        return Err(format!(
                            "policy {id}: target {target_id} of type {other:?} is not a known schedule or user"
                        ));
                    }
                }
            }
            rules.push(targets);
        }
        Ok(Policy {
            name: text(p, "name").unwrap_or_else(|| id.clone()),
            id,
            rules,
        })
    }

    /// A new override of `user` from `start` to `end` (not yet added to a schedule).
    fn new_override(&mut self, user: &str, start: i64, end: i64) -> Result<Override, String> {
        if end <= start {
            return Err("an override must end after it starts".to_owned());
        }
        let user = self.known_user(user, "override")?;
        self.override_seq += 1;
        Ok(Override {
            id: format!("PO{:05}", self.override_seq),
            user,
            start,
            end,
        })
    }

    /// Adds an override to schedule `schedule` (the control API's `POST /__fake/overrides`); its id.
    pub(crate) fn add_override(
        &mut self,
        schedule: &str,
        user: &str,
        start: i64,
        end: i64,
    ) -> Result<String, String> {
        if self.schedule(schedule).is_none() {
            return Err(format!("unknown schedule {schedule}"));
        }
        let over = self.new_override(user, start, end)?;
        let id = over.id.clone();
        if let Some(s) = self.schedules.iter_mut().find(|s| s.id == schedule) {
            s.overrides.push(over);
        }
        Ok(id)
    }

    /// Whether `key` is one of the seeded API keys.
    pub(crate) fn accepts_key(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }

    pub(crate) fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub(crate) fn schedule(&self, id: &str) -> Option<&Schedule> {
        self.schedules.iter().find(|s| s.id == id)
    }

    fn reference(&self, kind: &str, path: &str, id: &str, summary: &str) -> Value {
        json!({
            "id": id,
            "type": format!("{kind}_reference"),
            "summary": summary,
            "self": format!("https://api.pagerduty.com/{path}/{id}"),
            "html_url": format!("https://{}.pagerduty.com/{path}/{id}", self.subdomain),
        })
    }

    /// A user as a reference, or in full (`include[]=users`, and `GET /users/{id}`). The full object has no
    /// `email` when the seed gave none.
    pub(crate) fn user_json(&self, id: &str, full: bool) -> Value {
        let name = self.user(id).map_or("", |u| u.name.as_str());
        let mut value = self.reference("user", "users", id, name);
        if full && let (Some(user), Some(object)) = (self.user(id), value.as_object_mut()) {
            object.insert("type".to_owned(), json!("user"));
            object.insert("name".to_owned(), json!(user.name));
            if let Some(email) = &user.email {
                object.insert("email".to_owned(), json!(email));
            }
            object.insert("time_zone".to_owned(), json!("Etc/UTC"));
            object.insert("role".to_owned(), json!("user"));
        }
        value
    }

    pub(crate) fn schedule_ref(&self, schedule: &Schedule) -> Value {
        self.reference("schedule", "schedules", &schedule.id, &schedule.name)
    }

    pub(crate) fn policy_ref(&self, policy: &Policy) -> Value {
        self.reference(
            "escalation_policy",
            "escalation_policies",
            &policy.id,
            &policy.name,
        )
    }

    /// `GET /__fake/state`: everything but the API keys, which show as fingerprints.
    pub(crate) fn state_json(&self) -> Value {
        let spans = |s: &Schedule| -> Vec<Value> {
            s.overrides
                .iter()
                .map(|o| {
                    json!({"id": o.id, "user": o.user, "start": render_time(o.start), "end": render_time(o.end)})
                })
                .collect()
        };
        json!({
            "apiKeys": self.keys.iter().map(|k| fake_kit::fingerprint(k)).collect::<Vec<_>>(),
            "users": self.users.iter().map(|u| self.user_json(&u.id, true)).collect::<Vec<_>>(),
            "schedules": self.schedules.iter().map(|s| json!({
                "id": s.id,
                "name": s.name,
                "layers": s.layers.iter().map(|l| json!({
                    "start": render_time(l.start),
                    "end": l.end.map_or(Value::Null, render_time),
                    "rotationVirtualStart": render_time(l.virtual_start),
                    "rotationTurnLengthSeconds": l.turn,
                    "users": l.users,
                })).collect::<Vec<_>>(),
                "overrides": spans(s),
            })).collect::<Vec<_>>(),
            "escalationPolicies": self.policies.iter().map(|p| json!({
                "id": p.id,
                "name": p.name,
                "rules": p.rules.iter().enumerate().map(|(i, targets)| json!({
                    "escalationLevel": i + 1,
                    "targets": targets.iter().map(|t| match t {
                        Target::Schedule(id) => json!({"type": "schedule_reference", "id": id}),
                        Target::User(id) => json!({"type": "user_reference", "id": id}),
                    }).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}
