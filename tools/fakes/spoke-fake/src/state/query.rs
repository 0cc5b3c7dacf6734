//! Query parameters of list calls.

use serde_json::{Value, json};

use super::{ApiError, ApiResult};

/// Query parameters of a list call, with the validation of F3/F4.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListQuery {
    pairs: Vec<(String, String)>,
}

impl ListQuery {
    pub(crate) fn new(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }

    pub(super) fn one_of<'a>(&'a self, name: &str, allowed: &[&str]) -> ApiResult<Option<&'a str>> {
        match self.get(name) {
            Some(v) if allowed.contains(&v) => Ok(Some(v)),
            Some(_) => Err(ApiError::BadRequest),
            None => Ok(None),
        }
    }

    pub(super) fn number(&self, name: &str) -> ApiResult<Option<u64>> {
        self.get(name)
            .map(|v| v.trim().parse::<u64>().map_err(|_| ApiError::BadRequest))
            .transpose()
    }

    /// The list envelope (F4): true `total`, echoed `start`, effective `limit` (or `count` on `/tags`).
    pub(super) fn envelope(
        &self,
        items: Vec<Value>,
        default_limit: u64,
        cap: Option<u64>,
        limit_key: &str,
    ) -> ApiResult<Value> {
        self.envelope_of(items, |v| v, default_limit, cap, limit_key)
    }

    /// [`Self::envelope`] over unrendered items: only the page's items are rendered, so a page of a long
    /// listing costs the page, not the listing.
    pub(super) fn envelope_of<T>(
        &self,
        items: Vec<T>,
        render: impl Fn(T) -> Value,
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
            .map(render)
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
