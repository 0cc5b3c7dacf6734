//! The API Gateway HTTP API (payload format 2.0) emulator.
//!
//! A loopback server whose routes turn each HTTP request into an `ApiGatewayV2httpRequest` JSON event — raw
//! body (base64 when it is not text), lower-cased headers, query parameters, a `requestContext` with
//! `requestId`, `time` and `timeEpoch` — invoke the route's handler, and turn its JSON response back into
//! HTTP the way API Gateway does:
//! - an object with `statusCode` is a full response (`headers`, `cookies`, `body`, `isBase64Encoded`);
//! - any other JSON value is sent as a 200 `application/json` body;
//! - a function error becomes `502 {"message":"Internal Server Error"}` (what API Gateway answers when the integration fails).
//!
//! Unknown routes answer `404 {"message":"Not Found"}`, as an HTTP API does.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use fake_kit::{RunningServer, ServeError};
use serde_json::{Map, Value, json};

use crate::lambda::{InvokeContext, JsonHandler, invoke};

/// Request bodies above this size are refused with 413, as API Gateway refuses payloads over 10 MB.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The time source of the `requestContext` (injectable for tests).
pub type Now = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// An HTTP API with Lambda proxy routes.
#[derive(Clone)]
pub struct ApiGateway {
    routes: Vec<ApiRoute>,
    now: Now,
}

#[derive(Clone)]
struct ApiRoute {
    method: Method,
    path: String,
    function_name: String,
    handler: JsonHandler,
}

impl std::fmt::Debug for ApiGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<String> = self
            .routes
            .iter()
            .map(|r| format!("{} {} -> {}", r.method, r.path, r.function_name))
            .collect();
        f.debug_struct("ApiGateway").field("routes", &keys).finish()
    }
}

impl Default for ApiGateway {
    fn default() -> Self {
        Self::new()
    }
}

impl ApiGateway {
    /// An API without routes whose request times come from the system clock (API Gateway stamps real time).
    pub fn new() -> Self {
        Self {
            routes: Vec::new(),
            now: Arc::new(system_now),
        }
    }

    /// Replaces the time source of `requestContext.time`/`timeEpoch`.
    pub fn with_clock(mut self, now: Now) -> Self {
        self.now = now;
        self
    }

    /// Adds the route `METHOD /path` (exact path match) to the function `function_name`.
    pub fn route(
        mut self,
        method: Method,
        path: &str,
        function_name: &str,
        handler: JsonHandler,
    ) -> Self {
        self.routes.push(ApiRoute {
            method,
            path: path.to_owned(),
            function_name: function_name.to_owned(),
            handler,
        });
        self
    }

    /// The emulator as an axum router (for tests that need no socket, or to mount it elsewhere).
    pub fn router(self) -> Router {
        Router::new().fallback(handle).with_state(Arc::new(self))
    }

    /// Serves the API on `addr` (loopback only; port 0 = ephemeral).
    pub async fn serve(self, addr: SocketAddr) -> Result<RunningServer, ServeError> {
        fake_kit::serve(self.router(), addr).await
    }
}

#[allow(clippy::disallowed_methods)] // API Gateway stamps the real time; tests inject a clock with `with_clock`.
fn system_now() -> DateTime<Utc> {
    Utc::now()
}

async fn handle(State(api): State<Arc<ApiGateway>>, request: Request) -> Response {
    // The emulator binds loopback only, so every caller is local.
    let source_ip = "127.0.0.1";
    let (parts, body) = request.into_parts();
    let Some(route) = api
        .routes
        .iter()
        .find(|r| r.method == parts.method && r.path == parts.uri.path())
    else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large"),
    };
    let event = request_event(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
        source_ip,
        (api.now)(),
    );
    let ctx = InvokeContext::new(&route.function_name);
    match invoke(&route.handler, event, ctx).await {
        Ok(response) => http_response(&response),
        Err(error) => {
            tracing::warn!(function = %route.function_name, error = %error, "function error behind the API");
            message(StatusCode::BAD_GATEWAY, "Internal Server Error")
        }
    }
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({ "message": text }))).into_response()
}

/// The payload-2.0 event for one request.
pub fn request_event(
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &Bytes,
    source_ip: &str,
    now: DateTime<Utc>,
) -> Value {
    let mut header_map = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == axum::http::header::COOKIE {
            cookies.extend(value.split(';').map(|c| Value::String(c.trim().to_owned())));
            continue;
        }
        let key = name.as_str().to_ascii_lowercase();
        match header_map.get_mut(&key) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                header_map.insert(key, Value::String(value));
            }
        }
    }
    let raw_query = uri.query().unwrap_or_default().to_owned();
    let mut query = Map::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = urldecode(key);
        let value = urldecode(value);
        match query.get_mut(&key) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                query.insert(key, Value::String(value));
            }
        }
    }
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let text = is_text(content_type)
        .then(|| std::str::from_utf8(body).ok())
        .flatten();
    let (body_value, is_base64) = match (body.is_empty(), text) {
        (true, _) => (Value::Null, false),
        (false, Some(text)) => (Value::String(text.to_owned()), false),
        (false, None) => (Value::String(STANDARD.encode(body)), true),
    };
    let host = header_map
        .get("host")
        .and_then(Value::as_str)
        .unwrap_or("127.0.0.1")
        .to_owned();
    let route_key = format!("{method} {}", uri.path());
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": uri.path(),
        "rawQueryString": raw_query,
        "headers": header_map,
        "requestContext": {
            "accountId": crate::aws::ACCOUNT_ID,
            "apiId": "devstack",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or_default(),
            "http": {
                "method": method.as_str(),
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": header_map.get("user-agent").cloned().unwrap_or(Value::String(String::new())),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": is_base64,
    });
    if let Value::Object(map) = &mut event {
        if !cookies.is_empty() {
            map.insert("cookies".to_owned(), Value::Array(cookies));
        }
        if !query.is_empty() {
            map.insert("queryStringParameters".to_owned(), Value::Object(query));
        }
        if !body_value.is_null() {
            map.insert("body".to_owned(), body_value);
        }
    }
    event
}

fn is_text(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.is_empty()
        || essence.starts_with("text/")
        || essence == "application/json"
        || essence.ends_with("+json")
        || essence == "application/x-www-form-urlencoded"
        || essence == "application/xml"
        || essence.ends_with("+xml")
        || essence == "application/javascript"
}

fn urldecode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    String::from_utf8_lossy(&urlencoding::decode_binary(spaced.as_bytes())).into_owned()
}

/// Turns a handler's JSON response into HTTP, as API Gateway does for payload 2.0.
pub fn http_response(response: &Value) -> Response {
    let Some(status) = response.get("statusCode").and_then(Value::as_u64) else {
        let mut http = Response::new(Body::from(response.to_string()));
        http.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return http;
    };
    let Ok(status) = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or(())
    else {
        return message(StatusCode::BAD_GATEWAY, "Internal Server Error");
    };
    let body = match response.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => {
            if response
                .get("isBase64Encoded")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                match STANDARD.decode(text) {
                    Ok(bytes) => bytes,
                    Err(_) => return message(StatusCode::BAD_GATEWAY, "Internal Server Error"),
                }
            } else {
                text.clone().into_bytes()
            }
        }
        Some(other) => other.to_string().into_bytes(),
    };
    let mut http = Response::new(Body::from(body));
    *http.status_mut() = status;
    if let Some(Value::Object(headers)) = response.get("headers") {
        for (name, value) in headers {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&text),
            ) {
                http.headers_mut().append(name, value);
            }
        }
    }
    if let Some(Value::Array(cookies)) = response.get("cookies") {
        for cookie in cookies.iter().filter_map(Value::as_str) {
            if let Ok(value) = HeaderValue::from_str(cookie) {
                http.headers_mut()
                    .append(axum::http::header::SET_COOKIE, value);
            }
        }
    }
    http
}
