//! The sweep's outside world: Spoke (read-only), GitHub (activity), the FIFO queue, the continuation, IT
//! alerts and the alert channel, clock and metrics; and the settings loaded from the CLS secrets at cold
//! start.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use cls_core::settings::{
    GithubSettings, SecretIds, SettingsError, SpokeSettings, load_alert_settings,
};
use cls_core::{ActivitySource, ActivitySourceKind, Alert, QueueSender, SqsQueueSender};
use futures::future::BoxFuture;
use github_app::{AppCredentials, GithubApi, GithubClient, OrgInstallation};
use lambda_kit::Clock;
use lambda_kit::metrics::{MetricSink, Unit};
use secrets::{SecretStore, SecretsError};
use slack_notify::{Message, WebhookPoster};
use spoke_client::{SpokeApi, SpokeClient};

use crate::config::Config;
use crate::continuation::{Continuation, LambdaContinuation, NoContinuation};

pub use cls_core::alerter::{Alerter, SlackAlerter};

/// The sweep's user agent.
pub const USER_AGENT: &str = concat!("cls-sweep/", env!("CARGO_PKG_VERSION"));

/// The validated content of the secrets the sweep reads.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `cls/github`.
    pub github: GithubSettings,
    /// `cls/spoke`.
    pub spoke: SpokeSettings,
}

/// Cold-start failures: the function refuses to start with a message naming the secret and key.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A secret could not be read.
    #[error("reading secret failed")]
    Secret(#[from] SecretsError),
    /// A secret's content is unusable.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// A client could not be built.
    #[error("building the {client} client failed: {reason}")]
    Client {
        /// `spoke` or `github`.
        client: &'static str,
        /// Why.
        reason: String,
    },
}

impl Settings {
    /// Reads and validates `cls/github` (private keys required: the audit log needs an installation token;
    /// every `activity_source` known) and `cls/spoke` (team, request type, all field and tag ids: CLS-35).
    pub async fn load(secrets: &dyn SecretStore, ids: &SecretIds) -> Result<Self, StartupError> {
        Self::decode(&RawSecrets::read(secrets, ids).await?, ids)
    }

    fn decode(raw: &RawSecrets, ids: &SecretIds) -> Result<Self, StartupError> {
        let github: GithubSettings = secrets::decode(&ids.github, &raw.github)?;
        github.validate(false, true)?;
        for (i, org) in github.orgs.iter().enumerate() {
            if ActivitySourceKind::parse(org.activity_source.as_deref()).is_none() {
                return Err(SettingsError {
                    secret: "github",
                    key: format!("orgs[{i}].activity_source"),
                    reason: "must be audit_log, repo_events or off".to_owned(),
                }
                .into());
            }
        }
        let spoke: SpokeSettings = secrets::decode(&ids.spoke, &raw.spoke)?;
        spoke.validate()?;
        Ok(Self { github, spoke })
    }

    /// The activity source configured for `org` (unset = `audit_log`).
    pub fn activity_kind(&self, org: &str) -> ActivitySourceKind {
        self.github
            .org(org)
            .and_then(|o| ActivitySourceKind::parse(o.activity_source.as_deref()))
            .unwrap_or_default()
    }
}

/// The secret values the settings come from (compared to notice a change).
#[derive(Debug, Clone, PartialEq)]
struct RawSecrets {
    github: Arc<serde_json::Value>,
    spoke: Arc<serde_json::Value>,
}

impl RawSecrets {
    async fn read(secrets: &dyn SecretStore, ids: &SecretIds) -> Result<Self, SecretsError> {
        Ok(Self {
            github: secrets.get_value(&ids.github).await?,
            spoke: secrets.get_value(&ids.spoke).await?,
        })
    }
}

/// Re-reads the secrets through the TTL cache before each invocation (cls.md §11: a rotated key or a new org
/// needs no redeploy).
struct Reloader {
    secrets: Arc<dyn SecretStore>,
    http: reqwest::Client,
    loaded: tokio::sync::Mutex<Loaded>,
}

/// What was built from the last good secret values.
struct Loaded {
    raw: RawSecrets,
    settings: Arc<Settings>,
    spoke: Arc<dyn SpokeApi>,
    github: Arc<dyn GithubApi>,
}

/// The settings in `raw` and the Spoke and GitHub clients they configure.
fn load(
    config: &Config,
    raw: RawSecrets,
    http: &reqwest::Client,
    clock: &Arc<dyn Clock>,
) -> Result<Loaded, StartupError> {
    let settings = Settings::decode(&raw, &config.secrets)?;
    let spoke = SpokeClient::builder(http.clone(), settings.spoke.api_key.clone())
        .base_url(config.spoke_base_url.as_str())
        .user_agent(USER_AGENT)
        .clock(Arc::clone(clock))
        .build()
        .map_err(|e| StartupError::Client {
            client: "spoke",
            reason: e.to_string(),
        })?;
    let installations = settings.github.orgs.iter().filter_map(|o| {
        Some(OrgInstallation {
            org: o.org.clone(),
            installation_id: o.installation_id,
            app: AppCredentials {
                app_id: o.app_id,
                private_key_pem: o.private_key_pem.clone()?,
                webhook_secrets: Vec::new(),
            },
        })
    });
    let github = GithubClient::builder(
        config.github_base_url.as_str().trim_end_matches('/'),
        Arc::clone(clock),
    )
    .http_client(http.clone())
    .user_agent(USER_AGENT)
    .installations(installations)
    .build()
    .map_err(|e| StartupError::Client {
        client: "github",
        reason: e.to_string(),
    })?;
    Ok(Loaded {
        raw,
        settings: Arc::new(settings),
        spoke: Arc::new(spoke),
        github: Arc::new(github),
    })
}

/// Posts plain text (the summary, the dry-run plan) to the IT alert channel. Failures are logged only.
pub trait AlertChannel: Send + Sync {
    /// Posts `text`.
    fn post<'a>(&'a self, text: &'a str) -> BoxFuture<'a, ()>;
}

/// [`AlertChannel`] over the incoming webhook of `cls/alerts` (old layout: `cls/slack`).
pub struct WebhookChannel {
    poster: Arc<dyn WebhookPoster>,
    secrets: Arc<dyn SecretStore>,
    ids: SecretIds,
}

impl WebhookChannel {
    /// A channel reading the URL through the secrets cache on each post.
    pub fn new(
        poster: Arc<dyn WebhookPoster>,
        secrets: Arc<dyn SecretStore>,
        ids: &SecretIds,
    ) -> Self {
        Self {
            poster,
            secrets,
            ids: ids.clone(),
        }
    }
}

impl AlertChannel for WebhookChannel {
    fn post<'a>(&'a self, text: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let settings = match load_alert_settings(
                self.secrets.as_ref(),
                &self.ids.alerts,
                &self.ids.slack,
            )
            .await
            {
                Ok(s) => s,
                Err(error) => {
                    tracing::error!(error = %lambda_kit::error::chain(&error), "summary not posted: alert settings unavailable");
                    return;
                }
            };
            if let Err(error) = self
                .poster
                .post_webhook(&settings.alert_webhook_url, &Message::text(text))
                .await
            {
                tracing::error!(error = %error, upstream = "slack", "summary not posted");
            }
        })
    }
}

/// Everything a sweep needs. Built once per process (`main`, the demo, `cls-admin`, tests).
#[derive(Clone)]
pub struct Deps {
    /// Configuration.
    pub config: Arc<Config>,
    /// Validated secrets content (read at cold start).
    pub settings: Arc<Settings>,
    /// Spoke (read-only use).
    pub spoke: Arc<dyn SpokeApi>,
    /// GitHub (activity signals).
    pub github: Arc<dyn GithubApi>,
    /// The FIFO queue.
    pub queue: Arc<dyn QueueSender>,
    /// Self-invocation for the rest of a run.
    pub continuation: Arc<dyn Continuation>,
    /// IT alerts (incidents).
    pub alerts: Arc<dyn Alerter>,
    /// The alert channel (summary and dry-run plan).
    pub channel: Arc<dyn AlertChannel>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// EMF metrics.
    pub metrics: Arc<dyn MetricSink>,
    injected_sources: Arc<Mutex<HashMap<ActivitySourceKind, Arc<dyn ActivitySource>>>>,
    alerted: Arc<Mutex<HashSet<String>>>,
    reloader: Option<Arc<Reloader>>,
}

/// The outside systems [`Deps::new`] assembles (one field per system, so call sites name what they pass).
pub struct Systems {
    /// Spoke.
    pub spoke: Arc<dyn SpokeApi>,
    /// GitHub.
    pub github: Arc<dyn GithubApi>,
    /// The FIFO queue.
    pub queue: Arc<dyn QueueSender>,
    /// Self-invocation.
    pub continuation: Arc<dyn Continuation>,
    /// IT alerts.
    pub alerts: Arc<dyn Alerter>,
    /// The alert channel.
    pub channel: Arc<dyn AlertChannel>,
}

impl Deps {
    /// Assembles the dependencies.
    pub fn new(
        config: Config,
        settings: Settings,
        systems: Systems,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn MetricSink>,
    ) -> Self {
        Self {
            config: Arc::new(config),
            settings: Arc::new(settings),
            spoke: systems.spoke,
            github: systems.github,
            queue: systems.queue,
            continuation: systems.continuation,
            alerts: systems.alerts,
            channel: systems.channel,
            clock,
            metrics,
            injected_sources: Arc::new(Mutex::new(HashMap::new())),
            alerted: Arc::new(Mutex::new(HashSet::new())),
            reloader: None,
        }
    }

    /// The real clients over `secrets`: loads and validates the settings, builds the Spoke client (key from
    /// `cls/spoke`), the GitHub client (one installation per configured org), the alerter and the channel.
    /// `queue` and `continuation` come from the caller (SQS and Lambda in production, moto and the local
    /// stack's invoke in the demo).
    pub async fn build(
        config: Config,
        secrets: Arc<dyn SecretStore>,
        queue: Arc<dyn QueueSender>,
        continuation: Arc<dyn Continuation>,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn MetricSink>,
    ) -> Result<Self, StartupError> {
        let raw = RawSecrets::read(secrets.as_ref(), &config.secrets).await?;
        let loaded = load(&config, raw, &http, &clock)?;
        let settings = loaded.settings.as_ref().clone();
        let (spoke, github) = (Arc::clone(&loaded.spoke), Arc::clone(&loaded.github));
        let reloader = Arc::new(Reloader {
            secrets: Arc::clone(&secrets),
            http: http.clone(),
            loaded: tokio::sync::Mutex::new(loaded),
        });
        let poster: Arc<dyn WebhookPoster> =
            Arc::new(slack_notify::WebhookClient::new(http).with_clock(Arc::clone(&clock)));
        let alerts = Arc::new(SlackAlerter::from_ids(
            Arc::clone(&poster),
            Arc::clone(&secrets),
            &config.secrets,
            Arc::clone(&clock),
        ));
        let channel = Arc::new(WebhookChannel::new(poster, secrets, &config.secrets));
        let systems = Systems {
            spoke,
            github,
            queue,
            continuation,
            alerts,
            channel,
        };
        let mut deps = Self::new(config, settings, systems, clock, metrics);
        deps.reloader = Some(reloader);
        Ok(deps)
    }

    /// The production wiring: Secrets Manager, SQS and Lambda clients from `sdk` (honours
    /// `AWS_ENDPOINT_URL`), the system clock, stdout EMF.
    pub async fn from_aws(
        config: Config,
        sdk: &aws_config::SdkConfig,
        http: reqwest::Client,
    ) -> Result<Self, StartupError> {
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
        let continuation: Arc<dyn Continuation> = match &config.function_name {
            Some(name) => Arc::new(LambdaContinuation::new(
                aws_sdk_lambda::Client::new(sdk),
                name,
            )),
            None => Arc::new(NoContinuation),
        };
        Self::build(
            config,
            secrets,
            queue,
            continuation,
            http,
            clock,
            Arc::new(lambda_kit::metrics::StdoutSink),
        )
        .await
    }

    /// Replaces the source used for orgs of its kind (tests).
    pub fn with_activity_source(self, source: Arc<dyn ActivitySource>) -> Self {
        self.injected_sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(source.kind(), source);
        self
    }

    /// The activity source for orgs of `kind`, over the current GitHub client.
    pub fn activity_source(&self, kind: ActivitySourceKind) -> Arc<dyn ActivitySource> {
        let injected = self
            .injected_sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&kind)
            .cloned();
        injected.unwrap_or_else(|| crate::activity::source_for(kind, &self.github))
    }

    /// These dependencies with the current secrets: `cls/github` and `cls/spoke` are read through the TTL
    /// cache (`CLS_SECRETS_TTL_SECONDS`); when a value changed, the settings and both clients are rebuilt (a
    /// rotated App key or Spoke key, a new org). A read that fails keeps the last good settings (logged); a
    /// changed secret that does not validate keeps them too, with one `SettingsInvalid` alert naming the
    /// secret and key. Deps assembled with [`Deps::new`] never change.
    pub async fn refreshed(&self) -> Self {
        let Some(reloader) = &self.reloader else {
            return self.clone();
        };
        let mut loaded = reloader.loaded.lock().await;
        match RawSecrets::read(reloader.secrets.as_ref(), &self.config.secrets).await {
            Ok(raw) if raw == loaded.raw => {}
            Ok(raw) => match load(&self.config, raw, &reloader.http, &self.clock) {
                Ok(next) => {
                    tracing::info!(
                        outcome = "settings_reloaded",
                        "a CLS secret changed; settings and clients rebuilt"
                    );
                    *loaded = next;
                }
                Err(error) => {
                    let error = lambda_kit::error::chain(&error);
                    tracing::error!(error = %error, outcome = "settings_invalid", "a changed CLS secret is invalid; the last good settings stay in use");
                    let alert = self
                        .alert(
                            "SettingsInvalid",
                            format!("{error}; the last good settings stay in use until the secret is fixed"),
                        )
                        .class("Permanent");
                    self.alerts.alert(&alert).await;
                }
            },
            Err(error) => {
                tracing::warn!(error = %lambda_kit::error::chain(&error), upstream = "secretsmanager", outcome = "settings_not_reread", "could not re-read the CLS secrets; the last good settings stay in use");
            }
        }
        let mut deps = self.clone();
        deps.settings = Arc::clone(&loaded.settings);
        deps.spoke = Arc::clone(&loaded.spoke);
        deps.github = Arc::clone(&loaded.github);
        deps
    }

    /// True the first time `key` is seen for `run_date` in this process: alerts that must go out once per
    /// day (a skipped ticket, an unavailable activity source) pass through here.
    pub fn first_today(&self, key: &str, run_date: NaiveDate) -> bool {
        self.alerted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(format!("{run_date}|{key}"))
    }

    /// Emits one count metric in namespace `CLS` (see `cls_core::metrics`).
    pub fn count(&self, name: &str, dims: &[(&str, &str)]) {
        self.count_n(name, dims, 1);
    }

    /// Emits a count of `n`.
    pub fn count_n(&self, name: &str, dims: &[(&str, &str)], n: u64) {
        self.metrics.write_line(&cls_core::metrics::count_n_line(
            &self.config.stage,
            self.clock.now(),
            name,
            dims,
            n,
        ));
    }

    /// Emits `SweepDurationMs`.
    pub fn duration_ms(&self, ms: f64) {
        lambda_kit::Emf::new("CLS")
            .dimension("Stage", &self.config.stage)
            .metric("SweepDurationMs", Unit::Milliseconds, ms)
            .emit(self.metrics.as_ref(), self.clock.now());
    }

    /// An alert from this component.
    pub fn alert(&self, kind: &str, message: impl Into<String>) -> Alert {
        Alert::new(&self.config.stage, crate::COMPONENT, kind, message)
    }
}
