//! Signed webhook deliveries from the fake App to a receiver (the CLS webhook), and the control routes
//! that trigger them.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::Shared;
use crate::state::{Collaborator, World, legacy_permission};
use crate::wire::github_body;

/// What `POST /__fake/webhooks/send` and `POST /__fake/webhooks/member` report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryOutcome {
    /// The delivery id (for `POST /app/hook/deliveries/{id}/attempts`).
    pub delivery_id: u64,
    /// The `X-GitHub-Delivery` GUID.
    pub guid: String,
    /// The receiver's HTTP status (0 when it could not be reached).
    pub status: u16,
    /// The receiver's response body (text).
    pub body: String,
}

/// A `member` event to build from the fake's state (`{"action":"added","org":"acme","login":"octocat",
/// "repo":"widgets"}`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MemberSpec {
    /// `added`, `edited`, `removed`.
    pub action: String,
    /// Organisation login.
    pub org: String,
    /// Collaborator login (created as a user when unknown).
    pub login: String,
    /// Repository name inside the organisation.
    pub repo: String,
    /// Role for `added`/`edited`; default: the current role, else `write`.
    #[serde(default)]
    pub role_name: Option<String>,
    /// Sender login; default: the collaborator (as github.com does for accepted invitations).
    #[serde(default)]
    pub sender: Option<String>,
    /// Apply the change to the fake's state (add, change or remove the collaborator). Default true for the
    /// `member` control route.
    #[serde(default)]
    pub apply: Option<bool>,
}

impl MemberSpec {
    /// `action` (`added`, `edited`, `removed`) of `login` on `org/repo`, every option at its default.
    pub fn new(action: &str, org: &str, login: &str, repo: &str) -> Self {
        Self {
            action: action.to_owned(),
            org: org.to_owned(),
            login: login.to_owned(),
            repo: repo.to_owned(),
            ..Self::default()
        }
    }
}

#[derive(Deserialize)]
struct SendRequest {
    url: String,
    event: String,
    #[serde(default)]
    delivery: Option<String>,
    payload: Value,
    /// Sign with this secret instead of the App's (to test rejection).
    #[serde(default)]
    sign_with: Option<String>,
    /// Send no signature header at all.
    #[serde(default)]
    unsigned: bool,
}

#[derive(Deserialize)]
struct MemberRequest {
    url: String,
    #[serde(default)]
    delivery: Option<String>,
    #[serde(flatten)]
    spec: MemberSpec,
}

pub(crate) fn control_router(shared: Shared) -> Router {
    Router::new()
        .route("/webhooks/send", post(send_route))
        .route("/webhooks/member", post(member_route))
        .route("/payloads/member", post(payload_route))
        .route("/tokens/revoke", post(revoke_route))
        .route("/orgs/{org}", axum::routing::patch(org_settings_route))
        .route(
            "/orgs/{org}/permissions",
            axum::routing::put(replace_permissions_route),
        )
        .route("/orgs/{org}/members", post(add_member_route))
        .route(
            "/orgs/{org}/members/{login}",
            axum::routing::delete(remove_member_route),
        )
        .route("/orgs/{org}/audit-log", post(audit_route))
        .route("/repos/{owner}/{repo}/events", post(repo_events_route))
        .with_state(shared)
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response()
}

async fn send_route(State(s): State<Shared>, body: Bytes) -> Response {
    let req: SendRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(&format!("invalid send request: {e}")),
    };
    let raw = github_body(&req.payload);
    let guid = req
        .delivery
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let signing = if req.unsigned {
        Signing::None
    } else {
        req.sign_with.map_or(Signing::App, Signing::With)
    };
    match deliver(&s, &req.url, &req.event, &guid, raw, Some(signing), false).await {
        Ok(outcome) => Json(outcome).into_response(),
        Err(e) => bad_request(&e),
    }
}

async fn member_route(State(s): State<Shared>, body: Bytes) -> Response {
    let req: MemberRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(&format!("invalid member request: {e}")),
    };
    let mut spec = req.spec;
    spec.apply = Some(spec.apply.unwrap_or(true));
    let payload = match s.member_event(&spec) {
        Ok(p) => p,
        Err(e) => return bad_request(&e),
    };
    let raw = github_body(&payload);
    let guid = req
        .delivery
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    match deliver(
        &s,
        &req.url,
        "member",
        &guid,
        raw,
        Some(Signing::App),
        false,
    )
    .await
    {
        Ok(outcome) => Json(outcome).into_response(),
        Err(e) => bad_request(&e),
    }
}

fn outcome(result: Result<(), String>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => bad_request(&e),
    }
}

async fn org_settings_route(
    State(s): State<Shared>,
    Path(org): Path<String>,
    body: Bytes,
) -> Response {
    match serde_json::from_slice::<crate::state::OrgSettings>(&body) {
        Ok(settings) => {
            let now = s.kit.now();
            outcome(s.world().apply_settings(&org, &settings, now))
        }
        Err(e) => bad_request(&format!("invalid org settings: {e}")),
    }
}

/// `PUT /__fake/orgs/{org}/permissions` `{"members": "read", …}`: replaces the installation's permissions.
async fn replace_permissions_route(
    State(s): State<Shared>,
    Path(org): Path<String>,
    body: Bytes,
) -> Response {
    let wanted: std::collections::BTreeMap<String, String> = match serde_json::from_slice(&body) {
        Ok(w) => w,
        Err(e) => return bad_request(&format!("expected {{\"permission\": \"level\"}}: {e}")),
    };
    let now = s.kit.now();
    let mut world = s.world();
    let Some(current) = world.org(&org).map(|o| o.permissions.clone()) else {
        return bad_request(&format!("unknown org {org}"));
    };
    // Every current permission not named is removed; every named one is set.
    let mut changes: std::collections::BTreeMap<String, Option<String>> =
        current.into_keys().map(|k| (k, None)).collect();
    changes.extend(wanted.into_iter().map(|(k, v)| (k, Some(v))));
    let settings = crate::state::OrgSettings {
        permissions: Some(changes),
        ..Default::default()
    };
    outcome(world.apply_settings(&org, &settings, now))
}

#[derive(Deserialize)]
struct LoginBody {
    login: String,
}

async fn add_member_route(
    State(s): State<Shared>,
    Path(org): Path<String>,
    body: Bytes,
) -> Response {
    match serde_json::from_slice::<LoginBody>(&body) {
        Ok(b) => outcome(s.world().set_member(&org, &b.login, true)),
        Err(e) => bad_request(&format!("expected {{\"login\": ...}}: {e}")),
    }
}

async fn remove_member_route(
    State(s): State<Shared>,
    Path((org, login)): Path<(String, String)>,
) -> Response {
    outcome(s.world().set_member(&org, &login, false))
}

async fn repo_events_route(
    State(s): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    match events_body(&body) {
        Some(events) => outcome(s.world().add_repo_events(&owner, &repo, events)),
        None => bad_request("expected a repository event or an array of them"),
    }
}

async fn audit_route(State(s): State<Shared>, Path(org): Path<String>, body: Bytes) -> Response {
    match events_body(&body) {
        Some(events) => outcome(s.world().add_audit_events(&org, events)),
        None => bad_request("expected an audit-log event or an array of them"),
    }
}

/// One JSON event object or an array of them; `None` for anything else.
fn events_body(body: &[u8]) -> Option<Vec<Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(events)) => Some(events),
        Ok(event @ Value::Object(_)) => Some(vec![event]),
        _ => None,
    }
}

async fn revoke_route(State(s): State<Shared>) -> StatusCode {
    s.world().tokens.clear();
    StatusCode::NO_CONTENT
}

async fn payload_route(State(s): State<Shared>, body: Bytes) -> Response {
    let spec: MemberSpec = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(&format!("invalid member spec: {e}")),
    };
    match s.member_event(&spec) {
        Ok(p) => Json(p).into_response(),
        Err(e) => bad_request(&e),
    }
}

/// How a delivery is signed.
pub(crate) enum Signing {
    App,
    With(String),
    None,
}

pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

/// POSTs a signed delivery to `url` (loopback only), records it for `GET /app/hook/deliveries`, and returns
/// the receiver's answer. `signing: None` = the App secret (used by redeliveries).
pub(crate) async fn deliver(
    s: &Shared,
    url: &str,
    event: &str,
    guid: &str,
    body: Vec<u8>,
    signing: Option<Signing>,
    redelivery: bool,
) -> Result<DeliveryOutcome, String> {
    let target = url::Url::parse(url).map_err(|e| format!("url: {e}"))?;
    let loopback = match target.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if !loopback {
        return Err("the fake only delivers to loopback addresses".to_owned());
    }
    let (app_id, secret, installation_id, action) = {
        let world = s.world();
        let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (
            world.app.id,
            world.app.webhook_secret.clone(),
            payload.pointer("/installation/id").and_then(Value::as_u64),
            payload
                .get("action")
                .and_then(Value::as_str)
                .map(str::to_owned),
        )
    };
    let signature = match signing.unwrap_or(Signing::App) {
        Signing::App => Some(sign(&secret, &body)),
        Signing::With(other) => Some(sign(&other, &body)),
        Signing::None => None,
    };
    let mut request = s
        .http
        .post(target)
        .header("content-type", "application/json")
        .header("user-agent", "GitHub-Hookshot/fake")
        .header("x-github-event", event)
        .header("x-github-delivery", guid)
        .header("x-github-hook-id", "1")
        .header("x-github-hook-installation-target-id", app_id.to_string())
        .header("x-github-hook-installation-target-type", "integration")
        .body(body.clone());
    if let Some(sig) = signature {
        request = request.header("x-hub-signature-256", sig);
    }
    let (status, text) = match request.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            (status, resp.text().await.unwrap_or_default())
        }
        Err(e) => {
            tracing::warn!(error = %e.without_url(), "fake github could not deliver a webhook");
            (0, String::new())
        }
    };
    let now = s.kit.now();
    let mut world = s.world();
    let id = world.fresh_id();
    world.deliveries.push(crate::state::Delivery {
        id,
        guid: guid.to_owned(),
        url: url.to_owned(),
        event: event.to_owned(),
        action,
        installation_id,
        body,
        delivered_at: now,
        redelivery,
        status_code: status,
    });
    Ok(DeliveryOutcome {
        delivery_id: id,
        guid: guid.to_owned(),
        status,
        body: text,
    })
}

/// Builds a `member` payload from the state and, when `spec.apply`, applies the change.
pub(crate) fn member_event(world: &mut World, spec: &MemberSpec) -> Result<Value, String> {
    let action = spec.action.as_str();
    if !matches!(action, "added" | "edited" | "removed") {
        return Err(format!("unsupported member action {action}"));
    }
    let apply = spec.apply.unwrap_or(false);
    let user_id = if apply {
        world.ensure_user(&spec.login)
    } else {
        world
            .user_by_login(&spec.login)
            .map(|u| u.id)
            .ok_or_else(|| format!("unknown user {}", spec.login))?
    };
    let sender_id = match &spec.sender {
        Some(login) if apply => world.ensure_user(login),
        Some(login) => world
            .user_by_login(login)
            .map(|u| u.id)
            .ok_or_else(|| format!("unknown user {login}"))?,
        None => user_id,
    };
    let org = world
        .org(&spec.org)
        .ok_or_else(|| format!("unknown org {}", spec.org))?;
    let repo = org
        .repo(&spec.repo)
        .ok_or_else(|| format!("unknown repo {}/{}", spec.org, spec.repo))?;
    let current = repo
        .collaborators
        .iter()
        .find(|c| c.user_id == user_id)
        .map(|c| c.role_name.clone());
    let role = spec
        .role_name
        .clone()
        .or_else(|| current.clone())
        .unwrap_or_else(|| "write".to_owned());
    let changes = match action {
        "added" => {
            json!({"permission": {"to": legacy_permission(&role)}, "role_name": {"to": role}})
        }
        "edited" => {
            let old = current.clone().unwrap_or_else(|| "read".to_owned());
            json!({
                "old_permission": {"from": legacy_permission(&old)},
                "permission": {"from": legacy_permission(&old), "to": legacy_permission(&role)},
                "role_name": {"from": old, "to": role},
            })
        }
        _ => json!({}),
    };
    let user_json = |id: u64| {
        world.users.get(&id).map(|u| {
            json!({"login": u.login, "id": u.id, "node_id": format!("U_{}", u.id), "type": u.kind,
                   "email": null, "site_admin": false})
        })
    };
    let mut payload = json!({
        "action": action,
        "member": user_json(user_id),
        "repository": org.repo_json(repo),
        "organization": org.json(),
        "sender": user_json(sender_id),
        "installation": {"id": org.installation_id, "node_id": format!("I_{}", org.installation_id)},
    });
    if action != "removed" {
        payload["changes"] = changes;
    }
    if apply {
        let repo_name = repo.name.clone();
        if let Some(repo) = world
            .org_mut(&spec.org)
            .and_then(|o| o.repo_mut(&repo_name))
        {
            match action {
                "added" | "edited" => {
                    repo.invitations.retain(|i| i.invitee != user_id);
                    match repo.collaborators.iter_mut().find(|c| c.user_id == user_id) {
                        Some(c) => c.role_name = role,
                        None => repo.collaborators.push(Collaborator {
                            user_id,
                            role_name: role,
                        }),
                    }
                }
                _ => repo.collaborators.retain(|c| c.user_id != user_id),
            }
        }
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_githubs_published_vector() {
        assert_eq!(
            sign("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}
