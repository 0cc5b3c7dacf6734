//! Configuration, read and validated once per execution environment (README, "Configuration").

use std::collections::BTreeMap;
use std::time::Duration;

use lambda_kit::config::{ConfigError, ConfigReader, env_lookup};
use url::Url;

/// The production Spoke API base URL.
pub const DEFAULT_SPOKE_BASE_URL: &str = "https://api.askspoke.com/api/v1";

/// What to do with teams whose delegation is not `SPECIFIC_USER` (README, "Behaviour").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyPolicy {
    /// Leave `ROUND_ROBIN`, `SMART_ASSIGNMENT` and unknown strategies alone (default).
    Respect,
    /// Force `SPECIFIC_USER`.
    Override,
}

/// The service configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `ONCALL_SECRET_ID` (required): the Secrets Manager name or ARN of the service's JSON secret.
    pub secret_id: String,
    /// `SPOKE_BASE_URL`, default `https://api.askspoke.com/api/v1`; https unless loopback.
    pub spoke_base_url: Url,
    /// `ONCALL_SPOKE_ORG` (required): org subdomain used in team links.
    pub spoke_org: String,
    /// `ONCALL_IT_CHANNEL`, default `#alerts_it`.
    pub it_channel: String,
    /// `ONCALL_BOT_EMAILS`: comma-separated, stored lower-cased; default empty.
    pub bot_emails: Vec<String>,
    /// `ONCALL_DRY_RUN`, default `false`.
    pub dry_run: bool,
    /// `ONCALL_STRATEGY_POLICY`: `respect` (default) or `override`.
    pub strategy_policy: StrategyPolicy,
    /// `ONCALL_TEAM_IDS`: JSON object, Spoke team name → team id; default `{}`.
    pub team_ids: BTreeMap<String, String>,
    /// `ONCALL_TEAM_CACHE_TTL_SECS`, default 3600.
    pub team_cache_ttl: Duration,
    /// `ONCALL_SECRET_TTL_SECS`, default 900.
    pub secret_ttl: Duration,
    /// `ONCALL_MAX_EVENT_AGE_SECS`, default 7200; `None` (value 0) disables the staleness guard.
    pub max_event_age: Option<Duration>,
    /// `ONCALL_ALERT_DEDUP_TTL_SECS`, default 3600.
    pub alert_dedup_ttl: Duration,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup())
    }

    /// Reads the configuration from any lookup (tests and the demo pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let r = ConfigReader::new(lookup);
        let secret_id = r.required("ONCALL_SECRET_ID")?;
        let spoke_base_url = r.base_url(&["SPOKE_BASE_URL"], DEFAULT_SPOKE_BASE_URL)?;
        let spoke_org = r.required("ONCALL_SPOKE_ORG")?;
        if !spoke_org
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(ConfigError::new(
                "ONCALL_SPOKE_ORG",
                "must be a subdomain (letters, digits, hyphens)",
            ));
        }
        let it_channel = r
            .optional("ONCALL_IT_CHANNEL")
            .unwrap_or_else(|| "#alerts_it".to_owned());
        let bot_emails = r
            .list("ONCALL_BOT_EMAILS")
            .into_iter()
            .map(|e| e.to_lowercase())
            .collect();
        let strategy_policy = match r
            .optional("ONCALL_STRATEGY_POLICY")
            .map(|p| p.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("respect") => StrategyPolicy::Respect,
            Some("override") => StrategyPolicy::Override,
            Some(other) => {
                return Err(ConfigError::new(
                    "ONCALL_STRATEGY_POLICY",
                    format!("expected respect or override, got {other:?}"),
                ));
            }
        };
        let team_ids = match r.optional("ONCALL_TEAM_IDS") {
            None => BTreeMap::new(),
            Some(raw) => parse_team_ids(&raw)
                .map_err(|reason| ConfigError::new("ONCALL_TEAM_IDS", reason))?,
        };
        let max_event_age = r.secs_or("ONCALL_MAX_EVENT_AGE_SECS", 7200)?;
        Ok(Self {
            secret_id,
            spoke_base_url,
            spoke_org,
            it_channel,
            bot_emails,
            dry_run: r.bool_or("ONCALL_DRY_RUN", false)?,
            strategy_policy,
            team_ids,
            team_cache_ttl: r.secs_or("ONCALL_TEAM_CACHE_TTL_SECS", 3600)?,
            secret_ttl: r.secs_or("ONCALL_SECRET_TTL_SECS", 900)?,
            max_event_age: (!max_event_age.is_zero()).then_some(max_event_age),
            alert_dedup_ttl: r.secs_or("ONCALL_ALERT_DEDUP_TTL_SECS", 3600)?,
        })
    }

    /// The configured team id for a Spoke team name: exact name first, then case-insensitively (trimmed).
    pub fn configured_team_id(&self, name: &str) -> Option<&str> {
        let name = name.trim();
        self.team_ids
            .get(name)
            .or_else(|| {
                self.team_ids
                    .iter()
                    .find(|(k, _)| k.to_lowercase() == name.to_lowercase())
                    .map(|(_, v)| v)
            })
            .map(String::as_str)
    }

    /// True when `email` is a configured bot or service account (case-insensitive).
    pub fn is_bot(&self, email: &str) -> bool {
        let email = email.trim().to_lowercase();
        !email.is_empty() && self.bot_emails.contains(&email)
    }
}

fn parse_team_ids(raw: &str) -> Result<BTreeMap<String, String>, String> {
    let value: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| format!("not a JSON object: {e}"))?;
    let object = value
        .as_object()
        .ok_or_else(|| "must be a JSON object of team name to team id".to_owned())?;
    object
        .iter()
        .map(|(name, id)| match id.as_str().map(str::trim) {
            Some(id) if !id.is_empty() && !name.trim().is_empty() => {
                Ok((name.trim().to_owned(), id.to_owned()))
            }
            _ => Err(format!("team {name:?} must map to a non-empty string id")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use lambda_kit::config::pairs_lookup;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(pairs_lookup(pairs))
    }

    #[test]
    fn defaults_apply_when_only_the_required_values_are_set() {
        let c = config(&[
            ("ONCALL_SECRET_ID", "oncall-spoke"),
            ("ONCALL_SPOKE_ORG", "example"),
        ])
        .unwrap();
        assert_eq!(c.secret_id, "oncall-spoke");
        assert_eq!(c.spoke_base_url.as_str(), "https://api.askspoke.com/api/v1");
        assert_eq!(c.it_channel, "#alerts_it");
        assert!(c.bot_emails.is_empty());
        assert!(!c.dry_run);
        assert_eq!(c.strategy_policy, StrategyPolicy::Respect);
        assert!(c.team_ids.is_empty());
        assert_eq!(c.team_cache_ttl, Duration::from_secs(3600));
        assert_eq!(c.secret_ttl, Duration::from_secs(900));
        assert_eq!(c.max_event_age, Some(Duration::from_secs(7200)));
        assert_eq!(c.alert_dedup_ttl, Duration::from_secs(3600));
    }

    #[test]
    fn every_variable_is_parsed_into_its_type() {
        let c = config(&[
            (
                "ONCALL_SECRET_ID",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:oncall-spoke",
            ),
            ("ONCALL_SPOKE_ORG", "example"),
            ("SPOKE_BASE_URL", "http://127.0.0.1:8800/spoke/api/v1/"),
            ("ONCALL_IT_CHANNEL", "#it-ops"),
            ("ONCALL_BOT_EMAILS", "Bot@Example.com, svc@example.com"),
            ("ONCALL_DRY_RUN", "true"),
            ("ONCALL_STRATEGY_POLICY", "Override"),
            ("ONCALL_TEAM_IDS", r#"{"IT": "5cb65407f38ee4000743e945"}"#),
            ("ONCALL_MAX_EVENT_AGE_SECS", "0"),
        ])
        .unwrap();
        assert!(c.secret_id.ends_with(":secret:oncall-spoke"));
        assert_eq!(
            c.spoke_base_url.as_str(),
            "http://127.0.0.1:8800/spoke/api/v1"
        );
        assert_eq!(c.it_channel, "#it-ops");
        assert!(c.is_bot("bot@example.COM"));
        assert!(!c.is_bot("alice@example.com"));
        assert!(c.dry_run);
        assert_eq!(c.strategy_policy, StrategyPolicy::Override);
        assert_eq!(c.configured_team_id("it"), Some("5cb65407f38ee4000743e945"));
        assert_eq!(c.max_event_age, None);
    }

    #[test]
    fn invalid_values_fail_naming_the_variable() {
        let base = [("ONCALL_SECRET_ID", "s"), ("ONCALL_SPOKE_ORG", "example")];
        for (var, value) in [
            ("ONCALL_STRATEGY_POLICY", "sometimes"),
            ("ONCALL_TEAM_IDS", "[1]"),
            ("ONCALL_TEAM_IDS", r#"{"IT": ""}"#),
            ("ONCALL_DRY_RUN", "perhaps"),
            ("ONCALL_MAX_EVENT_AGE_SECS", "-1"),
            ("SPOKE_BASE_URL", "http://spoke.example.com/api/v1"),
            ("ONCALL_SPOKE_ORG", "ex ample"),
        ] {
            let mut pairs = base.to_vec();
            pairs.retain(|(k, _)| *k != var);
            pairs.push((var, value));
            let err = config(&pairs).unwrap_err();
            assert_eq!(err.var, var, "{var}={value}");
        }
        assert_eq!(
            config(&[("ONCALL_SPOKE_ORG", "example")]).unwrap_err().var,
            "ONCALL_SECRET_ID"
        );
        assert_eq!(
            config(&[("ONCALL_SECRET_ID", "s")]).unwrap_err().var,
            "ONCALL_SPOKE_ORG"
        );
    }
}
