//! Configuration: the same environment variables as the CLS services (cls.md §11), read once.

use std::time::Duration;

use chrono::NaiveDate;
use cls_core::settings::SecretIds;
use lambda_kit::config::{ConfigError, ConfigReader, env_lookup};
use url::Url;

/// What `cls-admin` reads from the environment. Ids and URLs only; secret values come from Secrets Manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CLS_STAGE` (required): `testing`, `staging` or `production`.
    pub stage: String,
    /// `CLS_QUEUE_URL` (required): the FIFO queue every mutating command writes to.
    pub queue_url: String,
    /// The secret ids: `CLS_GITHUB_SECRET_ID`, `CLS_SLACK_SECRET_ID`, `CLS_ALERTS_SECRET_ID` (else the old
    /// layout's `cls/slack` URL), `CLS_SPOKE_SECRET_ID`, `CLS_IDENTITY_SECRET_ID` (optional secret), with the
    /// `cls/…` defaults.
    pub secrets: SecretIds,
    /// `SPOKE_BASE_URL` (alias `CLS_SPOKE_API_URL`), default `https://api.askspoke.com/api/v1`.
    pub spoke_base_url: Url,
    /// `GITHUB_API_BASE_URL` (alias `CLS_GITHUB_API_URL`), default `https://api.github.com`.
    pub github_base_url: Url,
    /// `CLS_SECRETS_TTL_SECONDS` (default 300).
    pub secrets_ttl: Duration,
    /// `CLS_FAKE_TODAY` (`YYYY-MM-DD`, unset by default): the date the commands treat as today; refused when
    /// `CLS_STAGE` is `production`.
    pub fake_today: Option<NaiveDate>,
    /// `CLS_OPERATOR`, else `USER` / `USERNAME`: who runs the command (named in `extend`'s ticket message);
    /// `--operator` overrides it.
    pub operator: Option<String>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup())
    }

    /// Reads any lookup (tests pass a map). Canonical names win over the `CLS_` aliases.
    pub fn from_lookup<F: Fn(&str) -> Option<String>>(lookup: F) -> Result<Self, ConfigError> {
        let env = ConfigReader::new(lookup);
        let stage = env.required("CLS_STAGE")?;
        let fake_today =
            match env.optional("CLS_FAKE_TODAY") {
                None => None,
                Some(_) if stage.eq_ignore_ascii_case("production") => {
                    return Err(ConfigError::new(
                        "CLS_FAKE_TODAY",
                        "is refused when CLS_STAGE is production",
                    ));
                }
                Some(raw) => Some(cls_core::dates::parse_date(&raw).ok_or_else(|| {
                    ConfigError::new("CLS_FAKE_TODAY", "is not a YYYY-MM-DD date")
                })?),
            };
        Ok(Self {
            queue_url: env.required("CLS_QUEUE_URL")?,
            secrets: SecretIds::from_reader(&env),
            spoke_base_url: env.base_url(
                &["SPOKE_BASE_URL", "CLS_SPOKE_API_URL"],
                spoke_client::DEFAULT_BASE_URL,
            )?,
            github_base_url: env.base_url(
                &["GITHUB_API_BASE_URL", "CLS_GITHUB_API_URL"],
                "https://api.github.com",
            )?,
            secrets_ttl: env.secs_or("CLS_SECRETS_TTL_SECONDS", 300)?,
            fake_today,
            operator: env
                .first_of(&["CLS_OPERATOR", "USER", "USERNAME"])
                .filter(|s| !s.trim().is_empty()),
            stage,
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
    fn stage_and_queue_are_required_and_defaults_apply() {
        assert_eq!(config(&[]).unwrap_err().var, "CLS_STAGE");
        assert_eq!(
            config(&[("CLS_STAGE", "testing")]).unwrap_err().var,
            "CLS_QUEUE_URL"
        );
        let c = config(&[
            ("CLS_STAGE", "testing"),
            ("CLS_QUEUE_URL", "http://q"),
            ("CLS_OPERATOR", "jane"),
            ("USER", "root"),
        ])
        .unwrap();
        assert_eq!(c.secrets.spoke, "cls/spoke");
        assert_eq!(c.secrets.alerts, "cls/alerts");
        assert_eq!(c.operator.as_deref(), Some("jane"));
        assert_eq!(c.github_base_url.as_str(), "https://api.github.com/");
    }

    #[test]
    fn a_fake_today_is_refused_in_production() {
        let c = config(&[
            ("CLS_STAGE", "testing"),
            ("CLS_QUEUE_URL", "q"),
            ("CLS_FAKE_TODAY", "2027-01-02"),
        ])
        .unwrap();
        assert_eq!(c.fake_today, NaiveDate::from_ymd_opt(2027, 1, 2));
        let err = config(&[
            ("CLS_STAGE", "production"),
            ("CLS_QUEUE_URL", "q"),
            ("CLS_FAKE_TODAY", "2027-01-02"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "CLS_FAKE_TODAY");
    }
}
