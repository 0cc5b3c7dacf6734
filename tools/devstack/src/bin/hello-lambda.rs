//! A hello-world `lambda_runtime` function: the floor of the cold-start benchmark (nothing but the runtime)
//! and the real runtime client of the Runtime API emulator's tests.
//!
//! It answers `{"hello": <event.name>, "requestId", "deadlineMs", "functionArn"}`; an event with a string
//! `fail` is a function error with that message.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        if let Some(message) = event.payload.get("fail").and_then(Value::as_str) {
            return Err(Error::from(message.to_owned()));
        }
        Ok::<_, Error>(json!({
            "hello": event.payload.get("name"),
            "requestId": event.context.request_id,
            "deadlineMs": event.context.deadline,
            "functionArn": event.context.invoked_function_arn,
        }))
    }))
    .await
}
