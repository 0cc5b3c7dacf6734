//! The GitHub REST endpoints CLS uses (`github-slack-api.md` §1.3–1.4).

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
use crate::world::{Org, Token, World, access_rank, legacy_permission, permission_flags};

const DOCS: &str = "https://docs.github.com/rest";
const MAX_PER_PAGE: usize = 100;
const DEFAULT_PER_PAGE: usize = 30;

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

/// The permission a call needs: name, level, and the documentation page GitHub links in its 403.
#[derive(Clone, Copy)]
struct Needs {
    permission: &'static str,
    level: &'static str,
    docs: &'static str,
}

const MEMBERS_READ: Needs = Needs {
    permission: "members",
    level: "read",
    docs: "https://docs.github.com/rest/orgs/members#check-organization-membership-for-a-user",
};
const MEMBERS_READ_LIST: Needs = Needs {
    permission: "members",
    level: "read",
    docs: "https://docs.github.com/rest/orgs/outside-collaborators#list-outside-collaborators-for-an-organization",
};
const MEMBERS_WRITE: Needs = Needs {
    permission: "members",
    level: "write",
    docs: "https://docs.github.com/rest/orgs/outside-collaborators#remove-outside-collaborator-from-an-organization",
};
const METADATA_READ: Needs = Needs {
    permission: "metadata",
    level: "read",
    docs: "https://docs.github.com/rest/collaborators/collaborators",
};
const REPO_EVENTS_READ: Needs = Needs {
    permission: "metadata",
    level: "read",
    docs: "https://docs.github.com/rest/activity/events#list-repository-events",
};
const ADMINISTRATION_READ: Needs = Needs {
    permission: "administration",
    level: "read",
    docs: "https://docs.github.com/rest/collaborators/invitations#list-repository-invitations",
};
/// The audit-log API needs the organisation permission "Administration" (`organization_administration`) read.
const ORG_ADMINISTRATION_READ: Needs = Needs {
    permission: "organization_administration",
    level: "read",
    docs: "https://docs.github.com/enterprise-cloud@latest/rest/orgs/orgs#get-the-audit-log-for-an-organization",
};

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found")
}

async fn not_found_route() -> Response {
    not_found()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?.trim();
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .or_else(|| value.strip_prefix("token "))
        .map(str::trim)
}

/// The caller's installation token (known, unexpired, of an installation that is still installed and not
/// suspended): 401 `Requires authentication` without credentials, 401 `Bad credentials` for an unknown or
/// expired token, 403 for a suspended installation.
fn installation_auth<'w>(
    world: &'w World,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<&'w Token, Refusal> {
    let token = bearer(headers)
        .ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "Requires authentication"))?;
    let unauthorized = || refuse(StatusCode::UNAUTHORIZED, "Bad credentials");
    let info = world.tokens.get(token).ok_or_else(unauthorized)?;
    if now >= info.expires_at {
        return Err(unauthorized());
    }
    let org = world
        .orgs
        .iter()
        .find(|o| o.installation_id == info.installation_id);
    match org {
        Some(o) if !o.installed => Err(unauthorized()),
        Some(o) if o.suspended_at.is_some() => Err(refuse(
            StatusCode::FORBIDDEN,
            "This installation has been suspended",
        )),
        _ => Ok(info),
    }
}

/// The org `org` as seen by the installation token in `headers` (401 without a valid token, 404 for an
/// unknown org, 403 for another org's token), whose installation and token grant `needs`: else 403 "Resource not
/// accessible by integration" with `X-Accepted-GitHub-Permissions`, as GitHub answers an App lacking a
/// permission.
fn permitted_org<'w>(
    world: &'w World,
    headers: &HeaderMap,
    now: DateTime<Utc>,
    org: &str,
    needs: Needs,
) -> Result<&'w Org, Refusal> {
    let token = installation_auth(world, headers, now)?;
    let org = org_for(world, token.installation_id, org)?;
    if org.grants(needs.permission, needs.level) && token.grants(needs.permission, needs.level) {
        return Ok(org);
    }
    Err(Refusal {
        status: StatusCode::FORBIDDEN,
        message: "Resource not accessible by integration".to_owned(),
        accepted: Some(format!("{}={}", needs.permission, needs.level)),
        documentation_url: needs.docs,
    })
}

/// The organisation `org`, when the token's installation is the one installed on it.
fn org_for<'w>(world: &'w World, installation_id: u64, org: &str) -> Result<&'w Org, Refusal> {
    let org = world
        .org(org)
        .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "Not Found"))?;
    if org.installation_id != installation_id {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
        ));
    }
    Ok(org)
}

#[derive(Deserialize)]
struct AppClaims {
    iat: i64,
    exp: i64,
    iss: Value,
}

/// Verifies an App JWT: RS256 signature by the App key, `iss` = App id, `exp` in the future but at most
/// 10 minutes ahead, `iat` not in the future (60 s leeway), all against the fake clock.
fn app_auth(world: &World, headers: &HeaderMap, now: DateTime<Utc>) -> Result<(), Refusal> {
    let reject = |why: &str| {
        tracing::debug!(reason = why, "fake github refused an app jwt");
        refuse(
            StatusCode::UNAUTHORIZED,
            "A JSON web token could not be decoded",
        )
    };
    let token = bearer(headers).ok_or_else(|| reject("no bearer token"))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<AppClaims>(token, &world.app.key, &validation)
        .map_err(|_| reject("signature or format"))?;
    let claims = data.claims;
    let iss_ok = match &claims.iss {
        Value::String(s) => s == &world.app.id.to_string(),
        Value::Number(n) => n.as_u64() == Some(world.app.id),
        _ => false,
    };
    if !iss_ok {
        return Err(reject("iss"));
    }
    let now = now.timestamp();
    if claims.exp <= now {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        ));
    }
    if claims.exp > now + 600 + 30 {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "'Expiration time' claim ('exp') is too far in the future",
        ));
    }
    if claims.iat > now + 60 {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
        ));
    }
    Ok(())
}

/// Answers one page of `items` with a `Link` header naming the next and last pages.
fn paginate(
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

async fn get_app(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let world = s.world();
    if let Err(r) = app_auth(&world, &headers, s.kit.now()) {
        return r.into_response();
    }
    Json(json!({"id": world.app.id, "slug": world.app.slug, "name": world.app.slug}))
        .into_response()
}

#[derive(Deserialize, Default)]
struct TokenRequest {
    /// A subset of the installation's permissions for this token.
    #[serde(default)]
    permissions: Option<BTreeMap<String, String>>,
}

async fn create_token(
    State(s): State<Shared>,
    Path(installation_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = s.kit.now();
    let mut world = s.world();
    if let Err(r) = app_auth(&world, &headers, now) {
        return r.into_response();
    }
    let Ok(installation_id) = installation_id.parse::<u64>() else {
        return not_found();
    };
    let Some(org) = world
        .orgs
        .iter()
        .find(|o| o.installation_id == installation_id && o.installed)
    else {
        return not_found();
    };
    if org.suspended_at.is_some() {
        return error(
            StatusCode::FORBIDDEN,
            "This installation has been suspended",
        );
    }
    let request: TokenRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TokenRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(_) => return error(StatusCode::BAD_REQUEST, "Problems parsing JSON"),
        }
    };
    let permissions = match request.permissions {
        None => org.permissions.clone(),
        Some(asked) => {
            let granted = asked
                .iter()
                .all(|(name, level)| access_rank(level) > 0 && org.grants(name, level));
            if !granted {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "The permissions requested are not granted to this installation.",
                );
            }
            asked
        }
    };
    // New-format tokens are longer than 40 characters; clients must treat them as opaque.
    let suffix: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(52)
        .map(char::from)
        .collect();
    let token = format!("ghs_{suffix}");
    let expires_at = now + chrono::Duration::seconds(world.app.token_ttl_secs);
    world.tokens.insert(
        token.clone(),
        Token {
            installation_id,
            expires_at,
            permissions: permissions.clone(),
        },
    );
    world.tokens_issued += 1;
    (
        StatusCode::CREATED,
        Json(json!({
            "token": token,
            "expires_at": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "permissions": permissions,
            "repository_selection": "all",
        })),
    )
        .into_response()
}

/// `GET /orgs/{org}/installation` (App JWT): the App's installation on `org`; 404 when it is not installed.
async fn org_installation(
    State(s): State<Shared>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    if let Err(r) = app_auth(&world, &headers, s.kit.now()) {
        return r.into_response();
    }
    match world.org(&org).filter(|o| o.installed) {
        Some(o) => Json(o.installation_json(&world.app)).into_response(),
        None => not_found(),
    }
}

/// `GET /app/installations/{installation_id}` (App JWT).
async fn installation_by_id(
    State(s): State<Shared>,
    Path(installation_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    if let Err(r) = app_auth(&world, &headers, s.kit.now()) {
        return r.into_response();
    }
    let found = installation_id.parse::<u64>().ok().and_then(|id| {
        world
            .orgs
            .iter()
            .find(|o| o.installation_id == id && o.installed)
    });
    match found {
        Some(o) => Json(o.installation_json(&world.app)).into_response(),
        None => not_found(),
    }
}

/// `GET /app/installations` (App JWT), paginated.
async fn list_installations(
    State(s): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    if let Err(r) = app_auth(&world, &headers, s.kit.now()) {
        return r.into_response();
    }
    let items = world
        .orgs
        .iter()
        .filter(|o| o.installed)
        .map(|o| o.installation_json(&world.app))
        .collect();
    paginate(items, &query, &uri, &headers)
}

async fn list_deliveries(
    State(s): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    if let Err(r) = app_auth(&world, &headers, s.kit.now()) {
        return r.into_response();
    }
    let items: Vec<Value> = world
        .deliveries
        .iter()
        .rev()
        .map(crate::world::Delivery::json)
        .collect();
    paginate(items, &query, &uri, &headers)
}

async fn redeliver(
    State(s): State<Shared>,
    Path(delivery_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let original = {
        let world = s.world();
        if let Err(r) = app_auth(&world, &headers, s.kit.now()) {
            return r.into_response();
        }
        let Ok(id) = delivery_id.parse::<u64>() else {
            return not_found();
        };
        match world.deliveries.iter().find(|d| d.id == id) {
            Some(d) => d.clone(),
            None => return not_found(),
        }
    };
    // GitHub answers 202 and redelivers asynchronously; the fake redelivers before answering so that tests
    // observe the result deterministically.
    let sent = crate::webhooks::deliver(
        &s,
        &original.url,
        &original.event,
        &original.guid,
        original.body.clone(),
        None,
        true,
    )
    .await;
    if let Err(e) = sent {
        return error(StatusCode::UNPROCESSABLE_ENTITY, &e);
    }
    (StatusCode::ACCEPTED, Json(json!({}))).into_response()
}

async fn check_member(
    State(s): State<Shared>,
    Path((org, username)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    let org = match permitted_org(&world, &headers, s.kit.now(), &org, MEMBERS_READ) {
        Ok(o) => o,
        Err(r) => return r.into_response(),
    };
    if org.membership_hidden {
        let location = format!("/orgs/{}/public_members/{username}", org.login);
        let mut resp = StatusCode::FOUND.into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            resp.headers_mut().insert("location", v);
        }
        return resp;
    }
    match world.user_by_login(&username) {
        Some(u) if org.is_member(u.id) => StatusCode::NO_CONTENT.into_response(),
        _ => error(
            StatusCode::NOT_FOUND,
            "User does not exist or is not a member of the organization",
        ),
    }
}

async fn remove_outside(
    State(s): State<Shared>,
    Path((org, username)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut world = s.world();
    if let Err(r) = permitted_org(&world, &headers, s.kit.now(), &org, MEMBERS_WRITE) {
        return r.into_response();
    }
    let Some(user_id) = world.user_by_login(&username).map(|u| u.id) else {
        return not_found();
    };
    let Some(org) = world.org_mut(&org) else {
        return not_found();
    };
    if org.is_member(user_id) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "You cannot specify an organization member to remove as an outside collaborator.",
        );
    }
    let mut removed = false;
    for repo in &mut org.repos {
        let before = repo.collaborators.len();
        repo.collaborators.retain(|c| c.user_id != user_id);
        removed |= repo.collaborators.len() != before;
        repo.invitations.retain(|i| i.invitee != user_id);
    }
    if removed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found()
    }
}

async fn list_outside(
    State(s): State<Shared>,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    let org = match permitted_org(&world, &headers, s.kit.now(), &org, MEMBERS_READ_LIST) {
        Ok(o) => o,
        Err(r) => return r.into_response(),
    };
    let items = org
        .outside_collaborators()
        .into_iter()
        .filter_map(|id| world.users.get(&id).map(crate::world::User::simple_json))
        .collect();
    paginate(items, &query, &uri, &headers)
}

async fn list_repos(
    State(s): State<Shared>,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    let org = match permitted_org(&world, &headers, s.kit.now(), &org, METADATA_READ) {
        Ok(o) => o,
        Err(r) => return r.into_response(),
    };
    let items = org.repos.iter().map(|r| org.repo_json(r)).collect();
    paginate(items, &query, &uri, &headers)
}

async fn list_collaborators(
    State(s): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    let org = match permitted_org(&world, &headers, s.kit.now(), &owner, METADATA_READ) {
        Ok(o) => o,
        Err(r) => return r.into_response(),
    };
    let Some(repo) = org.repo(&repo) else {
        return not_found();
    };
    let affiliation = query.get("affiliation").map_or("all", String::as_str);
    let items = repo
        .collaborators
        .iter()
        .filter(|c| affiliation != "outside" || !org.is_member(c.user_id))
        .filter_map(|c| {
            let mut v = world.users.get(&c.user_id)?.simple_json();
            v["role_name"] = json!(c.role_name);
            v["permissions"] = permission_flags(&c.role_name);
            Some(v)
        })
        .collect();
    paginate(items, &query, &uri, &headers)
}

async fn permission(
    State(s): State<Shared>,
    Path((owner, repo, username)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    let org = match permitted_org(&world, &headers, s.kit.now(), &owner, METADATA_READ) {
        Ok(o) => o,
        Err(r) => return r.into_response(),
    };
    let Some(repo) = org.repo(&repo) else {
        return not_found();
    };
    let Some(user) = world.user_by_login(&username) else {
        return error(StatusCode::NOT_FOUND, &format!("{username} is not a user"));
    };
    let role = repo
        .collaborators
        .iter()
        .find(|c| c.user_id == user.id)
        .map(|c| c.role_name.clone())
        .or_else(|| org.is_member(user.id).then(|| "read".to_owned()));
    let (permission, role_name) = match &role {
        Some(r) => (legacy_permission(r), r.as_str()),
        None => ("none", "none"),
    };
    let mut u = user.simple_json();
    u["role_name"] = json!(role_name);
    u["permissions"] = match &role {
        Some(r) => permission_flags(r),
        None => {
            json!({"pull": false, "triage": false, "push": false, "maintain": false, "admin": false})
        }
    };
    Json(json!({"permission": permission, "role_name": role_name, "user": u})).into_response()
}

async fn list_invitations(
    State(s): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    let org = match permitted_org(&world, &headers, s.kit.now(), &owner, ADMINISTRATION_READ) {
        Ok(o) => o,
        Err(r) => return r.into_response(),
    };
    let Some(repo) = org.repo(&repo) else {
        return not_found();
    };
    let items = repo
        .invitations
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "repository": org.repo_json(repo),
                "invitee": world.users.get(&i.invitee).map(crate::world::User::simple_json),
                "inviter": i.inviter.and_then(|x| world.users.get(&x)).map(crate::world::User::simple_json),
                "permissions": i.permissions,
                "created_at": i.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "expired": false,
            })
        })
        .collect();
    paginate(items, &query, &uri, &headers)
}

/// Repository events, newest first (`created_at`), paginated; public events need only metadata read.
async fn list_repo_events(
    State(s): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    let org = match permitted_org(&world, &headers, s.kit.now(), &owner, REPO_EVENTS_READ) {
        Ok(o) => o,
        Err(r) => return r.into_response(),
    };
    let Some(repo) = org.repo(&repo) else {
        return not_found();
    };
    let mut items = repo.events.clone();
    items.sort_by(|a, b| {
        let at = |e: &Value| {
            e.get("created_at")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        at(b).cmp(&at(a))
    });
    paginate(items, &query, &uri, &headers)
}

async fn user_by_id(
    State(s): State<Shared>,
    Path(account_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    if let Err(r) = installation_auth(&world, &headers, s.kit.now()) {
        return r.into_response();
    }
    let user = account_id
        .parse::<u64>()
        .ok()
        .and_then(|id| world.users.get(&id));
    match user {
        Some(u) => Json(u.full_json()).into_response(),
        None => not_found(),
    }
}

async fn user_by_login(
    State(s): State<Shared>,
    Path(username): Path<String>,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    if let Err(r) = installation_auth(&world, &headers, s.kit.now()) {
        return r.into_response();
    }
    match world.user_by_login(&username) {
        Some(u) => Json(u.full_json()).into_response(),
        None => not_found(),
    }
}

/// Audit log (Enterprise Cloud only; 404 otherwise). `phrase` supports `action:`, `repo:`, `user:`,
/// `actor:` and `created:>=YYYY-MM-DD` terms; events are returned newest first.
async fn audit_log(
    State(s): State<Shared>,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    let org = match permitted_org(&world, &headers, s.kit.now(), &org, ORG_ADMINISTRATION_READ) {
        Ok(o) => o,
        Err(r) => return r.into_response(),
    };
    if !org.enterprise {
        return not_found();
    }
    let phrase = query.get("phrase").cloned().unwrap_or_default();
    let mut items: Vec<Value> = org
        .audit_log
        .iter()
        .filter(|e| phrase_matches(&phrase, e))
        .cloned()
        .collect();
    items.sort_by_key(|e| std::cmp::Reverse(event_millis(e)));
    paginate(items, &query, &uri, &headers)
}

fn event_millis(e: &Value) -> i64 {
    e.get("@timestamp")
        .and_then(Value::as_i64)
        .or_else(|| e.get("created_at").and_then(Value::as_i64))
        .unwrap_or(0)
}

fn phrase_matches(phrase: &str, event: &Value) -> bool {
    phrase.split_whitespace().all(|term| {
        let Some((key, value)) = term.split_once(':') else {
            return true;
        };
        let field = |name: &str| {
            event
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        match key {
            "action" => field("action") == value,
            "repo" => field("repo").eq_ignore_ascii_case(value),
            "user" => {
                field("user").eq_ignore_ascii_case(value)
                    || field("invitee").eq_ignore_ascii_case(value)
            }
            "actor" => field("actor").eq_ignore_ascii_case(value),
            "created" => {
                let Some(date) = value.strip_prefix(">=") else {
                    return true;
                };
                match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
                    Ok(d) => {
                        let start = d
                            .and_hms_opt(0, 0, 0)
                            .map(|t| t.and_utc().timestamp_millis())
                            .unwrap_or(0);
                        event_millis(event) >= start
                    }
                    Err(_) => true,
                }
            }
            _ => true,
        }
    })
}
