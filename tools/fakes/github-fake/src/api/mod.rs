//! The GitHub REST endpoints CLS uses (README, "Behaviour"): the router, GitHub-style errors and `Link`
//! pagination here; the required request headers in `client_headers`, authentication in `auth`, the App
//! endpoints in `app`, the org, repo and user endpoints in `orgs`.

mod app;
mod auth;
mod client_headers;
mod orgs;

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, NaiveDate, Utc};
use jsonwebtoken::{Algorithm, Validation};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::state::{Org, Token, World, access_rank, legacy_permission, permission_flags};

const DOCS: &str = "https://docs.github.com/rest";
const MAX_PER_PAGE: usize = 100;
const DEFAULT_PER_PAGE: usize = 30;

use self::app::*;
use self::orgs::*;

pub(crate) fn router(shared: Shared) -> Router {
    Router::new()
        .route("/app", get(get_app))
        .route(
            "/app/installations/{installation_id}/access_tokens",
            post(create_token),
        )
        .route("/app/installations", get(list_installations))
        .route(
            "/app/installations/{installation_id}",
            get(installation_by_id),
        )
        .route("/orgs/{org}/installation", get(org_installation))
        .route("/app/hook/deliveries", get(list_deliveries))
        .route(
            "/app/hook/deliveries/{delivery_id}/attempts",
            post(redeliver),
        )
        .route("/orgs/{org}/members/{username}", get(check_member))
        .route("/orgs/{org}/outside_collaborators", get(list_outside))
        .route(
            "/orgs/{org}/outside_collaborators/{username}",
            delete(remove_outside),
        )
        .route("/orgs/{org}/repos", get(list_repos))
        .route("/orgs/{org}/audit-log", get(audit_log))
        .route("/user/{account_id}", get(user_by_id))
        .route("/users/{username}", get(user_by_login))
        .route(
            "/repos/{owner}/{repo}/collaborators",
            get(list_collaborators),
        )
        .route(
            "/repos/{owner}/{repo}/collaborators/{username}/permission",
            get(permission),
        )
        .route("/repos/{owner}/{repo}/invitations", get(list_invitations))
        .route("/repos/{owner}/{repo}/events", get(list_repo_events))
        .fallback(not_found_route)
        .layer(axum::middleware::from_fn(
            client_headers::require_client_headers,
        ))
        .with_state(shared)
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"message": message, "documentation_url": DOCS, "status": status.as_u16().to_string()})),
    )
        .into_response()
}

/// A refused call, turned into a GitHub-style error response.
pub(crate) struct Refusal {
    status: StatusCode,
    message: String,
    /// `X-Accepted-GitHub-Permissions` (what the call needs), on permission refusals.
    accepted: Option<String>,
    documentation_url: &'static str,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(
                json!({"message": self.message, "documentation_url": self.documentation_url,
                        "status": self.status.as_u16().to_string()}),
            ),
        )
            .into_response();
        if let Some(accepted) = self.accepted
            && let Ok(v) = HeaderValue::from_str(&accepted)
        {
            resp.headers_mut()
                .insert("x-accepted-github-permissions", v);
        }
        resp
    }
}

fn refuse(status: StatusCode, message: &str) -> Refusal {
    Refusal {
        status,
        message: message.to_owned(),
        accepted: None,
        documentation_url: DOCS,
    }
}

pub(super) fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found")
}

pub(super) async fn not_found_route() -> Response {
    not_found()
}

/// Answers one page of `items` with a `Link` header naming the next and last pages.
pub(super) fn paginate(
    items: Vec<Value>,
    query: &HashMap<String, String>,
    uri: &OriginalUri,
    headers: &HeaderMap,
) -> Response {
    let per_page = query
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(DEFAULT_PER_PAGE)
        .clamp(1, MAX_PER_PAGE);
    let page = query
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let body: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut resp = Json(Value::Array(body)).into_response();
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let link_for = |n: usize| {
        let mut params: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "page")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        params.sort();
        params.push(("page".to_owned(), n.to_string()));
        let qs = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        format!("http://{host}{}?{qs}", uri.0.path())
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("<{}>; rel=\"next\"", link_for(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", link_for(last)));
    }
    if page > 1 {
        links.push(format!("<{}>; rel=\"prev\"", link_for(page - 1)));
        links.push(format!("<{}>; rel=\"first\"", link_for(1)));
    }
    if !links.is_empty()
        && let Ok(v) = HeaderValue::from_str(&links.join(", "))
    {
        resp.headers_mut().insert("link", v);
    }
    resp
}
