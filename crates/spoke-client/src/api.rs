//! The `SpokeApi` trait: the operations the services use, so that they can hold an `Arc<dyn SpokeApi>`
//! and tests can inject a fake.

use futures::future::BoxFuture;
use futures::stream::BoxStream;

use crate::error::SpokeError;
use crate::models::{
    NewMessage, NewRequest, Page, Request, RequestId, RequestPatch, RequestType, RequestTypeId,
    Tag, TagId, Team, TeamId, TeamPatch, Update, User, UserId, WhoAmI,
};
use crate::paging::{self, DEFAULT_MAX_PAGES, ListRoute};
use crate::query::{RequestQuery, RequestTypeQuery, TagQuery, TeamQuery, UserQuery};

/// The result type of every operation.
pub type SpokeResult<T> = Result<T, SpokeError>;

/// A predicate for the "find first matching" forms.
pub type Matcher<'a, T> = &'a (dyn Fn(&T) -> bool + Send + Sync);

pub(crate) const USERS: ListRoute = ListRoute {
    operation: "list users",
    route: "/users",
};
pub(crate) const TEAMS: ListRoute = ListRoute {
    operation: "list teams",
    route: "/teams",
};
pub(crate) const REQUESTS: ListRoute = ListRoute {
    operation: "list requests",
    route: "/requests",
};
pub(crate) const REQUEST_TYPES: ListRoute = ListRoute {
    operation: "list request types",
    route: "/request_types",
};
pub(crate) const TAGS: ListRoute = ListRoute {
    operation: "list tags",
    route: "/tags",
};

/// The Spoke operations (E1–E17 of the README). Object-safe: methods return boxed `Send` futures, so services
/// hold an `Arc<dyn SpokeApi>`. Implementors write `Box::pin(async move { ... })`.
///
/// Lookups (`get_*`, `user_by_email`) return `Ok(None)` for 404; writes report 404 as
/// [`SpokeError::NotFound`]. The `all_*` and `find_*` forms have default implementations over the one-page
/// `list_*` methods, so a fake only implements the pages.
pub trait SpokeApi: Send + Sync {
    /// E1 `GET /whoami`.
    fn whoami(&self) -> BoxFuture<'_, SpokeResult<WhoAmI>>;

    /// E2 `GET /users/email/{address}` (case-insensitive match upstream); `None` when absent.
    fn user_by_email<'a>(&'a self, address: &'a str) -> BoxFuture<'a, SpokeResult<Option<User>>>;

    /// E3 `GET /users`, one page.
    fn list_users<'a>(&'a self, query: &'a UserQuery) -> BoxFuture<'a, SpokeResult<Page<User>>>;

    /// E4 `GET /users/{userId}`; `None` when absent.
    fn get_user<'a>(&'a self, id: &'a UserId) -> BoxFuture<'a, SpokeResult<Option<User>>>;

    /// E5 `GET /teams`, one page.
    fn list_teams<'a>(&'a self, query: &'a TeamQuery) -> BoxFuture<'a, SpokeResult<Page<Team>>>;

    /// E6 `GET /teams/{teamId}`; `None` when absent.
    fn get_team<'a>(&'a self, id: &'a TeamId) -> BoxFuture<'a, SpokeResult<Option<Team>>>;

    /// E7 `PATCH /teams/{teamId}`; returns the updated team so the caller can read back the delegation.
    fn update_team<'a>(
        &'a self,
        id: &'a TeamId,
        patch: &'a TeamPatch,
    ) -> BoxFuture<'a, SpokeResult<Team>>;

    /// E8 `GET /requests`, one page.
    fn list_requests<'a>(
        &'a self,
        query: &'a RequestQuery,
    ) -> BoxFuture<'a, SpokeResult<Page<Request>>>;

    /// E9 `POST /requests` (non-idempotent: an error with `outcome_unknown()` means "search before
    /// creating again").
    fn create_request<'a>(&'a self, request: &'a NewRequest)
    -> BoxFuture<'a, SpokeResult<Request>>;

    /// E10 `GET /requests/{requestId}`; `None` when absent.
    fn get_request<'a>(&'a self, id: &'a RequestId) -> BoxFuture<'a, SpokeResult<Option<Request>>>;

    /// E11 `PATCH /requests/{requestId}`.
    fn update_request<'a>(
        &'a self,
        id: &'a RequestId,
        patch: &'a RequestPatch,
    ) -> BoxFuture<'a, SpokeResult<Request>>;

    /// E12 `POST /requests/{requestId}/messages` (non-idempotent).
    fn post_message<'a>(
        &'a self,
        id: &'a RequestId,
        message: &'a NewMessage,
    ) -> BoxFuture<'a, SpokeResult<Update>>;

    /// E13 `PATCH /requests/{requestId}/tags`: adds tags (sent as `{"_id": ...}` objects).
    fn add_tags<'a>(
        &'a self,
        id: &'a RequestId,
        tags: &'a [TagId],
    ) -> BoxFuture<'a, SpokeResult<()>>;

    /// E14 `DELETE /requests/{requestId}/tags/{tagId}`.
    fn remove_tag<'a>(
        &'a self,
        id: &'a RequestId,
        tag: &'a TagId,
    ) -> BoxFuture<'a, SpokeResult<()>>;

    /// E15 `GET /request_types`, one page.
    fn list_request_types<'a>(
        &'a self,
        query: &'a RequestTypeQuery,
    ) -> BoxFuture<'a, SpokeResult<Page<RequestType>>>;

    /// E16 `GET /request_types/{requestTypeId}`; `None` when absent.
    fn get_request_type<'a>(
        &'a self,
        id: &'a RequestTypeId,
    ) -> BoxFuture<'a, SpokeResult<Option<RequestType>>>;

    /// E17 `GET /tags`, one page.
    fn list_tags<'a>(&'a self, query: &'a TagQuery) -> BoxFuture<'a, SpokeResult<Page<Tag>>>;

    /// The page cap of the all-pages forms (default 50).
    fn max_pages(&self) -> u32 {
        DEFAULT_MAX_PAGES
    }

    /// E3, all pages.
    fn all_users<'a>(&'a self, query: &'a UserQuery) -> BoxFuture<'a, SpokeResult<Vec<User>>> {
        Box::pin(paging::collect_all(
            self.max_pages(),
            USERS,
            query,
            move |q| async move { self.list_users(&q).await },
        ))
    }

    /// E3, paging until `matches` holds.
    fn find_user<'a>(
        &'a self,
        query: &'a UserQuery,
        matches: Matcher<'a, User>,
    ) -> BoxFuture<'a, SpokeResult<Option<User>>> {
        Box::pin(paging::find_first(
            self.max_pages(),
            USERS,
            query,
            move |q| async move { self.list_users(&q).await },
            matches,
        ))
    }

    /// E5, all pages.
    fn all_teams<'a>(&'a self, query: &'a TeamQuery) -> BoxFuture<'a, SpokeResult<Vec<Team>>> {
        Box::pin(paging::collect_all(
            self.max_pages(),
            TEAMS,
            query,
            move |q| async move { self.list_teams(&q).await },
        ))
    }

    /// E5, paging until `matches` holds.
    fn find_team<'a>(
        &'a self,
        query: &'a TeamQuery,
        matches: Matcher<'a, Team>,
    ) -> BoxFuture<'a, SpokeResult<Option<Team>>> {
        Box::pin(paging::find_first(
            self.max_pages(),
            TEAMS,
            query,
            move |q| async move { self.list_teams(&q).await },
            matches,
        ))
    }

    /// E8, all pages.
    fn all_requests<'a>(
        &'a self,
        query: &'a RequestQuery,
    ) -> BoxFuture<'a, SpokeResult<Vec<Request>>> {
        Box::pin(paging::collect_all(
            self.max_pages(),
            REQUESTS,
            query,
            move |q| async move { self.list_requests(&q).await },
        ))
    }

    /// E8, paging until `matches` holds (e.g. the exact GitHub handle in a form answer).
    fn find_request<'a>(
        &'a self,
        query: &'a RequestQuery,
        matches: Matcher<'a, Request>,
    ) -> BoxFuture<'a, SpokeResult<Option<Request>>> {
        Box::pin(paging::find_first(
            self.max_pages(),
            REQUESTS,
            query,
            move |q| async move { self.list_requests(&q).await },
            matches,
        ))
    }

    /// E8 as a stream of requests, fetched lazily one page at a time (de-duplicated, page cap applies).
    fn stream_requests<'a>(
        &'a self,
        query: &'a RequestQuery,
    ) -> BoxStream<'a, SpokeResult<Request>> {
        Box::pin(paging::stream(
            self.max_pages(),
            REQUESTS,
            query.clone(),
            move |q| async move { self.list_requests(&q).await },
        ))
    }

    /// E15, all pages.
    fn all_request_types<'a>(
        &'a self,
        query: &'a RequestTypeQuery,
    ) -> BoxFuture<'a, SpokeResult<Vec<RequestType>>> {
        Box::pin(paging::collect_all(
            self.max_pages(),
            REQUEST_TYPES,
            query,
            move |q| async move { self.list_request_types(&q).await },
        ))
    }

    /// E17, all pages.
    fn all_tags<'a>(&'a self, query: &'a TagQuery) -> BoxFuture<'a, SpokeResult<Vec<Tag>>> {
        Box::pin(paging::collect_all(
            self.max_pages(),
            TAGS,
            query,
            move |q| async move { self.list_tags(&q).await },
        ))
    }
}
