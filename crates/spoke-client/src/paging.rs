//! Offset pagination over any page-fetching function (spec §7).
//!
//! The loop starts at the query's `start` (default 0), asks for pages of the query's `limit` (default and
//! maximum 100), advances by the number of items actually received (the server may cap the page lower than
//! asked), de-duplicates by id, and stops when a page is empty, when `start + received >= total`, or — when
//! `total` is absent — when a page is shorter than the effective limit. More than `max_pages` pages is an
//! error ([`SpokeError::TooManyPages`]), never a silent truncation.

use std::collections::HashSet;
use std::future::Future;

use crate::error::{ErrorContext, SpokeError};
use crate::models::{Identified, Page};
use crate::query::{Paged, page_size};

/// The default page cap per call.
pub const DEFAULT_MAX_PAGES: u32 = 50;

/// Names a list route in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListRoute {
    /// Operation name, e.g. `"list users"`.
    pub operation: &'static str,
    /// Route template, e.g. `"/users"`.
    pub route: &'static str,
}

/// Fetches every page and returns the de-duplicated items.
pub async fn collect_all<T, Q, F, Fut>(
    max_pages: u32,
    route: ListRoute,
    query: &Q,
    fetch: F,
) -> Result<Vec<T>, SpokeError>
where
    T: Identified,
    Q: Paged,
    F: FnMut(Q) -> Fut,
    Fut: Future<Output = Result<Page<T>, SpokeError>>,
{
    match walk(max_pages, route, query, fetch, None).await? {
        Walked::All(items) => Ok(items),
        Walked::Found(item) => Ok(vec![item]),
    }
}

/// Pages until `predicate` matches an item and returns it; `None` when no page holds a match.
pub async fn find_first<T, Q, F, Fut>(
    max_pages: u32,
    route: ListRoute,
    query: &Q,
    fetch: F,
    predicate: &(dyn Fn(&T) -> bool + Send + Sync),
) -> Result<Option<T>, SpokeError>
where
    T: Identified,
    Q: Paged,
    F: FnMut(Q) -> Fut,
    Fut: Future<Output = Result<Page<T>, SpokeError>>,
{
    match walk(max_pages, route, query, fetch, Some(predicate)).await? {
        Walked::All(_) => Ok(None),
        Walked::Found(item) => Ok(Some(item)),
    }
}

enum Walked<T> {
    All(Vec<T>),
    Found(T),
}

async fn walk<T, Q, F, Fut>(
    max_pages: u32,
    route: ListRoute,
    query: &Q,
    mut fetch: F,
    predicate: Option<&(dyn Fn(&T) -> bool + Send + Sync)>,
) -> Result<Walked<T>, SpokeError>
where
    T: Identified,
    Q: Paged,
    F: FnMut(Q) -> Fut,
    Fut: Future<Output = Result<Page<T>, SpokeError>>,
{
    let size = page_size(query.limit());
    let mut start = query.start().unwrap_or(0);
    let mut seen: HashSet<String> = HashSet::new();
    let mut items = Vec::new();
    for _ in 0..max_pages.max(1) {
        let page = fetch(query.page(start, size)).await?;
        let received = page.received;
        let effective_limit = page
            .limit
            .filter(|l| *l > 0)
            .map_or(u64::from(size), |l| l.min(u64::from(size)));
        for item in page.results {
            if !seen.insert(item.id_str().to_owned()) {
                continue;
            }
            if predicate.is_some_and(|p| p(&item)) {
                return Ok(Walked::Found(item));
            }
            if predicate.is_none() {
                items.push(item);
            }
        }
        let done = received == 0
            || match page.total {
                Some(total) => start.saturating_add(received) >= total,
                None => received < effective_limit,
            };
        if done {
            return Ok(Walked::All(items));
        }
        start = start.saturating_add(received);
    }
    Err(SpokeError::TooManyPages {
        max_pages,
        ctx: ErrorContext {
            operation: route.operation,
            method: "GET",
            route: route.route,
            attempts: max_pages,
            outcome_unknown: false,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Tag, TagId};
    use crate::query::TagQuery;

    const ROUTE: ListRoute = ListRoute {
        operation: "list tags",
        route: "/tags",
    };

    fn tag(n: u64) -> Tag {
        Tag {
            id: TagId::new(format!("t{n}")),
            ..Tag::default()
        }
    }

    fn server(
        total: u64,
        cap: u64,
    ) -> impl FnMut(TagQuery) -> std::future::Ready<Result<Page<Tag>, SpokeError>> {
        move |q: TagQuery| {
            let start = q.start.unwrap_or(0);
            let limit = u64::from(q.limit.unwrap_or(25)).min(cap);
            let end = (start + limit).min(total);
            let results: Vec<Tag> = (start..end).map(tag).collect();
            std::future::ready(Ok(Page {
                received: results.len() as u64,
                results,
                total: Some(total),
                start: Some(start),
                limit: Some(limit),
            }))
        }
    }

    #[tokio::test]
    async fn collects_every_page_when_the_server_caps_the_page_size() {
        let all = collect_all(50, ROUTE, &TagQuery::default(), server(250, 40))
            .await
            .unwrap();
        assert_eq!(all.len(), 250);
    }

    #[tokio::test]
    async fn finds_the_first_match_without_reading_further_pages() {
        let mut calls = 0;
        let mut inner = server(250, 100);
        let fetch = |q: TagQuery| {
            calls += 1;
            inner(q)
        };
        let found = find_first(50, ROUTE, &TagQuery::default(), fetch, &|t: &Tag| {
            t.id.as_str() == "t120"
        })
        .await
        .unwrap();
        assert_eq!(found.unwrap().id.as_str(), "t120");
        assert_eq!(calls, 2);
    }

    #[tokio::test]
    async fn an_endless_listing_hits_the_page_cap() {
        let endless = |_q: TagQuery| {
            std::future::ready(Ok(Page {
                results: vec![tag(1)],
                received: 1,
                total: Some(1_000_000),
                start: None,
                limit: None,
            }))
        };
        let err = collect_all(5, ROUTE, &TagQuery::default(), endless)
            .await
            .unwrap_err();
        assert!(matches!(err, SpokeError::TooManyPages { max_pages: 5, .. }));
    }
}
