//! One working session against the secret and Webex: read the secret, keep the integration alive, get the
//! service-app token, and handle data sources. The Lambda sweep and every CLI command are built from it.

mod sources;
mod tokens;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use secrets::SecretsError;
use tracing::{error, info, warn};

pub use self::sources::{
    DataSourceResult, Outcome, ProcessOptions, build_update, data_source_expiry,
};
use crate::credentials::Credentials;
use crate::deps::{Deps, PendingWrite};
use crate::error::{Failure, FailureClass};
use crate::webex::{CallCtx, WebexError};

/// The exact log text of a re-auth failure: the original sample's metric filter matches its first words.
pub const REAUTH_LOG_TEXT: &str = "OAuth refresh token expired — run `byods setup-oauth`";

struct State {
    creds: Credentials,
    version_id: Option<String>,
    integration_refreshed: bool,
    service_app_source: Option<&'static str>,
}

/// A session: the secret as read, the tokens in use and the failures seen. See the module docs.
pub struct Session<'d> {
    deps: &'d Deps,
    ctx: CallCtx,
    state: tokio::sync::Mutex<State>,
    failures: Mutex<Vec<Failure>>,
    write_failures: AtomicU64,
    oauth_failures: AtomicU64,
}

/// An optional time for a log field: RFC 3339, or empty.
fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Maps a Secrets Manager read error to its class.
fn read_failure(secret_id: &str, e: &SecretsError) -> Failure {
    let class = match e {
        SecretsError::Malformed { .. } => FailureClass::ConfigInvalid,
        _ => FailureClass::SecretReadFailed,
    };
    Failure::new(class, format!("reading secret {secret_id} failed: {e}"))
}

fn webex_failure(class: FailureClass, what: &str, e: &WebexError) -> Failure {
    let detail = match e {
        WebexError::Api { message, .. } if !message.is_empty() => format!(" ({message})"),
        _ => String::new(),
    };
    let mut f = Failure::new(class, format!("{what}: {e}{detail}"));
    f.http_status = e.status();
    f.tracking_id = e.tracking_id().map(str::to_owned);
    f
}

/// The class of a Webex error that no step-specific rule covers.
fn generic_class(e: &WebexError) -> FailureClass {
    match e {
        WebexError::RateLimited { .. } => FailureClass::RateLimited,
        WebexError::Timeout { .. } => FailureClass::Timeout,
        WebexError::Deadline { .. } => FailureClass::DeadlineExceeded,
        WebexError::Upstream { .. } | WebexError::Transport { .. } | WebexError::Decode { .. } => {
            FailureClass::Upstream
        }
        _ => FailureClass::WebexRejected,
    }
}

impl<'d> Session<'d> {
    /// Opens a session: writes any pending credentials first, then does a fresh read of the secret,
    /// normalises aliases and validates the required keys.
    pub async fn open(deps: &'d Deps, ctx: CallCtx) -> Result<Self, Failure> {
        let secret_id = deps.config.secret_id.as_str();
        if let Some(pending) = deps.take_pending() {
            match crate::deps::write_credentials(
                deps,
                &pending.credentials,
                pending.base_version.as_deref(),
                &pending.request_token,
            )
            .await
            {
                Ok((version, _)) => {
                    info!(event = "secret_written", secret_id, secret_version_id = %version, reason = "pending", "pending credentials written")
                }
                Err(e) => {
                    warn!(event = "secret_write_failed", secret_id, error = %e, "pending credentials still not written");
                    deps.set_pending(pending);
                }
            }
        }
        let fresh = deps
            .secrets
            .get_fresh(secret_id)
            .await
            .map_err(|e| read_failure(secret_id, &e))?;
        let mut creds = Credentials::from_value(&fresh.value).map_err(|e| {
            Failure::new(
                FailureClass::ConfigInvalid,
                format!("secret {secret_id}: {e}"),
            )
        })?;
        for key in &creds.alias_conflicts {
            warn!(event = "secret_alias_conflict", secret_id, key = %key, "both a canonical key and an alias are set; the canonical value wins");
        }
        if !creds.aliases_used.is_empty() {
            info!(event = "secret_aliases_used", secret_id, keys = %creds.aliases_used.join(","), "legacy key names read; the next write migrates them");
        }
        if let Some(pending) = deps.peek_pending() {
            creds = pending.credentials.merged_with_fresh(&creds);
        }
        let bad = creds.invalid_keys();
        if !bad.is_empty() {
            return Err(Failure::new(
                FailureClass::ConfigInvalid,
                format!(
                    "secret {secret_id} lacks or has placeholder values for: {}",
                    bad.join(", ")
                ),
            ));
        }
        Ok(Self {
            deps,
            ctx,
            state: tokio::sync::Mutex::new(State {
                creds,
                version_id: fresh.version_id.clone(),
                integration_refreshed: false,
                service_app_source: None,
            }),
            failures: Mutex::new(Vec::new()),
            write_failures: AtomicU64::new(0),
            oauth_failures: AtomicU64::new(0),
        })
    }

    /// The call context (tracking ids, deadline, retry counters).
    pub fn ctx(&self) -> &CallCtx {
        &self.ctx
    }

    /// A copy of the credentials in use.
    pub async fn credentials(&self) -> Credentials {
        self.state.lock().await.creds.clone()
    }

    /// Where the service-app token came from: `cache`, `refresh` or `mint`.
    pub async fn service_app_source(&self) -> Option<&'static str> {
        self.state.lock().await.service_app_source
    }

    /// `OAuthRefreshFailures` of this session.
    pub fn oauth_failures(&self) -> u64 {
        self.oauth_failures.load(Ordering::Relaxed)
    }

    /// `SecretWriteFailures` of this session.
    pub fn write_failures(&self) -> u64 {
        self.write_failures.load(Ordering::Relaxed)
    }

    /// Failures recorded so far.
    pub fn failures(&self) -> Vec<Failure> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn record_failure(&self, failure: Failure) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(failure);
    }

    fn now(&self) -> DateTime<Utc> {
        self.deps.clock.now()
    }

    /// Saves the credentials at once (README, "Lambda `byods-extender`"). A failure keeps them as a pending write, to be
    /// retried at the end of the sweep and at the start of the next invocation.
    async fn persist(&self, st: &mut State, reason: &'static str) {
        let secret_id = self.deps.config.secret_id.as_str();
        let request_token = uuid::Uuid::new_v4().to_string();
        let written = crate::deps::write_credentials(
            self.deps,
            &st.creds,
            st.version_id.as_deref(),
            &request_token,
        )
        .await;
        match written {
            Ok((version, merged)) => {
                info!(event = "secret_written", secret_id, secret_version_id = %version, reason, "credentials saved");
                st.version_id = Some(version);
                st.creds = merged;
                self.deps.clear_pending();
            }
            Err(e) => {
                warn!(event = "secret_write_failed", secret_id, reason, error = %e, "saving credentials failed; kept in memory and retried at the end of the sweep");
                self.deps.set_pending(PendingWrite {
                    credentials: st.creds.clone(),
                    request_token,
                    base_version: st.version_id.clone(),
                });
            }
        }
    }

    /// Retries a pending write. Records `SecretWriteFailed` when it still fails.
    pub async fn flush_pending(&self) {
        let Some(pending) = self.deps.take_pending() else {
            return;
        };
        let secret_id = self.deps.config.secret_id.as_str();
        match crate::deps::write_credentials(
            self.deps,
            &pending.credentials,
            pending.base_version.as_deref(),
            &pending.request_token,
        )
        .await
        {
            Ok((version, _)) => {
                info!(event = "secret_written", secret_id, secret_version_id = %version, reason = "retry", "pending credentials saved");
                self.state.lock().await.version_id = Some(version);
            }
            Err(e) => {
                error!(event = "secret_write_failed", secret_id, error_class = "SecretWriteFailed", error = %e, "saving rotated credentials failed; they are kept in memory for the next invocation");
                self.write_failures.fetch_add(1, Ordering::Relaxed);
                self.record_failure(Failure::new(
                    FailureClass::SecretWriteFailed,
                    format!("PutSecretValue on {secret_id} failed: {e}"),
                ));
                self.deps.set_pending(pending);
            }
        }
    }

    /// Writes the secret back unchanged apart from canonical keys, adding a version (`status --check-write`).
    pub async fn write_back(&self) -> Result<String, Failure> {
        let st = self.state.lock().await;
        let token = uuid::Uuid::new_v4().to_string();
        crate::deps::write_credentials(self.deps, &st.creds, st.version_id.as_deref(), &token)
            .await
            .map(|(version, _)| version)
            .map_err(|e| {
                self.write_failures.fetch_add(1, Ordering::Relaxed);
                Failure::new(
                    FailureClass::SecretWriteFailed,
                    format!(
                        "PutSecretValue on {} failed: {e}",
                        self.deps.config.secret_id
                    ),
                )
            })
    }
}
