//! The capabilities a sweep needs, built once per process by [`Deps::new`] (docs/architecture.md, "One
//! service shape"), and the secret write-back of the README ("Secret"): fresh read, merge, put.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lambda_kit::{Clock, MetricSink, Platform};
use secrets::{SecretStore, SecretsClient, SecretsError};

use crate::alert::{Alerter, NoAlerts, SlackAlerter};
use crate::config::Config;
use crate::credentials::Credentials;
use crate::error::StartupError;
use crate::sleep::{Sleeper, TokioSleeper};
use crate::webex::WebexClient;

/// Credentials whose save failed, kept in process memory until a write succeeds.
#[derive(Debug, Clone)]
pub struct PendingWrite {
    /// The credentials to save.
    pub credentials: Credentials,
    /// The `ClientRequestToken` of this logical write, reused on its retries.
    pub request_token: String,
    /// The secret version the credentials were derived from.
    pub base_version: Option<String>,
}

/// Everything `handle` needs. Built once per process by [`Deps::new`]; shared by every invocation.
pub struct Deps {
    /// The configuration.
    pub config: Config,
    /// Secrets Manager (the credentials secret), with the platform's SDK configuration.
    pub secrets: Arc<dyn SecretStore>,
    /// Webex.
    pub webex: WebexClient,
    /// Alerts: Slack when `BYODS_SLACK_SECRET_ID` is set, else none.
    pub alerter: Arc<dyn Alerter>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// EMF output.
    pub metrics: Arc<dyn MetricSink>,
    /// Waiting (retry backoff, write-back backoff).
    pub sleeper: Arc<dyn Sleeper>,
    pending: Mutex<Option<PendingWrite>>,
    /// The token expiry of each data source as last read by this process (for the metrics of a run that
    /// stops before reaching the data sources).
    last_expiries: Mutex<BTreeMap<String, DateTime<Utc>>>,
}

impl Deps {
    /// The one constructor: Secrets Manager from `platform.sdk`, the Webex client with the timeouts and
    /// retry bounds of `config`, Slack alerts over `platform.http` when `BYODS_SLACK_SECRET_ID` is set,
    /// `platform`'s clock and metric sink, tokio timers.
    pub async fn new(config: Config, platform: &Platform) -> Result<Self, StartupError> {
        let clock = Arc::clone(&platform.clock);
        let sleeper: Arc<dyn Sleeper> = Arc::new(TokioSleeper);
        let secrets: Arc<dyn SecretStore> = Arc::new(SecretsClient::new(
            aws_sdk_secretsmanager::Client::new(&platform.sdk),
            Arc::clone(&clock),
        ));
        let alerter: Arc<dyn Alerter> = match &config.slack_secret_id {
            Some(id) => Arc::new(SlackAlerter::new(
                Arc::new(slack_notify::WebhookClient::new(platform.http.clone())),
                Arc::clone(&secrets),
                id,
            )),
            None => Arc::new(NoAlerts),
        };
        let webex = WebexClient::from_config(&config, Arc::clone(&clock), Arc::clone(&sleeper))
            .map_err(StartupError::Webex)?;
        Ok(Self {
            config,
            secrets,
            webex,
            alerter,
            clock,
            metrics: Arc::clone(&platform.metrics),
            sleeper,
            pending: Mutex::new(None),
            last_expiries: Mutex::new(BTreeMap::new()),
        })
    }

    /// The same dependencies waiting through `sleeper` instead of tokio timers: tests and the demo record
    /// the waits (and move a fake clock) instead of sleeping through a `Retry-After`.
    #[must_use]
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.webex = self.webex.with_sleeper(Arc::clone(&sleeper));
        self.sleeper = sleeper;
        self
    }

    /// The same dependencies over another secret store (a fault test's failing or racing store; moto
    /// enforces no IAM). Slack alerts keep the store they were built with.
    #[must_use]
    pub fn with_secrets(mut self, secrets: Arc<dyn SecretStore>) -> Self {
        self.secrets = secrets;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<PendingWrite>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn last_expiries(&self) -> BTreeMap<String, DateTime<Utc>> {
        self.last_expiries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn remember_expiries(
        &self,
        expiries: impl IntoIterator<Item = (String, DateTime<Utc>)>,
    ) {
        self.last_expiries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(expiries);
    }

    /// True when rotated credentials are waiting to be saved.
    pub fn has_pending_write(&self) -> bool {
        self.lock().is_some()
    }

    pub(crate) fn take_pending(&self) -> Option<PendingWrite> {
        self.lock().take()
    }

    pub(crate) fn peek_pending(&self) -> Option<PendingWrite> {
        self.lock().clone()
    }

    pub(crate) fn set_pending(&self, pending: PendingWrite) {
        *self.lock() = Some(pending);
    }

    pub(crate) fn clear_pending(&self) {
        *self.lock() = None;
    }
}

/// One logical write (README, "Secret"): fresh read, [`Credentials::to_write`] against it (ours as they
/// are when the secret is still at `base_version`, else merged with the concurrent writer's copy),
/// `PutSecretValue` with the given client request token; at most 3 attempts with backoff. Returns the new
/// version id and the credentials that were written.
pub(crate) async fn write_credentials(
    deps: &Deps,
    credentials: &Credentials,
    base_version: Option<&str>,
    request_token: &str,
) -> Result<(String, Credentials), SecretsError> {
    let id = deps.config.secret_id.as_str();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let result = async {
            let fresh = deps.secrets.get_fresh(id).await?;
            let fresh_creds = Credentials::from_value(&fresh.value).unwrap_or_default();
            let merged =
                credentials.to_write(&fresh_creds, base_version, fresh.version_id.as_deref());
            let value = merged.write_into(&fresh.value);
            let version = deps.secrets.put_value(id, &value, request_token).await?;
            Ok::<_, SecretsError>((version, merged))
        }
        .await;
        match result {
            Ok(done) => return Ok(done),
            Err(e) if attempt >= 3 => return Err(e),
            Err(e) => {
                tracing::warn!(event = "secret_write_retry", secret_id = id, attempt, error = %e, "secret write failed; retrying");
                deps.sleeper
                    .sleep(Duration::from_millis(200 << attempt))
                    .await;
            }
        }
    }
}

/// One logical write of `credentials`, derived from secret version `base_version`, with a new client
/// request token (used by `byods setup-oauth`). Returns the new version id.
pub async fn save_credentials(
    deps: &Deps,
    credentials: &Credentials,
    base_version: Option<&str>,
) -> Result<String, SecretsError> {
    let token = uuid::Uuid::new_v4().to_string();
    write_credentials(deps, credentials, base_version, &token)
        .await
        .map(|(version, _)| version)
}
