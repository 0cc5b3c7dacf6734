//! The consumer's outside world: Spoke, GitHub, Slack, IT alerts, clock, metrics, and the settings built from the
//! CLS secrets it reads (`cls/github`, `cls/spoke`, `cls/identity`; `cls/slack` for the bot and `cls/alerts`
//! through the alerter). [`Deps::new`] validates the secrets at cold start; they are re-read through the
//! store's TTL cache before every batch ([`Deps::refreshed`]): a rotated App key, a new org or a changed
//! identity map needs no redeploy.

use std::sync::Arc;

use cls_core::Alert;
use cls_core::identity::{IdentityDirectory, StaticDirectory};
use cls_core::settings::IdentitySettings;
use cls_wiring::{AlertSource, ClientFactory, RawSecrets, Reloader, SpokeKey};
use github_app::GithubApi;
use lambda_kit::metrics::MetricSink;
use lambda_kit::{Clock, Platform};
use slack_notify::WebhookPoster;
use spoke_client::{SpokeApi, UserId};
use tokio::sync::OnceCell;

use crate::config::Config;
use crate::slack::SlackAccess;

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

/// Everything `handle` needs. Built once per process by [`Deps::new`] (`main`, the demo, the benchmark and
/// the tests alike).
#[derive(Clone)]
pub struct Deps {
    /// Configuration.
    pub config: Arc<Config>,
    /// Validated secrets content.
    pub settings: Arc<Settings>,
    spoke: Arc<SpokeKey>,
    /// GitHub (per-org App installations).
    pub github: Arc<dyn GithubApi>,
    /// IT alerts.
    pub alerts: Arc<dyn Alerter>,
    /// The identity directory (static from the identity secret, or its `http` source).
    pub identity: Arc<dyn IdentityDirectory>,
    reloader: Arc<Reload>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// EMF metrics.
    pub metrics: Arc<dyn MetricSink>,
    service_user: Arc<OnceCell<UserId>>,
    /// The Slack bot (reminders, click replies).
    pub(crate) slack: Arc<SlackAccess>,
}

impl Deps {
    /// The consumer's clients over `platform`: reads and validates the secrets through Secrets Manager
    /// (cached for `CLS_SECRETS_TTL_SECONDS`), then builds the Spoke client (key from `cls/spoke`, re-read
    /// when Spoke refuses it), the GitHub client (one installation per configured org), the identity
    /// directory, the Slack bot access (`cls/slack`) and the IT alerter (`cls/alerts`, falling back to
    /// `alert_webhook_url` of the old `cls/slack`). A missing or invalid secret fails the start with a
    /// message naming the secret and key. The secrets are re-read on their TTL by [`Deps::refreshed`].
    pub async fn new(config: Config, platform: &Platform) -> Result<Self, StartupError> {
        let clock = Arc::clone(&platform.clock);
        let http = platform.http.clone();
        let secrets = config.cls.secret_store(&platform.sdk, Arc::clone(&clock));
        let ids = config.cls.secrets.clone();
        let raw = RawSecrets::read(secrets.as_ref(), &ids, true).await?;
        let settings = Settings::decode(&raw, &ids)?;
        let clients = ClientFactory {
            http: http.clone(),
            clock: Arc::clone(&clock),
            user_agent: crate::USER_AGENT,
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
        let slack = SlackAccess::new(
            Arc::clone(&secrets),
            &ids.slack,
            http,
            config.slack.clone(),
            Arc::clone(&clock),
        );
        let alerts: Arc<dyn Alerter> = Arc::new(SlackAlerter::from_ids(
            poster,
            Arc::clone(&secrets),
            &ids,
            Arc::clone(&clock),
        ));
        let settings = Arc::new(settings);
        let loaded = Loaded {
            settings: Arc::clone(&settings),
            github: Arc::clone(&github),
            identity: Arc::clone(&identity),
        };
        let alert = AlertSource {
            alerts: Arc::clone(&alerts),
            stage: config.cls.stage.clone(),
            component: crate::COMPONENT,
        };
        let reloader = Arc::new(Reload {
            secrets: Reloader::new(secrets, &ids, true, alert, raw, loaded),
            clients,
        });
        Ok(Self {
            config: Arc::new(config),
            settings,
            spoke,
            github,
            alerts,
            identity,
            reloader,
            clock,
            metrics: Arc::clone(&platform.metrics),
            service_user: Arc::new(OnceCell::new()),
            slack: Arc::new(slack),
        })
    }

    /// These dependencies with the current secrets: each secret is read through the store's TTL cache
    /// (`CLS_SECRETS_TTL_SECONDS`), and what a changed value feeds is rebuilt — the settings, the GitHub
    /// client (a rotated App key, a new or removed org), the Spoke client (a new `api_key`) and the identity
    /// directory. Called once per batch by [`crate::handle`]. A read that fails keeps the last good settings
    /// (logged; the next batch reads again); a changed secret that does not validate keeps them too, with one
    /// IT alert `SettingsInvalid` naming the secret and key ([`Reloader::current`]).
    pub async fn refreshed(&self) -> Self {
        let reloader = &self.reloader;
        let loaded = reloader
            .secrets
            .current(|raw, old, loaded| self.rebuild(&reloader.clients, raw, old, loaded))
            .await;
        let mut deps = self.clone();
        deps.settings = loaded.settings;
        deps.github = loaded.github;
        deps.identity = loaded.identity;
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
        if self.spoke.adopt(&settings.spoke)? {
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

    /// The current Spoke client.
    pub fn spoke(&self) -> Arc<dyn SpokeApi> {
        self.spoke.client()
    }

    /// After Spoke refused the API key: re-reads the Spoke secret (bypassing the cache) and, when `api_key`
    /// changed (a rotation), swaps in a client with the new key ([`SpokeKey::refresh_refused`]). True when
    /// the key changed.
    pub async fn refresh_spoke_key(&self) -> bool {
        self.spoke.refresh_refused().await
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
