//! Query parameters of the list endpoints (E3, E5, E8, E15, E17).
//!
//! `start`/`limit` are optional: one-page calls send `limit=100` unless a smaller one is asked for, never
//! more than 100; the all-pages forms use `limit` as the page size and `start` as the first offset.

use crate::models::{RequestFilter, RequestSort, RequestStatus, TagId, TeamId, UserStatus};

/// The largest page the client ever asks for.
pub const MAX_PAGE_SIZE: u32 = 100;

pub(crate) type Pairs = Vec<(&'static str, String)>;

fn push_paging(pairs: &mut Pairs, start: Option<u64>, limit: Option<u32>) {
    pairs.push(("start", start.unwrap_or(0).to_string()));
    pairs.push(("limit", page_size(limit).to_string()));
}

/// The page size actually sent for a requested `limit`.
pub(crate) fn page_size(limit: Option<u32>) -> u32 {
    limit.unwrap_or(MAX_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
}

fn push_opt(pairs: &mut Pairs, name: &'static str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        pairs.push((name, v.to_owned()));
    }
}

fn join<T: AsRef<str>>(items: &[T]) -> String {
    items
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(",")
}

/// A query that can be re-issued for another page.
pub trait Paged: Clone {
    /// The first offset.
    fn start(&self) -> Option<u64>;
    /// The requested page size.
    fn limit(&self) -> Option<u32>;
    /// A copy asking for the page at `start` of size `limit`.
    fn page(&self, start: u64, limit: u32) -> Self;
}

macro_rules! paged {
    ($($t:ty),+) => {$(
        impl Paged for $t {
            fn start(&self) -> Option<u64> { self.start }
            fn limit(&self) -> Option<u32> { self.limit }
            fn page(&self, start: u64, limit: u32) -> Self {
                Self { start: Some(start), limit: Some(limit), ..self.clone() }
            }
        }
    )+};
}

/// E3 `GET /users`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserQuery {
    /// Free-text search (a hit is not proof of identity).
    pub q: Option<String>,
    /// `ACTIVE` or `INVITED`.
    pub status: Option<UserStatus>,
    /// Members of this team.
    pub team: Option<TeamId>,
    /// First offset (default 0).
    pub start: Option<u64>,
    /// Page size (default and maximum 100).
    pub limit: Option<u32>,
}

impl UserQuery {
    /// A free-text search.
    pub fn search(q: impl Into<String>) -> Self {
        Self {
            q: Some(q.into()),
            ..Self::default()
        }
    }

    pub(crate) fn pairs(&self) -> Pairs {
        let mut p = Pairs::new();
        push_opt(&mut p, "q", self.q.as_deref());
        push_opt(
            &mut p,
            "status",
            self.status.as_ref().map(UserStatus::as_str),
        );
        push_opt(&mut p, "team", self.team.as_ref().map(TeamId::as_str));
        push_paging(&mut p, self.start, self.limit);
        p
    }
}

/// E5 `GET /teams`. `ai` is never sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TeamQuery {
    /// Free-text search.
    pub q: Option<String>,
    /// Slugs to fetch (sent comma-separated).
    pub slugs: Vec<String>,
    /// First offset.
    pub start: Option<u64>,
    /// Page size.
    pub limit: Option<u32>,
}

impl TeamQuery {
    pub(crate) fn pairs(&self) -> Pairs {
        let mut p = Pairs::new();
        push_opt(&mut p, "q", self.q.as_deref());
        if !self.slugs.is_empty() {
            p.push(("slug", join(&self.slugs)));
        }
        push_paging(&mut p, self.start, self.limit);
        p
    }
}

/// E8 `GET /requests`. Always send an explicit status list; the server default is `OPEN` only.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestQuery {
    /// `inbox`, `unassigned` or `sent`; omitted when unset (server default `inbox`).
    pub filter: Option<RequestFilter>,
    /// Statuses, sent comma-separated; empty leaves the server default (`OPEN`).
    pub statuses: Vec<RequestStatus>,
    /// Team id.
    pub team: Option<TeamId>,
    /// Tag ids (any of them matches).
    pub tags: Vec<TagId>,
    /// Also match untagged requests (adds `none` to `tag`).
    pub untagged: bool,
    /// Text search; wrap an exact token in double quotes and re-check the field value.
    pub q: Option<String>,
    /// First offset.
    pub start: Option<u64>,
    /// Page size.
    pub limit: Option<u32>,
    /// Order.
    pub sort: Option<RequestSort>,
}

impl RequestQuery {
    /// A query over every status (what "find existing ticket" searches use).
    pub fn all_statuses() -> Self {
        Self {
            statuses: RequestStatus::all(),
            ..Self::default()
        }
    }

    pub(crate) fn pairs(&self) -> Pairs {
        let mut p = Pairs::new();
        push_opt(
            &mut p,
            "filter",
            self.filter.as_ref().map(RequestFilter::as_str),
        );
        if !self.statuses.is_empty() {
            let statuses: Vec<&str> = self.statuses.iter().map(RequestStatus::as_str).collect();
            p.push(("status", join(&statuses)));
        }
        push_opt(&mut p, "team", self.team.as_ref().map(TeamId::as_str));
        let mut tags: Vec<&str> = self.tags.iter().map(TagId::as_str).collect();
        if self.untagged {
            tags.push("none");
        }
        if !tags.is_empty() {
            p.push(("tag", join(&tags)));
        }
        push_opt(&mut p, "q", self.q.as_deref());
        push_paging(&mut p, self.start, self.limit);
        push_opt(&mut p, "sort", self.sort.as_ref().map(RequestSort::as_str));
        p
    }
}

/// E15 `GET /request_types`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestTypeQuery {
    /// Text search.
    pub q: Option<String>,
    /// Team id.
    pub team: Option<TeamId>,
    /// First offset.
    pub start: Option<u64>,
    /// Page size.
    pub limit: Option<u32>,
    /// `createdLast`, `createdFirst`, `updated` or `text`.
    pub sort: Option<String>,
}

impl RequestTypeQuery {
    pub(crate) fn pairs(&self) -> Pairs {
        let mut p = Pairs::new();
        push_opt(&mut p, "q", self.q.as_deref());
        push_opt(&mut p, "team", self.team.as_ref().map(TeamId::as_str));
        push_paging(&mut p, self.start, self.limit);
        push_opt(&mut p, "sort", self.sort.as_deref());
        p
    }
}

/// E17 `GET /tags`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagQuery {
    /// Text search.
    pub q: Option<String>,
    /// Tag ids to fetch (sent comma-separated as `tagId`).
    pub tag_ids: Vec<TagId>,
    /// First offset.
    pub start: Option<u64>,
    /// Page size.
    pub limit: Option<u32>,
}

impl TagQuery {
    pub(crate) fn pairs(&self) -> Pairs {
        let mut p = Pairs::new();
        push_opt(&mut p, "q", self.q.as_deref());
        if !self.tag_ids.is_empty() {
            let ids: Vec<&str> = self.tag_ids.iter().map(TagId::as_str).collect();
            p.push(("tagId", join(&ids)));
        }
        push_paging(&mut p, self.start, self.limit);
        p
    }
}

paged!(
    UserQuery,
    TeamQuery,
    RequestQuery,
    RequestTypeQuery,
    TagQuery
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_queries_send_comma_lists_and_cap_the_limit() {
        let q = RequestQuery {
            statuses: vec![RequestStatus::Open, RequestStatus::Locked],
            tags: vec![TagId::new("t1")],
            untagged: true,
            limit: Some(500),
            sort: Some(RequestSort::CreatedFirst),
            ..RequestQuery::default()
        };
        let pairs = q.pairs();
        assert!(pairs.contains(&("status", "OPEN,LOCKED".to_owned())));
        assert!(pairs.contains(&("tag", "t1,none".to_owned())));
        assert!(pairs.contains(&("limit", "100".to_owned())));
        assert!(pairs.contains(&("sort", "createdFirst".to_owned())));
        assert!(!pairs.iter().any(|(k, _)| *k == "filter"));
    }
}
