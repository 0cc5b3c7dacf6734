//! E1–E17 (the endpoint table of the crate README): each call's operation name, verb, route template and
//! whether it may be retried after a 5xx or a timeout, and the [`SpokeApi`] implementation over them.

use futures::future::BoxFuture;

use super::SpokeClient;
use crate::api::{SpokeApi, SpokeResult};
use crate::models::{
    NewMessage, NewRequest, Page, Request, RequestId, RequestPatch, RequestType, RequestTypeId,
    Tag, TagId, Team, TeamId, TeamPatch, Update, User, UserId, WhoAmI,
};
use crate::query::{Pairs, RequestQuery, RequestTypeQuery, TagQuery, TeamQuery, UserQuery};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verb {
    Get,
    Post,
    Patch,
    Delete,
}

impl Verb {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    pub(super) fn method(self) -> reqwest::Method {
        match self {
            Self::Get => reqwest::Method::GET,
            Self::Post => reqwest::Method::POST,
            Self::Patch => reqwest::Method::PATCH,
            Self::Delete => reqwest::Method::DELETE,
        }
    }
}

/// One endpoint of the README's table: what it is called in logs and errors, and how it may be retried
/// ("Retries" in the README).
#[derive(Debug, Clone, Copy)]
pub(super) struct Endpoint {
    pub(super) operation: &'static str,
    pub(super) verb: Verb,
    pub(super) route: &'static str,
    pub(super) idempotent: bool,
}

const fn get(operation: &'static str, route: &'static str) -> Endpoint {
    Endpoint {
        operation,
        verb: Verb::Get,
        route,
        idempotent: true,
    }
}

const E1: Endpoint = get("whoami", "/whoami");
const E2: Endpoint = get("get user by e-mail", "/users/email/{address}");
const E3: Endpoint = get("list users", "/users");
const E4: Endpoint = get("get user", "/users/{userId}");
const E5: Endpoint = get("list teams", "/teams");
const E6: Endpoint = get("get team", "/teams/{teamId}");
const E7: Endpoint = Endpoint {
    operation: "update team",
    verb: Verb::Patch,
    route: "/teams/{teamId}",
    idempotent: true,
};
const E8: Endpoint = get("list requests", "/requests");
const E9: Endpoint = Endpoint {
    operation: "create request",
    verb: Verb::Post,
    route: "/requests",
    idempotent: false,
};
const E10: Endpoint = get("get request", "/requests/{requestId}");
const E11: Endpoint = Endpoint {
    operation: "update request",
    verb: Verb::Patch,
    route: "/requests/{requestId}",
    idempotent: true,
};
const E12: Endpoint = Endpoint {
    operation: "post message",
    verb: Verb::Post,
    route: "/requests/{requestId}/messages",
    idempotent: false,
};
const E13: Endpoint = Endpoint {
    operation: "add tags",
    verb: Verb::Patch,
    route: "/requests/{requestId}/tags",
    idempotent: true,
};
const E14: Endpoint = Endpoint {
    operation: "remove tag",
    verb: Verb::Delete,
    route: "/requests/{requestId}/tags/{tagId}",
    idempotent: true,
};
const E15: Endpoint = get("list request types", "/request_types");
const E16: Endpoint = get("get request type", "/request_types/{requestTypeId}");
const E17: Endpoint = get("list tags", "/tags");

/// Every route template the client calls, as `(METHOD, template)`; the contract test checks them against
/// the vendored OpenAPI description.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", E1.route),
    ("GET", E2.route),
    ("GET", E3.route),
    ("GET", E4.route),
    ("GET", E5.route),
    ("GET", E6.route),
    ("PATCH", E7.route),
    ("GET", E8.route),
    ("POST", E9.route),
    ("GET", E10.route),
    ("PATCH", E11.route),
    ("POST", E12.route),
    ("PATCH", E13.route),
    ("DELETE", E14.route),
    ("GET", E15.route),
    ("GET", E16.route),
    ("GET", E17.route),
];
impl SpokeApi for SpokeClient {
    fn whoami(&self) -> BoxFuture<'_, SpokeResult<WhoAmI>> {
        Box::pin(async move { self.call_json(E1, &["whoami"], &Pairs::new(), None).await })
    }

    fn user_by_email<'a>(&'a self, address: &'a str) -> BoxFuture<'a, SpokeResult<Option<User>>> {
        Box::pin(async move { self.lookup(E2, &["users", "email", address.trim()]).await })
    }

    fn list_users<'a>(&'a self, query: &'a UserQuery) -> BoxFuture<'a, SpokeResult<Page<User>>> {
        Box::pin(async move { self.page(E3, &["users"], &query.pairs()).await })
    }

    fn get_user<'a>(&'a self, id: &'a UserId) -> BoxFuture<'a, SpokeResult<Option<User>>> {
        Box::pin(async move { self.lookup(E4, &["users", id.as_str()]).await })
    }

    fn list_teams<'a>(&'a self, query: &'a TeamQuery) -> BoxFuture<'a, SpokeResult<Page<Team>>> {
        Box::pin(async move { self.page(E5, &["teams"], &query.pairs()).await })
    }

    fn get_team<'a>(&'a self, id: &'a TeamId) -> BoxFuture<'a, SpokeResult<Option<Team>>> {
        Box::pin(async move { self.lookup(E6, &["teams", id.as_str()]).await })
    }

    fn update_team<'a>(
        &'a self,
        id: &'a TeamId,
        patch: &'a TeamPatch,
    ) -> BoxFuture<'a, SpokeResult<Team>> {
        Box::pin(async move { self.write(E7, &["teams", id.as_str()], patch).await })
    }

    fn list_requests<'a>(
        &'a self,
        query: &'a RequestQuery,
    ) -> BoxFuture<'a, SpokeResult<Page<Request>>> {
        Box::pin(async move { self.page(E8, &["requests"], &query.pairs()).await })
    }

    fn create_request<'a>(
        &'a self,
        request: &'a NewRequest,
    ) -> BoxFuture<'a, SpokeResult<Request>> {
        Box::pin(async move { self.write(E9, &["requests"], request).await })
    }

    fn get_request<'a>(&'a self, id: &'a RequestId) -> BoxFuture<'a, SpokeResult<Option<Request>>> {
        Box::pin(async move { self.lookup(E10, &["requests", id.as_str()]).await })
    }

    fn update_request<'a>(
        &'a self,
        id: &'a RequestId,
        patch: &'a RequestPatch,
    ) -> BoxFuture<'a, SpokeResult<Request>> {
        Box::pin(async move { self.write(E11, &["requests", id.as_str()], patch).await })
    }

    fn post_message<'a>(
        &'a self,
        id: &'a RequestId,
        message: &'a NewMessage,
    ) -> BoxFuture<'a, SpokeResult<Update>> {
        Box::pin(async move {
            self.write(E12, &["requests", id.as_str(), "messages"], message)
                .await
        })
    }

    fn add_tags<'a>(
        &'a self,
        id: &'a RequestId,
        tags: &'a [TagId],
    ) -> BoxFuture<'a, SpokeResult<()>> {
        Box::pin(async move {
            let body = serde_json::json!({
                "tags": tags.iter().map(|t| serde_json::json!({"_id": t.as_str()})).collect::<Vec<_>>()
            });
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            self.write_no_content(E13, &["requests", id.as_str(), "tags"], Some(bytes))
                .await
        })
    }

    fn remove_tag<'a>(
        &'a self,
        id: &'a RequestId,
        tag: &'a TagId,
    ) -> BoxFuture<'a, SpokeResult<()>> {
        Box::pin(async move {
            self.write_no_content(E14, &["requests", id.as_str(), "tags", tag.as_str()], None)
                .await
        })
    }

    fn list_request_types<'a>(
        &'a self,
        query: &'a RequestTypeQuery,
    ) -> BoxFuture<'a, SpokeResult<Page<RequestType>>> {
        Box::pin(async move { self.page(E15, &["request_types"], &query.pairs()).await })
    }

    fn get_request_type<'a>(
        &'a self,
        id: &'a RequestTypeId,
    ) -> BoxFuture<'a, SpokeResult<Option<RequestType>>> {
        Box::pin(async move { self.lookup(E16, &["request_types", id.as_str()]).await })
    }

    fn list_tags<'a>(&'a self, query: &'a TagQuery) -> BoxFuture<'a, SpokeResult<Page<Tag>>> {
        Box::pin(async move { self.page(E17, &["tags"], &query.pairs()).await })
    }

    fn max_pages(&self) -> u32 {
        self.inner.max_pages
    }
}
