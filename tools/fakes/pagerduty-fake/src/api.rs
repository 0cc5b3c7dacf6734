//! The REST API routes (token auth, `GET /oncalls`, `GET /users/{id}`), PagerDuty's rate-limit headers on a
//! 429, and the fake's own control route `POST /__fake/overrides`.

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::DateTime;
use serde_json::{Value, json};

use crate::PagerDutyFake;
use crate::state::{ApiError, OncallQuery, parse_time, render_time};

type RawQuery = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(self.body())).into_response()
    }
}

/// The API routes, authenticated by [`authenticate`].
pub(crate) fn router(state: PagerDutyFake) -> Router {
    Router::new()
        .route("/oncalls", get(list_oncalls))
        .route("/users/{id}", get(get_user))
        .fallback(|| async { ApiError::NotFound.into_response() })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ))
        .with_state(state)
}

/// The fake's own control routes, nested under `/__fake`.
pub(crate) fn control_router(state: PagerDutyFake) -> Router {
    Router::new()
        .route("/overrides", post(add_override))
        .with_state(state)
}

/// The key of `Authorization: Token token=<key>`.
fn token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .trim()
        .strip_prefix("Token token=")
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// Every API call needs a seeded key in `Authorization: Token token=…`; otherwise 401.
async fn authenticate(State(app): State<PagerDutyFake>, req: Request, next: Next) -> Response {
    let known = token(req.headers()).is_some_and(|k| app.data().accepts_key(k));
    if !known {
        return ApiError::Unauthorized.into_response();
    }
    next.run(req).await
}

async fn list_oncalls(State(app): State<PagerDutyFake>, query: RawQuery) -> Response {
    let Ok(Query(pairs)) = query else {
        return ApiError::InvalidInput(vec!["the query string is malformed".to_owned()])
            .into_response();
    };
    let now = app.kit.now().timestamp();
    match OncallQuery::parse(&pairs, now) {
        Ok(q) => Json(app.data().oncalls(&q)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn get_user(State(app): State<PagerDutyFake>, Path(id): Path<String>) -> Response {
    let data = app.data();
    if data.user(&id).is_none() {
        return ApiError::NotFound.into_response();
    }
    Json(json!({"user": data.user_json(&id, true)})).into_response()
}

/// `POST /__fake/overrides {"schedule", "user", "start"?, "end"? | "durationSecs"?}`: puts `user` on call in
/// `schedule` from `start` (default: the fake clock's now, to the second) until `end` (default: one hour
/// later), as an operator's override in PagerDuty would.
async fn add_override(State(app): State<PagerDutyFake>, body: Bytes) -> Response {
    let bad = |message: String| {
        (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response()
    };
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bad("body must be JSON".to_owned());
    };
    let field = |key: &str| v.get(key).and_then(Value::as_str);
    let (Some(schedule), Some(user)) = (field("schedule"), field("user")) else {
        return bad("expected {\"schedule\": id, \"user\": id}".to_owned());
    };
    let time = |key: &str, default: i64| match field(key) {
        None => Ok(default),
        Some(t) => parse_time(t).ok_or_else(|| format!("{key} is not RFC 3339")),
    };
    let start = match time("start", app.kit.now().timestamp()) {
        Ok(t) => t,
        Err(e) => return bad(e),
    };
    let duration = v
        .get("durationSecs")
        .and_then(Value::as_i64)
        .unwrap_or(3600);
    let end = match time("end", start + duration) {
        Ok(t) => t,
        Err(e) => return bad(e),
    };
    match app.data().add_override(schedule, user, start, end) {
        Ok(id) => (
            StatusCode::CREATED,
            Json(json!({"id": id, "start": render_time(start), "end": render_time(end)})),
        )
            .into_response(),
        Err(e) => bad(e),
    }
}

/// PagerDuty names its rate-limit headers `ratelimit-limit`, `ratelimit-remaining` and `ratelimit-reset`, the
/// last in seconds until the budget resets. The kit writes `x-ratelimit-*` with an epoch reset; on a 429 this
/// rewrites them into PagerDuty's form, measured against the answer's `Date` (the fake clock).
pub(crate) async fn pagerduty_rate_limit_headers(mut resp: Response) -> Response {
    if resp.status() != StatusCode::TOO_MANY_REQUESTS {
        return resp;
    }
    let headers = resp.headers_mut();
    let now = headers
        .get("date")
        .and_then(|d| d.to_str().ok())
        .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
        .map(|d| d.timestamp());
    for (kit_name, name) in [
        ("x-ratelimit-limit", "ratelimit-limit"),
        ("x-ratelimit-remaining", "ratelimit-remaining"),
        ("x-ratelimit-reset", "ratelimit-reset"),
    ] {
        let Some(value) = headers.remove(kit_name) else {
            continue;
        };
        let value = if name == "ratelimit-reset" {
            let reset = value.to_str().ok().and_then(|v| v.parse::<i64>().ok());
            match (reset, now) {
                (Some(reset), Some(now)) => (reset - now).max(1).to_string(),
                _ => "1".to_owned(),
            }
        } else {
            value.to_str().unwrap_or("0").to_owned()
        };
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
    resp
}
