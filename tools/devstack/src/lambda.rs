//! Handlers at the JSON level, as Lambda sees them, and a registry of named functions.
//!
//! Events and responses cross this boundary as `serde_json::Value`, so a handler that is wired into the
//! emulators receives exactly what Lambda would deserialize and its response is read exactly as Lambda reads it.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A Lambda function at the JSON level: event in, response out; `Err` is a function error whose message
/// becomes Lambda's `errorMessage`.
pub type JsonHandler =
    Arc<dyn Fn(Value, InvokeContext) -> BoxFuture<'static, Result<Value, String>> + Send + Sync>;

/// What Lambda passes beside the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeContext {
    /// A fresh id per invocation (`aws_request_id`).
    pub request_id: String,
    /// The function's name, e.g. `cls-queue`.
    pub function_name: String,
    /// The configured timeout (informational; the emulators do not cut a handler off).
    pub timeout: Duration,
}

impl InvokeContext {
    /// A context with a new request id and a 60 s timeout.
    pub fn new(function_name: &str) -> Self {
        Self {
            request_id: uuid::Uuid::new_v4().to_string(),
            function_name: function_name.to_owned(),
            timeout: Duration::from_secs(60),
        }
    }
}

/// Wraps an async closure over JSON values into a [`JsonHandler`].
pub fn json_handler<F, Fut>(f: F) -> JsonHandler
where
    F: Fn(Value, InvokeContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, String>> + Send + 'static,
{
    Arc::new(move |event, ctx| f(event, ctx).boxed())
}

/// Wraps a typed handler: the event is deserialized from JSON (a failure is a function error, as in the Rust
/// runtime), the response serialized back to JSON and the error turned into its `Display` text.
pub fn typed_handler<E, R, Er, F, Fut>(f: F) -> JsonHandler
where
    E: DeserializeOwned + Send + 'static,
    R: Serialize + 'static,
    Er: Display + 'static,
    F: Fn(E, InvokeContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, Er>> + Send + 'static,
{
    let f = Arc::new(f);
    Arc::new(move |event, ctx| {
        let f = Arc::clone(&f);
        async move {
            let event: E = serde_json::from_value(event)
                .map_err(|e| format!("failed to deserialize the event: {e}"))?;
            let response = f(event, ctx).await.map_err(|e| e.to_string())?;
            serde_json::to_value(response)
                .map_err(|e| format!("failed to serialize the response: {e}"))
        }
        .boxed()
    })
}

/// Invokes `handler` with `event`, catching a panic as a function error (the Lambda runtime reports a panic
/// the same way).
pub async fn invoke(
    handler: &JsonHandler,
    event: Value,
    ctx: InvokeContext,
) -> Result<Value, String> {
    let future = std::panic::AssertUnwindSafe(handler(event, ctx));
    match future.catch_unwind().await {
        Ok(result) => result,
        Err(_) => Err("the handler panicked".to_owned()),
    }
}

/// Named handlers, shared by the devstack invoke endpoint, the event source and the API emulator.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: Arc<RwLock<BTreeMap<String, JsonHandler>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("functions", &self.names())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) `name`.
    pub fn register(&self, name: &str, handler: JsonHandler) {
        if let Ok(mut map) = self.handlers.write() {
            map.insert(name.to_owned(), handler);
        }
    }

    /// The handler registered as `name`.
    pub fn get(&self, name: &str) -> Option<JsonHandler> {
        self.handlers.read().ok()?.get(name).cloned()
    }

    /// Every registered name, sorted.
    pub fn names(&self) -> Vec<String> {
        self.handlers
            .read()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Invokes `name` with `event` and a fresh context.
    pub async fn invoke(&self, name: &str, event: Value) -> Option<Result<Value, String>> {
        let handler = self.get(name)?;
        Some(invoke(&handler, event, InvokeContext::new(name)).await)
    }
}

/// True when `response` is an SQS batch response that lists at least one failure.
pub fn lists_batch_failures(response: &Value) -> bool {
    response
        .get("batchItemFailures")
        .and_then(Value::as_array)
        .is_some_and(|failures| !failures.is_empty())
}
