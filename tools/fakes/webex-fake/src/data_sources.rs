//! The data-source routes (README, "Data sources"): a service-app token with the scope the route needs, only the
//! data sources of the token's org and app, the list in pages linked by `Link: rel="next"`, and the PUT answer
//! with or without the new token.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::AppState;
use crate::api::{bearer, ok_json, rest_error};
use crate::state::{ClientKind, Data, DataSourceRec, TokenKind, mint_jws};

/// The scope the OpenAPI names for reading data sources.
pub(crate) const READ: &str = "spark-admin:datasource_read";
/// The scope the OpenAPI names for registering (writing) data sources.
pub(crate) const WRITE: &str = "spark-admin:datasource_write";

/// A refused call: the status and message of the Webex error body it answers with.
struct Refusal(StatusCode, &'static str);

impl Refusal {
    fn respond(self) -> Response {
        rest_error(self.0, self.1)
    }
}

/// The service app behind a token and the org it was issued for.
struct Caller {
    app: String,
    org: Option<String>,
}

impl Caller {
    /// Whether the data source belongs to this token's org and service app.
    fn owns(&self, d: &DataSourceRec) -> bool {
        self.org.as_deref() == Some(d.org_id.as_str()) && d.application_id == self.app
    }
}

/// The caller of a data-source route: 401 without a live service-app access token, 403 when it lacks `scope`
/// ([`READ`] or [`WRITE`]).
fn caller(
    data: &Data,
    headers: &HeaderMap,
    now: DateTime<Utc>,
    scope: &str,
) -> Result<Caller, Refusal> {
    let token = bearer(headers)
        .and_then(|b| data.live(&b, TokenKind::Access, now))
        .filter(|t| {
            data.client(&t.client_id)
                .is_some_and(|c| c.kind == ClientKind::ServiceApp)
        })
        .ok_or(Refusal(
            StatusCode::UNAUTHORIZED,
            "The request requires a valid service-app access token.",
        ))?;
    if !token.scopes.iter().any(|s| s == scope) {
        let message = if scope == WRITE {
            "The access token does not have the spark-admin:datasource_write scope."
        } else {
            "The access token does not have the spark-admin:datasource_read scope."
        };
        return Err(Refusal(StatusCode::FORBIDDEN, message));
    }
    Ok(Caller {
        app: token.client_id.clone(),
        org: token.org_id.clone(),
    })
}

/// The index of data source `id` when the caller owns it; 404 otherwise (another org's or app's data source
/// does not exist for this token).
fn owned(data: &Data, caller: &Caller, id: &str) -> Result<usize, Refusal> {
    data.data_sources
        .iter()
        .position(|d| d.id == id && caller.owns(d))
        .ok_or(Refusal(StatusCode::NOT_FOUND, "Data source not found."))
}

/// A data source as the API answers it; `put_answer` leaves out `jwsToken` and `tokenExpiryTime` when the
/// `putAnswerWithoutToken` switch is on.
fn ds_json(d: &DataSourceRec, data: &Data, put_answer: bool) -> Value {
    let mut v = json!({
        "id": d.id,
        "schemaId": d.schema_id,
        "orgId": d.org_id,
        "applicationId": d.application_id,
        "status": d.status,
        "jwsToken": d.jws_token,
        "createdBy": "3e4d3b27-1bf1-4916-8d0c-d27fd765fa52",
        "createdAt": "2025-01-01T00:00:00Z",
        "url": d.url,
        "audience": d.audience,
        "subject": d.subject,
        "nonce": d.nonce,
        "tokenLifetimeMinutes": d.token_lifetime_minutes,
        "tokenExpiryTime": d.token_expiry.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    if let Some(m) = &d.error_message {
        v["errorMessage"] = json!(m);
    }
    let settings = &data.settings;
    if let Some(obj) = v.as_object_mut() {
        let bare_put = put_answer && settings.put_answer_without_token;
        if d.jws_token.is_empty() || bare_put {
            obj.remove("jwsToken");
        }
        if settings.omit_token_expiry_time || bare_put {
            obj.remove("tokenExpiryTime");
        }
        if settings.omit_audience_subject {
            obj.remove("audience");
            obj.remove("subject");
        }
    }
    v
}

/// `GET /v1/dataSources` (and `/v1/dataSources/`): the caller's data sources, `max` (else the `listPageSize`
/// switch) per page from `cursor`, with `Link: <…>; rel="next"` while more remain.
pub(crate) async fn list(
    State(app): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let now = app.kit.now();
    let data = app.lock();
    let caller = match caller(&data, &headers, now, READ) {
        Ok(c) => c,
        Err(refused) => return refused.respond(),
    };
    let number = |key: &str| query.get(key).map(|v| v.parse::<usize>().ok());
    let (max, start) = match (number("max"), number("cursor")) {
        (Some(None) | Some(Some(0)), _) | (_, Some(None)) => {
            return rest_error(
                StatusCode::BAD_REQUEST,
                "max must be a positive integer and cursor one this API returned.",
            );
        }
        (max, start) => (
            max.flatten().unwrap_or(data.settings.list_page_size.max(1)),
            start.flatten().unwrap_or(0),
        ),
    };
    let mine: Vec<&DataSourceRec> = data
        .data_sources
        .iter()
        .filter(|d| caller.owns(d))
        .collect();
    let items: Vec<Value> = mine
        .iter()
        .skip(start)
        .take(max)
        .map(|d| ds_json(d, &data, false))
        .collect();
    let mut resp = ok_json(json!({ "items": items }));
    if start + max < mine.len() {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        let next = format!(
            "<http://{host}{}?max={max}&cursor={}>; rel=\"next\"",
            uri.path(),
            start + max
        );
        if let Ok(v) = HeaderValue::from_str(&next) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    resp
}

/// `GET /v1/dataSources/{id}`.
pub(crate) async fn get_one(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let now = app.kit.now();
    let data = app.lock();
    let found = caller(&data, &headers, now, READ).and_then(|c| owned(&data, &c, &id));
    match found {
        Ok(idx) => ok_json(ds_json(&data.data_sources[idx], &data, false)),
        Err(refused) => refused.respond(),
    }
}

/// `PUT /v1/dataSources/{id}`: validates the body; a new nonce issues a new token.
pub(crate) async fn update(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = app.kit.now();
    let mut data = app.lock();
    let idx = match caller(&data, &headers, now, WRITE).and_then(|c| owned(&data, &c, &id)) {
        Ok(idx) => idx,
        Err(refused) => return refused.respond(),
    };
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "The request body is not valid JSON.",
        );
    };
    let text = |k: &str| req.get(k).and_then(Value::as_str).map(str::to_owned);
    let lifetime = match req.get("tokenLifetimeMinutes") {
        None => None,
        Some(v) => match v.as_f64() {
            Some(m) if (1.0..=1440.0).contains(&m) && m.fract() == 0.0 => Some(m as u32),
            _ => {
                return rest_error(
                    StatusCode::BAD_REQUEST,
                    "tokenLifetimeMinutes must be between 1 and 1440.",
                );
            }
        },
    };
    let status = text("status");
    if status.as_deref() == Some("disabled") && text("errorMessage").is_none_or(|m| m.is_empty()) {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "errorMessage is required when disabling a data source.",
        );
    }
    let d = &data.data_sources[idx];
    let new_nonce = text("nonce");
    if let Some(n) = &new_nonce
        && (*n == d.nonce || d.used_nonces.contains(n))
    {
        return rest_error(StatusCode::BAD_REQUEST, "The nonce has already been used.");
    }
    let d = &mut data.data_sources[idx];
    for (key, field) in [
        ("schemaId", &mut d.schema_id),
        ("url", &mut d.url),
        ("audience", &mut d.audience),
        ("subject", &mut d.subject),
    ] {
        if let Some(v) = req.get(key).and_then(Value::as_str) {
            v.clone_into(field);
        }
    }
    if let Some(l) = lifetime {
        d.token_lifetime_minutes = l;
    }
    if let Some(s) = status {
        d.status = s;
    }
    d.error_message = text("errorMessage");
    d.updates += 1;
    if let Some(n) = new_nonce {
        let old = std::mem::replace(&mut d.nonce, n);
        d.used_nonces.push(old);
        d.token_expiry = now + Duration::minutes(i64::from(d.token_lifetime_minutes));
        d.jws_token = mint_jws(d, now);
    }
    ok_json(ds_json(&data.data_sources[idx], &data, true))
}
