//! An AWS endpoint for the two calls whose service time the benchmark takes out of a function's measured
//! time, or which have no local service: SQS `SendMessage` (AWS JSON 1.0 protocol), accepted at once and not
//! kept, and Lambda `Invoke` (the sweep's continuation), recorded so that the bench runs the continuation
//! itself. Pointed at by `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL_LAMBDA`; the function's clients still
//! sign, serialise and send each request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Result;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use fake_kit::RunningServer;
use serde_json::{Value, json};

#[derive(Debug, Default)]
struct Calls {
    sent: AtomicU64,
    invoked: Mutex<Vec<Value>>,
}

/// The running stub.
pub(crate) struct AwsStub {
    server: RunningServer,
    calls: Arc<Calls>,
}

impl AwsStub {
    /// Starts the stub on `127.0.0.1` with a free port.
    pub(crate) async fn start() -> Result<Self> {
        let calls = Arc::new(Calls::default());
        let router = Router::new()
            .route("/", post(send_message))
            .route("/2015-03-31/functions/{name}/invocations", post(invoke))
            .with_state(Arc::clone(&calls));
        let server = fake_kit::serve_ephemeral(router).await?;
        Ok(Self { server, calls })
    }

    /// The endpoint URL.
    pub(crate) fn url(&self) -> String {
        self.server.base_url()
    }

    /// How many `SendMessage` calls it accepted.
    pub(crate) fn sent(&self) -> u64 {
        self.calls.sent.load(Ordering::Relaxed)
    }

    /// The events of the `Invoke` calls so far, oldest first, taken.
    pub(crate) fn take_invocations(&self) -> Vec<Value> {
        std::mem::take(
            &mut *self
                .calls
                .invoked
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Stops the server.
    pub(crate) async fn stop(self) {
        self.server.stop().await;
    }
}

async fn send_message(State(calls): State<Arc<Calls>>, headers: HeaderMap) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if target != "AmazonSQS.SendMessage" {
        let body = json!({"__type": "com.amazonaws.sqs#UnsupportedOperation", "message": target});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    let n = calls.sent.fetch_add(1, Ordering::Relaxed) + 1;
    let body = json!({
        "MessageId": uuid::Uuid::new_v4().to_string(),
        "SequenceNumber": format!("{n:020}"),
    });
    (
        StatusCode::OK,
        [("content-type", "application/x-amz-json-1.0")],
        body.to_string(),
    )
        .into_response()
}

/// An asynchronous invocation (`X-Amz-Invocation-Type: Event`) is accepted with 202 and its event kept.
async fn invoke(State(calls): State<Arc<Calls>>, body: Bytes) -> Response {
    let event = serde_json::from_slice(&body).unwrap_or(Value::Null);
    calls
        .invoked
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(event);
    StatusCode::ACCEPTED.into_response()
}
