//! What the handler uses, built once per execution environment by the one constructor [`Deps::new`]
//! (docs/architecture.md, "One service shape").

use std::sync::Arc;

use it_alert::{Alerter, SecretUrl, SlackAlerter};
use lambda_kit::metrics::MetricSink;
use lambda_kit::{Clock, Platform};
use secrets::{SecretField, SecretStore, SecretsClient};
use slack_notify::WebhookClient;

use crate::bus::{EventBridgeBus, HandoffBus};
use crate::config::Config;
use crate::error::StartupError;
use crate::memory::Memory;
use crate::pagerduty::PagerDutyClient;

/// The clients and the one piece of state kept across invocations: the [`Memory`] of each team's last look
/// (besides the secret's TTL cache and the alerts' repeat window).
pub struct Deps {
    pub(crate) config: Arc<Config>,
    pub(crate) pagerduty: PagerDutyClient,
    pub(crate) bus: Arc<dyn HandoffBus>,
    pub(crate) alerter: Arc<dyn Alerter>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) metrics: Arc<dyn MetricSink>,
    pub(crate) memory: Memory,
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps")
            .field("config", &self.config)
            .field("pagerduty", &self.pagerduty)
            .finish_non_exhaustive()
    }
}

impl Deps {
    /// Builds the clients from `platform`: the secret through a `SecretsClient` with
    /// `ONCALL_PD_SECRET_TTL_SECS`, PagerDuty over the platform's HTTP client with the secret's `api_key`,
    /// EventBridge from the platform's SDK configuration, and IT alerts through it-alert to the secret's
    /// `webhookUrl` with the `ONCALL_PD_ALERT_REPEAT_SECS` window.
    pub async fn new(config: Config, platform: &Platform) -> Result<Self, StartupError> {
        let clock = Arc::clone(&platform.clock);
        let secrets: Arc<dyn SecretStore> = Arc::new(
            SecretsClient::new(
                aws_sdk_secretsmanager::Client::new(&platform.sdk),
                Arc::clone(&clock),
            )
            .with_ttl(config.secret_ttl),
        );
        let key = SecretField::new(Arc::clone(&secrets), &config.secret_id, "api_key");
        let pagerduty = PagerDutyClient::new(platform.http.clone(), &config.pagerduty_api_url, key)
            .ok_or(StartupError::ApiUrl)?;
        let poster = WebhookClient::new(platform.http.clone()).with_clock(Arc::clone(&clock));
        let url = SecretUrl::new(secrets, &config.secret_id, &["webhookUrl", "webhook_url"]);
        let alerter = SlackAlerter::new(Arc::new(poster), Arc::new(url), Arc::clone(&clock))
            .with_window(config.alert_repeat);
        let bus = EventBridgeBus::new(
            aws_sdk_eventbridge::Client::new(&platform.sdk),
            &config.event_bus_name,
        );
        Ok(Self {
            config: Arc::new(config),
            pagerduty,
            bus: Arc::new(bus),
            alerter: Arc::new(alerter),
            clock,
            metrics: Arc::clone(&platform.metrics),
            memory: Memory::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}
