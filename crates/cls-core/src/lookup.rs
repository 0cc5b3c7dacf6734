//! Finding the collaborator's ticket (crate README, "Finding the ticket"): all statuses, all pages, exact user
//! id + org match, a newest-tickets scan for search-index lag, and the oldest of several matches.

use std::collections::{HashMap, HashSet};

use spoke_client::{
    Request, RequestFilter, RequestQuery, RequestSort, RequestStatus, SpokeApi, SpokeResult, TeamId,
};

use crate::ticket::{FieldIds, TicketFields};

/// Where and how to look.
#[derive(Debug, Clone, Copy)]
pub struct LookupSettings<'a> {
    /// The CLS team.
    pub team: &'a TeamId,
    /// Form field UUIDs.
    pub fields: &'a FieldIds,
    /// The org whose legacy tickets match by login.
    pub legacy_org: Option<&'a str>,
    /// `filter` for listings; omitted when `None`.
    pub list_filter: Option<&'a RequestFilter>,
}

/// A matching ticket with its decoded fields.
#[derive(Debug, Clone)]
pub struct FoundTicket {
    /// The Spoke request as read.
    pub request: Request,
    /// Its answered fields.
    pub fields: TicketFields,
}

/// The result of [`find_ticket`].
#[derive(Debug, Clone, Default)]
pub struct TicketLookup {
    /// The ticket to use: the oldest match.
    pub primary: Option<FoundTicket>,
    /// Further matches (newest last): they get `cls-needs-attention` and one alert, never a merge.
    pub duplicates: Vec<FoundTicket>,
}

/// Newest tickets scanned when the text search found nothing.
pub const NEWEST_SCAN: u32 = 100;

/// Decodes a request's answers into [`TicketFields`].
pub fn decode_request(request: &Request, ids: &FieldIds) -> TicketFields {
    let answers: HashMap<String, String> = request
        .answers()
        .filter_map(|a| Some((a.field_id()?.as_str().to_owned(), a.answer()?.to_owned())))
        .collect();
    TicketFields::decode(&answers, ids)
}

/// Finds the ticket of GitHub user `user_id` (`login`) in org `org`.
///
/// 1. `GET /requests?team=…&status=<all five>&q="{login}"&limit=100`, every page (the client's page cap
///    turns an endless listing into an error); when nothing matches, the same with `q="{user_id}"` (the user
///    id answer survives a login change).
/// 2. Keep exact matches only ([`TicketFields::matches`]).
/// 3. Nothing yet: the [`NEWEST_SCAN`] newest tickets of the team (`sort=createdLast`, all statuses, no `q`).
/// 4. Several: the oldest (`createdAt`) is primary, the others are duplicates.
pub async fn find_ticket(
    spoke: &dyn SpokeApi,
    settings: &LookupSettings<'_>,
    org: &str,
    user_id: u64,
    login: &str,
) -> SpokeResult<TicketLookup> {
    let base = RequestQuery {
        team: Some(settings.team.clone()),
        filter: settings.list_filter.cloned(),
        limit: Some(100),
        ..RequestQuery::all_statuses()
    };
    let keep = |requests: Vec<Request>| -> Vec<FoundTicket> {
        requests
            .into_iter()
            .map(|request| {
                let fields = decode_request(&request, settings.fields);
                FoundTicket { request, fields }
            })
            .filter(|t| t.fields.matches(user_id, login, org, settings.legacy_org))
            .collect()
    };
    let mut found = Vec::new();
    for token in [login.to_owned(), user_id.to_string()] {
        let query = RequestQuery {
            q: Some(format!("\"{token}\"")),
            ..base.clone()
        };
        found = keep(spoke.all_requests(&query).await?);
        if !found.is_empty() {
            break;
        }
    }
    if found.is_empty() {
        let newest = RequestQuery {
            sort: Some(RequestSort::CreatedLast),
            limit: Some(NEWEST_SCAN),
            ..base.clone()
        };
        found = keep(spoke.list_requests(&newest).await?.results);
    }
    let mut seen = HashSet::new();
    found.retain(|t| seen.insert(t.request.id.clone()));
    // ISO-8601 UTC timestamps order as text; a ticket without one sorts last.
    found.sort_by(
        |a, b| match (&a.request.created_at, &b.request.created_at) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        },
    );
    let mut iter = found.into_iter();
    Ok(TicketLookup {
        primary: iter.next(),
        duplicates: iter.collect(),
    })
}

/// True when the request is open for CLS purposes (not `RESOLVED`/`AUTO_RESOLVED`).
pub fn is_open(request: &Request) -> bool {
    !matches!(
        request.status,
        Some(RequestStatus::Resolved | RequestStatus::AutoResolved)
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use futures::future::BoxFuture;
    use serde_json::json;
    use spoke_client::*;

    use super::*;
    use crate::ticket::tests::ids;

    /// Serves `pages` of a search (by `start`) and `newest` for the `createdLast` scan; records queries.
    #[derive(Default)]
    struct Pages {
        search: Vec<Request>,
        newest: Vec<Request>,
        page_size: usize,
        queries: Mutex<Vec<RequestQuery>>,
    }

    fn request(id: &str, created: &str, uid: &str, org: &str, login: &str) -> Request {
        serde_json::from_value(json!({
            "id": id, "createdAt": created, "status": "RESOLVED",
            "requestTypeInfo": {"answeredFields": [
                {"simpleValue": uid, "field": {"uuid": "uuid-2"}},
                {"simpleValue": org, "field": {"uuid": "uuid-3"}},
                {"simpleValue": login, "field": {"uuid": "uuid-1"}}
            ]}
        }))
        .unwrap()
    }

    fn unexpected<T>() -> BoxFuture<'static, SpokeResult<T>> {
        panic!("unexpected Spoke call")
    }

    impl SpokeApi for Pages {
        fn list_requests<'a>(
            &'a self,
            q: &'a RequestQuery,
        ) -> BoxFuture<'a, SpokeResult<Page<Request>>> {
            self.queries.lock().unwrap().push(q.clone());
            let all = if q.sort == Some(RequestSort::CreatedLast) {
                &self.newest
            } else {
                &self.search
            };
            let start = usize::try_from(q.start.unwrap_or(0)).unwrap();
            let results: Vec<Request> = all
                .iter()
                .skip(start)
                .take(self.page_size)
                .cloned()
                .collect();
            let page = Page {
                received: results.len() as u64,
                results,
                total: Some(all.len() as u64),
                start: Some(start as u64),
                limit: Some(self.page_size as u64),
            };
            Box::pin(async move { Ok(page) })
        }
        fn whoami(&self) -> BoxFuture<'_, SpokeResult<WhoAmI>> {
            unexpected()
        }
        fn user_by_email<'a>(&'a self, _: &'a str) -> BoxFuture<'a, SpokeResult<Option<User>>> {
            unexpected()
        }
        fn list_users<'a>(&'a self, _: &'a UserQuery) -> BoxFuture<'a, SpokeResult<Page<User>>> {
            unexpected()
        }
        fn get_user<'a>(&'a self, _: &'a UserId) -> BoxFuture<'a, SpokeResult<Option<User>>> {
            unexpected()
        }
        fn list_teams<'a>(&'a self, _: &'a TeamQuery) -> BoxFuture<'a, SpokeResult<Page<Team>>> {
            unexpected()
        }
        fn get_team<'a>(&'a self, _: &'a TeamId) -> BoxFuture<'a, SpokeResult<Option<Team>>> {
            unexpected()
        }
        fn update_team<'a>(
            &'a self,
            _: &'a TeamId,
            _: &'a TeamPatch,
        ) -> BoxFuture<'a, SpokeResult<Team>> {
            unexpected()
        }
        fn create_request<'a>(&'a self, _: &'a NewRequest) -> BoxFuture<'a, SpokeResult<Request>> {
            unexpected()
        }
        fn get_request<'a>(
            &'a self,
            _: &'a RequestId,
        ) -> BoxFuture<'a, SpokeResult<Option<Request>>> {
            unexpected()
        }
        fn update_request<'a>(
            &'a self,
            _: &'a RequestId,
            _: &'a RequestPatch,
        ) -> BoxFuture<'a, SpokeResult<Request>> {
            unexpected()
        }
        fn post_message<'a>(
            &'a self,
            _: &'a RequestId,
            _: &'a NewMessage,
        ) -> BoxFuture<'a, SpokeResult<Update>> {
            unexpected()
        }
        fn add_tags<'a>(
            &'a self,
            _: &'a RequestId,
            _: &'a [TagId],
        ) -> BoxFuture<'a, SpokeResult<()>> {
            unexpected()
        }
        fn remove_tag<'a>(
            &'a self,
            _: &'a RequestId,
            _: &'a TagId,
        ) -> BoxFuture<'a, SpokeResult<()>> {
            unexpected()
        }
        fn list_request_types<'a>(
            &'a self,
            _: &'a RequestTypeQuery,
        ) -> BoxFuture<'a, SpokeResult<Page<RequestType>>> {
            unexpected()
        }
        fn get_request_type<'a>(
            &'a self,
            _: &'a RequestTypeId,
        ) -> BoxFuture<'a, SpokeResult<Option<RequestType>>> {
            unexpected()
        }
        fn list_tags<'a>(&'a self, _: &'a TagQuery) -> BoxFuture<'a, SpokeResult<Page<Tag>>> {
            unexpected()
        }
    }

    fn settings<'a>(team: &'a TeamId, ids: &'a FieldIds) -> LookupSettings<'a> {
        LookupSettings {
            team,
            fields: ids,
            legacy_org: None,
            list_filter: None,
        }
    }

    #[tokio::test]
    async fn a_ticket_on_the_third_page_is_found_and_near_matches_are_not() {
        let mut search: Vec<Request> = (0..250)
            .map(|i| {
                request(
                    &format!("r{i:03}"),
                    "2026-01-01T00:00:00.000Z",
                    "999",
                    "acme",
                    "octocat2",
                )
            })
            .collect();
        search[5] = request(
            "other-org",
            "2026-01-01T00:00:00.000Z",
            "42",
            "beta",
            "octocat",
        );
        search[230] = request("mine", "2026-02-01T00:00:00.000Z", "42", "ACME", "octocat");
        let fake = Pages {
            search,
            page_size: 100,
            ..Pages::default()
        };
        let (team, ids) = (TeamId::new("team"), ids());
        let found = find_ticket(&fake, &settings(&team, &ids), "acme", 42, "octocat")
            .await
            .unwrap();
        assert_eq!(found.primary.unwrap().request.id.as_str(), "mine");
        assert!(found.duplicates.is_empty());
        let queries = fake.queries.lock().unwrap();
        assert_eq!(queries.len(), 3, "three pages read");
        assert_eq!(queries[0].statuses, RequestStatus::all());
        assert_eq!(queries[0].q.as_deref(), Some("\"octocat\""));
        assert_eq!(queries[0].team, Some(team.clone()));
        assert_eq!(queries[0].filter, None);
    }

    #[tokio::test]
    async fn the_newest_tickets_are_scanned_when_the_search_finds_nothing() {
        let fake = Pages {
            newest: vec![request(
                "fresh",
                "2026-03-01T00:00:00.000Z",
                "42",
                "acme",
                "octocat",
            )],
            page_size: 100,
            ..Pages::default()
        };
        let (team, ids) = (TeamId::new("team"), ids());
        let found = find_ticket(&fake, &settings(&team, &ids), "acme", 42, "octocat")
            .await
            .unwrap();
        assert_eq!(found.primary.unwrap().request.id.as_str(), "fresh");
        let queries = fake.queries.lock().unwrap();
        assert_eq!(queries.len(), 3, "login search, id search, newest scan");
        assert_eq!(queries[1].q.as_deref(), Some("\"42\""));
        assert_eq!(queries[2].q, None);
        assert_eq!(queries[2].limit, Some(NEWEST_SCAN));
    }

    #[tokio::test]
    async fn the_oldest_of_several_matches_is_used() {
        let fake = Pages {
            search: vec![
                request("newer", "2026-03-01T00:00:00.000Z", "42", "acme", "octocat"),
                request("older", "2025-03-01T00:00:00.000Z", "42", "acme", "octocat"),
            ],
            page_size: 100,
            ..Pages::default()
        };
        let (team, ids) = (TeamId::new("team"), ids());
        let found = find_ticket(&fake, &settings(&team, &ids), "acme", 42, "octocat")
            .await
            .unwrap();
        assert_eq!(found.primary.unwrap().request.id.as_str(), "older");
        assert_eq!(found.duplicates.len(), 1);
        assert_eq!(found.duplicates[0].request.id.as_str(), "newer");
        assert!(!is_open(&found.duplicates[0].request));
    }
}
