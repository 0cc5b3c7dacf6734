//! The CLI's outside world: what it needs before reading secrets ([`Env`], built from the configuration
//! variables and a [`Platform`] as the services' `Deps` are) and the clients built from the secrets
//! ([`Deps`]). Tests build both over moto and the stand-ins with `Platform::local`.

use std::sync::Arc;

use chrono::NaiveDate;
use cls_core::settings::{GithubSettings, IdentitySettings, OrgSettings, SpokeSettings};
use cls_wiring::{ClientFactory, SpokeKey, decode_github, decode_identity, decode_spoke};
use github_app::GithubApi;
use lambda_kit::{Clock, MemorySink, Platform};
use secrets::{SecretStore, SecretsError};
use spoke_client::SpokeApi;

use crate::config::Config;
use cls_core::queue::QueueSender;
use cls_wiring::SqsQueueSender;
use lambda_kit::config::ConfigError;

/// The validated content of the secrets the commands use: `cls/github` (private keys required), `cls/spoke`
/// (every field and tag id present), `cls/identity` (empty when the secret does not exist).
pub use cls_wiring::ClsSettings as Settings;
/// The CLI cannot start: a secret is unreadable or invalid, or a client cannot be built.
pub use cls_wiring::StartupError;

/// The `User-Agent` of every HTTP call the CLI makes.
pub const USER_AGENT: &str = concat!("cls-admin/", env!("CARGO_PKG_VERSION"));

/// `cls/github`, validated with private keys required (`doctor` checks each secret on its own).
pub async fn load_github(
    secrets: &dyn SecretStore,
    config: &Config,
) -> Result<GithubSettings, StartupError> {
    let value = secrets.get_value(&config.cls.secrets.github).await?;
    decode_github(&config.cls.secrets.github, &value)
}

/// `cls/spoke`, validated.
pub async fn load_spoke(
    secrets: &dyn SecretStore,
    config: &Config,
) -> Result<SpokeSettings, StartupError> {
    let value = secrets.get_value(&config.cls.secrets.spoke).await?;
    decode_spoke(&config.cls.secrets.spoke, &value)
}

/// `cls/identity`: an absent secret is an empty directory.
pub async fn load_identity(
    secrets: &dyn SecretStore,
    config: &Config,
) -> Result<IdentitySettings, StartupError> {
    match secrets.get_value(&config.cls.secrets.identity).await {
        Ok(value) => decode_identity(&config.cls.secrets.identity, Some(&value)),
        Err(SecretsError::NotFound { .. }) => decode_identity(&config.cls.secrets.identity, None),
        Err(e) => Err(e.into()),
    }
}

/// The Spoke and GitHub clients' factory for `config` over `platform` (one App installation per configured
/// org).
pub fn clients(config: &Config, platform: &Platform) -> ClientFactory {
    ClientFactory {
        http: platform.http.clone(),
        clock: Arc::clone(&platform.clock),
        user_agent: USER_AGENT,
        urls: config.api.clone(),
    }
}

/// A lookup of configuration variables (the process environment, or a map in tests).
pub type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What every command has before any secret is read.
#[derive(Clone)]
pub struct Env {
    /// Configuration.
    pub config: Arc<Config>,
    /// The variables the configuration was read from (`sweep` reads cls-sweep's configuration from them).
    pub lookup: Lookup,
    /// The AWS SDK configuration, HTTP client, clock and metric sink every client is built from (`sweep`
    /// builds cls-sweep's `Deps` from it).
    pub platform: Platform,
    /// Secrets Manager, cached for `CLS_SECRETS_TTL_SECONDS`.
    pub secrets: Arc<dyn SecretStore>,
    /// SQS (`doctor` reads the queue's attributes).
    pub sqs: aws_sdk_sqs::Client,
    /// The FIFO queue the commands send to (`CLS_QUEUE_URL` over `sqs`).
    pub queue: Arc<dyn QueueSender>,
}

impl Env {
    /// Reads the configuration from `lookup` and builds Secrets Manager and SQS from `platform`.
    pub fn new(lookup: Lookup, platform: Platform) -> Result<Self, ConfigError> {
        let config = Config::from_lookup(|name| lookup(name))?;
        let secrets = config
            .cls
            .secret_store(&platform.sdk, Arc::clone(&platform.clock));
        let sqs = aws_sdk_sqs::Client::new(&platform.sdk);
        let queue: Arc<dyn QueueSender> =
            Arc::new(SqsQueueSender::new(sqs.clone(), &config.queue_url));
        Ok(Self {
            config: Arc::new(config),
            lookup,
            platform,
            secrets,
            sqs,
            queue,
        })
    }

    /// The operator's environment: the process environment's variables and the AWS SDK's default chain
    /// (which honours `AWS_ENDPOINT_URL`). Metrics are not published from an operator's run (stdout holds
    /// the command's output; the heartbeat alarm watches the scheduled Lambda), so they are kept in memory.
    pub async fn from_env() -> Result<Self, crate::AdminError> {
        let platform = Platform::from_env(USER_AGENT)
            .await
            .map_err(|e| crate::AdminError::Usage(format!("HTTP client: {e}")))?;
        let platform = Platform {
            metrics: Arc::new(MemorySink::default()),
            ..platform
        };
        Ok(Self::new(
            Arc::new(lambda_kit::config::env_lookup()),
            platform,
        )?)
    }

    /// Replaces the queue sender (tests).
    pub fn with_queue(mut self, queue: Arc<dyn QueueSender>) -> Self {
        self.queue = queue;
        self
    }

    /// Loads the secrets and builds the API clients.
    pub async fn deps(&self) -> Result<Deps, StartupError> {
        let settings =
            Settings::load(self.secrets.as_ref(), &self.config.cls.secrets, true).await?;
        let clients = clients(&self.config, &self.platform);
        let spoke = SpokeKey::new(
            Arc::clone(&self.secrets),
            &self.config.cls.secrets.spoke,
            clients.clone(),
            &settings.spoke,
        )?
        .into_api();
        let github = clients.github(&settings.github)?;
        Ok(Deps {
            config: Arc::clone(&self.config),
            settings: Arc::new(settings),
            spoke,
            github,
            queue: Arc::clone(&self.queue),
            clock: Arc::clone(&self.platform.clock),
        })
    }

    /// Today (UTC), or `CLS_FAKE_TODAY`.
    pub fn today(&self) -> NaiveDate {
        today(&self.config, self.platform.clock.as_ref())
    }
}

fn today(config: &Config, clock: &dyn Clock) -> NaiveDate {
    config
        .fake_today
        .unwrap_or_else(|| cls_core::dates::today(clock.now()))
}

/// Everything the ticket and GitHub commands need.
#[derive(Clone)]
pub struct Deps {
    /// Configuration.
    pub config: Arc<Config>,
    /// Validated secrets content.
    pub settings: Arc<Settings>,
    /// Spoke.
    pub spoke: Arc<dyn SpokeApi>,
    /// GitHub (per-org App installations).
    pub github: Arc<dyn GithubApi>,
    /// The FIFO queue.
    pub queue: Arc<dyn QueueSender>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl Deps {
    /// Today (UTC), or `CLS_FAKE_TODAY`.
    pub fn today(&self) -> NaiveDate {
        today(&self.config, self.clock.as_ref())
    }

    /// The orgs a command covers: `only` (which must be configured), else every configured org.
    pub fn orgs(&self, only: Option<&str>) -> Result<Vec<OrgSettings>, crate::AdminError> {
        match only {
            Some(login) => self
                .settings
                .org(login)
                .cloned()
                .map(|o| vec![o])
                .ok_or_else(|| {
                    crate::AdminError::Usage(format!(
                        "org {login} is not configured in the GitHub secret"
                    ))
                }),
            None => Ok(self.settings.github.orgs.clone()),
        }
    }
}
