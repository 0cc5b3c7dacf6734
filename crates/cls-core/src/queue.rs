//! Sending to the CLS FIFO queue: one trait the producers hold (`cls-webhook`, `cls-sweep`,
//! `cls-admin`); its implementation over the AWS SDK is `cls_wiring::SqsQueueSender`.

use futures::future::BoxFuture;

use crate::Envelope;

/// One FIFO message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// `MessageGroupId`.
    pub group_id: String,
    /// `MessageDeduplicationId`.
    pub dedup_id: String,
    /// The envelope JSON.
    pub body: String,
}

impl OutgoingMessage {
    /// The message carrying `envelope`, with its group (`gh-{org}-{user}`) and dedup id (crate README, "Queue
    /// messages").
    pub fn from_envelope(envelope: &Envelope) -> Self {
        Self {
            group_id: envelope.group_id(),
            dedup_id: envelope.dedup_id(),
            body: envelope.to_json(),
        }
    }
}

/// `SendMessage` failed (after the SDK's own retries).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SendMessage failed ({code})")]
pub struct EnqueueError {
    /// The service error code, or the kind of transport failure.
    pub code: String,
}

/// Sends to the FIFO queue.
pub trait QueueSender: Send + Sync {
    /// Sends one message.
    fn send<'a>(&'a self, message: &'a OutgoingMessage) -> BoxFuture<'a, Result<(), EnqueueError>>;
}
