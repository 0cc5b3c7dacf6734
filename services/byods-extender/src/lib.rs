#![doc = include_str!("../README.md")]

pub mod alert;
pub mod config;
pub mod credentials;
pub mod deps;
pub mod error;
pub mod handler;
pub mod oauth;
pub mod redact;
pub mod session;
pub mod sleep;
pub mod sweep;
pub mod webex;

use std::sync::Arc;

use lambda_kit::{Clock, MetricSink, StdoutSink, SystemClock};
use secrets::SecretStore;

pub use alert::{Alert, AlertKind, Alerter, NoAlerts, RecordingAlerter, SlackAlerter};
pub use config::Config;
pub use deps::Deps;
pub use error::{Failure, FailureClass, SweepError};
pub use handler::{handle, handle_with_deadline};
pub use sleep::{RecordingSleeper, Sleeper, TokioSleeper};
pub use sweep::{Overrides, SweepSummary, run_sweep};
pub use webex::{WebexApi, WebexClient, WebexError};

impl Deps {
    /// Dependencies with the real Webex client built from `config` and the given other capabilities
    /// (tests and the demo pass a moto-backed store, a fixed clock and a recording sleeper).
    pub fn with_webex_client(
        config: Config,
        secrets: Arc<dyn SecretStore>,
        alerter: Arc<dyn Alerter>,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn MetricSink>,
        sleeper: Arc<dyn Sleeper>,
    ) -> Result<Self, WebexError> {
        let webex = WebexClient::from_config(&config, clock.clone(), sleeper.clone())?;
        Ok(Self::new(
            config,
            secrets,
            Arc::new(webex),
            alerter,
            clock,
            metrics,
            sleeper,
        ))
    }
}

/// Production dependencies: Secrets Manager through the SDK (honouring `AWS_ENDPOINT_URL*`, or
/// `endpoint_override`), the system clock, tokio timers, EMF on stdout, Slack alerts when
/// `BYODS_SLACK_SECRET_ID` is set.
pub async fn build_deps(
    config: Config,
    endpoint_override: Option<&str>,
) -> Result<Deps, WebexError> {
    let sdk = lambda_kit::aws_sdk_config(endpoint_override).await;
    build_deps_from_sdk(config, &sdk, Arc::new(StdoutSink))
}

/// [`build_deps`] from an already loaded SDK configuration and a chosen metric sink (the CLI keeps EMF
/// off stdout).
pub fn build_deps_from_sdk(
    config: Config,
    sdk: &aws_config::SdkConfig,
    metrics: Arc<dyn MetricSink>,
) -> Result<Deps, WebexError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sleeper: Arc<dyn Sleeper> = Arc::new(TokioSleeper);
    let store: Arc<dyn SecretStore> = Arc::new(secrets::SecretsClient::new(
        aws_sdk_secretsmanager::Client::new(sdk),
        clock.clone(),
    ));
    let alerter: Arc<dyn Alerter> = match &config.slack_secret_id {
        Some(id) => {
            let http = lambda_kit::http::http_client(concat!(
                "byods-extender/",
                env!("CARGO_PKG_VERSION")
            ))
            .map_err(|e| WebexError::Transport {
                op: "build Slack client",
                detail: e.without_url().to_string(),
            })?;
            let poster = slack_notify::WebhookClient::new(http);
            Arc::new(SlackAlerter::new(Arc::new(poster), store.clone(), id))
        }
        None => Arc::new(NoAlerts),
    };
    Deps::with_webex_client(config, store, alerter, clock, metrics, sleeper)
}
