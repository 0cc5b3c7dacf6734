//! [`QueueSender`] over the AWS SDK: the CLS FIFO queue as the producers (`cls-webhook`, `cls-sweep`,
//! `cls-admin`) send to it.

use cls_core::queue::{EnqueueError, OutgoingMessage, QueueSender};
use futures::future::BoxFuture;

/// [`QueueSender`] over the AWS SDK.
#[derive(Debug, Clone)]
pub struct SqsQueueSender {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsQueueSender {
    /// A sender to `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: &str) -> Self {
        Self {
            client,
            queue_url: queue_url.to_owned(),
        }
    }
}

impl QueueSender for SqsQueueSender {
    fn send<'a>(&'a self, message: &'a OutgoingMessage) -> BoxFuture<'a, Result<(), EnqueueError>> {
        Box::pin(async move {
            use aws_sdk_sqs::error::ProvideErrorMetadata;
            self.client
                .send_message()
                .queue_url(&self.queue_url)
                .message_group_id(&message.group_id)
                .message_deduplication_id(&message.dedup_id)
                .message_body(&message.body)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| EnqueueError {
                    code: e
                        .code()
                        .map(str::to_owned)
                        .unwrap_or_else(|| sdk_error_kind(&e).to_owned()),
                })
        })
    }
}

fn sdk_error_kind<E, R>(e: &aws_sdk_sqs::error::SdkError<E, R>) -> &'static str {
    use aws_sdk_sqs::error::SdkError;
    match e {
        SdkError::ConstructionFailure(_) => "construction_failure",
        SdkError::TimeoutError(_) => "timeout",
        SdkError::DispatchFailure(_) => "dispatch_failure",
        SdkError::ResponseError(_) => "response_error",
        SdkError::ServiceError(_) => "service_error",
        _ => "unknown",
    }
}
