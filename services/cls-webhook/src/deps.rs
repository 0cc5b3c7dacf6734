//! The webhook's outside world, one trait object per system plus a clock and a metric sink.

use std::sync::Arc;

use lambda_kit::Clock;
use lambda_kit::metrics::MetricSink;
use secrets::SecretStore;
use slack_notify::WebhookPoster;

use crate::config::Config;

pub use cls_core::queue::{EnqueueError, OutgoingMessage, QueueSender};
pub use cls_wiring::SqsQueueSender;

pub use cls_wiring::alerter::{Alerter, SlackAlerter};

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
        let secrets = config.cls.secret_store(sdk, Arc::clone(&clock));
        let queue: Arc<dyn QueueSender> = Arc::new(SqsQueueSender::new(
            aws_sdk_sqs::Client::new(sdk),
            &config.queue_url,
        ));
        let poster: Arc<dyn WebhookPoster> =
            Arc::new(slack_notify::WebhookClient::new(http).with_clock(Arc::clone(&clock)));
        let alerts: Arc<dyn Alerter> = Arc::new(SlackAlerter::from_ids(
            poster,
            Arc::clone(&secrets),
            &config.cls.secrets,
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
            &self.config.cls.stage,
            self.clock.now(),
            name,
            dims,
        );
    }
}
