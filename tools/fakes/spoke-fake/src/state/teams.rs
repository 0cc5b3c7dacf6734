//! Teams: rendering, the team list, `PATCH /teams/{id}` and auto-delegation.

use serde_json::{Map, Value, json};

use super::{ApiError, ApiResult, Data, ListQuery, STRATEGIES, TeamRec, Write};

impl Data {
    pub(super) fn render_team(&self, t: &TeamRec) -> Value {
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

    /// E7 (F8, A2, A3). With `ignore` the change is validated but not applied (`ignoreWrite`).
    pub(crate) fn patch_team(&mut self, id: &str, w: &Write) -> ApiResult<Value> {
        let (caller, body, now, ignore) = w.parts();
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

    /// A5: who gets a new request of `team` when no owner is given.
    pub(super) fn delegate(&mut self, team: &str, now: &str) -> Option<String> {
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
}
