//! The Webex API routes under `/v1`: the router, the error shapes, OAuth and the service-app token; the
//! data-source routes are in `data_sources`.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Duration;
use serde_json::{Value, json};

use crate::state::{ClientKind, Code, Data, TokenKind, random_token, s256};
use crate::{AppState, data_sources};

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/authorize", get(authorize))
        .route("/v1/access_token", post(access_token))
        .route("/v1/applications/{app_id}/token", post(mint))
        .route("/v1/dataSources", get(data_sources::list))
        .route("/v1/dataSources/", get(data_sources::list))
        .route(
            "/v1/dataSources/{id}",
            get(data_sources::get_one).put(data_sources::update),
        )
        .with_state(state)
}

/// A tracking id as Webex formats them.
pub(crate) fn tracking_id() -> String {
    format!("WEBEXFAKE_{}", random_token("").to_ascii_uppercase())
}

fn with_tracking(mut resp: Response, tracking: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(tracking) {
        resp.headers_mut().insert("trackingid", v);
    }
    resp
}

/// A REST error in the Webex shape (`message`, `errors[].description`, `trackingId`).
pub(crate) fn rest_error(status: StatusCode, message: &str) -> Response {
    let t = tracking_id();
    let body = json!({"message": message, "errors": [{"description": message}], "trackingId": t});
    with_tracking((status, Json(body)).into_response(), &t)
}

/// An OAuth error (`error`, `error_description`).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let t = tracking_id();
    let body = json!({"error": error, "error_description": description, "trackingId": t});
    with_tracking((status, Json(body)).into_response(), &t)
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_owned())
}

fn redirect(location: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

fn append_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", encoded.join("&"))
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn is_loopback_http(uri: &str) -> bool {
    let rest = uri.strip_prefix("http://").unwrap_or("");
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

async fn authorize(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let (client_id, redirect_uri, state) = (get("client_id"), get("redirect_uri"), get("state"));
    if q.get("response_type").map(String::as_str) != Some("code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "response_type must be code",
        );
    }
    if !is_loopback_http(&redirect_uri) && !redirect_uri.starts_with("https://") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri is not acceptable",
        );
    }
    let mut data = app.lock();
    if data
        .client(&client_id)
        .is_none_or(|c| c.kind != ClientKind::Integration)
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "unknown client_id",
        );
    }
    if q.get("code_challenge_method").map(String::as_str) != Some("S256")
        || get("code_challenge").is_empty()
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "PKCE with S256 is required",
        );
    }
    match data.settings.authorize_mode.as_str() {
        "access_denied" => {
            return redirect(&append_query(
                &redirect_uri,
                &[("error", "access_denied"), ("state", &state)],
            ));
        }
        "wrong_state" => {
            let code = issue_code(&mut data, &app, &q);
            return redirect(&append_query(
                &redirect_uri,
                &[("code", &code), ("state", "not-the-state-you-sent")],
            ));
        }
        _ => {}
    }
    let code = issue_code(&mut data, &app, &q);
    redirect(&append_query(
        &redirect_uri,
        &[("code", &code), ("state", &state)],
    ))
}

fn issue_code(data: &mut Data, app: &AppState, q: &HashMap<String, String>) -> String {
    let code = random_token("fake_code_");
    data.codes.insert(
        code.clone(),
        Code {
            client_id: q.get("client_id").cloned().unwrap_or_default(),
            redirect_uri: q.get("redirect_uri").cloned().unwrap_or_default(),
            challenge: q.get("code_challenge").cloned().unwrap_or_default(),
            scopes: q
                .get("scope")
                .map(|s| s.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            expires_at: app.kit.now() + Duration::minutes(10),
        },
    );
    code
}

fn token_json(access: &str, expires_in: i64, refresh: Option<(&str, i64)>) -> Value {
    let mut v = json!({"access_token": access, "expires_in": expires_in, "token_type": "Bearer"});
    if let Some((rt, rt_in)) = refresh {
        v["refresh_token"] = json!(rt);
        v["refresh_token_expires_in"] = json!(rt_in);
    }
    v
}

pub(crate) fn ok_json(v: Value) -> Response {
    let t = tracking_id();
    with_tracking((StatusCode::OK, Json(v)).into_response(), &t)
}

async fn access_token(State(app): State<AppState>, body: Bytes) -> Response {
    let form: HashMap<String, String> = match serde_urlencoded_like(&body) {
        Some(f) => f,
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "body must be form-encoded",
            );
        }
    };
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let now = app.kit.now();
    let mut data = app.lock();
    let client_id = get("client_id");
    let Some(client) = data.client(&client_id).cloned() else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "unknown client");
    };
    if client.client_secret != get("client_secret") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "client authentication failed",
        );
    }
    let settings = data.settings.clone();
    match get("grant_type").as_str() {
        "authorization_code" => {
            let Some(code) = data.codes.remove(&get("code")) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the authorization code is invalid or used",
                );
            };
            if code.client_id != client_id || code.expires_at <= now {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the authorization code is invalid",
                );
            }
            if code.redirect_uri != get("redirect_uri") {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "redirect_uri does not match",
                );
            }
            if s256(&get("code_verifier")) != code.challenge {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "PKCE verification failed",
                );
            }
            let scopes = if code.scopes.is_empty() {
                client.scopes.clone()
            } else {
                code.scopes.clone()
            };
            let at = data.issue(
                TokenKind::Access,
                &client_id,
                settings.access_token_expires_in,
                scopes.clone(),
                None,
                now,
            );
            let rt = data.issue(
                TokenKind::Refresh,
                &client_id,
                settings.refresh_token_expires_in,
                scopes,
                None,
                now,
            );
            ok_json(token_json(
                &at,
                settings.access_token_expires_in,
                Some((&rt, settings.refresh_token_expires_in)),
            ))
        }
        "refresh_token" => {
            let presented = get("refresh_token");
            let valid = data
                .live(&presented, TokenKind::Refresh, now)
                .filter(|t| t.client_id == client_id)
                .cloned();
            let Some(old) = valid else {
                let status = StatusCode::from_u16(settings.refresh_error_status)
                    .unwrap_or(StatusCode::BAD_REQUEST);
                return oauth_error(
                    status,
                    "invalid_grant",
                    "The refresh token provided is expired, revoked, malformed, or invalid.",
                );
            };
            let access_in = if client.kind == ClientKind::ServiceApp {
                settings.service_app_expires_in
            } else {
                settings.access_token_expires_in
            };
            let at = data.issue(
                TokenKind::Access,
                &client_id,
                access_in,
                old.scopes.clone(),
                old.org_id.clone(),
                now,
            );
            let refresh = if settings.rotation {
                if let Some(t) = data.tokens.get_mut(&presented) {
                    t.revoked = true;
                }
                let rt = data.issue(
                    TokenKind::Refresh,
                    &client_id,
                    settings.refresh_token_expires_in,
                    old.scopes,
                    old.org_id,
                    now,
                );
                Some(rt)
            } else {
                if let Some(t) = data.tokens.get_mut(&presented) {
                    t.expires_at = now + Duration::seconds(settings.refresh_token_expires_in);
                }
                Some(presented)
            };
            let refresh = refresh.filter(|_| !settings.omit_refresh_token);
            ok_json(token_json(
                &at,
                access_in,
                refresh
                    .as_deref()
                    .map(|r| (r, settings.refresh_token_expires_in)),
            ))
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type is not supported",
        ),
    }
}

/// Parses `application/x-www-form-urlencoded` without another dependency.
fn serde_urlencoded_like(body: &[u8]) -> Option<HashMap<String, String>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut out = HashMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(decode(k)?, decode(v)?);
    }
    Some(out)
}

fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

async fn mint(
    State(app): State<AppState>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = app.kit.now();
    let mut data = app.lock();
    let integration_ok = bearer(&headers)
        .and_then(|b| data.live(&b, TokenKind::Access, now).cloned())
        .filter(|t| {
            data.client(&t.client_id)
                .is_some_and(|c| c.kind == ClientKind::Integration)
                && t.scopes.iter().any(|s| s == "spark:applications_token")
        });
    if integration_ok.is_none() {
        return rest_error(
            StatusCode::UNAUTHORIZED,
            "The request requires a valid access token with the spark:applications_token scope.",
        );
    }
    let Some(app_client) = data
        .clients
        .iter()
        .find(|c| c.kind == ClientKind::ServiceApp && c.app_id.as_deref() == Some(app_id.as_str()))
        .cloned()
    else {
        return rest_error(
            StatusCode::NOT_FOUND,
            "The requested application was not found.",
        );
    };
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "The request body is not valid JSON.",
        );
    };
    let field = |k: &str| {
        req.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (Some(client_id), Some(client_secret), Some(org)) = (
        field("clientId"),
        field("clientSecret"),
        field("targetOrgId"),
    ) else {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "clientId, clientSecret and targetOrgId are required",
        );
    };
    if client_id != app_client.client_id || client_secret != app_client.client_secret {
        return rest_error(StatusCode::BAD_REQUEST, "Invalid client credentials");
    }
    if !app_client.authorized_orgs.contains(&org) {
        return rest_error(
            StatusCode::FORBIDDEN,
            "The service app has not been authorized by an administrator of the target organization.",
        );
    }
    let settings = data.settings.clone();
    let at = data.issue(
        TokenKind::Access,
        &client_id,
        settings.service_app_expires_in,
        app_client.scopes.clone(),
        Some(org.clone()),
        now,
    );
    let rt = data.issue(
        TokenKind::Refresh,
        &client_id,
        settings.refresh_token_expires_in,
        app_client.scopes,
        Some(org),
        now,
    );
    ok_json(token_json(
        &at,
        settings.service_app_expires_in,
        Some((&rt, settings.refresh_token_expires_in)),
    ))
}
