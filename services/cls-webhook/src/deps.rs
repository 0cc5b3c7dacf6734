//! The webhook's outside world, one trait object per system plus a clock and a metric sink, built once per
//! process by [`Deps::new`] from the configuration and the [`Platform`].

use std::convert::Infallible;
use std::sync::Arc;

use lambda_kit::metrics::MetricSink;
use lambda_kit::{Clock, Platform};
use secrets::SecretStore;
use slack_notify::WebhookPoster;

use crate::config::Config;

pub use cls_core::queue::{EnqueueError, OutgoingMessage, QueueSender};
pub use cls_wiring::SqsQueueSender;

pub use cls_wiring::alerter::{Alerter, SlackAlerter};

/// Everything `handle` needs. Built once per process by [`Deps::new`] (`main`, the demo, the benchmark and
/// the tests alike).
#[derive(Clone)]
pub struct Deps {
    pub(crate) config: Arc<Config>,
    /// Secrets Manager, cached for `CLS_SECRETS_TTL_SECONDS`.
    pub(crate) secrets: Arc<dyn SecretStore>,
    /// The FIFO queue (`CLS_QUEUE_URL`).
    pub(crate) queue: Arc<dyn QueueSender>,
    /// IT alerts (`cls/alerts`).
    pub(crate) alerts: Arc<dyn Alerter>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) metrics: Arc<dyn MetricSink>,
}

impl Deps {
    /// The webhook's clients over `platform`: Secrets Manager cached for `CLS_SECRETS_TTL_SECONDS`, SQS on
    /// `CLS_QUEUE_URL`, and the IT alerter posting to the incoming webhook of `cls/alerts` (old layout:
    /// `cls/slack`) over the platform's HTTP client. Nothing is read yet: the secrets are read per request
    /// (a secret that cannot be read answers 503), so the start cannot fail.
    pub async fn new(config: Config, platform: &Platform) -> Result<Self, Infallible> {
        let clock = Arc::clone(&platform.clock);
        let secrets = config.cls.secret_store(&platform.sdk, Arc::clone(&clock));
        let queue: Arc<dyn QueueSender> = Arc::new(SqsQueueSender::new(
            aws_sdk_sqs::Client::new(&platform.sdk),
            &config.queue_url,
        ));
        let poster: Arc<dyn WebhookPoster> = Arc::new(
            slack_notify::WebhookClient::new(platform.http.clone()).with_clock(Arc::clone(&clock)),
        );
        let alerts: Arc<dyn Alerter> = Arc::new(SlackAlerter::from_ids(
            poster,
            Arc::clone(&secrets),
            &config.cls.secrets,
            Arc::clone(&clock),
        ));
        Ok(Self {
            config: Arc::new(config),
            secrets,
            queue,
            alerts,
            clock,
            metrics: Arc::clone(&platform.metrics),
        })
    }

    /// The configuration the dependencies were built from.
    pub fn config(&self) -> &Config {
        &self.config
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
