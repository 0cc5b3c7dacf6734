//! What the handler uses, built once per execution environment by the one constructor
//! [`Deps::new`] (docs/architecture.md, "One service shape").

use std::sync::Arc;

use it_alert::SlackSender;
use lambda_kit::http::RetryPolicy;
use lambda_kit::metrics::MetricSink;
use lambda_kit::{Clock, Platform};
use secrecy::SecretString;
use secrets::{SecretStore, SecretsClient};
use slack_notify::WebhookClient;
use spoke_client::{BuildError, SpokeClient};

use crate::USER_AGENT;
use crate::config::Config;
use crate::delivery::AlertLog;
use crate::handoff::TeamCache;

/// The start-up failed; the cold start fails with this error.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The Spoke client settings are invalid (base URL or user agent).
    #[error("the Spoke client cannot be built: {0}")]
    SpokeClient(#[from] BuildError),
}

/// The clients and the caches the handler uses. The only state kept across invocations is the secret's
/// (in the `secrets` crate's TTL cache), the team-id cache and the alert de-duplication log.
pub struct Deps {
    pub(crate) config: Arc<Config>,
    http: reqwest::Client,
    pub(crate) secrets: Arc<dyn SecretStore>,
    pub(crate) slack: SlackSender,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) metrics: Arc<dyn MetricSink>,
    pub(crate) teams: TeamCache,
    pub(crate) alerts: AlertLog,
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Deps {
    /// Builds the clients from `platform`: the secret from Secrets Manager through a `SecretsClient` with
    /// `ONCALL_SECRET_TTL_SECS`, Slack webhooks through it-alert's sender over `slack-notify` (one retry), and Spoke through
    /// `spoke-client` with the key of the current secret (see [`Deps::spoke`]).
    pub async fn new(config: Config, platform: &Platform) -> Result<Self, StartupError> {
        // Check the Spoke settings once, at the cold start, rather than on every invocation.
        spoke_builder(
            &config,
            platform.http.clone(),
            platform.clock.clone(),
            SecretString::from("start-up-check".to_owned()),
        )
        .build()?;
        let secrets = SecretsClient::new(
            aws_sdk_secretsmanager::Client::new(&platform.sdk),
            platform.clock.clone(),
        )
        .with_ttl(config.secret_ttl);
        let slack = WebhookClient::new(platform.http.clone())
            .with_retry_policy(RetryPolicy {
                max_attempts: 2,
                ..RetryPolicy::default()
            })
            .with_clock(platform.clock.clone());
        Ok(Self {
            teams: TeamCache::new(config.team_cache_ttl),
            alerts: AlertLog::new(config.alert_dedup_ttl),
            config: Arc::new(config),
            http: platform.http.clone(),
            secrets: Arc::new(secrets),
            slack: SlackSender::new(Arc::new(slack)),
            clock: platform.clock.clone(),
            metrics: platform.metrics.clone(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A Spoke client for `api_key`, over the shared HTTP pool. One per invocation and key, so that its
    /// retry count is the invocation's.
    pub(crate) fn spoke(&self, api_key: SecretString) -> Result<SpokeClient, BuildError> {
        spoke_builder(&self.config, self.http.clone(), self.clock.clone(), api_key).build()
    }
}

fn spoke_builder(
    config: &Config,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    api_key: SecretString,
) -> spoke_client::SpokeClientBuilder {
    SpokeClient::builder(http, api_key)
        .base_url(config.spoke_base_url.as_str())
        .user_agent(USER_AGENT)
        .clock(clock)
}
