//! Paging through the open tickets (README, "What one invocation does", step 2). The sweep pages itself, over
//! the Spoke client's one-page `list_requests`, rather than with the client's all-pages form: it has its own
//! page cap (`CLS_SWEEP_MAX_PAGES`), hands each ticket on as its page arrives (one page in memory at a time),
//! and copes with a listing that changes while it is read.
//!
//! Offset paging over `sort=createdFirst` shifts when a ticket before the current offset closes (`cls-queue`
//! acting on the sweep's own reviews, or a person): the ticket that moved back across a page boundary would
//! be missed. So every page after the first starts one ticket early, on the last ticket already read. When
//! that page begins after the last ticket read, something before it moved, and the walk steps back (one
//! page, then two, four, …) until a page begins at or before it. Tickets at or before the last one read, in
//! the listing's (`created_at`, id) order, are passed over, so none is handed on twice. A continuation starts
//! the same way: at the offset where its predecessor's last enqueued ticket was, with that ticket as the last
//! one read.

use std::future::Future;

use spoke_client::{Page, Request, SpokeError};

use crate::error::SweepError;
use crate::plan::Cursor;

/// Tickets asked for per page (Spoke's maximum).
pub const PAGE_SIZE: u32 = 100;

/// Where a walk begins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Start {
    /// The offset of the first page (0 for a run's first invocation).
    pub offset: u64,
    /// The last ticket already handled (a continuation's cursor): it and the tickets before it are passed
    /// over.
    pub after: Option<Cursor>,
}

/// A ticket's position in the listing order.
pub fn key(request: &Request) -> Cursor {
    Cursor {
        created_at: request.created_at.clone().unwrap_or_default(),
        id: request.id.as_str().to_owned(),
    }
}

/// Reads the listing from `from` with `fetch` (the page at an offset) and calls `visit` with each ticket
/// after `from.after`, once, in listing order, with its offset. Returns the pages read; more than
/// `max_pages` is [`SweepError::TooManyPages`], never a partial listing.
pub async fn walk<F, Fut>(
    from: &Start,
    max_pages: u32,
    mut fetch: F,
    mut visit: impl FnMut(u64, &Request),
) -> Result<u32, SweepError>
where
    F: FnMut(u64, u32) -> Fut,
    Fut: Future<Output = Result<Page<Request>, SpokeError>>,
{
    let mut start = from.offset;
    let mut last = from.after.clone();
    let mut back = u64::from(PAGE_SIZE);
    let mut pages = 0;
    loop {
        if pages >= max_pages {
            return Err(SweepError::TooManyPages { max_pages });
        }
        let page = fetch(start, PAGE_SIZE).await.map_err(SweepError::Spoke)?;
        pages += 1;
        if start > 0
            && let Some(last) = &last
            && page.results.first().is_none_or(|first| key(first) > *last)
        {
            // Tickets before this page closed since the last one read was seen here: step back.
            start = start.saturating_sub(back);
            back = back.saturating_mul(2);
            continue;
        }
        back = u64::from(PAGE_SIZE);
        for (i, request) in page.results.iter().enumerate() {
            let position = key(request);
            if last.as_ref().is_some_and(|l| position <= *l) {
                continue;
            }
            visit(start + i as u64, request);
            last = Some(position);
        }
        if page.is_last(start, PAGE_SIZE) {
            return Ok(pages);
        }
        let received = page.received;
        let end = start.saturating_add(received);
        // The next page starts on the last ticket of this one (see the module documentation).
        start = if received > 1 { end - 1 } else { end };
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use serde_json::json;

    use super::*;

    fn ticket(n: u64) -> Request {
        serde_json::from_value(json!({
            "id": format!("t{n:05}"),
            "createdAt": format!("2026-01-01T{:02}:{:02}:{:02}.000Z", n / 3600, n / 60 % 60, n % 60),
        }))
        .unwrap()
    }

    /// A listing of `open` tickets (by number), served `size` at a time.
    struct Listing {
        open: RefCell<Vec<u64>>,
        size: u64,
        calls: RefCell<Vec<u64>>,
    }

    impl Listing {
        fn new(n: u64, size: u64) -> Self {
            Self {
                open: RefCell::new((0..n).collect()),
                size,
                calls: RefCell::new(Vec::new()),
            }
        }

        fn page(
            &self,
            start: u64,
            limit: u32,
        ) -> std::future::Ready<Result<Page<Request>, SpokeError>> {
            self.calls.borrow_mut().push(start);
            let open = self.open.borrow();
            let limit = u64::from(limit).min(self.size);
            let results: Vec<Request> = open
                .iter()
                .skip(usize::try_from(start).unwrap())
                .take(usize::try_from(limit).unwrap())
                .map(|n| ticket(*n))
                .collect();
            std::future::ready(Ok(Page {
                received: results.len() as u64,
                results,
                total: Some(open.len() as u64),
                start: Some(start),
                limit: Some(limit),
            }))
        }

        fn close(&self, n: u64) {
            self.open.borrow_mut().retain(|t| *t != n);
        }
    }

    fn ids(numbers: impl IntoIterator<Item = u64>) -> Vec<String> {
        numbers.into_iter().map(|n| format!("t{n:05}")).collect()
    }

    #[tokio::test]
    async fn every_ticket_of_a_long_listing_is_visited_once_in_order() {
        let listing = Listing::new(1_050, 100);
        let mut seen = Vec::new();
        let pages = walk(
            &Start::default(),
            20,
            |s, l| listing.page(s, l),
            |offset, r| {
                seen.push((offset, r.id.as_str().to_owned()));
            },
        )
        .await
        .unwrap();
        assert_eq!(
            pages, 11,
            "one ticket of overlap per page: 1,050 tickets in 11 pages"
        );
        let visited: Vec<String> = seen.iter().map(|(_, id)| id.clone()).collect();
        assert_eq!(visited, ids(0..1_050));
        assert!(
            seen.iter()
                .enumerate()
                .all(|(i, (offset, _))| *offset == i as u64)
        );
    }

    #[tokio::test]
    async fn more_pages_than_the_cap_is_an_error_not_a_partial_listing() {
        let listing = Listing::new(1_050, 100);
        let mut visited = 0;
        let err = walk(
            &Start::default(),
            10,
            |s, l| listing.page(s, l),
            |_, _| visited += 1,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, SweepError::TooManyPages { max_pages: 10 }));
        assert!(err.to_string().contains("CLS_SWEEP_MAX_PAGES"), "{err}");
    }

    #[tokio::test]
    async fn tickets_closing_behind_the_walk_do_not_hide_the_ones_that_move_back() {
        // A server that caps pages at 10: while the walk reads, the tickets it already passed close, two per
        // page (as cls-queue expires them); a plain offset walk would skip two tickets at every boundary.
        let listing = Listing::new(100, 10);
        let mut visited = Vec::new();
        let fetch = |s: u64, l: u32| {
            let page = listing.page(s, l);
            let calls = listing.calls.borrow().len() as u64;
            for n in [2 * calls, 2 * calls + 1] {
                listing.close(n);
            }
            page
        };
        walk(&Start::default(), 100, fetch, |_, r| {
            visited.push(r.id.as_str().to_owned());
        })
        .await
        .unwrap();
        assert_eq!(visited, ids(0..100));
    }

    #[tokio::test]
    async fn a_continuation_resumes_after_its_cursor_even_when_earlier_tickets_closed() {
        let listing = Listing::new(1_000, 100);
        // The previous invocation's last enqueued ticket was t00600 at offset 600; since then 250 tickets
        // before it closed and it closed too.
        for n in (0..500).step_by(2).chain([600]) {
            listing.close(n);
        }
        let from = Start {
            offset: 600,
            after: Some(key(&ticket(600))),
        };
        let mut visited = Vec::new();
        walk(
            &from,
            50,
            |s, l| listing.page(s, l),
            |_, r| {
                visited.push(r.id.as_str().to_owned());
            },
        )
        .await
        .unwrap();
        assert_eq!(visited, ids(601..1_000));
        let calls = listing.calls.borrow();
        assert_eq!(
            calls[..3],
            [600, 500, 300],
            "steps back until a page starts before the cursor"
        );
        assert!(
            calls.len() < 12,
            "reads from near the cursor, not from the start: {calls:?}"
        );
    }
}
