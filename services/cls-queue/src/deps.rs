//! The consumer's outside world: Spoke, GitHub, IT alerts, clock, metrics, and the settings built from the CLS
//! secrets it reads (`cls/github`, `cls/spoke`, `cls/identity`; `cls/alerts` through the alerter). The secrets
//! are validated at cold start and re-read through the store's TTL cache before every batch
//! ([`Deps::refreshed`]): a rotated App key, a new org or a changed identity map needs no redeploy.

use std::sync::{Arc, Mutex, RwLock};

use cls_core::Alert;
use cls_core::identity::{IdentityDirectory, StaticDirectory};
use cls_core::settings::{GithubSettings, IdentitySettings, SettingsError, SpokeSettings};
use github_app::{AppCredentials, GithubApi, GithubClient, OrgInstallation};
use lambda_kit::Clock;
use lambda_kit::metrics::MetricSink;
use secrecy::ExposeSecret;
use secrets::{SecretStore, SecretsError};
use slack_notify::WebhookPoster;
use spoke_client::{SpokeApi, SpokeClient, UserId};
use tokio::sync::OnceCell;

use crate::config::Config;

pub use cls_core::alerter::{Alerter, SlackAlerter};

/// The validated content of the CLS secrets the consumer reads.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `cls/github`.
    pub github: GithubSettings,
    /// `cls/spoke`.
    pub spoke: SpokeSettings,
    /// `cls/identity` (empty when the secret does not exist).
    pub identity: IdentitySettings,
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
    /// Reads and validates `cls/github` (private keys required), `cls/spoke` (all field and tag ids) and
    /// `cls/identity` (optional).
    pub async fn load(secrets: &dyn SecretStore, config: &Config) -> Result<Self, StartupError> {
        Self::decode(&RawSecrets::read(secrets, config).await?, config)
    }

    fn decode(raw: &RawSecrets, config: &Config) -> Result<Self, StartupError> {
        let github: GithubSettings = secrets::decode(&config.github_secret_id, &raw.github)?;
        github.validate(false, true)?;
        let spoke: SpokeSettings = secrets::decode(&config.spoke_secret_id, &raw.spoke)?;
        spoke.validate()?;
        let identity: IdentitySettings = match &raw.identity {
            Some(value) => secrets::decode(&config.identity_secret_id, value)?,
            None => IdentitySettings::default(),
        };
        identity.validate()?;
        Ok(Self {
            github,
            spoke,
            identity,
        })
    }
}

/// The secret values the settings are built from, as the store's cache serves them.
#[derive(Clone, PartialEq)]
struct RawSecrets {
    github: Arc<serde_json::Value>,
    spoke: Arc<serde_json::Value>,
    /// `None` when the identity secret does not exist.
    identity: Option<Arc<serde_json::Value>>,
}

impl RawSecrets {
    async fn read(secrets: &dyn SecretStore, config: &Config) -> Result<Self, SecretsError> {
        let identity = match secrets.get_value(&config.identity_secret_id).await {
            Ok(value) => Some(value),
            Err(SecretsError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        Ok(Self {
            github: secrets.get_value(&config.github_secret_id).await?,
            spoke: secrets.get_value(&config.spoke_secret_id).await?,
            identity,
        })
    }
}

/// What is built from the secrets; replaced when a secret's value changes.
#[derive(Clone)]
struct Loaded {
    raw: RawSecrets,
    settings: Arc<Settings>,
    github: Arc<dyn GithubApi>,
    identity: Arc<dyn IdentityDirectory>,
}

/// Re-reads the secrets through the TTL cache and rebuilds what changed (cls.md §5, §11).
struct Reloader {
    secrets: Arc<dyn SecretStore>,
    http: reqwest::Client,
    loaded: tokio::sync::Mutex<Loaded>,
    /// The last changed values that did not validate (reported once, not re-validated every batch).
    rejected: tokio::sync::Mutex<Option<RawSecrets>>,
}

fn github_client(
    config: &Config,
    settings: &GithubSettings,
    http: &reqwest::Client,
    clock: &Arc<dyn Clock>,
) -> Result<Arc<dyn GithubApi>, StartupError> {
    let installations = settings.orgs.iter().filter_map(|o| {
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
    .user_agent(concat!("cls-queue/", env!("CARGO_PKG_VERSION")))
    .installations(installations)
    .build()
    .map_err(|e| StartupError::Client {
        client: "github",
        reason: e.to_string(),
    })?;
    Ok(Arc::new(github))
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

/// Rebuilds the Spoke client when the key in the secret changes (cls.md §11: key rotation).
struct SpokeRotation {
    secrets: Arc<dyn SecretStore>,
    secret_id: String,
    http: reqwest::Client,
    base_url: String,
    clock: Arc<dyn Clock>,
    key_fingerprint: Mutex<String>,
}

impl SpokeRotation {
    fn client(&self, key: secrecy::SecretString) -> Result<Arc<dyn SpokeApi>, String> {
        SpokeClient::builder(self.http.clone(), key)
            .base_url(&self.base_url)
            .user_agent(concat!("cls-queue/", env!("CARGO_PKG_VERSION")))
            .clock(Arc::clone(&self.clock))
            .build()
            .map(|c| Arc::new(c) as Arc<dyn SpokeApi>)
            .map_err(|e| e.to_string())
    }

    async fn fresh_client(&self) -> Result<Option<Arc<dyn SpokeApi>>, String> {
        let fresh = self
            .secrets
            .get_fresh(&self.secret_id)
            .await
            .map_err(|e| e.to_string())?;
        let settings: SpokeSettings =
            secrets::decode(&self.secret_id, &fresh.value).map_err(|e| e.to_string())?;
        self.adopt(&settings)
    }

    /// A client for `settings.api_key` when it differs from the key in use.
    fn adopt(&self, settings: &SpokeSettings) -> Result<Option<Arc<dyn SpokeApi>>, String> {
        let fingerprint = secrets::fingerprint(settings.api_key.expose_secret());
        let mut current = self
            .key_fingerprint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *current == fingerprint {
            return Ok(None);
        }
        let client = self.client(settings.api_key.clone())?;
        *current = fingerprint;
        Ok(Some(client))
    }
}

/// Everything `handle` needs. Built once per process.
#[derive(Clone)]
pub struct Deps {
    /// Configuration.
    pub config: Arc<Config>,
    /// Validated secrets content.
    pub settings: Arc<Settings>,
    spoke: Arc<RwLock<Arc<dyn SpokeApi>>>,
    rotation: Option<Arc<SpokeRotation>>,
    /// GitHub (per-org App installations).
    pub github: Arc<dyn GithubApi>,
    /// IT alerts.
    pub alerts: Arc<dyn Alerter>,
    /// The identity directory (static from the identity secret unless replaced with [`Deps::with_identity`]).
    pub identity: Arc<dyn IdentityDirectory>,
    identity_pinned: bool,
    reloader: Option<Arc<Reloader>>,
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
            spoke: Arc::new(RwLock::new(spoke)),
            rotation: None,
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
        let raw = RawSecrets::read(secrets.as_ref(), &config).await?;
        let settings = Settings::decode(&raw, &config)?;
        let rotation = Arc::new(SpokeRotation {
            secrets: Arc::clone(&secrets),
            secret_id: config.spoke_secret_id.clone(),
            http: http.clone(),
            base_url: config.spoke_base_url.to_string(),
            clock: Arc::clone(&clock),
            key_fingerprint: Mutex::new(secrets::fingerprint(
                settings.spoke.api_key.expose_secret(),
            )),
        });
        let spoke = rotation
            .client(settings.spoke.api_key.clone())
            .map_err(|reason| StartupError::Client {
                client: "spoke",
                reason,
            })?;
        let github = github_client(&config, &settings.github, &http, &clock)?;
        let identity = identity_directory(&settings.identity, &http)?;
        let poster: Arc<dyn WebhookPoster> =
            Arc::new(slack_notify::WebhookClient::new(http.clone()).with_clock(Arc::clone(&clock)));
        let slack = crate::slack::SlackAccess::new(
            Arc::clone(&secrets),
            &config.slack_secret_id,
            http.clone(),
            config.slack.clone(),
            Arc::clone(&clock),
        );
        let alerts = Arc::new(SlackAlerter::from_ids(
            poster,
            Arc::clone(&secrets),
            &config.secret_ids(),
            Arc::clone(&clock),
        ));
        let mut deps = Self::new(config, settings, spoke, github, alerts, clock, metrics);
        deps.rotation = Some(rotation);
        deps.slack = Some(Arc::new(slack));
        deps.identity = Arc::clone(&identity);
        deps.reloader = Some(Arc::new(Reloader {
            secrets,
            http,
            loaded: tokio::sync::Mutex::new(Loaded {
                raw,
                settings: Arc::clone(&deps.settings),
                github: Arc::clone(&deps.github),
                identity,
            }),
            rejected: tokio::sync::Mutex::new(None),
        }));
        Ok(deps)
    }

    /// These dependencies with the current secrets: each secret is read through the store's TTL cache
    /// (`CLS_SECRETS_TTL_SECONDS`), and what a changed value feeds is rebuilt — the settings, the GitHub
    /// client (a rotated App key, a new or removed org), the Spoke client (a new `api_key`) and the identity
    /// directory. Called once per batch by [`crate::handle`]. A read that fails keeps the last good settings
    /// (logged; the next batch reads again); a changed secret that does not validate keeps them too, with one
    /// IT alert `SettingsInvalid` naming the secret and key. Deps assembled with [`Deps::new`] never change.
    pub async fn refreshed(&self) -> Self {
        let Some(reloader) = &self.reloader else {
            return self.clone();
        };
        let mut loaded = reloader.loaded.lock().await;
        let mut rejected = reloader.rejected.lock().await;
        match RawSecrets::read(reloader.secrets.as_ref(), &self.config).await {
            Ok(raw) if raw == loaded.raw || rejected.as_ref() == Some(&raw) => {}
            Ok(raw) => match self.rebuild(&loaded, raw.clone(), reloader) {
                Ok(next) => {
                    tracing::info!(
                        outcome = "settings_reloaded",
                        "a CLS secret changed; settings and clients rebuilt"
                    );
                    *loaded = next;
                    *rejected = None;
                }
                Err(error) => {
                    *rejected = Some(raw);
                    // The chain names the secret and key, never a value.
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
                tracing::warn!(error = %error, upstream = "secretsmanager", outcome = "settings_not_reread", "could not re-read the CLS secrets; the last good settings stay in use");
            }
        }
        let mut deps = self.clone();
        deps.settings = Arc::clone(&loaded.settings);
        deps.github = Arc::clone(&loaded.github);
        if !self.identity_pinned {
            deps.identity = Arc::clone(&loaded.identity);
        }
        deps
    }

    fn rebuild(
        &self,
        loaded: &Loaded,
        raw: RawSecrets,
        reloader: &Reloader,
    ) -> Result<Loaded, StartupError> {
        let settings = Settings::decode(&raw, &self.config)?;
        let github = if raw.github == loaded.raw.github {
            Arc::clone(&loaded.github)
        } else {
            github_client(&self.config, &settings.github, &reloader.http, &self.clock)?
        };
        let identity = if raw.identity == loaded.raw.identity {
            Arc::clone(&loaded.identity)
        } else {
            identity_directory(&settings.identity, &reloader.http)?
        };
        if let Some(rotation) = &self.rotation {
            let client =
                rotation
                    .adopt(&settings.spoke)
                    .map_err(|reason| StartupError::Client {
                        client: "spoke",
                        reason,
                    })?;
            if let Some(client) = client {
                *self
                    .spoke
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = client;
                tracing::warn!(
                    outcome = "spoke_key_rotated",
                    "the Spoke secret holds a new key; it is in use"
                );
            }
        }
        Ok(Loaded {
            raw,
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
        let secrets: Arc<dyn SecretStore> = Arc::new(
            secrets::SecretsClient::new(
                aws_sdk_secretsmanager::Client::new(sdk),
                Arc::clone(&clock),
            )
            .with_ttl(config.secrets_ttl),
        );
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
        Arc::clone(
            &self
                .spoke
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// After Spoke refused the API key: re-reads the Spoke secret (bypassing the cache) and, when `api_key`
    /// changed (a rotation), swaps in a client with the new key. True when the key changed. Deps assembled
    /// with [`Deps::new`] have no rotation source and return false.
    pub async fn refresh_spoke_key(&self) -> bool {
        let Some(rotation) = &self.rotation else {
            return false;
        };
        match rotation.fresh_client().await {
            Ok(Some(client)) => {
                *self
                    .spoke
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = client;
                tracing::warn!(
                    outcome = "spoke_key_rotated",
                    "Spoke refused the key; a new key from the secret is in use"
                );
                true
            }
            Ok(None) => false,
            Err(reason) => {
                tracing::error!(error = %reason, upstream = "secretsmanager", "could not re-read the Spoke secret");
                false
            }
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
            &self.config.stage,
            self.clock.now(),
            name,
            dims,
        );
    }

    /// An alert from this component.
    pub fn alert(&self, kind: &str, message: impl Into<String>) -> Alert {
        Alert::new(&self.config.stage, crate::COMPONENT, kind, message)
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
        let settings = Settings::load(&store(spoke()), &config()).await.unwrap();
        assert!(settings.identity.users.is_empty());
        assert_eq!(settings.github.orgs[0].org, "acme");
    }

    #[tokio::test]
    async fn a_missing_field_or_tag_id_fails_the_start_naming_the_key() {
        let mut s = spoke();
        s["fields"].as_object_mut().unwrap().remove("cls_state");
        let err = Settings::load(&store(s), &config()).await.unwrap_err();
        assert!(err.to_string().contains("fields.cls_state"), "{err}");
        let mut s = spoke();
        s["tags"]["access_removed"] = "".into();
        let err = Settings::load(&store(s), &config()).await.unwrap_err();
        assert!(err.to_string().contains("tags.access_removed"), "{err}");
    }
}
