#![doc = include_str!("../README.md")]

mod api;
mod data_sources;
mod state;

use std::sync::{Arc, MutexGuard};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use fake_kit::{FakeKit, FakeState, SeededStore, ServeError};
use serde_json::{Value, json};

pub use fake_kit::RunningServer;
pub use state::{Settings, derive_app_id};

use crate::state::{Data, TokenKind};

/// The minimal seed used by tests (`fixtures/minimal.json`).
pub const MINIMAL_SEED: &str = include_str!("../fixtures/minimal.json");
/// The demo seed (`fixtures/demo.json`).
pub const DEMO_SEED: &str = include_str!("../fixtures/demo.json");

/// Every API route the fake serves, as `(METHOD, path)`; the data-source and token paths are the OpenAPI
/// templates (relative to `/v1`), the OAuth ones are not in any public spec.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/authorize"),
    ("POST", "/access_token"),
    ("POST", "/applications/{applicationId}/token"),
    ("GET", "/dataSources"),
    ("GET", "/dataSources/"),
    ("GET", "/dataSources/{dataSourceId}"),
    ("PUT", "/dataSources/{dataSourceId}"),
];

/// The seed could not be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid Webex seed: {0}")]
pub struct SeedError(String);

#[derive(Clone)]
pub(crate) struct AppState {
    store: Arc<SeededStore<Data>>,
    kit: FakeKit,
}

impl AppState {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Data> {
        self.store.lock()
    }
}

/// The stateful fake Webex. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct WebexFake {
    state: AppState,
}

impl WebexFake {
    /// A fake seeded with `seed` (see `fixtures/minimal.json`). Relative times in the seed
    /// (`expiresInSecs`, `tokenExpiresInMinutes`) count from the fake clock's current time.
    pub fn new(seed: Value) -> Result<Self, SeedError> {
        let kit = FakeKit::new("webex");
        let store = Arc::new(SeededStore::new(seed, kit.clone()).map_err(SeedError)?);
        Ok(Self {
            state: AppState { store, kit },
        })
    }

    /// A fake seeded with [`MINIMAL_SEED`].
    pub fn minimal() -> Result<Self, SeedError> {
        Self::new(serde_json::from_str(MINIMAL_SEED).map_err(|e| SeedError(e.to_string()))?)
    }

    /// A fake seeded with [`DEMO_SEED`].
    pub fn demo() -> Result<Self, SeedError> {
        Self::new(serde_json::from_str(DEMO_SEED).map_err(|e| SeedError(e.to_string()))?)
    }

    /// The shared machinery: journal, faults, rate limits, clock.
    pub fn kit(&self) -> &FakeKit {
        &self.state.kit
    }

    /// The complete app: the API under `/v1`, the control API under `/__fake/` (including
    /// `POST /__fake/settings` and `POST /__fake/revoke`), and a `TrackingID` header on every response.
    pub fn router(&self) -> Router {
        let extra = Router::new()
            .route("/settings", post(set_settings))
            .route("/revoke", post(revoke))
            .with_state(self.state.clone());
        let app = fake_kit::fake_app(
            self.state.kit.clone(),
            api::router(self.state.clone()),
            self.state.store.clone(),
            extra,
        );
        app.layer(axum::middleware::map_response(add_tracking_id))
    }

    /// Serves the fake on an ephemeral loopback port.
    pub async fn spawn(&self) -> Result<RunningServer, ServeError> {
        fake_kit::serve_ephemeral(self.router()).await
    }

    /// The state as JSON, secrets redacted (same as `GET /__fake/state`).
    pub fn state_json(&self) -> Value {
        self.state.store.state_json()
    }

    /// Merges `patch` into the behaviour switches (same as `POST /__fake/settings`).
    pub fn update_settings(&self, patch: &Value) -> Result<Settings, String> {
        let mut data = self.state.lock();
        let mut current = serde_json::to_value(&data.settings).map_err(|e| e.to_string())?;
        if let (Some(cur), Some(p)) = (current.as_object_mut(), patch.as_object()) {
            for (k, v) in p {
                cur.insert(k.clone(), v.clone());
            }
        }
        data.settings = serde_json::from_value(current).map_err(|e| e.to_string())?;
        Ok(data.settings.clone())
    }

    /// Revokes every refresh token of `client_id`; returns how many.
    pub fn revoke_refresh_tokens(&self, client_id: &str) -> usize {
        let mut data = self.state.lock();
        let mut n = 0;
        for t in data.tokens.values_mut() {
            if t.kind == TokenKind::Refresh && t.client_id == client_id && !t.revoked {
                t.revoked = true;
                n += 1;
            }
        }
        n
    }

    /// Whether the fake would accept `token` as a refresh token now.
    pub fn accepts_refresh_token(&self, token: &str) -> bool {
        let now = self.state.kit.now();
        self.state
            .lock()
            .live(token, TokenKind::Refresh, now)
            .is_some()
    }

    /// How many times data source `id` was updated, and its current expiry (RFC 3339).
    pub fn data_source_updates(&self, id: &str) -> Option<(u64, String)> {
        self.state
            .lock()
            .data_sources
            .iter()
            .find(|d| d.id == id)
            .map(|d| (d.updates, d.token_expiry.to_rfc3339()))
    }
}

async fn add_tracking_id(mut resp: Response) -> Response {
    if !resp.headers().contains_key("trackingid")
        && let Ok(v) = axum::http::HeaderValue::from_str(&api::tracking_id())
    {
        resp.headers_mut().insert("trackingid", v);
    }
    resp
}

async fn set_settings(State(app): State<AppState>, body: axum::body::Bytes) -> Response {
    let fake = WebexFake { state: app };
    match serde_json::from_slice::<Value>(&body)
        .map_err(|e| e.to_string())
        .and_then(|p| fake.update_settings(&p))
    {
        Ok(s) => axum::Json(json!(s)).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, axum::Json(json!({"error": e}))).into_response(),
    }
}

async fn revoke(State(app): State<AppState>, body: axum::body::Bytes) -> Response {
    let fake = WebexFake { state: app };
    let client = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("clientId").and_then(Value::as_str).map(str::to_owned));
    match client {
        Some(c) => axum::Json(json!({"revoked": fake.revoke_refresh_tokens(&c)})).into_response(),
        None => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "expected {\"clientId\": ...}"})),
        )
            .into_response(),
    }
}
