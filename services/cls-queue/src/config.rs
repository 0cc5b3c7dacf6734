//! Configuration read once at cold start (cls.md §11, platform spec §5/§13).

use std::time::Duration;

use lambda_kit::config::{ConfigError, ConfigReader, env_lookup};
use url::Url;

/// The consumer's configuration: ids and URLs only; secret values come from Secrets Manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CLS_STAGE` (required): metric dimension and alert text.
    pub stage: String,
    /// `CLS_GITHUB_SECRET_ID` (default `cls/github`).
    pub github_secret_id: String,
    /// `CLS_SLACK_SECRET_ID` (default `cls/slack`).
    pub slack_secret_id: String,
    /// `CLS_SPOKE_SECRET_ID` (default `cls/spoke`).
    pub spoke_secret_id: String,
    /// `CLS_IDENTITY_SECRET_ID` (default `cls/identity`); a missing secret means an empty directory.
    pub identity_secret_id: String,
    /// `SPOKE_BASE_URL` (alias `CLS_SPOKE_API_URL`), default `https://api.askspoke.com/api/v1`.
    pub spoke_base_url: Url,
    /// `GITHUB_API_BASE_URL` (alias `CLS_GITHUB_API_URL`), default `https://api.github.com`.
    pub github_base_url: Url,
    /// `CLS_SECRETS_TTL_SECONDS` (default 300): secrets and the settings built from them are re-read after it.
    pub secrets_ttl: Duration,
    /// `CLS_QUEUE_MAX_RECEIVES` (default 5): the queue's `maxReceiveCount`. A record that fails retryably on
    /// this receive goes to the DLQ next, so IT is alerted (`RetriesExhausted`).
    pub max_receives: u32,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup())
    }

    /// Reads any lookup (tests and the demo pass a map). Canonical names win over the `CLS_` aliases.
    pub fn from_lookup<F: Fn(&str) -> Option<String>>(lookup: F) -> Result<Self, ConfigError> {
        let env = ConfigReader::new(lookup);
        let id = |var: &str, default: &str| env.optional(var).unwrap_or_else(|| default.to_owned());
        Ok(Self {
            stage: env.required("CLS_STAGE")?,
            github_secret_id: id("CLS_GITHUB_SECRET_ID", "cls/github"),
            slack_secret_id: id("CLS_SLACK_SECRET_ID", "cls/slack"),
            spoke_secret_id: id("CLS_SPOKE_SECRET_ID", "cls/spoke"),
            identity_secret_id: id("CLS_IDENTITY_SECRET_ID", "cls/identity"),
            spoke_base_url: env.base_url(
                &["SPOKE_BASE_URL", "CLS_SPOKE_API_URL"],
                spoke_client::DEFAULT_BASE_URL,
            )?,
            github_base_url: env.base_url(
                &["GITHUB_API_BASE_URL", "CLS_GITHUB_API_URL"],
                "https://api.github.com",
            )?,
            secrets_ttl: env.secs_or("CLS_SECRETS_TTL_SECONDS", 300)?,
            max_receives: env.parse_or("CLS_QUEUE_MAX_RECEIVES", 5)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use lambda_kit::config::map_lookup;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(map_lookup(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>(),
        ))
    }

    #[test]
    fn canonical_base_urls_win_over_the_cls_aliases() {
        let c = config(&[
            ("CLS_STAGE", "testing"),
            ("SPOKE_BASE_URL", "http://127.0.0.1:1/spoke/api/v1"),
            ("CLS_SPOKE_API_URL", "http://127.0.0.1:2/other"),
            ("CLS_GITHUB_API_URL", "http://127.0.0.1:3/github"),
        ])
        .unwrap();
        assert_eq!(c.spoke_base_url.as_str(), "http://127.0.0.1:1/spoke/api/v1");
        assert_eq!(c.github_base_url.as_str(), "http://127.0.0.1:3/github");
        assert_eq!(c.spoke_secret_id, "cls/spoke");
    }

    #[test]
    fn a_plain_http_remote_base_url_and_a_missing_stage_are_refused() {
        assert_eq!(config(&[]).unwrap_err().var, "CLS_STAGE");
        let err = config(&[
            ("CLS_STAGE", "t"),
            ("GITHUB_API_BASE_URL", "http://example.com"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "GITHUB_API_BASE_URL");
    }
}
