//! Continuing a run that has more actions than one invocation may send (README, "What one invocation does", step 6):
//! the sweep invokes itself asynchronously with the next [`SweepEvent`].

use futures::future::BoxFuture;

use crate::event::SweepEvent;

/// Starts the next invocation of the run without waiting for it.
pub trait Continuation: Send + Sync {
    /// Starts an invocation with `event`. `Err` names what failed (no credentials, no payloads).
    fn start<'a>(&'a self, event: &'a SweepEvent) -> BoxFuture<'a, Result<(), String>>;
}

/// Lambda `Invoke` with `InvocationType: Event` on this function (`AWS_LAMBDA_FUNCTION_NAME`).
#[derive(Debug, Clone)]
pub struct LambdaContinuation {
    client: aws_sdk_lambda::Client,
    function_name: String,
}

impl LambdaContinuation {
    /// Invokes `function_name` (the function's own name or ARN).
    pub fn new(client: aws_sdk_lambda::Client, function_name: &str) -> Self {
        Self {
            client,
            function_name: function_name.to_owned(),
        }
    }
}

/// The payload a continuation sends.
pub fn payload(event: &SweepEvent) -> Vec<u8> {
    serde_json::to_vec(event).unwrap_or_else(|_| b"{}".to_vec())
}

impl Continuation for LambdaContinuation {
    fn start<'a>(&'a self, event: &'a SweepEvent) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            use aws_sdk_lambda::error::ProvideErrorMetadata;
            self.client
                .invoke()
                .function_name(&self.function_name)
                .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload(event)))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| format!("Lambda Invoke failed ({})", e.code().unwrap_or("transport")))
        })
    }
}

/// No way to continue (a local run without a function to invoke): refuses, so the caller alerts and the
/// rest waits for the next run.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoContinuation;

impl Continuation for NoContinuation {
    fn start<'a>(&'a self, _event: &'a SweepEvent) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async {
            Err("no function to continue with (AWS_LAMBDA_FUNCTION_NAME is not set)".to_owned())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Cursor;

    #[test]
    fn the_payload_is_the_next_event_as_json() {
        let next = SweepEvent::default().next(
            Cursor {
                created_at: "2026-01-01T00:00:00Z".into(),
                id: "62c0".into(),
            },
            300,
            false,
        );
        let value: serde_json::Value = serde_json::from_slice(&payload(&next)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"continuation": 1, "after": {"created_at": "2026-01-01T00:00:00Z", "id": "62c0"}, "start": 300})
        );
    }

    #[tokio::test]
    async fn without_a_function_to_invoke_the_continuation_is_refused() {
        assert!(NoContinuation.start(&SweepEvent::default()).await.is_err());
    }
}
