//! The capabilities a sweep needs, injected (platform §4), and the secret write-back of `byods.md` §3.3.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_kit::{Clock, MetricSink};
use secrets::{SecretStore, SecretsError};

use crate::alert::Alerter;
use crate::config::Config;
use crate::credentials::Credentials;
use crate::sleep::Sleeper;
use crate::webex::WebexApi;

/// Credentials whose save failed, kept in process memory until a write succeeds.
#[derive(Debug, Clone)]
pub struct PendingWrite {
    /// The credentials to save.
    pub credentials: Credentials,
    /// The `ClientRequestToken` of this logical write, reused on its retries.
    pub request_token: String,
}

/// Everything `handle` needs. Built once per process; shared by every invocation.
pub struct Deps {
    /// The configuration.
    pub config: Config,
    /// Secrets Manager (the credentials secret).
    pub secrets: Arc<dyn SecretStore>,
    /// Webex.
    pub webex: Arc<dyn WebexApi>,
    /// Alerts.
    pub alerter: Arc<dyn Alerter>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// EMF output.
    pub metrics: Arc<dyn MetricSink>,
    /// Waiting (write-back backoff).
    pub sleeper: Arc<dyn Sleeper>,
    pending: Mutex<Option<PendingWrite>>,
}

impl Deps {
    /// Assembles the dependencies.
    pub fn new(
        config: Config,
        secrets: Arc<dyn SecretStore>,
        webex: Arc<dyn WebexApi>,
        alerter: Arc<dyn Alerter>,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn MetricSink>,
        sleeper: Arc<dyn Sleeper>,
    ) -> Self {
        Self {
            config,
            secrets,
            webex,
            alerter,
            clock,
            metrics,
            sleeper,
            pending: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<PendingWrite>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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

/// One logical write (`byods.md` §3.3): fresh read, merge with the fresh copy, `PutSecretValue` with the
/// given client request token; at most 3 attempts with backoff. Returns the new version id and the merged
/// credentials that were written.
pub(crate) async fn write_credentials(
    deps: &Deps,
    credentials: &Credentials,
    request_token: &str,
) -> Result<(String, Credentials), SecretsError> {
    let id = deps.config.secret_id.as_str();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let result = async {
            let fresh = deps.secrets.get_fresh(id).await?;
            let fresh_creds = Credentials::from_value(&fresh.value).unwrap_or_default();
            let merged = credentials.merged_with_fresh(&fresh_creds);
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

/// One logical write of `credentials` with a new client request token (used by `byods setup-oauth`).
/// Returns the new version id.
pub async fn save_credentials(
    deps: &Deps,
    credentials: &Credentials,
) -> Result<String, SecretsError> {
    let token = uuid::Uuid::new_v4().to_string();
    write_credentials(deps, credentials, &token)
        .await
        .map(|(version, _)| version)
}
