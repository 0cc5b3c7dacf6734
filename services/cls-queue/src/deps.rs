//! The consumer's outside world: Spoke, GitHub, IT alerts, clock, metrics, and the settings loaded from the
//! four CLS secrets at cold start.

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
        let value = secrets.get_value(&config.github_secret_id).await?;
        let github: GithubSettings = secrets::decode(&config.github_secret_id, &value)?;
        github.validate(false, true)?;
        let value = secrets.get_value(&config.spoke_secret_id).await?;
        let spoke: SpokeSettings = secrets::decode(&config.spoke_secret_id, &value)?;
        spoke.validate()?;
        let identity: IdentitySettings = match secrets.get_value(&config.identity_secret_id).await {
            Ok(value) => secrets::decode(&config.identity_secret_id, &value)?,
            Err(SecretsError::NotFound { .. }) => IdentitySettings::default(),
            Err(e) => return Err(e.into()),
        };
        identity.validate()?;
        Ok(Self {
            github,
            spoke,
            identity,
        })
    }
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
        let fingerprint = secrets::fingerprint(settings.api_key.expose_secret());
        let mut current = self
            .key_fingerprint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *current == fingerprint {
            return Ok(None);
        }
        let client = self.client(settings.api_key)?;
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
    /// `cls/spoke`) and the GitHub client (one installation per configured org), and the Slack alerter.
    pub async fn build(
        config: Config,
        secrets: Arc<dyn SecretStore>,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn MetricSink>,
    ) -> Result<Self, StartupError> {
        let settings = Settings::load(secrets.as_ref(), &config).await?;
        let user_agent = concat!("cls-queue/", env!("CARGO_PKG_VERSION"));
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
        let installations = settings.github.orgs.iter().filter_map(|o| {
            Some(OrgInstallation {
                org: o.org.clone(),
                installation_id: o.installation_id,
                app: AppCredentials {
                    app_id: o.app_id,
                    private_key_pem: o.private_key_pem.clone()?,
                    webhook_secrets: o.webhook_secrets.clone(),
                },
            })
        });
        let github = GithubClient::builder(
            config.github_base_url.as_str().trim_end_matches('/'),
            Arc::clone(&clock),
        )
        .http_client(http.clone())
        .user_agent(user_agent)
        .installations(installations)
        .build()
        .map_err(|e| StartupError::Client {
            client: "github",
            reason: e.to_string(),
        })?;
        let poster: Arc<dyn WebhookPoster> =
            Arc::new(slack_notify::WebhookClient::new(http.clone()).with_clock(Arc::clone(&clock)));
        let slack = crate::slack::SlackAccess::new(
            Arc::clone(&secrets),
            &config.slack_secret_id,
            http.clone(),
            config.slack.clone(),
            Arc::clone(&clock),
        );
        let alerts = Arc::new(SlackAlerter::new(
            poster,
            secrets,
            &config.slack_secret_id,
            Arc::clone(&clock),
        ));
        let mut deps = Self::new(
            config,
            settings,
            spoke,
            Arc::new(github),
            alerts,
            clock,
            metrics,
        );
        deps.rotation = Some(rotation);
        deps.slack = Some(Arc::new(slack));
        if deps.settings.identity.is_http() {
            let http_settings = deps.settings.identity.http.clone().unwrap_or_default();
            let directory = crate::identity::HttpDirectory::new(http.clone(), &http_settings)
                .map_err(|reason| StartupError::Client {
                    client: "identity",
                    reason,
                })?;
            deps.identity = Arc::new(directory);
        }
        Ok(deps)
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

    /// Replaces the identity directory.
    pub fn with_identity(mut self, identity: Arc<dyn IdentityDirectory>) -> Self {
        self.identity = identity;
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
