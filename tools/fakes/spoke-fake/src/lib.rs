#![doc = include_str!("../README.md")]

mod api;
mod state;

use std::sync::{Arc, MutexGuard};

use axum::Router;
use fake_kit::{FakeKit, FakeState, FaultRule, RateLimitConfig, SeededStore, ServeError};
use serde_json::{Value, json};

pub use fake_kit::RunningServer;

use crate::state::Data;

/// The minimal seed used by tests (`fixtures/minimal.json`).
pub const MINIMAL_SEED: &str = include_str!("../fixtures/minimal.json");
/// The demo seed (`fixtures/demo.json`).
pub const DEMO_SEED: &str = include_str!("../fixtures/demo.json");

/// Every `/api/v1` route the fake serves, as `(METHOD, OpenAPI path template)`.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/whoami"),
    ("GET", "/users"),
    ("GET", "/users/email/{address}"),
    ("GET", "/users/{userId}"),
    ("GET", "/teams"),
    ("GET", "/teams/{teamId}"),
    ("PATCH", "/teams/{teamId}"),
    ("GET", "/requests"),
    ("POST", "/requests"),
    ("GET", "/requests/{requestId}"),
    ("PATCH", "/requests/{requestId}"),
    ("POST", "/requests/{requestId}/messages"),
    ("PATCH", "/requests/{requestId}/tags"),
    ("DELETE", "/requests/{requestId}/tags/{tagId}"),
    ("GET", "/request_types"),
    ("GET", "/request_types/{requestTypeId}"),
    ("GET", "/tags"),
];

/// The seed could not be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid Spoke seed: {0}")]
pub struct SeedError(String);

#[derive(Clone)]
pub(crate) struct AppState {
    store: Arc<SeededStore<Data>>,
    kit: FakeKit,
}

impl AppState {
    fn data(&self) -> MutexGuard<'_, Data> {
        self.store.lock()
    }
}

/// The fake Spoke server: state, the kit (journal, faults, rate limits, clock) and the router.
/// Cheap to clone; clones share state.
#[derive(Clone)]
pub struct SpokeFake {
    state: AppState,
}

impl std::fmt::Debug for SpokeFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpokeFake").finish_non_exhaustive()
    }
}

impl SpokeFake {
    /// A fake seeded with `seed` (README, "Seeds").
    pub fn new(seed: Value) -> Result<Self, SeedError> {
        let kit = FakeKit::with_rate_limit(
            "spoke",
            true,
            json!({"code": 99429, "message": "Too many requests"}),
        );
        let store = SeededStore::new(seed, kit.clone()).map_err(SeedError)?;
        Ok(Self {
            state: AppState {
                store: Arc::new(store),
                kit,
            },
        })
    }

    /// A fake seeded from JSON text.
    pub fn from_json(seed: &str) -> Result<Self, SeedError> {
        let value = serde_json::from_str(seed).map_err(|e| SeedError(e.to_string()))?;
        Self::new(value)
    }

    /// A fake with `fixtures/minimal.json`.
    pub fn minimal() -> Result<Self, SeedError> {
        Self::from_json(MINIMAL_SEED)
    }

    /// A fake with `fixtures/demo.json`.
    pub fn demo() -> Result<Self, SeedError> {
        Self::from_json(DEMO_SEED)
    }

    /// The complete app: the API under `/api/v1` (journal, faults and rate limits applied) and the control
    /// API under `/__fake/`. Devstack nests it under `/spoke`.
    pub fn router(&self) -> Router {
        let api = Router::new().nest("/api/v1", api::router(self.state.clone()));
        fake_kit::fake_app(
            self.state.kit.clone(),
            api,
            self.state.store.clone(),
            api::control_router(self.state.clone()),
        )
    }

    /// Serves [`Self::router`] on `127.0.0.1` with an ephemeral port; the API base is
    /// [`api_base_url`]`(&server)`.
    pub async fn spawn(&self) -> Result<RunningServer, ServeError> {
        fake_kit::serve_ephemeral(self.router()).await
    }

    /// The kit: journal, faults, rate limits, clock.
    pub fn kit(&self) -> &FakeKit {
        &self.state.kit
    }

    /// The state as `GET /__fake/state` shows it (API keys redacted).
    pub fn state_json(&self) -> Value {
        self.state.store.state_json()
    }

    /// Replaces the state (with the initial seed when `None`) and clears journal, faults, limits, clock.
    pub fn reset(&self, seed: Option<Value>) -> Result<(), SeedError> {
        self.state.store.reset(seed).map_err(SeedError)?;
        self.state.kit.reset();
        Ok(())
    }

    /// A request as the API renders it.
    pub fn request(&self, id: &str) -> Option<Value> {
        self.state.data().request_json(id)
    }

    /// A team as the API renders it.
    pub fn team(&self, id: &str) -> Option<Value> {
        self.state.data().team_json(id)
    }

    /// The messages posted on request `id`.
    pub fn messages(&self, id: &str) -> Vec<Value> {
        self.state.data().messages_json(id)
    }

    /// How many requests exist.
    pub fn request_count(&self) -> usize {
        self.state.data().request_count()
    }

    /// Adds a fault rule (README, "Behaviour", **Faults**), e.g. `add_fault(Some("POST"), "/requests", Some(1),
    /// json!({"commitThenDelayMs": 500}))`. Returns its id.
    pub fn add_fault(
        &self,
        method: Option<&str>,
        path: &str,
        times: Option<u32>,
        action: Value,
    ) -> u64 {
        self.state
            .kit
            .add_fault(FaultRule::new(method, path, times, action))
    }

    /// Turns strict privacy on or off: when on, private requests are hidden from keys not involved (README,
    /// "Privacy"); the same as `POST /__fake/privacy {"strict": true}`. A reset restores the seed's setting.
    pub fn set_strict_privacy(&self, strict: bool) {
        self.state.data().set_strict_privacy(strict);
    }

    /// Sets the rate limit (`POST /__fake/rate-limit` of `fake-kit`'s control API).
    pub fn set_rate_limit(&self, config: RateLimitConfig) {
        self.state.kit.set_rate_limit(config);
    }
}

/// The minimal seed plus `n` users `user-NNN@example.com` (ids `70000000000000000000NNNN`), for paging tests.
pub fn minimal_seed_with_users(n: usize) -> Value {
    let mut seed: Value = serde_json::from_str(MINIMAL_SEED).unwrap_or_default();
    if let Some(users) = seed["users"].as_array_mut() {
        users.extend((0..n).map(|i| {
            json!({
                "id": format!("70000000000000000000{i:04x}"),
                "email": format!("user-{i:03}@example.com"),
                "displayName": format!("User {i:03}"),
            })
        }));
    }
    seed
}

/// `<server>/api/v1`: what `SPOKE_BASE_URL` should be for a spawned fake.
pub fn api_base_url(server: &RunningServer) -> String {
    format!("{}/api/v1", server.base_url())
}
