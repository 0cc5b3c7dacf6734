//! Requests: rendering, the list (`filter`, `status`, `q`, …), create, patch, messages and tags.

use serde_json::{Map, Value, json};

use super::{
    AnswerRec, ApiError, ApiResult, Data, FILTERS, FormField, ListQuery, MessageRec,
    PATCH_STATUSES, PRIVACY, REQUEST_SORTS, REQUEST_STATUSES, RequestRec, Write, is_id_like,
};

impl Data {
    pub(super) fn field_of(
        &self,
        request_type: Option<&str>,
        field_id: &str,
    ) -> Option<&FormField> {
        self.request_types
            .iter()
            .filter(|rt| request_type.is_none_or(|id| rt.id == id))
            .flat_map(|rt| rt.fields.iter())
            .find(|f| f.uuid == field_id)
    }

    pub(super) fn render_request(&self, r: &RequestRec) -> Value {
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

    pub(super) fn render_message(m: &MessageRec) -> Value {
        json!({
            "_id": m.id,
            "id": m.id,
            "request": m.request,
            "actor": {"kind": m.kind, "ref": m.reference},
            "content": {"message": {"text": m.text}},
            "createdAt": m.created_at,
        })
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
            .filter(|r| self.is_visible_to(caller, r))
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
        q.envelope_of(requests, |r| self.render_request(r), 25, cap, "limit")
    }

    pub(crate) fn get_request(&self, caller: &str, id: &str) -> ApiResult<Value> {
        self.request_for(caller, id).map(|r| self.render_request(r))
    }

    /// Request `id` as `caller` may see it: 404 when it does not exist or is hidden from them.
    fn request_for(&self, caller: &str, id: &str) -> ApiResult<&RequestRec> {
        self.requests
            .iter()
            .find(|r| r.id == id)
            .filter(|r| self.is_visible_to(caller, r))
            .ok_or(ApiError::NotFound)
    }

    /// Whether `caller` may see `r`: always, unless strict privacy is on and `r` is private. A private request
    /// is seen by its requester, its owner, the agents of its team, and org admins when it has no team
    /// (README, "Privacy").
    fn is_visible_to(&self, caller: &str, r: &RequestRec) -> bool {
        !self.strict_privacy
            || r.privacy_level != "private"
            || r.requester == caller
            || r.owner.as_deref() == Some(caller)
            || match r.team.as_deref() {
                Some(team) => self
                    .team(team)
                    .is_some_and(|t| t.agents.iter().any(|a| a.user == caller)),
                None => self.is_admin(caller),
            }
    }

    pub(super) fn answers_from(
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

    /// E9 (F9, A4, A5).
    pub(crate) fn create_request(&mut self, w: &Write) -> ApiResult<Value> {
        let (caller, body, now, ignore) = w.parts();
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
    pub(crate) fn patch_request(&mut self, id: &str, w: &Write) -> ApiResult<Value> {
        let (caller, body, now, ignore) = w.parts();
        let body = body.as_object().ok_or(ApiError::BadRequest)?;
        let mut next = self.request_for(caller, id)?.clone();
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
            if !PATCH_STATUSES.contains(&status.as_str()) {
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
            return self.get_request(caller, id);
        }
        next.updated_at = now.to_owned();
        let rendered = self.render_request(&next);
        if let Some(slot) = self.requests.iter_mut().find(|r| r.id == id) {
            *slot = next;
        }
        Ok(rendered)
    }

    /// E12 (F11).
    pub(crate) fn post_message(&mut self, id: &str, w: &Write) -> ApiResult<Value> {
        let (caller, body, now, ignore) = w.parts();
        let body = body.as_object().ok_or(ApiError::BadRequest)?;
        self.request_for(caller, id)?;
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
    pub(crate) fn add_tags(&mut self, id: &str, w: &Write) -> ApiResult<()> {
        let (_, body, now, ignore) = w.parts();
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
        self.request_for(&w.caller, id)?;
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
    pub(crate) fn remove_tag(&mut self, id: &str, tag: &str, w: &Write) -> ApiResult<()> {
        let (now, ignore) = (w.now.as_str(), w.ignore);
        self.request_for(&w.caller, id)?;
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
