//! Users: rendering, `whoami`, lookups and the user list.

use serde_json::{Value, json};

use super::{ApiError, ApiResult, Data, ListQuery, UserRec};

impl Data {
    pub(super) fn render_user(&self, u: &UserRec) -> Value {
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

    pub(super) fn render_user_ref(&self, id: &str) -> Value {
        match self.user(id) {
            Some(u) => {
                json!({"_id": u.id, "id": u.id, "displayName": u.display_name, "email": u.email})
            }
            None => json!({"_id": id, "id": id}),
        }
    }

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
}
