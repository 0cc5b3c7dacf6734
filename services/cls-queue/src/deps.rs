//! The consumer's outside world: Spoke, GitHub, IT alerts, clock, metrics, and the settings built from the CLS
//! secrets it reads (`cls/github`, `cls/spoke`, `cls/identity`; `cls/alerts` through the alerter). The secrets
//! are validated at cold start and re-read through the store's TTL cache before every batch
//! ([`Deps::refreshed`]): a rotated App key, a new org or a changed identity map needs no redeploy.

use std::sync::Arc;

use cls_core::Alert;
use cls_core::identity::{IdentityDirectory, StaticDirectory};
use cls_core::settings::IdentitySettings;
use cls_wiring::{AlertSource, ClientFactory, RawSecrets, Reloader, SpokeKey};
use github_app::GithubApi;
use lambda_kit::Clock;
use lambda_kit::metrics::MetricSink;
use secrets::SecretStore;
use slack_notify::WebhookPoster;
use spoke_client::{SpokeApi, UserId};
use tokio::sync::OnceCell;

use crate::config::Config;

/// The validated content of the CLS secrets the consumer reads (`cls/github`, `cls/spoke`, `cls/identity`).
pub use cls_wiring::ClsSettings as Settings;
/// Cold-start failures: the function refuses to start with a message naming the secret and key.
pub use cls_wiring::StartupError;
pub use cls_wiring::alerter::{Alerter, SlackAlerter};

/// What is built from the secrets; replaced when a secret's value changes.
#[derive(Clone)]
struct Loaded {
    settings: Arc<Settings>,
    github: Arc<dyn GithubApi>,
    identity: Arc<dyn IdentityDirectory>,
}

/// The consumer's user agent.
const USER_AGENT: &str = concat!("cls-queue/", env!("CARGO_PKG_VERSION"));

/// The Spoke client: fixed ([`Deps::new`]) or following the key in the secret ([`Deps::build`]).
#[derive(Clone)]
enum Spoke {
    Fixed(Arc<dyn SpokeApi>),
    Rotating(Arc<SpokeKey>),
}

/// The secrets' re-read and the factory a changed value's clients are built with.
struct Reload {
    secrets: Reloader<Loaded>,
    clients: ClientFactory,
}

fn identity_directory(
    settings: &IdentitySettings,
    http: &reqwest::Client,
) -> Result<Arc<dyn IdentityDirectory>, StartupError> {
    if !settings.is_http() {
        return Ok(Arc::new(StaticDirectory::new(settings.clone())));
    }
    let http_settings = settings.http.clone().unwrap_or_default();
    crate::identity::HttpDirectory::new(http.clone(), &http_settings)
        .map(|d| Arc::new(d) as Arc<dyn IdentityDirectory>)
        .map_err(|reason| StartupError::Client {
            client: "identity",
            reason,
        })
}

/// Everything `handle` needs. Built once per process.
#[derive(Clone)]
pub struct Deps {
    /// Configuration.
    pub config: Arc<Config>,
    /// Validated secrets content.
    pub settings: Arc<Settings>,
    spoke: Spoke,
    /// GitHub (per-org App installations).
    pub github: Arc<dyn GithubApi>,
    /// IT alerts.
    pub alerts: Arc<dyn Alerter>,
    /// The identity directory (static from the identity secret unless replaced with [`Deps::with_identity`]).
    pub identity: Arc<dyn IdentityDirectory>,
    identity_pinned: bool,
    reloader: Option<Arc<Reload>>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// EMF metrics.
    pub metrics: Arc<dyn MetricSink>,
    service_user: Arc<OnceCell<UserId>>,
    /// The Slack bot (reminders, click replies); `None` unless built by [`Deps::build`] or set with
    /// [`Deps::with_slack`].
    pub(crate) slack: Option<Arc<crate::slack::SlackAccess>>,
}

impl Deps {
    /// Assembles the dependencies.
    pub fn new(
        config: Config,
        settings: Settings,
        spoke: Arc<dyn SpokeApi>,
        github: Arc<dyn GithubApi>,
        alerts: Arc<dyn Alerter>,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn MetricSink>,
    ) -> Self {
        let identity: Arc<dyn IdentityDirectory> =
            Arc::new(StaticDirectory::new(settings.identity.clone()));
        Self {
            identity,
            identity_pinned: false,
            reloader: None,
            config: Arc::new(config),
            settings: Arc::new(settings),
            spoke: Spoke::Fixed(spoke),
            github,
            alerts,
            clock,
            metrics,
            service_user: Arc::new(OnceCell::new()),
            slack: None,
        }
    }

    /// Sets the Slack bot access.
    pub fn with_slack(mut self, slack: crate::slack::SlackAccess) -> Self {
        self.slack = Some(Arc::new(slack));
        self
    }

    /// The real clients over `secrets`: loads and validates the settings, builds the Spoke client (key from
    /// `cls/spoke`), the GitHub client (one installation per configured org), the identity directory and the
    /// IT alerter (`cls/alerts`, falling back to `alert_webhook_url` of the old `cls/slack`). The secrets are
    /// re-read on their TTL by [`Deps::refreshed`].
    pub async fn build(
        config: Config,
        secrets: Arc<dyn SecretStore>,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn MetricSink>,
    ) -> Result<Self, StartupError> {
        let ids = config.cls.secrets.clone();
        let raw = RawSecrets::read(secrets.as_ref(), &ids, true).await?;
        let settings = Settings::decode(&raw, &ids)?;
        let clients = ClientFactory {
            http: http.clone(),
            clock: Arc::clone(&clock),
            user_agent: USER_AGENT,
            urls: config.api.clone(),
        };
        let spoke = Arc::new(SpokeKey::new(
            Arc::clone(&secrets),
            &ids.spoke,
            clients.clone(),
            &settings.spoke,
        )?);
        let github = clients.github(&settings.github)?;
        let identity = identity_directory(&settings.identity, &http)?;
        let poster: Arc<dyn WebhookPoster> =
            Arc::new(slack_notify::WebhookClient::new(http.clone()).with_clock(Arc::clone(&clock)));
        let slack = crate::slack::SlackAccess::new(
            Arc::clone(&secrets),
            &config.cls.secrets.slack,
            http.clone(),
            config.slack.clone(),
            Arc::clone(&clock),
        );
        let alerts = Arc::new(SlackAlerter::from_ids(
            poster,
            Arc::clone(&secrets),
            &ids,
            Arc::clone(&clock),
        ));
        let mut deps = Self::new(
            config,
            settings,
            spoke.client(),
            github,
            alerts,
            clock,
            metrics,
        );
        deps.spoke = Spoke::Rotating(spoke);
        deps.slack = Some(Arc::new(slack));
        deps.identity = Arc::clone(&identity);
        let loaded = Loaded {
            settings: Arc::clone(&deps.settings),
            github: Arc::clone(&deps.github),
            identity,
        };
        deps.reloader = Some(Arc::new(Reload {
            secrets: Reloader::new(secrets, &ids, true, deps.alert_source(), raw, loaded),
            clients,
        }));
        Ok(deps)
    }

    /// These dependencies with the current secrets: each secret is read through the store's TTL cache
    /// (`CLS_SECRETS_TTL_SECONDS`), and what a changed value feeds is rebuilt — the settings, the GitHub
    /// client (a rotated App key, a new or removed org), the Spoke client (a new `api_key`) and the identity
    /// directory. Called once per batch by [`crate::handle`]. A read that fails keeps the last good settings
    /// (logged; the next batch reads again); a changed secret that does not validate keeps them too, with one
    /// IT alert `SettingsInvalid` naming the secret and key ([`Reloader::current`]). Deps assembled with
    /// [`Deps::new`] never change.
    pub async fn refreshed(&self) -> Self {
        let Some(reloader) = &self.reloader else {
            return self.clone();
        };
        let loaded = reloader
            .secrets
            .current(|raw, old, loaded| self.rebuild(&reloader.clients, raw, old, loaded))
            .await;
        let mut deps = self.clone();
        deps.settings = loaded.settings;
        deps.github = loaded.github;
        if !self.identity_pinned {
            deps.identity = loaded.identity;
        }
        deps
    }

    fn rebuild(
        &self,
        clients: &ClientFactory,
        raw: &RawSecrets,
        old: &RawSecrets,
        loaded: &Loaded,
    ) -> Result<Loaded, StartupError> {
        let settings = Settings::decode(raw, &self.config.cls.secrets)?;
        let github = if raw.github == old.github {
            Arc::clone(&loaded.github)
        } else {
            clients.github(&settings.github)?
        };
        let identity = if raw.identity == old.identity {
            Arc::clone(&loaded.identity)
        } else {
            identity_directory(&settings.identity, &clients.http)?
        };
        if let Spoke::Rotating(key) = &self.spoke
            && key.adopt(&settings.spoke)?
        {
            tracing::warn!(
                outcome = "spoke_key_rotated",
                "the Spoke secret holds a new key; it is in use"
            );
        }
        Ok(Loaded {
            settings: Arc::new(settings),
            github,
            identity,
        })
    }

    /// The production wiring: Secrets Manager from `sdk` (honours `AWS_ENDPOINT_URL`), system clock, stdout EMF.
    pub async fn from_aws(
        config: Config,
        sdk: &aws_config::SdkConfig,
        http: reqwest::Client,
    ) -> Result<Self, StartupError> {
        let clock: Arc<dyn Clock> = Arc::new(lambda_kit::SystemClock);
        let secrets = config.cls.secret_store(sdk, Arc::clone(&clock));
        Self::build(
            config,
            secrets,
            http,
            clock,
            Arc::new(lambda_kit::metrics::StdoutSink),
        )
        .await
    }

    /// Replaces the identity directory (kept across [`Deps::refreshed`]).
    pub fn with_identity(mut self, identity: Arc<dyn IdentityDirectory>) -> Self {
        self.identity = identity;
        self.identity_pinned = true;
        self
    }

    /// The current Spoke client.
    pub fn spoke(&self) -> Arc<dyn SpokeApi> {
        match &self.spoke {
            Spoke::Fixed(client) => Arc::clone(client),
            Spoke::Rotating(key) => key.client(),
        }
    }

    /// After Spoke refused the API key: re-reads the Spoke secret (bypassing the cache) and, when `api_key`
    /// changed (a rotation), swaps in a client with the new key ([`SpokeKey::refresh_refused`]). True when
    /// the key changed. Deps assembled with [`Deps::new`] have no rotation source and return false.
    pub async fn refresh_spoke_key(&self) -> bool {
        match &self.spoke {
            Spoke::Fixed(_) => false,
            Spoke::Rotating(key) => key.refresh_refused().await,
        }
    }

    /// The Spoke service user (configured, else `GET /whoami` once per process).
    pub async fn service_user(&self) -> Result<UserId, spoke_client::SpokeError> {
        if let Some(id) = self
            .settings
            .spoke
            .service_user_id
            .as_deref()
            .filter(|s| !s.is_empty())
        {
            return Ok(UserId::new(id));
        }
        self.service_user
            .get_or_try_init(|| async { self.spoke().whoami().await.map(|w| w.user) })
            .await
            .cloned()
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

    /// Where a `SettingsInvalid` alert of the secrets' re-read goes.
    fn alert_source(&self) -> AlertSource {
        AlertSource {
            alerts: Arc::clone(&self.alerts),
            stage: self.config.cls.stage.clone(),
            component: crate::COMPONENT,
        }
    }

    /// An alert from this component.
    pub fn alert(&self, kind: &str, message: impl Into<String>) -> Alert {
        Alert::new(&self.config.cls.stage, crate::COMPONENT, kind, message)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrets::MemorySecretStore;
    use serde_json::json;

    use super::*;

    fn config() -> Config {
        Config::from_lookup(lambda_kit::config::map_lookup(HashMap::from([(
            "CLS_STAGE".to_owned(),
            "testing".to_owned(),
        )])))
        .unwrap()
    }

    fn store(spoke: serde_json::Value) -> MemorySecretStore {
        let store = MemorySecretStore::new();
        store.insert(
            "cls/github",
            json!({"orgs": [{"org": "acme", "org_id": 1, "app_id": 2, "installation_id": 3, "private_key_pem": "k",
                "default_owner": {"github_login": "it", "spoke_user_id": "u"}}]}),
        );
        store.insert("cls/spoke", spoke);
        store
    }

    fn spoke() -> serde_json::Value {
        json!({"api_key": "k", "team_id": "t", "request_type_id": "r",
            "fields": {"expires_on": "1", "github_login": "2", "github_user_id": "3", "github_org": "4",
                       "collaborator_email": "5", "repositories": "6", "added_by": "7", "cls_state": "8"},
            "tags": {"access_granted": "a", "access_removed": "b", "expired": "c", "inactive": "d", "needs_attention": "e"}})
    }

    #[tokio::test]
    async fn complete_secrets_load_and_a_missing_identity_secret_is_an_empty_directory() {
        let settings = Settings::load(&store(spoke()), &config().cls.secrets, true)
            .await
            .unwrap();
        assert!(settings.identity.users.is_empty());
        assert_eq!(settings.github.orgs[0].org, "acme");
    }

    #[tokio::test]
    async fn a_missing_field_or_tag_id_fails_the_start_naming_the_key() {
        let mut s = spoke();
        s["fields"].as_object_mut().unwrap().remove("cls_state");
        let err = Settings::load(&store(s), &config().cls.secrets, true)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("fields.cls_state"), "{err}");
        let mut s = spoke();
        s["tags"]["access_removed"] = "".into();
        let err = Settings::load(&store(s), &config().cls.secrets, true)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("tags.access_removed"), "{err}");
    }
}
