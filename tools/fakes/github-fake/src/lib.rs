#![doc = include_str!("../README.md")]

mod api;
mod state;
mod webhooks;
mod wire;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::http::HeaderValue;
use axum::response::Response;
use fake_kit::{FakeKit, FakeState, RunningServer, ServeError};
use serde_json::{Value, json};

pub use webhooks::{DeliveryOutcome, MemberSpec};

use crate::state::World;

/// The `minimal.json` seed: org `acme`, member `alice`, outside collaborator `octocat`, repo `widgets`.
pub const MINIMAL_SEED: &str = include_str!("../fixtures/minimal.json");
/// The `demo.json` seed used by the local stack: orgs `acme` (Enterprise Cloud) and `globex`.
pub const DEMO_SEED: &str = include_str!("../fixtures/demo.json");
/// **TEST-ONLY** private key (PKCS#1 PEM) of the fake App. It protects nothing; never use it for a real App.
pub const TEST_APP_PRIVATE_KEY_PEM: &str = include_str!("../fixtures/test-app-key.pem");
/// The public half of [`TEST_APP_PRIVATE_KEY_PEM`], which the fake uses unless the seed names another key.
pub const TEST_APP_PUBLIC_KEY_PEM: &str = state::TEST_APP_PUBLIC_KEY_PEM;

/// A seed could not be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid github-fake seed: {0}")]
pub struct SeedError(String);

/// State shared by the handlers.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) kit: FakeKit,
    world: Arc<Mutex<World>>,
    initial_seed: Arc<Value>,
    pub(crate) http: reqwest::Client,
}

impl Shared {
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn member_event(&self, spec: &MemberSpec) -> Result<Value, String> {
        webhooks::member_event(&mut self.world(), spec)
    }
}

impl FakeState for Shared {
    fn state_json(&self) -> Value {
        let mut state = self.world().state_json();
        state["now"] = json!(self.kit.now().to_rfc3339());
        state
    }

    fn reset(&self, seed: Option<Value>) -> Result<(), String> {
        let seed = seed.unwrap_or_else(|| (*self.initial_seed).clone());
        let fresh = World::from_seed(&seed)?;
        *self.world() = fresh;
        Ok(())
    }
}

/// The GitHub stand-in: an axum router with the REST subset CLS uses, App JWT and installation-token
/// checks, Link pagination, rate-limit headers, the fake-kit control API and webhook sending.
#[derive(Clone)]
pub struct GithubFake {
    shared: Shared,
}

impl std::fmt::Debug for GithubFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubFake")
            .field("app_id", &self.app_id())
            .finish_non_exhaustive()
    }
}

impl GithubFake {
    /// A fake seeded with `seed` (the shape of `fixtures/minimal.json`).
    pub fn new(seed: Value) -> Result<Self, SeedError> {
        let world = World::from_seed(&seed).map_err(SeedError)?;
        // The kit adds rate-limit headers only to its own refusals, so that a fault rule can answer
        // `x-ratelimit-remaining: 0` (a primary rate limit, 403); every other response gets GitHub's
        // headers from `with_github_headers`.
        let kit = FakeKit::with_rate_limit(
            "github",
            false,
            json!({"message": "API rate limit exceeded", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}),
        );
        let http = fake_kit::client_builder()
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SeedError(format!("http client: {e}")))?;
        Ok(Self {
            shared: Shared {
                kit,
                world: Arc::new(Mutex::new(world)),
                initial_seed: Arc::new(seed),
                http,
            },
        })
    }

    /// A fake seeded with `fixtures/minimal.json`.
    pub fn minimal() -> Result<Self, SeedError> {
        Self::new(parse_seed(MINIMAL_SEED)?)
    }

    /// A fake seeded with `fixtures/demo.json`.
    pub fn demo() -> Result<Self, SeedError> {
        Self::new(parse_seed(DEMO_SEED)?)
    }

    /// The kit: journal, faults, rate limits, fake clock.
    pub fn kit(&self) -> &FakeKit {
        &self.shared.kit
    }

    /// The complete app: API, control API under `/__fake/` (plus `webhooks/send`, `webhooks/member`,
    /// `payloads/member`). Every response carries a `Date` from the fake clock, so that
    /// `x-ratelimit-reset` is consistent with it.
    pub fn router(&self) -> Router {
        let api = api::router(self.shared.clone());
        let state: Arc<dyn FakeState> = Arc::new(self.shared.clone());
        let kit = self.shared.kit.clone();
        fake_kit::fake_app(
            kit.clone(),
            api,
            state,
            webhooks::control_router(self.shared.clone()),
        )
        .layer(axum::middleware::map_response(move |resp: Response| {
            let kit = kit.clone();
            async move { with_github_headers(&kit, resp) }
        }))
    }

    /// Serves the router on `127.0.0.1` with an ephemeral port.
    pub async fn spawn(&self) -> Result<RunningServer, ServeError> {
        fake_kit::serve_ephemeral(self.router()).await
    }

    /// The App id.
    pub fn app_id(&self) -> u64 {
        self.shared.world().app.id
    }

    /// The App's webhook secret (a test-only value from the seed).
    pub fn webhook_secret(&self) -> String {
        self.shared.world().app.webhook_secret.clone()
    }

    /// The installation id of `org`.
    pub fn installation_id(&self, org: &str) -> Option<u64> {
        self.shared.world().org(org).map(|o| o.installation_id)
    }

    /// The numeric id of `org`.
    pub fn org_id(&self, org: &str) -> Option<u64> {
        self.shared.world().org(org).map(|o| o.id)
    }

    /// The numeric id of a user.
    pub fn user_id(&self, login: &str) -> Option<u64> {
        self.shared.world().user_by_login(login).map(|u| u.id)
    }

    /// How many installation tokens have been issued.
    pub fn tokens_issued(&self) -> u64 {
        self.shared.world().tokens_issued
    }

    /// The state as JSON (tokens as fingerprints, webhook secret redacted).
    pub fn state(&self) -> Value {
        self.shared.state_json()
    }

    /// Builds a `member` payload from the state; applies the change when `spec.apply` is true.
    pub fn member_payload(&self, spec: &MemberSpec) -> Result<Value, SeedError> {
        self.shared.member_event(spec).map_err(SeedError)
    }

    /// Sends a signed delivery of `payload` to `url` (loopback only) and returns the receiver's answer. The body
    /// is written as GitHub writes it (README, "Webhook bodies"); `delivery` is the GUID, a fresh one when `None`.
    pub async fn send_webhook(
        &self,
        url: &str,
        event: &str,
        delivery: Option<&str>,
        payload: &Value,
    ) -> Result<DeliveryOutcome, SeedError> {
        let raw = wire::github_body(payload);
        let guid = delivery.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        webhooks::deliver(&self.shared, url, event, &guid, raw, None, false)
            .await
            .map_err(SeedError)
    }

    /// Revokes every installation token issued so far (their next use answers 401).
    pub fn revoke_tokens(&self) {
        self.shared.world().tokens.clear();
    }

    /// Makes `login` a member of `org` (created as a user when unknown).
    pub fn add_member(&self, org: &str, login: &str) -> Result<(), SeedError> {
        let mut world = self.shared.world();
        let id = world.ensure_user(login);
        let org = world
            .org_mut(org)
            .ok_or_else(|| SeedError(format!("unknown org {org}")))?;
        if !org.members.contains(&id) {
            org.members.push(id);
        }
        Ok(())
    }

    /// Gives `login` direct access to `org/repo` with `role_name`.
    pub fn add_collaborator(
        &self,
        org: &str,
        repo: &str,
        login: &str,
        role_name: &str,
    ) -> Result<(), SeedError> {
        let spec = MemberSpec {
            action: "added".to_owned(),
            org: org.to_owned(),
            login: login.to_owned(),
            repo: repo.to_owned(),
            role_name: Some(role_name.to_owned()),
            sender: None,
            apply: Some(true),
        };
        self.shared
            .member_event(&spec)
            .map(|_| ())
            .map_err(SeedError)
    }

    /// Removes `login` from `org`'s members.
    pub fn remove_member(&self, org: &str, login: &str) -> Result<(), SeedError> {
        self.shared
            .world()
            .set_member(org, login, false)
            .map_err(SeedError)
    }

    fn apply_settings(&self, org: &str, settings: &state::OrgSettings) -> Result<(), SeedError> {
        let now = self.shared.kit.now();
        self.shared
            .world()
            .apply_settings(org, settings, now)
            .map_err(SeedError)
    }

    /// Makes the membership check of `org` answer 302 (the App cannot see membership) or not.
    pub fn set_membership_hidden(&self, org: &str, hidden: bool) -> Result<(), SeedError> {
        self.apply_settings(
            org,
            &state::OrgSettings {
                membership_hidden: Some(hidden),
                ..Default::default()
            },
        )
    }

    /// Turns `org`'s audit-log API (Enterprise Cloud) on or off (404).
    pub fn set_enterprise(&self, org: &str, enterprise: bool) -> Result<(), SeedError> {
        self.apply_settings(
            org,
            &state::OrgSettings {
                enterprise: Some(enterprise),
                ..Default::default()
            },
        )
    }

    /// Sets one permission of `org`'s App installation (`"members"`, `"write"`); `level` `"none"` removes it.
    /// Calls needing more answer 403 "Resource not accessible by integration", also with tokens minted before.
    pub fn set_permission(
        &self,
        org: &str,
        permission: &str,
        level: &str,
    ) -> Result<(), SeedError> {
        let change = [(permission.to_owned(), Some(level.to_owned()))];
        self.apply_settings(
            org,
            &state::OrgSettings {
                permissions: Some(change.into_iter().collect()),
                ..Default::default()
            },
        )
    }

    /// The permissions of `org`'s App installation (name → `read`/`write`/`admin`).
    pub fn permissions(&self, org: &str) -> Option<BTreeMap<String, String>> {
        self.shared.world().org(org).map(|o| o.permissions.clone())
    }

    /// Suspends (`true`) or unsuspends `org`'s installation: token requests and API calls answer 403
    /// "This installation has been suspended".
    pub fn set_suspended(&self, org: &str, suspended: bool) -> Result<(), SeedError> {
        self.apply_settings(
            org,
            &state::OrgSettings {
                suspended: Some(suspended),
                ..Default::default()
            },
        )
    }

    /// Uninstalls (`false`) or reinstalls the App on `org`: uninstalling revokes its tokens (401), token
    /// requests and `GET /orgs/{org}/installation` answer 404.
    pub fn set_installed(&self, org: &str, installed: bool) -> Result<(), SeedError> {
        self.apply_settings(
            org,
            &state::OrgSettings {
                installed: Some(installed),
                ..Default::default()
            },
        )
    }

    /// The repositories `login` can reach in `org` as an outside collaborator, with the role in each
    /// (`[("widgets", "maintain")]`); empty for members and strangers.
    pub fn outside_collaborator_repos(&self, org: &str, login: &str) -> Vec<(String, String)> {
        let world = self.shared.world();
        let (Some(org), Some(user)) = (world.org(org), world.user_by_login(login)) else {
            return Vec::new();
        };
        if org.is_member(user.id) {
            return Vec::new();
        }
        org.repos
            .iter()
            .filter_map(|r| {
                let c = r.collaborators.iter().find(|c| c.user_id == user.id)?;
                Some((r.name.clone(), c.role_name.clone()))
            })
            .collect()
    }

    /// Appends repository events of `org/repo` (raw JSON: `type`, `actor` {`id`, `login`}, `created_at`, …).
    pub fn add_repo_events(
        &self,
        org: &str,
        repo: &str,
        events: Vec<Value>,
    ) -> Result<(), SeedError> {
        self.shared
            .world()
            .add_repo_events(org, repo, events)
            .map_err(SeedError)
    }

    /// Appends audit-log events (raw JSON: `action`, `actor`, `user`, `repo`, `@timestamp` in ms, …).
    pub fn add_audit_events(&self, org: &str, events: Vec<Value>) -> Result<(), SeedError> {
        self.shared
            .world()
            .add_audit_events(org, events)
            .map_err(SeedError)
    }

    /// Builds a `member` event from `spec` (applying it unless `spec.apply == Some(false)`) and delivers
    /// it, signed, to `url`.
    pub async fn send_member_event(
        &self,
        url: &str,
        spec: &MemberSpec,
        delivery: Option<&str>,
    ) -> Result<DeliveryOutcome, SeedError> {
        let mut spec = spec.clone();
        spec.apply = Some(spec.apply.unwrap_or(true));
        let payload = self.member_payload(&spec)?;
        self.send_webhook(url, "member", delivery, &payload).await
    }

    /// True when `login` has direct access to some repository of `org` without being a member.
    pub fn is_outside_collaborator(&self, org: &str, login: &str) -> bool {
        let world = self.shared.world();
        let Some(id) = world.user_by_login(login).map(|u| u.id) else {
            return false;
        };
        world
            .org(org)
            .is_some_and(|o| o.outside_collaborators().contains(&id))
    }
}

fn parse_seed(text: &str) -> Result<Value, SeedError> {
    serde_json::from_str(text).map_err(|e| SeedError(e.to_string()))
}

/// GitHub's rate-limit headers where the kit or a fault rule did not set them (the kit dates every answer by
/// the fake clock).
fn with_github_headers(kit: &FakeKit, mut resp: Response) -> Response {
    let now = kit.now();
    let reset = (now + chrono::Duration::hours(1)).timestamp().to_string();
    let headers = resp.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", "5000".to_owned()),
        ("x-ratelimit-remaining", "4999".to_owned()),
        ("x-ratelimit-reset", reset),
        ("x-ratelimit-resource", "core".to_owned()),
    ] {
        if !headers.contains_key(name)
            && let Ok(v) = HeaderValue::from_str(&value)
        {
            headers.insert(name, v);
        }
    }
    resp
}
