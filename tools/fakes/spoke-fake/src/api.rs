//! The `/api/v1` routes: HTTP parsing and rendering around the behaviour in `state`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Extension, Json, Router};
use fake_kit::ActiveFault;
use serde_json::Value;

use crate::AppState;
use crate::state::{ApiError, ApiResult, ListQuery, Write, stamp};

/// The user behind the request's API key.
#[derive(Debug, Clone)]
struct Caller(String);

type Fault = Option<Extension<ActiveFault>>;
type RawQuery = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(self.body())).into_response()
    }
}

fn reply(result: ApiResult<Value>) -> Response {
    match result {
        Ok(v) => (StatusCode::OK, Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn no_content(result: ApiResult<()>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

fn cap(fault: &Fault) -> Option<u64> {
    fault.as_ref().and_then(|Extension(f)| f.number("capLimit"))
}

/// A write call: the caller (set by [`authenticate`]), the JSON body (none on `DELETE`), the fake-clock time
/// and whether an `ignoreWrite` fault applies.
impl FromRequest<AppState> for Write {
    type Rejection = Response;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, Response> {
        let caller = req
            .extensions()
            .get::<Caller>()
            .map(|Caller(c)| c.clone())
            .ok_or_else(|| ApiError::InvalidKey.into_response())?;
        let ignore = req
            .extensions()
            .get::<ActiveFault>()
            .is_some_and(|f| f.flag("ignoreWrite"));
        let body = if req.method() == Method::DELETE {
            Value::Null
        } else if !is_json(req.headers()) {
            // The API documents every request body as `application/json` only; a server that does not parse
            // the body sees none, which is a malformed request (README, "Writes").
            return Err(ApiError::BadRequest.into_response());
        } else {
            let bytes = Bytes::from_request(req, app)
                .await
                .map_err(IntoResponse::into_response)?;
            json_body(&bytes).map_err(IntoResponse::into_response)?
        };
        Ok(Self {
            caller,
            body,
            now: stamp(app.kit.now()),
            ignore,
        })
    }
}

fn list_query(raw: RawQuery) -> ApiResult<ListQuery> {
    raw.map(|Query(pairs)| ListQuery::new(pairs))
        .map_err(|_| ApiError::BadRequest)
}

/// Whether the request says its body is JSON (`application/json`, parameters such as `charset` allowed).
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

fn json_body(bytes: &Bytes) -> ApiResult<Value> {
    serde_json::from_slice(bytes).map_err(|_| ApiError::BadRequest)
}

/// The API router, to be nested under `/api/v1`.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/whoami", get(whoami))
        .route("/users", get(list_users))
        .route("/users/email/{address}", get(user_by_email))
        .route("/users/{user_id}", get(get_user))
        .route("/teams", get(list_teams))
        .route("/teams/{team_id}", get(get_team).patch(patch_team))
        .route("/requests", get(list_requests).post(create_request))
        .route(
            "/requests/{request_id}",
            get(get_request).patch(patch_request),
        )
        .route("/requests/{request_id}/messages", post(post_message))
        .route("/requests/{request_id}/tags", patch(add_tags))
        .route("/requests/{request_id}/tags/{tag_id}", delete(remove_tag))
        .route("/request_types", get(list_request_types))
        .route("/request_types/{request_type_id}", get(get_request_type))
        .route("/tags", get(list_tags))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ))
        .fallback(|| async { ApiError::NotFound.into_response() })
        .with_state(state)
}

/// The fake's own control routes, nested under `/__fake`: `POST /privacy {"strict": bool}`.
pub(crate) fn control_router(state: AppState) -> Router {
    Router::new()
        .route("/privacy", post(set_privacy))
        .with_state(state)
}

async fn set_privacy(State(app): State<AppState>, body: Bytes) -> Response {
    match json_body(&body).map(|v| v.get("strict").and_then(Value::as_bool)) {
        Ok(Some(strict)) => {
            app.data().set_strict_privacy(strict);
            Json(serde_json::json!({"strict": strict})).into_response()
        }
        _ => (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "expected {\"strict\": true|false}"})),
        )
            .into_response(),
    }
}

/// F1: every route needs a known `Api-Key` (header names are case-insensitive in HTTP).
async fn authenticate(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let key = req
        .headers()
        .get("api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let caller = app.data().caller(key.as_deref());
    match caller {
        Ok(user) => {
            req.extensions_mut().insert(Caller(user));
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

async fn whoami(
    State(app): State<AppState>,
    Extension(Caller(caller)): Extension<Caller>,
) -> Response {
    reply(Ok(app.data().whoami(&caller)))
}

async fn user_by_email(State(app): State<AppState>, Path(address): Path<String>) -> Response {
    reply(app.data().user_by_email(&address))
}

async fn get_user(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    reply(app.data().get_user(&id))
}

async fn list_users(State(app): State<AppState>, fault: Fault, query: RawQuery) -> Response {
    reply(list_query(query).and_then(|q| app.data().list_users(&q, cap(&fault))))
}

async fn list_teams(State(app): State<AppState>, fault: Fault, query: RawQuery) -> Response {
    reply(list_query(query).and_then(|q| app.data().list_teams(&q, cap(&fault))))
}

async fn get_team(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    reply(app.data().get_team(&id))
}

async fn patch_team(State(app): State<AppState>, Path(id): Path<String>, w: Write) -> Response {
    reply(app.data().patch_team(&id, &w))
}

async fn list_requests(
    State(app): State<AppState>,
    Extension(Caller(caller)): Extension<Caller>,
    fault: Fault,
    query: RawQuery,
) -> Response {
    reply(list_query(query).and_then(|q| app.data().list_requests(&caller, &q, cap(&fault))))
}

async fn create_request(State(app): State<AppState>, w: Write) -> Response {
    reply(app.data().create_request(&w))
}

async fn get_request(
    State(app): State<AppState>,
    Extension(Caller(caller)): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    reply(app.data().get_request(&caller, &id))
}

async fn patch_request(State(app): State<AppState>, Path(id): Path<String>, w: Write) -> Response {
    reply(app.data().patch_request(&id, &w))
}

async fn post_message(State(app): State<AppState>, Path(id): Path<String>, w: Write) -> Response {
    reply(app.data().post_message(&id, &w))
}

async fn add_tags(State(app): State<AppState>, Path(id): Path<String>, w: Write) -> Response {
    no_content(app.data().add_tags(&id, &w))
}

async fn remove_tag(
    State(app): State<AppState>,
    Path((id, tag)): Path<(String, String)>,
    w: Write,
) -> Response {
    no_content(app.data().remove_tag(&id, &tag, &w))
}

async fn list_request_types(
    State(app): State<AppState>,
    fault: Fault,
    query: RawQuery,
) -> Response {
    reply(list_query(query).and_then(|q| app.data().list_request_types(&q, cap(&fault))))
}

async fn get_request_type(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    reply(app.data().get_request_type(&id))
}

async fn list_tags(State(app): State<AppState>, fault: Fault, query: RawQuery) -> Response {
    reply(list_query(query).and_then(|q| app.data().list_tags(&q, cap(&fault))))
}
