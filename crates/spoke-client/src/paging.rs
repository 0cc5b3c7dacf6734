//! Offset pagination over any page-fetching function (crate README, "Paging").
//!
//! The loop starts at the query's `start` (default 0), asks for pages of the query's `limit` (default and
//! maximum 100), advances by the number of items actually received (the server may cap the page lower than
//! asked), de-duplicates by id, and stops when a page is empty, when `start + received >= total`, or — when
//! `total` is absent — when a page is shorter than the effective limit. More than `max_pages` pages is an
//! error ([`SpokeError::TooManyPages`]), never a silent truncation.

use std::collections::{HashSet, VecDeque};
use std::future::Future;

use futures::{Stream, StreamExt};

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
    let items = stream(max_pages, route, query.clone(), fetch);
    futures::pin_mut!(items);
    let mut all = Vec::new();
    while let Some(item) = items.next().await {
        all.push(item?);
    }
    Ok(all)
}

/// Pages until `predicate` matches an item and returns it; `None` when no page holds a match. No page after
/// the one holding the match is fetched.
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
    let items = stream(max_pages, route, query.clone(), fetch);
    futures::pin_mut!(items);
    while let Some(item) = items.next().await {
        let item = item?;
        if predicate(&item) {
            return Ok(Some(item));
        }
    }
    Ok(None)
}

struct Walk<Q, F, T> {
    query: Q,
    fetch: F,
    start: u64,
    size: u32,
    pages: u32,
    seen: HashSet<String>,
    buffer: VecDeque<T>,
    done: bool,
}

/// The items of every page as a stream, fetched lazily one page at a time and de-duplicated by id. Yields
/// [`SpokeError::TooManyPages`] when more than `max_pages` pages would be needed.
pub fn stream<T, Q, F, Fut>(
    max_pages: u32,
    route: ListRoute,
    query: Q,
    fetch: F,
) -> impl Stream<Item = Result<T, SpokeError>>
where
    T: Identified,
    Q: Paged,
    F: FnMut(Q) -> Fut,
    Fut: Future<Output = Result<Page<T>, SpokeError>>,
{
    let walk = Walk {
        size: page_size(query.limit()),
        start: query.start().unwrap_or(0),
        query,
        fetch,
        pages: 0,
        seen: HashSet::new(),
        buffer: VecDeque::new(),
        done: false,
    };
    let max_pages = max_pages.max(1);
    futures::stream::try_unfold(walk, move |mut w| async move {
        loop {
            if let Some(item) = w.buffer.pop_front() {
                return Ok(Some((item, w)));
            }
            if w.done {
                return Ok(None);
            }
            if w.pages >= max_pages {
                return Err(too_many_pages(max_pages, route));
            }
            let page = (w.fetch)(w.query.page(w.start, w.size)).await?;
            w.pages += 1;
            w.done = page.is_last(w.start, w.size);
            w.start = w.start.saturating_add(page.received);
            for item in page.results {
                if w.seen.insert(item.id_str().to_owned()) {
                    w.buffer.push_back(item);
                }
            }
        }
    })
}

impl<T> Page<T> {
    /// Whether this page, asked for at `start` with `limit`, ends the listing: it is empty, it reaches
    /// `total`, or — without a total — it is shorter than the effective limit (the one asked, or the server's
    /// lower one).
    pub fn is_last(&self, start: u64, limit: u32) -> bool {
        let effective_limit = self
            .limit
            .filter(|l| *l > 0)
            .map_or(u64::from(limit), |l| l.min(u64::from(limit)));
        self.received == 0
            || match self.total {
                Some(total) => start.saturating_add(self.received) >= total,
                None => self.received < effective_limit,
            }
    }
}

fn too_many_pages(max_pages: u32, route: ListRoute) -> SpokeError {
    SpokeError::TooManyPages {
        max_pages,
        ctx: ErrorContext {
            operation: route.operation,
            method: "GET",
            route: route.route,
            attempts: max_pages,
            outcome_unknown: false,
        },
    }
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

    #[tokio::test]
    async fn the_stream_fetches_pages_lazily() {
        let mut calls = 0;
        let mut inner = server(250, 100);
        let fetch = |q: TagQuery| {
            calls += 1;
            inner(q)
        };
        let first: Vec<Tag> = stream(50, ROUTE, TagQuery::default(), fetch)
            .take(101)
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(first.len(), 101);
        assert_eq!(calls, 2);
    }
}
