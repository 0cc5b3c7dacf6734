//! The CLI's outside world: what it needs before reading secrets ([`Env`]) and the clients built from the
//! secrets ([`Deps`]). Tests build both over moto and the stand-ins; nothing here reads the process
//! environment.

use std::sync::Arc;

use chrono::NaiveDate;
use cls_core::settings::{GithubSettings, IdentitySettings, OrgSettings, SpokeSettings};
use cls_wiring::{ClientFactory, decode_github, decode_identity, decode_spoke};
use github_app::GithubApi;
use lambda_kit::Clock;
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

const USER_AGENT: &str = concat!("cls-admin/", env!("CARGO_PKG_VERSION"));

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

/// The Spoke and GitHub clients' factory for `config` (one App installation per configured org).
pub fn clients(config: &Config, http: &reqwest::Client, clock: &Arc<dyn Clock>) -> ClientFactory {
    ClientFactory {
        http: http.clone(),
        clock: Arc::clone(clock),
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
    /// Secrets Manager (TTL-cached).
    pub secrets: Arc<dyn SecretStore>,
    /// SQS (`doctor` reads the queue's attributes).
    pub sqs: aws_sdk_sqs::Client,
    /// The FIFO queue the commands send to (`CLS_QUEUE_URL` over `sqs`).
    pub queue: Arc<dyn QueueSender>,
    /// The HTTP client every API client shares.
    pub http: reqwest::Client,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl Env {
    /// Reads the configuration from `lookup` and assembles the environment from injected clients.
    pub fn new(
        lookup: Lookup,
        secrets: Arc<dyn SecretStore>,
        sqs: aws_sdk_sqs::Client,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let config = Config::from_lookup(|name| lookup(name))?;
        let queue: Arc<dyn QueueSender> =
            Arc::new(SqsQueueSender::new(sqs.clone(), &config.queue_url));
        Ok(Self {
            config: Arc::new(config),
            lookup,
            secrets,
            sqs,
            queue,
            http,
            clock,
        })
    }

    /// Replaces the queue sender (tests).
    pub fn with_queue(mut self, queue: Arc<dyn QueueSender>) -> Self {
        self.queue = queue;
        self
    }

    /// The real clients over the process environment: Secrets Manager and SQS from `sdk` (which honours
    /// `AWS_ENDPOINT_URL`), the system clock.
    pub fn from_aws(
        sdk: &aws_config::SdkConfig,
        http: reqwest::Client,
    ) -> Result<Self, ConfigError> {
        let lookup: Lookup = Arc::new(lambda_kit::config::env_lookup());
        let clock: Arc<dyn Clock> = Arc::new(lambda_kit::SystemClock);
        let secrets = Config::from_lookup(|name| lookup(name))?
            .cls
            .secret_store(sdk, Arc::clone(&clock));
        Self::new(lookup, secrets, aws_sdk_sqs::Client::new(sdk), http, clock)
    }

    /// Loads the secrets and builds the API clients.
    pub async fn deps(&self) -> Result<Deps, StartupError> {
        let settings =
            Settings::load(self.secrets.as_ref(), &self.config.cls.secrets, true).await?;
        let clients = clients(&self.config, &self.http, &self.clock);
        let spoke: Arc<dyn SpokeApi> = clients.spoke(settings.spoke.api_key.clone())?;
        let github = clients.github(&settings.github)?;
        Ok(Deps {
            config: Arc::clone(&self.config),
            settings: Arc::new(settings),
            spoke,
            github,
            queue: Arc::clone(&self.queue),
            clock: Arc::clone(&self.clock),
        })
    }

    /// Today (UTC), or `CLS_FAKE_TODAY`.
    pub fn today(&self) -> NaiveDate {
        today(&self.config, self.clock.as_ref())
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
