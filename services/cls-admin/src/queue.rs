//! The FIFO queue: every command that changes a ticket sends `cls_core` envelopes through the producers'
//! [`QueueSender`] (README, "Single-writer rule"), grouped per collaborator and deduplicated by the
//! command id. `doctor` also reads the queue's attributes.

use cls_core::Envelope;
use cls_core::envelope::MAX_MESSAGE_BYTES;
use cls_core::queue::{EnqueueError, OutgoingMessage, QueueSender};
use serde::Serialize;

/// A send failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The body is over the producers' limit (256 KiB, `cls_core::envelope::MAX_MESSAGE_BYTES`).
    #[error("message of {bytes} bytes is over the 256 KiB limit")]
    TooLarge {
        /// Body size.
        bytes: usize,
    },
    /// `SendMessage` failed.
    #[error(transparent)]
    Send(#[from] EnqueueError),
    /// `GetQueueAttributes` failed.
    #[error("GetQueueAttributes failed ({code})")]
    Attributes {
        /// The service error code or the kind of transport failure.
        code: String,
    },
}

/// Sends `envelope` with group `gh-{org}-{user}` and the envelope's dedup id, refusing a body over
/// [`MAX_MESSAGE_BYTES`].
pub async fn send(queue: &dyn QueueSender, envelope: &Envelope) -> Result<(), QueueError> {
    let message = OutgoingMessage::from_envelope(envelope);
    if message.body.len() > MAX_MESSAGE_BYTES {
        return Err(QueueError::TooLarge {
            bytes: message.body.len(),
        });
    }
    queue.send(&message).await?;
    Ok(())
}

/// What `doctor` reads about the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueInfo {
    /// `FifoQueue`.
    pub fifo: bool,
    /// `MaximumMessageSize` in bytes.
    pub max_message_bytes: Option<u64>,
}

/// `GetQueueAttributes` of `url`.
pub async fn info(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<QueueInfo, QueueError> {
    use aws_sdk_sqs::error::ProvideErrorMetadata;
    use aws_sdk_sqs::types::QueueAttributeName;
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .map_err(|e| QueueError::Attributes {
            code: e.code().unwrap_or("unreachable").to_owned(),
        })?;
    let attrs = out.attributes();
    let get = |name: QueueAttributeName| attrs.and_then(|a| a.get(&name)).cloned();
    Ok(QueueInfo {
        fifo: get(QueueAttributeName::FifoQueue).is_some_and(|v| v == "true"),
        max_message_bytes: get(QueueAttributeName::MaximumMessageSize).and_then(|v| v.parse().ok()),
    })
}
