//! The control API under `/__fake/`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::faults::FaultRule;
use crate::kit::{FakeKit, RateLimitConfig, kit_middleware};

/// What a fake exposes to the control API.
pub trait FakeState: Send + Sync + 'static {
    /// The whole state as JSON, with secrets (keys, tokens, webhook URLs) redacted.
    fn state_json(&self) -> Value;
    /// Replaces the state with `seed`, or with the fake's initial seed when `None`.
    fn reset(&self, seed: Option<Value>) -> Result<(), String>;
}

#[derive(Clone)]
struct Control {
    kit: FakeKit,
    state: Arc<dyn FakeState>,
}

/// The fake's complete app: `api` wrapped in the kit's middleware (journal, faults, rate limits) and the
/// control API (plus the fake's own `extra_control` routes) nested under `/__fake`.
pub fn fake_app(
    kit: FakeKit,
    api: Router,
    state: Arc<dyn FakeState>,
    extra_control: Router,
) -> Router {
    let control = Router::new()
        .route("/state", get(get_state))
        .route("/journal", get(get_journal).delete(clear_journal))
        .route(
            "/faults",
            get(get_faults).post(add_fault).delete(clear_faults),
        )
        .route("/rate-limit", post(set_rate_limit))
        .route("/clock", get(get_clock).post(set_clock))
        .route("/reset", post(reset))
        .with_state(Control {
            kit: kit.clone(),
            state,
        })
        .merge(extra_control);
    api.layer(axum::middleware::from_fn_with_state(kit, kit_middleware))
        .nest("/__fake", control)
}

async fn get_state(State(c): State<Control>) -> Json<Value> {
    Json(c.state.state_json())
}

async fn get_journal(State(c): State<Control>) -> Json<Value> {
    Json(json!(c.kit.journal()))
}

async fn clear_journal(State(c): State<Control>) -> StatusCode {
    c.kit.clear_journal();
    StatusCode::NO_CONTENT
}

async fn get_faults(State(c): State<Control>) -> Json<Value> {
    Json(json!(c.kit.faults()))
}

async fn add_fault(State(c): State<Control>, body: Bytes) -> Response {
    match serde_json::from_slice::<FaultRule>(&body) {
        Ok(rule) if rule.times == Some(0) => bad_request("times must be at least 1"),
        Ok(rule) if rule.rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) => {
            bad_request("rate must be between 0 and 1")
        }
        Ok(rule) => {
            let id = c.kit.add_fault(rule);
            (StatusCode::CREATED, Json(json!({"id": id}))).into_response()
        }
        Err(e) => bad_request(&format!("invalid fault rule: {e}")),
    }
}

async fn clear_faults(State(c): State<Control>) -> StatusCode {
    c.kit.clear_faults();
    StatusCode::NO_CONTENT
}

async fn set_rate_limit(State(c): State<Control>, body: Bytes) -> Response {
    let body = if body.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        body
    };
    match serde_json::from_slice::<RateLimitConfig>(&body) {
        Ok(cfg) => {
            c.kit.set_rate_limit(cfg);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad_request(&format!("invalid rate limit: {e}")),
    }
}

async fn get_clock(State(c): State<Control>) -> Json<Value> {
    Json(json!({"now": c.kit.now().to_rfc3339()}))
}

async fn set_clock(State(c): State<Control>, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("body must be JSON");
    };
    if let Some(set) = v.get("set") {
        let at = match set {
            Value::String(s) => DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            Value::Number(n) => n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0)),
            _ => None,
        };
        match at {
            Some(at) => c.kit.set_time(at),
            None => return bad_request("set must be RFC 3339 or epoch seconds"),
        }
    } else if let Some(secs) = v.get("advanceSecs").and_then(Value::as_i64) {
        c.kit.advance(chrono::Duration::seconds(secs));
    } else {
        return bad_request("expected {\"set\": ...} or {\"advanceSecs\": n}");
    }
    Json(json!({"now": c.kit.now().to_rfc3339()})).into_response()
}

async fn reset(State(c): State<Control>, body: Bytes) -> Response {
    let seed = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => Some(v),
            Err(e) => return bad_request(&format!("seed is not JSON: {e}")),
        }
    };
    if let Err(e) = c.state.reset(seed) {
        return bad_request(&e);
    }
    c.kit.reset();
    StatusCode::NO_CONTENT.into_response()
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response()
}
