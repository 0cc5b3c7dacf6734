//! The webhook's outside world, one trait object per system plus a clock and a metric sink.

use std::sync::Arc;

use futures::future::BoxFuture;
use lambda_kit::Clock;
use lambda_kit::metrics::MetricSink;
use secrets::SecretStore;
use slack_notify::WebhookPoster;

use crate::config::Config;

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

pub use cls_core::alerter::{Alerter, SlackAlerter};

/// Everything `handle` needs. Built once per process (`main`, the demo, tests).
#[derive(Clone)]
pub struct Deps {
    /// Configuration.
    pub config: Arc<Config>,
    /// Secrets (TTL-cached).
    pub secrets: Arc<dyn SecretStore>,
    /// The FIFO queue.
    pub queue: Arc<dyn QueueSender>,
    /// IT alerts.
    pub alerts: Arc<dyn Alerter>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// EMF metrics.
    pub metrics: Arc<dyn MetricSink>,
}

impl Deps {
    /// Assembles the dependencies.
    pub fn new(
        config: Config,
        secrets: Arc<dyn SecretStore>,
        queue: Arc<dyn QueueSender>,
        alerts: Arc<dyn Alerter>,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn MetricSink>,
    ) -> Self {
        Self {
            config: Arc::new(config),
            secrets,
            queue,
            alerts,
            clock,
            metrics,
        }
    }

    /// The production wiring: SQS and Secrets Manager clients from `sdk` (which honours `AWS_ENDPOINT_URL`),
    /// the Slack webhook poster over `http`, the system clock and stdout EMF.
    pub fn from_aws(config: Config, sdk: &aws_config::SdkConfig, http: reqwest::Client) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(lambda_kit::SystemClock);
        let secrets: Arc<dyn SecretStore> = Arc::new(
            secrets::SecretsClient::new(
                aws_sdk_secretsmanager::Client::new(sdk),
                Arc::clone(&clock),
            )
            .with_ttl(config.secrets_ttl),
        );
        let queue: Arc<dyn QueueSender> = Arc::new(SqsQueueSender::new(
            aws_sdk_sqs::Client::new(sdk),
            &config.queue_url,
        ));
        let poster: Arc<dyn WebhookPoster> =
            Arc::new(slack_notify::WebhookClient::new(http).with_clock(Arc::clone(&clock)));
        let alerts: Arc<dyn Alerter> = Arc::new(SlackAlerter::from_ids(
            poster,
            Arc::clone(&secrets),
            &config.secret_ids,
            Arc::clone(&clock),
        ));
        Self::new(
            config,
            secrets,
            queue,
            alerts,
            clock,
            Arc::new(lambda_kit::metrics::StdoutSink),
        )
    }

    /// Emits one count metric in namespace `CLS` (see `cls_core::metrics`: break-down dimensions are rolled up
    /// to `[Stage]`, the set the alarms watch).
    pub fn count(&self, name: &str, dims: &[(&str, &str)]) {
        cls_core::metrics::emit_count(
            self.metrics.as_ref(),
            &self.config.stage,
            self.clock.now(),
            name,
            dims,
        );
    }
}
