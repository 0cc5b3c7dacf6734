//! The FIFO queue: every command that changes a ticket sends `cls_core` envelopes here (cls.md §3, the
//! single-writer rule), grouped per collaborator and deduplicated by the command id.

use cls_core::Envelope;
use cls_core::envelope::MAX_MESSAGE_BYTES;
use futures::future::BoxFuture;
use serde::Serialize;

/// A send failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The body is over the producers' limit (cls.md §3.1: 256 KiB).
    #[error("message of {bytes} bytes is over the 256 KiB limit")]
    TooLarge {
        /// Body size.
        bytes: usize,
    },
    /// SQS refused or could not be reached (after the SDK's own retries).
    #[error("SQS {operation} failed ({code})")]
    Sqs {
        /// `SendMessage`, `GetQueueAttributes`.
        operation: &'static str,
        /// The service error code or the kind of transport failure.
        code: String,
    },
}

/// What `doctor` reads about the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueInfo {
    /// `FifoQueue`.
    pub fifo: bool,
    /// `MaximumMessageSize` in bytes.
    pub max_message_bytes: Option<u64>,
}

/// The queue, as the commands use it.
pub trait CommandQueue: Send + Sync {
    /// Sends one envelope with group `gh-{org}-{user}` and the envelope's dedup id; returns the message id.
    fn send<'a>(&'a self, envelope: &'a Envelope) -> BoxFuture<'a, Result<String, QueueError>>;

    /// Reads the queue's attributes.
    fn info(&self) -> BoxFuture<'_, Result<QueueInfo, QueueError>>;
}

/// The body of `envelope`, refused when over [`MAX_MESSAGE_BYTES`].
pub fn body_of(envelope: &Envelope) -> Result<String, QueueError> {
    let body = envelope.to_json();
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(QueueError::TooLarge { bytes: body.len() });
    }
    Ok(body)
}

/// [`CommandQueue`] over the AWS SDK.
#[derive(Debug, Clone)]
pub struct SqsCommandQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsCommandQueue {
    /// The queue at `url`.
    pub fn new(client: aws_sdk_sqs::Client, url: &str) -> Self {
        Self {
            client,
            url: url.to_owned(),
        }
    }
}

fn sqs_error<E: aws_sdk_sqs::error::ProvideErrorMetadata, R>(
    operation: &'static str,
    e: &aws_sdk_sqs::error::SdkError<E, R>,
) -> QueueError {
    use aws_sdk_sqs::error::SdkError;
    let code = match e {
        SdkError::ServiceError(s) => s.err().code().unwrap_or("service_error").to_owned(),
        SdkError::TimeoutError(_) => "timeout".to_owned(),
        SdkError::DispatchFailure(_) => "dispatch_failure".to_owned(),
        SdkError::ConstructionFailure(_) => "construction_failure".to_owned(),
        _ => "response_error".to_owned(),
    };
    QueueError::Sqs { operation, code }
}

impl CommandQueue for SqsCommandQueue {
    fn send<'a>(&'a self, envelope: &'a Envelope) -> BoxFuture<'a, Result<String, QueueError>> {
        Box::pin(async move {
            let body = body_of(envelope)?;
            let out = self
                .client
                .send_message()
                .queue_url(&self.url)
                .message_group_id(envelope.group_id())
                .message_deduplication_id(envelope.dedup_id())
                .message_body(body)
                .send()
                .await
                .map_err(|e| sqs_error("SendMessage", &e))?;
            Ok(out.message_id().unwrap_or_default().to_owned())
        })
    }

    fn info(&self) -> BoxFuture<'_, Result<QueueInfo, QueueError>> {
        Box::pin(async move {
            use aws_sdk_sqs::types::QueueAttributeName;
            let out = self
                .client
                .get_queue_attributes()
                .queue_url(&self.url)
                .attribute_names(QueueAttributeName::All)
                .send()
                .await
                .map_err(|e| sqs_error("GetQueueAttributes", &e))?;
            let attrs = out.attributes();
            let get = |name: QueueAttributeName| attrs.and_then(|a| a.get(&name)).cloned();
            Ok(QueueInfo {
                fifo: get(QueueAttributeName::FifoQueue).is_some_and(|v| v == "true"),
                max_message_bytes: get(QueueAttributeName::MaximumMessageSize)
                    .and_then(|v| v.parse().ok()),
            })
        })
    }
}
