//! The sweep's outside world: Spoke (read-only), GitHub (activity), the FIFO queue, the continuation, IT
//! alerts and the alert channel, clock and metrics; and the settings loaded from the CLS secrets at cold
//! start and re-read on their TTL. [`Deps::new`] builds them all from the configuration and the [`Platform`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use cls_core::settings::SecretIds;
use cls_core::{ActivitySource, ActivitySourceKind, Alert, QueueSender};
use cls_wiring::SqsQueueSender;
use cls_wiring::load_alert_settings;
use cls_wiring::{AlertSource, ClientFactory, RawSecrets, Reloader};
use futures::future::BoxFuture;
use github_app::GithubApi;
use lambda_kit::metrics::{MetricSink, Unit};
use lambda_kit::{Clock, Platform};
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

/// Everything a sweep needs. Built once per process by [`Deps::new`] (`main`, the demo, `cls-admin` and the
/// tests alike).
#[derive(Clone)]
pub struct Deps {
    /// Configuration.
    pub config: Arc<Config>,
    /// Validated secrets content (read at cold start, re-read on the TTL).
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
    alerted: Arc<Mutex<HashSet<String>>>,
    reloader: Arc<Reload>,
}

impl Deps {
    /// The sweep's clients over `platform`: reads and validates `cls/github` and `cls/spoke` through Secrets
    /// Manager (cached for `CLS_SECRETS_TTL_SECONDS`), builds the Spoke and GitHub clients (one installation
    /// per configured org), SQS on `CLS_QUEUE_URL`, the continuation (Lambda `Invoke` of
    /// `AWS_LAMBDA_FUNCTION_NAME`; without it a run cannot continue and says so), the IT alerter and the alert
    /// channel (`cls/alerts`, falling back to the old `cls/slack`). A missing or invalid secret fails the start
    /// with a message naming the secret and key.
    pub async fn new(config: Config, platform: &Platform) -> Result<Self, StartupError> {
        let clock = Arc::clone(&platform.clock);
        let secrets = config.cls.secret_store(&platform.sdk, Arc::clone(&clock));
        let raw = RawSecrets::read(secrets.as_ref(), &config.cls.secrets, false).await?;
        let clients = ClientFactory {
            http: platform.http.clone(),
            clock: Arc::clone(&clock),
            user_agent: crate::USER_AGENT,
            urls: config.api.clone(),
        };
        let loaded = load(&clients, &config.cls.secrets, &raw)?;
        let queue: Arc<dyn QueueSender> = Arc::new(SqsQueueSender::new(
            aws_sdk_sqs::Client::new(&platform.sdk),
            &config.queue_url,
        ));
        let continuation: Arc<dyn Continuation> = match &config.function_name {
            Some(name) => Arc::new(LambdaContinuation::new(
                aws_sdk_lambda::Client::new(&platform.sdk),
                name,
            )),
            None => Arc::new(NoContinuation),
        };
        let poster: Arc<dyn WebhookPoster> = Arc::new(
            slack_notify::WebhookClient::new(platform.http.clone()).with_clock(Arc::clone(&clock)),
        );
        let alerts: Arc<dyn Alerter> = Arc::new(SlackAlerter::from_ids(
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
        let alert = AlertSource {
            alerts: Arc::clone(&alerts),
            stage: config.cls.stage.clone(),
            component: crate::COMPONENT,
        };
        let reloader = Arc::new(Reload {
            secrets: Reloader::new(
                secrets,
                &config.cls.secrets,
                false,
                alert,
                raw,
                loaded.clone(),
            ),
            clients,
        });
        Ok(Self {
            config: Arc::new(config),
            settings: loaded.settings,
            spoke: loaded.spoke,
            github: loaded.github,
            queue,
            continuation,
            alerts,
            channel,
            clock,
            metrics: Arc::clone(&platform.metrics),
            alerted: Arc::new(Mutex::new(HashSet::new())),
            reloader,
        })
    }

    /// Replaces the continuation. Lambda's self-invocation cannot be reached outside AWS (moto does not run
    /// functions), so the local stack routes it through its own registry and the tests record the events
    /// and run them themselves; everything else comes from the configuration.
    pub fn with_continuation(mut self, continuation: Arc<dyn Continuation>) -> Self {
        self.continuation = continuation;
        self
    }

    /// The activity source for orgs of `kind`, over the current GitHub client.
    pub fn activity_source(&self, kind: ActivitySourceKind) -> Arc<dyn ActivitySource> {
        crate::activity::source_for(kind, &self.github)
    }

    /// These dependencies with the current secrets: `cls/github` and `cls/spoke` are read through the TTL
    /// cache (`CLS_SECRETS_TTL_SECONDS`); when a value changed, the settings and both clients are rebuilt (a
    /// rotated App key or Spoke key, a new org). A read that fails keeps the last good settings (logged); a
    /// changed secret that does not validate keeps them too, with one `SettingsInvalid` alert naming the
    /// secret and key, once per bad value ([`Reloader::current`]).
    pub async fn refreshed(&self) -> Self {
        let reloader = &self.reloader;
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
