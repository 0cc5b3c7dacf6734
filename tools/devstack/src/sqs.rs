//! The SQS event-source mapping, emulated over a real (moto) queue.
//!
//! Semantics reproduced from Lambda's mapping with `ReportBatchItemFailures`:
//! - receive up to the batch size (≤ 10); FIFO messages arrive in group order;
//! - build the `SqsEvent` JSON (`messageId`, `receiptHandle`, `body`, `attributes` with `MessageGroupId`,
//!   `ApproximateReceiveCount`, `MessageDeduplicationId`, `SequenceNumber`, …, `eventSourceARN`);
//! - invoke the handler; delete every message not listed in `batchItemFailures`;
//! - a function error, a response that is not a valid batch response, or an `itemIdentifier` that is empty,
//!   null or not in the batch fails the whole batch: nothing is deleted;
//! - failed messages reappear after the queue's visibility timeout; moving them to the DLQ after
//!   `maxReceiveCount` receives is moto's job (docs/decisions/0005).
//!
//! One batch is in flight at a time (the deployed mapping allows two; ordering per group is the same).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::{Map, Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::aws::{REGION, describe, queue_arn};
use crate::lambda::{InvokeContext, JsonHandler, invoke};

/// The emulator could not talk to the queue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventSourceError {
    /// An SQS call failed.
    #[error("SQS {operation} failed: {message}")]
    Sqs {
        /// The operation.
        operation: &'static str,
        /// The service's error code and message.
        message: String,
    },
    /// `run_until_idle` kept receiving messages beyond its batch limit.
    #[error("the queue did not become idle within {batches} batches")]
    NotIdle {
        /// The limit.
        batches: usize,
    },
}

/// What happened to one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Every message id of the batch, in delivery order.
    pub message_ids: Vec<String>,
    /// The `ApproximateReceiveCount` of each message, in the same order.
    pub receive_counts: Vec<u32>,
    /// Ids deleted from the queue.
    pub deleted: Vec<String>,
    /// Ids left on the queue (reported failures, or all of them when the whole batch failed).
    pub failed: Vec<String>,
    /// Why the whole batch failed, if it did.
    pub batch_error: Option<String>,
    /// The handler's response (when it returned one).
    pub response: Option<Value>,
}

impl BatchOutcome {
    /// True when every message was deleted.
    pub fn is_success(&self) -> bool {
        self.failed.is_empty() && self.batch_error.is_none()
    }
}

/// An event-source mapping from one queue to one handler.
#[derive(Clone)]
pub struct EventSource {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    function_name: String,
    handler: JsonHandler,
    batch_size: i32,
    wait_time_secs: i32,
    queue_arn: Arc<tokio::sync::OnceCell<String>>,
    outcomes: Arc<Mutex<Vec<BatchOutcome>>>,
}

impl std::fmt::Debug for EventSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSource")
            .field("queue_url", &self.queue_url)
            .field("function_name", &self.function_name)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl EventSource {
    /// A mapping from `queue_url` to `handler` (named `function_name` in invoke contexts), batch size 10,
    /// long polls of 1 s in the background form.
    pub fn new(
        client: aws_sdk_sqs::Client,
        queue_url: &str,
        function_name: &str,
        handler: JsonHandler,
    ) -> Self {
        Self {
            client,
            queue_url: queue_url.to_owned(),
            function_name: function_name.to_owned(),
            handler,
            batch_size: 10,
            wait_time_secs: 1,
            queue_arn: Arc::new(tokio::sync::OnceCell::new()),
            outcomes: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Sets the batch size (clamped to 1..=10, the SQS receive limit).
    pub fn batch_size(mut self, size: u8) -> Self {
        self.batch_size = i32::from(size.clamp(1, 10));
        self
    }

    /// Sets the long-poll wait of the background loop (0..=20 s).
    pub fn wait_time_secs(mut self, secs: u8) -> Self {
        self.wait_time_secs = i32::from(secs.min(20));
        self
    }

    /// Every batch handled so far, oldest first.
    pub fn outcomes(&self) -> Vec<BatchOutcome> {
        self.outcomes.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Receives one batch without waiting and handles it; `None` when the queue had nothing visible.
    pub async fn poll_once(&self) -> Result<Option<BatchOutcome>, EventSourceError> {
        self.poll(0).await
    }

    /// Handles batches until a receive returns nothing visible (messages still in flight after a failure are
    /// not waited for). Fails when more than 100 batches arrive.
    pub async fn run_until_idle(&self) -> Result<Vec<BatchOutcome>, EventSourceError> {
        self.run_until_idle_within(100).await
    }

    /// [`run_until_idle`](Self::run_until_idle) with an explicit batch limit.
    pub async fn run_until_idle_within(
        &self,
        max_batches: usize,
    ) -> Result<Vec<BatchOutcome>, EventSourceError> {
        let mut outcomes = Vec::new();
        while let Some(outcome) = self.poll_once().await? {
            outcomes.push(outcome);
            if outcomes.len() >= max_batches {
                return Err(EventSourceError::NotIdle {
                    batches: max_batches,
                });
            }
        }
        Ok(outcomes)
    }

    /// Runs the mapping in the background (long polling) until the handle is stopped or dropped.
    pub fn spawn(self) -> EventSourceHandle {
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let source = self.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop_rx.changed() => break,
                    result = source.poll(source.wait_time_secs) => {
                        if let Err(error) = result {
                            tracing::warn!(function = %source.function_name, error = %error, "event source receive failed");
                            tokio::select! {
                                _ = stop_rx.changed() => break,
                                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                            }
                        }
                    }
                }
            }
        });
        EventSourceHandle {
            source: self,
            stop: stop_tx,
            task: Some(task),
        }
    }

    async fn arn(&self) -> Result<String, EventSourceError> {
        self.queue_arn
            .get_or_try_init(|| async {
                queue_arn(&self.client, &self.queue_url)
                    .await
                    .map_err(|message| EventSourceError::Sqs {
                        operation: "GetQueueAttributes",
                        message,
                    })
            })
            .await
            .cloned()
    }

    async fn poll(&self, wait_time_secs: i32) -> Result<Option<BatchOutcome>, EventSourceError> {
        let arn = self.arn().await?;
        let received = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(self.batch_size)
            .wait_time_seconds(wait_time_secs)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| EventSourceError::Sqs {
                operation: "ReceiveMessage",
                message: describe(&e),
            })?;
        let messages = received.messages();
        if messages.is_empty() {
            return Ok(None);
        }
        let event = sqs_event(messages, &arn);
        let ids: Vec<String> = messages
            .iter()
            .map(|m| m.message_id().unwrap_or_default().to_owned())
            .collect();
        let receive_counts = messages
            .iter()
            .map(|m| {
                system_attribute(m, &MessageSystemAttributeName::ApproximateReceiveCount)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0)
            })
            .collect();
        let ctx = InvokeContext::new(&self.function_name);
        let result = invoke(&self.handler, event, ctx).await;
        let (failed, batch_error, response) = match result {
            Ok(response) => match failed_ids(&response, &ids) {
                Ok(failed) => (failed, None, Some(response)),
                Err(reason) => (ids.clone(), Some(reason), Some(response)),
            },
            Err(message) => (
                ids.clone(),
                Some(format!("function error: {message}")),
                None,
            ),
        };
        let to_delete: Vec<&Message> = messages
            .iter()
            .filter(|m| !failed.iter().any(|f| Some(f.as_str()) == m.message_id()))
            .collect();
        let deleted = self.delete(&to_delete).await?;
        let outcome = BatchOutcome {
            message_ids: ids,
            receive_counts,
            deleted,
            failed,
            batch_error,
            response,
        };
        tracing::info!(
            function = %self.function_name,
            batch = outcome.message_ids.len(),
            deleted = outcome.deleted.len(),
            failed = outcome.failed.len(),
            whole_batch_failed = outcome.batch_error.is_some(),
            "event source batch handled"
        );
        if let Ok(mut all) = self.outcomes.lock() {
            all.push(outcome.clone());
        }
        Ok(Some(outcome))
    }

    async fn delete(&self, messages: &[&Message]) -> Result<Vec<String>, EventSourceError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut entries = Vec::with_capacity(messages.len());
        for (index, message) in messages.iter().enumerate() {
            let entry = DeleteMessageBatchRequestEntry::builder()
                .id(format!("m{index}"))
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .build()
                .map_err(|e| EventSourceError::Sqs {
                    operation: "DeleteMessageBatch",
                    message: e.to_string(),
                })?;
            entries.push(entry);
        }
        let answer = self
            .client
            .delete_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| EventSourceError::Sqs {
                operation: "DeleteMessageBatch",
                message: describe(&e),
            })?;
        if let Some(failure) = answer.failed().first() {
            return Err(EventSourceError::Sqs {
                operation: "DeleteMessageBatch",
                message: format!(
                    "{}: {}",
                    failure.code(),
                    failure.message().unwrap_or_default()
                ),
            });
        }
        Ok(messages
            .iter()
            .map(|m| m.message_id().unwrap_or_default().to_owned())
            .collect())
    }
}

/// A running background mapping.
#[derive(Debug)]
pub struct EventSourceHandle {
    source: EventSource,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl EventSourceHandle {
    /// Every batch handled so far.
    pub fn outcomes(&self) -> Vec<BatchOutcome> {
        self.source.outcomes()
    }

    /// Stops polling (an invocation in progress is abandoned at its next await; its messages stay on the
    /// queue, as when a Lambda times out) and waits for the loop to end.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EventSourceHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn system_attribute<'m>(
    message: &'m Message,
    name: &MessageSystemAttributeName,
) -> Option<&'m str> {
    message
        .attributes()
        .and_then(|a| a.get(name))
        .map(String::as_str)
}

/// The Lambda `SqsEvent` JSON for `messages`.
pub fn sqs_event(messages: &[Message], queue_arn: &str) -> Value {
    let records: Vec<Value> = messages.iter().map(|m| sqs_record(m, queue_arn)).collect();
    json!({ "Records": records })
}

fn sqs_record(message: &Message, queue_arn: &str) -> Value {
    let mut attributes = Map::new();
    if let Some(system) = message.attributes() {
        for (name, value) in system {
            attributes.insert(name.as_str().to_owned(), Value::String(value.clone()));
        }
    }
    let mut message_attributes = Map::new();
    if let Some(custom) = message.message_attributes() {
        for (name, value) in custom {
            let binary = value.binary_value().map(|b| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(b.as_ref())
            });
            message_attributes.insert(
                name.clone(),
                json!({
                    "stringValue": value.string_value(),
                    "binaryValue": binary,
                    "stringListValues": value.string_list_values(),
                    "binaryListValues": [],
                    "dataType": value.data_type(),
                }),
            );
        }
    }
    json!({
        "messageId": message.message_id(),
        "receiptHandle": message.receipt_handle(),
        "body": message.body().unwrap_or_default(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.md5_of_body(),
        "md5OfMessageAttributes": message.md5_of_message_attributes(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    })
}

/// Reads a batch response the way Lambda does. `Ok(ids)` lists the failed messages (empty = all succeeded);
/// `Err(reason)` means the whole batch failed.
pub fn failed_ids(response: &Value, batch: &[String]) -> Result<Vec<String>, String> {
    let failures = match response {
        Value::Null => return Ok(Vec::new()),
        Value::Object(map) => match map.get("batchItemFailures") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err("batchItemFailures is not a list".to_owned()),
        },
        _ => return Err("the response is not a batch response object".to_owned()),
    };
    let mut failed: Vec<String> = Vec::new();
    for item in failures {
        let id = item
            .get("itemIdentifier")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| "a batch item failure has no itemIdentifier".to_owned())?;
        if !batch.iter().any(|b| b == id) {
            return Err(format!("itemIdentifier {id} is not in the batch"));
        }
        if !failed.iter().any(|f| f == id) {
            failed.push(id.to_owned());
        }
    }
    // Keep delivery order, whatever order the handler listed them in.
    let order: HashMap<&str, usize> = batch
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    failed.sort_by_key(|id| order.get(id.as_str()).copied().unwrap_or(usize::MAX));
    Ok(failed)
}
