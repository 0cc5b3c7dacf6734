//! The environment every CLS binary reads the same way (docs/architecture.md, "CLS secrets"): [`ClsConfig`] (stage, secret ids, secret
//! cache TTL) for all four, [`ApiUrls`] (Spoke and GitHub base URLs) for the ones calling those APIs. Each
//! service's `Config` embeds them and reads only its own variables besides.

use std::sync::Arc;
use std::time::Duration;

use cls_core::settings::SecretIds;
use lambda_kit::Clock;
use lambda_kit::config::{ConfigError, ConfigReader};
use secrets::SecretStore;
use url::Url;

pub use cls_core::review::{PRODUCTION, is_production};

/// What every CLS binary reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClsConfig {
    /// `CLS_STAGE` (required): `testing`, `staging` or `production`; the `Stage` metric dimension and alert
    /// text.
    pub stage: String,
    /// The six `CLS_*_SECRET_ID` variables with their `cls/…` defaults ([`SecretIds`]); each binary reads only
    /// the secrets its IAM grants.
    pub secrets: SecretIds,
    /// `CLS_SECRETS_TTL_SECONDS` (default 300): secrets, and what is built from them, are re-read after it.
    pub secrets_ttl: Duration,
}

impl ClsConfig {
    /// Reads `CLS_STAGE`, the secret ids and `CLS_SECRETS_TTL_SECONDS`.
    pub fn from_reader<F: Fn(&str) -> Option<String>>(
        env: &ConfigReader<F>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            stage: env.required("CLS_STAGE")?,
            secrets: SecretIds::from_reader(env),
            secrets_ttl: env.secs_or("CLS_SECRETS_TTL_SECONDS", 300)?,
        })
    }

    /// True in the production stage (no test clock there).
    pub fn is_production(&self) -> bool {
        is_production(&self.stage)
    }

    /// The production secret store: Secrets Manager from `sdk` (honours `AWS_ENDPOINT_URL`), cached for
    /// `secrets_ttl`.
    pub fn secret_store(
        &self,
        sdk: &aws_config::SdkConfig,
        clock: Arc<dyn Clock>,
    ) -> Arc<dyn SecretStore> {
        Arc::new(
            secrets::SecretsClient::new(aws_sdk_secretsmanager::Client::new(sdk), clock)
                .with_ttl(self.secrets_ttl),
        )
    }
}

/// The API base URLs of the binaries that call Spoke and GitHub (canonical names win over the `CLS_` aliases;
/// a plain-http URL is refused unless it is loopback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiUrls {
    /// `SPOKE_BASE_URL` (alias `CLS_SPOKE_API_URL`), default `https://api.askspoke.com/api/v1`.
    pub spoke: Url,
    /// `GITHUB_API_BASE_URL` (alias `CLS_GITHUB_API_URL`), default `https://api.github.com`.
    pub github: Url,
}

/// The GitHub API's default base URL.
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";

impl ApiUrls {
    /// Reads both base URLs.
    pub fn from_reader<F: Fn(&str) -> Option<String>>(
        env: &ConfigReader<F>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            spoke: env.base_url(
                &["SPOKE_BASE_URL", "CLS_SPOKE_API_URL"],
                spoke_client::DEFAULT_BASE_URL,
            )?,
            github: env.base_url(
                &["GITHUB_API_BASE_URL", "CLS_GITHUB_API_URL"],
                DEFAULT_GITHUB_API_URL,
            )?,
        })
    }
}
