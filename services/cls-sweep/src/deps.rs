//! The sweep's outside world: Spoke (read-only), GitHub (activity), the FIFO queue, the continuation, IT
//! alerts and the alert channel, clock and metrics; and the settings loaded from the CLS secrets at cold
//! start.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use cls_core::settings::SecretIds;
use cls_core::{ActivitySource, ActivitySourceKind, Alert, QueueSender};
use cls_wiring::SqsQueueSender;
use cls_wiring::load_alert_settings;
use cls_wiring::{AlertSource, ClientFactory, RawSecrets, Reloader};
use futures::future::BoxFuture;
use github_app::GithubApi;
use lambda_kit::Clock;
use lambda_kit::metrics::{MetricSink, Unit};
use secrets::SecretStore;
use slack_notify::{Message, WebhookPoster};
use spoke_client::SpokeApi;

use crate::config::Config;
use crate::continuation::{Continuation, LambdaContinuation, NoContinuation};

/// The validated content of the secrets the sweep reads: `cls/github` and `cls/spoke` (`identity` stays
/// empty: the sweep does not read `cls/identity`).
pub use cls_wiring::ClsSettings as Settings;
/// Cold-start failures: the function refuses to start with a message naming the secret and key.
pub use cls_wiring::StartupError;
pub use cls_wiring::alerter::{Alerter, SlackAlerter};

/// The sweep's user agent.
pub const USER_AGENT: &str = concat!("cls-sweep/", env!("CARGO_PKG_VERSION"));

/// What was built from the last good secret values.
#[derive(Clone)]
struct Loaded {
    settings: Arc<Settings>,
    spoke: Arc<dyn SpokeApi>,
    github: Arc<dyn GithubApi>,
}

/// The secrets' re-read and the factory a changed value's clients are built with.
struct Reload {
    secrets: Reloader<Loaded>,
    clients: ClientFactory,
}

/// The settings in `raw` — `cls/github` with private keys (the audit log needs an installation token) and
/// every `activity_source` known, `cls/spoke` with team, request type, every field and tag id (CLS-35) —
/// and the Spoke and GitHub clients they configure.
fn load(
    clients: &ClientFactory,
    ids: &SecretIds,
    raw: &RawSecrets,
) -> Result<Loaded, StartupError> {
    let settings = Settings::decode(raw, ids)?;
    settings.github.validate_activity_sources()?;
    Ok(Loaded {
        spoke: clients.spoke(settings.spoke.api_key.clone())?,
        github: clients.github(&settings.github)?,
        settings: Arc::new(settings),
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
    reloader: Option<Arc<Reload>>,
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
        let raw = RawSecrets::read(secrets.as_ref(), &config.cls.secrets, false).await?;
        let clients = ClientFactory {
            http: http.clone(),
            clock: Arc::clone(&clock),
            user_agent: USER_AGENT,
            urls: config.api.clone(),
        };
        let loaded = load(&clients, &config.cls.secrets, &raw)?;
        let settings = loaded.settings.as_ref().clone();
        let (spoke, github) = (Arc::clone(&loaded.spoke), Arc::clone(&loaded.github));
        let poster: Arc<dyn WebhookPoster> =
            Arc::new(slack_notify::WebhookClient::new(http).with_clock(Arc::clone(&clock)));
        let alerts = Arc::new(SlackAlerter::from_ids(
            Arc::clone(&poster),
            Arc::clone(&secrets),
            &config.cls.secrets,
            Arc::clone(&clock),
        ));
        let channel = Arc::new(WebhookChannel::new(
            poster,
            Arc::clone(&secrets),
            &config.cls.secrets,
        ));
        let systems = Systems {
            spoke,
            github,
            queue,
            continuation,
            alerts,
            channel,
        };
        let mut deps = Self::new(config, settings, systems, clock, metrics);
        let alert = AlertSource {
            alerts: Arc::clone(&deps.alerts),
            stage: deps.config.cls.stage.clone(),
            component: crate::COMPONENT,
        };
        let ids = &deps.config.cls.secrets;
        deps.reloader = Some(Arc::new(Reload {
            secrets: Reloader::new(secrets, ids, false, alert, raw, loaded),
            clients,
        }));
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
        let secrets = config.cls.secret_store(sdk, Arc::clone(&clock));
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
    /// secret and key, once per bad value ([`Reloader::current`]). Deps assembled with [`Deps::new`] never
    /// change.
    pub async fn refreshed(&self) -> Self {
        let Some(reloader) = &self.reloader else {
            return self.clone();
        };
        let loaded = reloader
            .secrets
            .current(|raw, _, _| load(&reloader.clients, &self.config.cls.secrets, raw))
            .await;
        let mut deps = self.clone();
        deps.settings = loaded.settings;
        deps.spoke = loaded.spoke;
        deps.github = loaded.github;
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
            &self.config.cls.stage,
            self.clock.now(),
            name,
            dims,
            n,
        ));
    }

    /// Emits `SweepDurationMs`.
    pub fn duration_ms(&self, ms: f64) {
        lambda_kit::Emf::new("CLS")
            .dimension("Stage", &self.config.cls.stage)
            .metric("SweepDurationMs", Unit::Milliseconds, ms)
            .emit(self.metrics.as_ref(), self.clock.now());
    }

    /// An alert from this component.
    pub fn alert(&self, kind: &str, message: impl Into<String>) -> Alert {
        Alert::new(&self.config.cls.stage, crate::COMPONENT, kind, message)
    }
}
