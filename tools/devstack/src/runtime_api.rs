//! The Lambda Runtime API emulator: what a function's own process talks to when it runs as a real binary.
//!
//! A loopback server implementing the routes a runtime client (`lambda_runtime`) uses:
//! - `GET /2018-06-01/runtime/invocation/next` blocks until an event is queued, then answers it with the
//!   `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`, `Lambda-Runtime-Invoked-Function-Arn` and
//!   `Lambda-Runtime-Trace-Id` headers;
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `…/{id}/error` complete that invocation (`202`;
//!   `400 InvalidRequestID` for an id that is not in flight, `413` above Lambda's 6 MB response limit);
//! - `POST /2018-06-01/runtime/init/error` records an initialisation failure: every waiting and later
//!   [`RuntimeApi::invoke`] fails with it.
//!
//! One emulator stands for one execution environment of one function, so invocations are handed out one at
//! a time in the order they were queued, as Lambda does. [`RuntimeApi::invoke`] queues an event and waits
//! for the runtime's answer (bounded by a timeout); [`RuntimeApi::first_next`] tells when the runtime first
//! asked for work, which is where a cold start ends; [`RuntimeApi::take_durations`] gives each invocation's
//! time from the event handed out to the answer received, what Lambda reports as its `Duration`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use fake_kit::{RunningServer, ServeError};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::lambda::{JsonHandler, json_handler};

/// Lambda's limit on a synchronous response payload.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// How many invocation durations are kept until [`RuntimeApi::take_durations`] collects them (the oldest
/// are dropped beyond it, so a long `up --binaries` session does not grow).
pub const KEPT_DURATIONS: usize = 100_000;
/// The account id in the emulated function ARN.
pub const ACCOUNT_ID: &str = "123456789012";

const PREFIX: &str = "/2018-06-01/runtime";

/// How an invocation through the emulator failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvokeError {
    /// The function reported an error (`…/invocation/{id}/error`).
    #[error("function error {error_type}: {error_message}")]
    Function {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        error_message: String,
    },
    /// The runtime reported an initialisation error (`…/init/error`).
    #[error("init error {error_type}: {error_message}")]
    Init {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        error_message: String,
    },
    /// No answer within the timeout (the runtime never asked for the event, or never answered it).
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The response body was not JSON.
    #[error("the response is not JSON: {0}")]
    NotJson(String),
}

/// A running emulator for one function. Stops when dropped.
#[derive(Debug)]
pub struct RuntimeApi {
    state: Arc<EmulatorState>,
    server: RunningServer,
}

#[derive(Debug)]
struct Queued {
    request_id: String,
    event: Bytes,
}

type Answer = Result<Value, InvokeError>;

#[derive(Debug)]
struct EmulatorState {
    function_name: String,
    function_arn: String,
    timeout: Duration,
    sender: mpsc::UnboundedSender<Queued>,
    receiver: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    handed_out_at: Mutex<HashMap<String, Instant>>,
    durations: Mutex<std::collections::VecDeque<Duration>>,
    init_error: Mutex<Option<InvokeError>>,
    first_next: Mutex<Option<Instant>>,
    handed_out: AtomicU64,
    changed: Notify,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RuntimeApi {
    /// Starts an emulator for `function_name` on `127.0.0.1` with an ephemeral port. `timeout` is the
    /// function's configured timeout: it sets each invocation's `Lambda-Runtime-Deadline-Ms`.
    pub async fn start(function_name: &str, timeout: Duration) -> Result<Self, ServeError> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let state = Arc::new(EmulatorState {
            function_name: function_name.to_owned(),
            function_arn: format!(
                "arn:aws:lambda:{}:{ACCOUNT_ID}:function:{function_name}",
                crate::aws::REGION
            ),
            timeout,
            sender,
            receiver: tokio::sync::Mutex::new(receiver),
            in_flight: Mutex::new(HashMap::new()),
            handed_out_at: Mutex::new(HashMap::new()),
            durations: Mutex::default(),
            init_error: Mutex::new(None),
            first_next: Mutex::new(None),
            handed_out: AtomicU64::new(0),
            changed: Notify::new(),
        });
        let server = fake_kit::serve(
            router(Arc::clone(&state)),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        )
        .await?;
        Ok(Self { state, server })
    }

    /// `127.0.0.1:<port>`: the value of `AWS_LAMBDA_RUNTIME_API` for the function's process.
    pub fn address(&self) -> String {
        self.server.addr().to_string()
    }

    /// The function's name.
    pub fn function_name(&self) -> &str {
        &self.state.function_name
    }

    /// The environment Lambda gives every function process: `AWS_LAMBDA_RUNTIME_API` and the
    /// `AWS_LAMBDA_FUNCTION_*`/`AWS_LAMBDA_LOG_*` variables `lambda_runtime` reads, for a function of
    /// `memory_mb` MB.
    pub fn lambda_env(&self, memory_mb: u32) -> Vec<(String, String)> {
        let name = &self.state.function_name;
        [
            ("AWS_LAMBDA_RUNTIME_API", self.address()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "local/[$LATEST]devstack".to_owned(),
            ),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Queues `event` and waits up to `timeout` for the runtime's answer: the response JSON, or why it failed.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Answer {
        invoke_on(&self.state, &event, timeout).await
    }

    /// This emulator as a [`JsonHandler`] (so the devstack invoke endpoint, the SQS event source and the API
    /// Gateway emulator drive the real binary); each invocation waits up to `timeout`.
    pub fn handler(&self, timeout: Duration) -> JsonHandler {
        let state = Arc::clone(&self.state);
        json_handler(move |event, _ctx| {
            let state = Arc::clone(&state);
            async move {
                invoke_on(&state, &event, timeout)
                    .await
                    .map_err(|e| match e {
                        InvokeError::Function {
                            error_type,
                            error_message,
                        } => format!("{error_type}: {error_message}"),
                        other => other.to_string(),
                    })
            }
        })
    }

    /// When the runtime first called `/next` (the end of its initialisation), if it has.
    pub fn first_next(&self) -> Option<Instant> {
        *lock(&self.state.first_next)
    }

    /// Waits up to `timeout` for the first `/next` and returns when it came; `None` when it did not come or
    /// the runtime reported an init error instead.
    pub async fn wait_first_next(&self, timeout: Duration) -> Option<Instant> {
        let wait = async {
            loop {
                let changed = self.state.changed.notified();
                if let Some(at) = self.first_next() {
                    return Some(at);
                }
                if lock(&self.state.init_error).is_some() {
                    return None;
                }
                changed.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.ok().flatten()
    }

    /// How many events the runtime has taken with `/next`.
    pub fn invocations(&self) -> u64 {
        self.state.handed_out.load(Ordering::Relaxed)
    }

    /// The duration of every invocation answered since the last call, oldest first: from the event handed out
    /// on `/next` to the runtime's response or error arriving (Lambda's `Duration`: the function's own time,
    /// without the caller's queueing). Keeps at most [`KEPT_DURATIONS`].
    pub fn take_durations(&self) -> Vec<Duration> {
        lock(&self.state.durations).drain(..).collect()
    }

    /// The init error the runtime reported, if any.
    pub fn init_error(&self) -> Option<InvokeError> {
        lock(&self.state.init_error).clone()
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

async fn invoke_on(state: &Arc<EmulatorState>, event: &Value, timeout: Duration) -> Answer {
    if let Some(error) = lock(&state.init_error).clone() {
        return Err(error);
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let (answer_tx, answer_rx) = oneshot::channel();
    lock(&state.in_flight).insert(request_id.clone(), answer_tx);
    let body = Bytes::from(event.to_string());
    if state
        .sender
        .send(Queued {
            request_id: request_id.clone(),
            event: body,
        })
        .is_err()
    {
        lock(&state.in_flight).remove(&request_id);
        return Err(InvokeError::Timeout(Duration::ZERO));
    }
    let answer = tokio::time::timeout(timeout, answer_rx).await;
    lock(&state.in_flight).remove(&request_id);
    match answer {
        Ok(Ok(answer)) => answer,
        // The sender was dropped without an answer, or the time ran out.
        Ok(Err(_)) | Err(_) => Err(InvokeError::Timeout(timeout)),
    }
}

fn router(state: Arc<EmulatorState>) -> Router {
    Router::new()
        .route(&format!("{PREFIX}/invocation/next"), get(next))
        .route(
            &format!("{PREFIX}/invocation/{{id}}/response"),
            post(response),
        )
        .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(error))
        .route(&format!("{PREFIX}/init/error"), post(init_error))
        // `response` reads at most one byte over Lambda's limit itself and answers 413 (failing the invocation).
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

async fn next(State(state): State<Arc<EmulatorState>>) -> Response {
    {
        let mut first = lock(&state.first_next);
        if first.is_none() {
            *first = Some(Instant::now());
            state.changed.notify_waiters();
        }
    }
    loop {
        // One runtime per emulator; a second poller waits for the lock. A poller that disconnects drops this
        // future with the lock, leaving the queue untouched.
        let queued = state.receiver.lock().await.recv().await;
        let Some(queued) = queued else {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceUnavailable",
                "stopped",
            );
        };
        // An invocation whose caller gave up meanwhile is not handed out.
        if !lock(&state.in_flight).contains_key(&queued.request_id) {
            continue;
        }
        state.handed_out.fetch_add(1, Ordering::Relaxed);
        lock(&state.handed_out_at).insert(queued.request_id.clone(), Instant::now());
        let deadline_ms = epoch_millis() + u64::try_from(state.timeout.as_millis()).unwrap_or(0);
        let mut headers = HeaderMap::new();
        let mut set = |name: &'static str, value: String| {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        };
        set("lambda-runtime-aws-request-id", queued.request_id.clone());
        set("lambda-runtime-deadline-ms", deadline_ms.to_string());
        set(
            "lambda-runtime-invoked-function-arn",
            state.function_arn.clone(),
        );
        set("lambda-runtime-trace-id", trace_id(deadline_ms));
        set("content-type", "application/json".to_owned());
        return (StatusCode::OK, headers, queued.event).into_response();
    }
}

async fn response(
    State(state): State<Arc<EmulatorState>>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let Ok(body) = axum::body::to_bytes(body, MAX_RESPONSE_BYTES).await else {
        let message = format!(
            "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
        );
        complete(
            &state,
            &id,
            Err(InvokeError::Function {
                error_type: "Function.ResponseSizeTooLarge".to_owned(),
                error_message: message.clone(),
            }),
        );
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &message,
        );
    };
    let answer = serde_json::from_slice::<Value>(&body)
        .map_err(|_| InvokeError::NotJson(String::from_utf8_lossy(&body).into_owned()));
    accepted_or_unknown(complete(&state, &id, answer))
}

async fn error(
    State(state): State<Arc<EmulatorState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error = reported_error(&headers, &body);
    let error = InvokeError::Function {
        error_type: error.0,
        error_message: error.1,
    };
    accepted_or_unknown(complete(&state, &id, Err(error)))
}

async fn init_error(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (error_type, error_message) = reported_error(&headers, &body);
    let error = InvokeError::Init {
        error_type,
        error_message,
    };
    *lock(&state.init_error) = Some(error.clone());
    // Fail everything already waiting: the environment will not serve it.
    let waiting: Vec<_> = lock(&state.in_flight).drain().collect();
    lock(&state.handed_out_at).clear();
    for (_, sender) in waiting {
        let _ = sender.send(Err(error.clone()));
    }
    state.changed.notify_waiters();
    accepted()
}

/// `(errorType, errorMessage)` from an error body, the type falling back to the
/// `Lambda-Runtime-Function-Error-Type` header.
fn reported_error(headers: &HeaderMap, body: &[u8]) -> (String, String) {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let header_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok());
    let error_type = parsed["errorType"]
        .as_str()
        .or(header_type)
        .unwrap_or("Unhandled")
        .to_owned();
    let error_message = parsed["errorMessage"]
        .as_str()
        .map_or_else(|| String::from_utf8_lossy(body).into_owned(), str::to_owned);
    (error_type, error_message)
}

/// Delivers `answer` to the invocation `id`; false when no such invocation is in flight.
fn complete(state: &EmulatorState, id: &str, answer: Answer) -> bool {
    if let Some(at) = lock(&state.handed_out_at).remove(id) {
        let mut durations = lock(&state.durations);
        if durations.len() >= KEPT_DURATIONS {
            durations.pop_front();
        }
        durations.push_back(at.elapsed());
    }
    match lock(&state.in_flight).remove(id) {
        Some(sender) => {
            let _ = sender.send(answer);
            true
        }
        None => false,
    }
}

fn accepted_or_unknown(known: bool) -> Response {
    if known {
        accepted()
    } else {
        error_response(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "Invalid request ID",
        )
    }
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

fn error_response(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"errorType": error_type, "errorMessage": message})),
    )
        .into_response()
}

/// An X-Ray trace header of the shape Lambda sends (`Root=1-<epoch secs hex>-<96 random bits>`).
fn trace_id(now_ms: u64) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        now_ms / 1000,
        &random[..24],
        &parent[..16]
    )
}

/// Wall-clock epoch milliseconds: the runtime compares the deadline with its own wall clock.
#[allow(clippy::disallowed_methods)] // Lambda's deadline is real time; nothing here is under test-clock control.
fn epoch_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
