//! The devstack server: every fake under its prefix, plus the aggregate control API under `/__devstack/`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use fake_kit::{RunningServer, ServeError};
use serde_json::{Map, Value, json};

use crate::lambda::Registry;

/// The default port (`DEVSTACK_PORT`; 0 = ephemeral).
pub const DEFAULT_PORT: u16 = 8800;

/// What to mount before serving.
#[derive(Default)]
pub struct DevstackBuilder {
    fakes: Vec<(String, Router)>,
    registry: Registry,
}

impl std::fmt::Debug for DevstackBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.fakes.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("DevstackBuilder")
            .field("fakes", &names)
            .field("registry", &self.registry)
            .finish()
    }
}

impl DevstackBuilder {
    /// Mounts a fake's complete app (as built by `fake_kit::fake_app`) under `/<name>`; its control API is then
    /// at `/<name>/__fake/`.
    pub fn mount(mut self, name: &str, app: Router) -> Self {
        self.fakes.push((name.to_owned(), app));
        self
    }

    /// The handlers `POST /__devstack/invoke/<function>` can call (shared: register more after serving).
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = registry;
        self
    }

    /// Serves on `127.0.0.1:<port>` (0 = ephemeral).
    pub async fn serve_on_port(self, port: u16) -> Result<Devstack, ServeError> {
        self.serve(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
            .await
    }

    /// Serves on `addr`, which must be a loopback address.
    pub async fn serve(self, addr: SocketAddr) -> Result<Devstack, ServeError> {
        let names: Vec<String> = self.fakes.iter().map(|(n, _)| n.clone()).collect();
        let shared = Arc::new(Shared {
            names: names.clone(),
            registry: self.registry.clone(),
            base_url: OnceLock::new(),
            http: lambda_kit::http::client_builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
        });
        let admin = Router::new()
            .route("/", get(index))
            .route("/state", get(state))
            .route("/reset", post(reset))
            .route("/functions", get(functions))
            .route("/invoke/{function}", post(invoke_function))
            .with_state(Arc::clone(&shared));
        let mut app = Router::new().nest("/__devstack", admin);
        for (name, fake) in self.fakes {
            app = app.nest(&format!("/{name}"), fake);
        }
        let server = fake_kit::serve(app, addr).await?;
        let _ = shared.base_url.set(server.base_url());
        Ok(Devstack {
            server,
            names,
            registry: self.registry,
        })
    }
}

struct Shared {
    names: Vec<String>,
    registry: Registry,
    base_url: OnceLock<String>,
    http: reqwest::Client,
}

impl Shared {
    fn fake_url(&self, name: &str, path: &str) -> String {
        let base = self.base_url.get().map(String::as_str).unwrap_or_default();
        format!("{base}/{name}/__fake/{path}")
    }
}

/// A running devstack server; stops when dropped.
#[derive(Debug)]
pub struct Devstack {
    server: RunningServer,
    names: Vec<String>,
    registry: Registry,
}

impl Devstack {
    /// A builder with nothing mounted.
    pub fn builder() -> DevstackBuilder {
        DevstackBuilder::default()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `<base>/<name>`: where the fake `name` is mounted.
    pub fn fake_url(&self, name: &str) -> String {
        format!("{}/{name}", self.base_url())
    }

    /// `<base>/<name>/__fake`: the fake's control API.
    pub fn control_url(&self, name: &str) -> String {
        format!("{}/{name}/__fake", self.base_url())
    }

    /// `<base>/__devstack`.
    pub fn admin_url(&self) -> String {
        format!("{}/__devstack", self.base_url())
    }

    /// The names of the mounted fakes, in mount order.
    pub fn fakes(&self) -> &[String] {
        &self.names
    }

    /// The function registry behind `/__devstack/invoke/`.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

async fn index(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(json!({
        "fakes": shared.names,
        "functions": shared.registry.names(),
        "routes": [
            "GET /__devstack/state",
            "POST /__devstack/reset",
            "GET /__devstack/functions",
            "POST /__devstack/invoke/{function}",
        ],
    }))
    .into_response()
}

async fn state(State(shared): State<Arc<Shared>>) -> Response {
    let mut all = Map::new();
    for name in &shared.names {
        let value = match shared.http.get(shared.fake_url(name, "state")).send().await {
            Ok(response) if response.status().is_success() => response
                .json::<Value>()
                .await
                .unwrap_or_else(|_| json!({"error": "state is not JSON"})),
            Ok(response) => json!({"error": format!("state answered {}", response.status())}),
            Err(_) => json!({"error": "state unreachable"}),
        };
        all.insert(name.clone(), redact(value));
    }
    axum::Json(Value::Object(all)).into_response()
}

async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    let mut failed = Vec::new();
    for name in &shared.names {
        let ok = shared
            .http
            .post(shared.fake_url(name, "reset"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if !ok {
            failed.push(name.clone());
        }
    }
    if failed.is_empty() {
        axum::Json(json!({"reset": shared.names})).into_response()
    } else {
        (
            StatusCode::BAD_GATEWAY,
            axum::Json(json!({"error": "some fakes did not reset", "failed": failed})),
        )
            .into_response()
    }
}

async fn functions(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(json!(shared.registry.names())).into_response()
}

async fn invoke_function(
    State(shared): State<Arc<Shared>>,
    Path(function): Path<String>,
    body: Bytes,
) -> Response {
    let event: Value = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": format!("the event is not JSON: {e}")})),
            )
                .into_response();
        }
    };
    match shared.registry.invoke(&function, event).await {
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({
                "error": format!("no function named {function}"),
                "functions": shared.registry.names(),
            })),
        )
            .into_response(),
        Some(Ok(response)) => axum::Json(response).into_response(),
        Some(Err(message)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"errorType": "FunctionError", "errorMessage": message})),
        )
            .into_response(),
    }
}

/// Replaces string values under secret-looking keys with `[REDACTED]` (the fakes redact their own state;
/// this is a second line of defence for the aggregate view).
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    if value.is_string() && is_secret_key(&key) {
                        (key, Value::String("[REDACTED]".to_owned()))
                    } else {
                        (key, redact(value))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

fn is_secret_key(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "apikey",
        "privatekey",
        "webhookurl",
        "clientsecret",
        "signingsecret",
        "authorization",
    ]
    .iter()
    .any(|suffix| key.ends_with(suffix))
}
