//! Request types and tags.

use serde_json::{Value, json};

use super::{ApiError, ApiResult, Data, ListQuery, REQUEST_TYPE_SORTS, RequestTypeRec, TagRec};

impl Data {
    pub(super) fn render_request_type(&self, rt: &RequestTypeRec) -> Value {
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

    pub(super) fn render_tag(&self, t: &TagRec) -> Value {
        json!({"_id": t.id, "id": t.id, "text": t.text, "color": t.color, "status": t.status, "org": self.org})
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
}
