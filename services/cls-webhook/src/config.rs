//! Configuration read once at cold start; the variables are listed in the README's "Environment" table.

use cls_wiring::config::ClsConfig;
use lambda_kit::config::{ConfigError, EnvReader};

/// Default body cap: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The webhook's configuration. Holds ids and limits only; secret values come from Secrets Manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CLS_STAGE` (required: `testing`, `staging` or `production`; the `Stage` metric dimension),
    /// `CLS_SECRETS_TTL_SECONDS` (default 300: secret cache lifetime) and the secret ids. The webhook reads
    /// `CLS_WEBHOOK_SECRET_ID` (default `cls/webhook`: org ids, App ids, webhook and Slack signing secrets) and
    /// `CLS_ALERTS_SECRET_ID` (default `cls/alerts`: the IT alert URL); `CLS_GITHUB_SECRET_ID` /
    /// `CLS_SLACK_SECRET_ID` only while those do not exist (old layout).
    pub cls: ClsConfig,
    /// `CLS_QUEUE_URL` (required): the FIFO queue URL.
    pub queue_url: String,
    /// `CLS_MAX_BODY_BYTES` (default 1048576): larger bodies get 413 before any hashing.
    pub max_body_bytes: usize,
}

lambda_kit::config_entry_points!(Config);

impl Config {
    /// Reads the stage, the secret ids and TTL, the queue URL and the body cap.
    fn from_reader(env: &EnvReader<'_>) -> Result<Self, ConfigError> {
        let cls = ClsConfig::from_reader(env)?;
        let max_body_bytes: usize = env.parse_or("CLS_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)?;
        if max_body_bytes == 0 {
            return Err(ConfigError::new("CLS_MAX_BODY_BYTES", "must be positive"));
        }
        Ok(Self {
            cls,
            queue_url: env.required("CLS_QUEUE_URL")?,
            max_body_bytes,
        })
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn defaults_apply_and_required_values_are_named() {
        let c =
            Config::from_pairs(&[("CLS_STAGE", "testing"), ("CLS_QUEUE_URL", "http://q")]).unwrap();
        assert_eq!(c.max_body_bytes, 1_048_576);
        assert_eq!(c.cls.secrets.webhook, "cls/webhook");
        assert_eq!(c.cls.secrets.alerts, "cls/alerts");
        assert_eq!(c.cls.secrets_ttl, std::time::Duration::from_secs(300));
        let err = Config::from_pairs(&[("CLS_STAGE", "testing")]).unwrap_err();
        assert_eq!(err.var, "CLS_QUEUE_URL");
        let err = Config::from_pairs(&[
            ("CLS_STAGE", "t"),
            ("CLS_QUEUE_URL", "q"),
            ("CLS_MAX_BODY_BYTES", "lots"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "CLS_MAX_BODY_BYTES");
    }
}
