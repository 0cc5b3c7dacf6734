#![doc = include_str!("../README.md")]

mod api;
mod state;

use std::sync::{Arc, MutexGuard};

use axum::Router;
use fake_kit::{FakeKit, FakeState, SeededStore, ServeError};
use serde_json::{Value, json};

pub use fake_kit::RunningServer;

use crate::state::Data;

/// The minimal seed used by tests (`fixtures/minimal.json`).
pub const MINIMAL_SEED: &str = include_str!("../fixtures/minimal.json");
/// The demo seed (`fixtures/demo.json`).
pub const DEMO_SEED: &str = include_str!("../fixtures/demo.json");

/// Every API route the fake serves, as `(METHOD, path template)`.
pub const ROUTES: &[(&str, &str)] = &[("GET", "/oncalls"), ("GET", "/users/{id}")];

/// The seed could not be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid PagerDuty seed: {0}")]
pub struct SeedError(String);

/// The fake PagerDuty REST API: its state, the kit (journal, faults, rate limits, clock) and the router; also
/// the state its routes are handed. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct PagerDutyFake {
    store: Arc<SeededStore<Data>>,
    kit: FakeKit,
}

impl std::fmt::Debug for PagerDutyFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagerDutyFake")
            .field("kit", &self.kit.name())
            .finish_non_exhaustive()
    }
}

impl PagerDutyFake {
    /// A fake seeded with `seed` (README, "Seed"); relative times count from the fake clock's now.
    pub fn new(seed: Value) -> Result<Self, SeedError> {
        let kit = FakeKit::with_rate_limit(
            "pagerduty",
            false,
            json!({"error": {"message": "Rate Limit Exceeded", "code": 2020}}),
        );
        let store = Arc::new(SeededStore::new(seed, kit.clone()).map_err(SeedError)?);
        Ok(Self { store, kit })
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        self.store.lock()
    }

    /// A fake seeded from JSON text.
    pub fn from_json(seed: &str) -> Result<Self, SeedError> {
        Self::new(serde_json::from_str(seed).map_err(|e| SeedError(e.to_string()))?)
    }

    /// A fake with `fixtures/minimal.json`.
    pub fn minimal() -> Result<Self, SeedError> {
        Self::from_json(MINIMAL_SEED)
    }

    /// A fake with `fixtures/demo.json`.
    pub fn demo() -> Result<Self, SeedError> {
        Self::from_json(DEMO_SEED)
    }

    /// The complete app: the API at the root (as `https://api.pagerduty.com/`), the control API under
    /// `/__fake/` (with `POST /__fake/overrides`), and PagerDuty's rate-limit headers on every 429. Devstack
    /// nests it under `/pagerduty`.
    pub fn router(&self) -> Router {
        fake_kit::fake_app(
            self.kit.clone(),
            api::router(self.clone()),
            self.store.clone(),
            api::control_router(self.clone()),
        )
        .layer(axum::middleware::map_response(
            api::pagerduty_rate_limit_headers,
        ))
    }

    /// Serves [`Self::router`] on `127.0.0.1` with an ephemeral port; its base URL is the API's.
    pub async fn spawn(&self) -> Result<RunningServer, ServeError> {
        fake_kit::serve_ephemeral(self.router()).await
    }

    /// The kit: journal, faults, rate limits, clock.
    pub fn kit(&self) -> &FakeKit {
        &self.kit
    }

    /// The state as `GET /__fake/state` shows it (API keys as fingerprints).
    pub fn state_json(&self) -> Value {
        self.store.state_json()
    }

    /// Replaces the state (with the initial seed when `None`) and clears journal, faults, limits, clock.
    pub fn reset(&self, seed: Option<Value>) -> Result<(), SeedError> {
        self.store.reset(seed).map_err(SeedError)?;
        self.kit.reset();
        Ok(())
    }

    /// Puts `user` on call in `schedule` from `start` until `end` (RFC 3339), as `POST /__fake/overrides`
    /// does; the override's id.
    pub fn add_override(
        &self,
        schedule: &str,
        user: &str,
        start: &str,
        end: &str,
    ) -> Result<String, SeedError> {
        let (Some(start), Some(end)) = (state::parse_time(start), state::parse_time(end)) else {
            return Err(SeedError("start and end must be RFC 3339".to_owned()));
        };
        self.data()
            .add_override(schedule, user, start, end)
            .map_err(SeedError)
    }
}

/// A seed with one escalation policy `PEPPAGE` whose level 1 lists `n` user targets `PUPAGE000`…, each
/// `user-NNN@example.com` and always on call: `n` on-call entries for paging tests.
pub fn paging_seed(key: &str, n: usize) -> Value {
    let users: Vec<Value> = (0..n)
        .map(|i| {
            json!({"id": format!("PUPAGE{i:03}"), "name": format!("User {i:03}"), "email": format!("user-{i:03}@example.com")})
        })
        .collect();
    let targets: Vec<Value> = (0..n)
        .map(|i| json!({"type": "user_reference", "id": format!("PUPAGE{i:03}")}))
        .collect();
    json!({
        "apiKeys": [{"key": key}],
        "users": users,
        "escalationPolicies": [{"id": "PEPPAGE", "name": "Paging", "rules": [{"targets": targets}]}],
    })
}
