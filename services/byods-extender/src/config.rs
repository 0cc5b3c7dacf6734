//! Typed configuration (README, "Configuration"), parsed once at start-up from any lookup function.

use std::time::Duration;

use lambda_kit::config::{ConfigError, ConfigReader};
use url::Url;

/// Default Webex API base URL.
pub const DEFAULT_WEBEX_API_BASE_URL: &str = "https://webexapis.com/v1";

/// When a data source is extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtendMode {
    /// Only when its remaining life is within the window.
    Window,
    /// On every run.
    Always,
}

impl ExtendMode {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Window => "window",
            Self::Always => "always",
        }
    }
}

/// How fresh nonces are generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceFormat {
    /// A random UUID v4.
    Uuid,
    /// 32 random hex characters.
    Hex32,
}

/// The service configuration. Every field names its variable and default.
#[derive(Debug, Clone)]
pub struct Config {
    /// `BYODS_SECRET_ID` (alias `SECRET_NAME`), required: the credentials secret name or ARN.
    pub secret_id: String,
    /// `BYODS_DATA_SOURCE_IDS` (alias `DATA_SOURCE_ID`), default all of the app's: comma-separated ids.
    pub data_source_ids: Vec<String>,
    /// `BYODS_EXTEND_MODE`, default `window`.
    pub extend_mode: ExtendMode,
    /// `BYODS_EXTEND_WINDOW_MINUTES`, default 180; at least twice `BYODS_SCHEDULE_MINUTES` (default 60).
    pub extend_window: chrono::Duration,
    /// `BYODS_TOKEN_LIFETIME_MINUTES` (alias `TOKEN_LIFETIME_MINUTES`), 1–1440, default: keep the source's value.
    pub token_lifetime_minutes: Option<u32>,
    /// `BYODS_NONCE_FORMAT`, `uuid` (default) or `hex32`.
    pub nonce_format: NonceFormat,
    /// `BYODS_DRY_RUN`, default false: no PUTs (rotated credentials are still saved).
    pub dry_run: bool,
    /// `BYODS_SERVICE_APP_REFRESH`, default true: refresh the service-app token before minting a new one.
    pub service_app_refresh: bool,
    /// `BYODS_INTEGRATION_REFRESH_BEFORE_HOURS`, default 168.
    pub integration_refresh_before: chrono::Duration,
    /// `BYODS_TOKEN_SAFETY_MARGIN_SECONDS`, default 300.
    pub token_safety_margin: chrono::Duration,
    /// `BYODS_REFRESH_TOKEN_WARN_DAYS`, default 14.
    pub refresh_token_warn: chrono::Duration,
    /// `BYODS_HTTP_TIMEOUT_SECONDS`, default 10.
    pub http_timeout: Duration,
    /// `BYODS_HTTP_CONNECT_TIMEOUT_SECONDS`, default 3.
    pub http_connect_timeout: Duration,
    /// `BYODS_MAX_ATTEMPTS`, default 3.
    pub max_attempts: u32,
    /// `BYODS_MAX_RETRY_AFTER_SECONDS`, default 60.
    pub max_retry_after: Duration,
    /// `BYODS_CONCURRENCY`, default 4.
    pub concurrency: usize,
    /// `BYODS_METRICS_NAMESPACE`, default `WebexBYODS`.
    pub metrics_namespace: String,
    /// `BYODS_SLACK_SECRET_ID`, default unset (no Slack alerts).
    pub slack_secret_id: Option<String>,
    /// `WEBEX_API_BASE_URL`, default `https://webexapis.com/v1` (https unless loopback).
    pub webex_base_url: Url,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(lambda_kit::env_lookup())
    }

    /// Reads any lookup function (tests and the demo pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let r = ConfigReader::new(lookup);
        let secret_id = r
            .first_of(&["BYODS_SECRET_ID", "SECRET_NAME"])
            .ok_or_else(|| ConfigError::new("BYODS_SECRET_ID", "is required but not set"))?;
        let ids_var = if r.optional("BYODS_DATA_SOURCE_IDS").is_some() {
            "BYODS_DATA_SOURCE_IDS"
        } else {
            "DATA_SOURCE_ID"
        };
        let data_source_ids = r.list(ids_var);
        let extend_mode = match r
            .optional("BYODS_EXTEND_MODE")
            .map(|m| m.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("window") => ExtendMode::Window,
            Some("always") => ExtendMode::Always,
            Some(other) => {
                return Err(ConfigError::new(
                    "BYODS_EXTEND_MODE",
                    format!("expected window or always, got {other:?}"),
                ));
            }
        };
        let schedule: i64 = r.parse_or("BYODS_SCHEDULE_MINUTES", 60)?;
        let window: i64 = r.parse_or("BYODS_EXTEND_WINDOW_MINUTES", 180)?;
        if window < 2 * schedule || window <= 0 {
            return Err(ConfigError::new(
                "BYODS_EXTEND_WINDOW_MINUTES",
                format!(
                    "must be at least twice BYODS_SCHEDULE_MINUTES ({schedule}) so a failed run leaves a retry"
                ),
            ));
        }
        let lifetime_var = if r.optional("BYODS_TOKEN_LIFETIME_MINUTES").is_some() {
            "BYODS_TOKEN_LIFETIME_MINUTES"
        } else {
            "TOKEN_LIFETIME_MINUTES"
        };
        let token_lifetime_minutes = match r.optional(lifetime_var) {
            None => None,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=1440).contains(&n) => Some(n),
                _ => {
                    return Err(ConfigError::new(
                        lifetime_var,
                        format!("must be a whole number from 1 to 1440, got {raw:?}"),
                    ));
                }
            },
        };
        let nonce_format = match r
            .optional("BYODS_NONCE_FORMAT")
            .map(|m| m.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("uuid") => NonceFormat::Uuid,
            Some("hex32") => NonceFormat::Hex32,
            Some(other) => {
                return Err(ConfigError::new(
                    "BYODS_NONCE_FORMAT",
                    format!("expected uuid or hex32, got {other:?}"),
                ));
            }
        };
        let max_attempts: u32 = r.parse_or("BYODS_MAX_ATTEMPTS", 3)?;
        if max_attempts == 0 {
            return Err(ConfigError::new("BYODS_MAX_ATTEMPTS", "must be at least 1"));
        }
        let concurrency: usize = r.parse_or("BYODS_CONCURRENCY", 4)?;
        if concurrency == 0 {
            return Err(ConfigError::new("BYODS_CONCURRENCY", "must be at least 1"));
        }
        let http_timeout = r.secs_or("BYODS_HTTP_TIMEOUT_SECONDS", 10)?;
        let http_connect_timeout = r.secs_or("BYODS_HTTP_CONNECT_TIMEOUT_SECONDS", 3)?;
        if http_timeout.is_zero() || http_connect_timeout.is_zero() {
            return Err(ConfigError::new(
                "BYODS_HTTP_TIMEOUT_SECONDS",
                "timeouts must be at least 1 second",
            ));
        }
        Ok(Self {
            secret_id,
            data_source_ids,
            extend_mode,
            extend_window: chrono::Duration::minutes(window),
            token_lifetime_minutes,
            nonce_format,
            dry_run: r.bool_or("BYODS_DRY_RUN", false)?,
            service_app_refresh: r.bool_or("BYODS_SERVICE_APP_REFRESH", true)?,
            integration_refresh_before: chrono::Duration::hours(
                r.parse_or("BYODS_INTEGRATION_REFRESH_BEFORE_HOURS", 168)?,
            ),
            token_safety_margin: chrono::Duration::seconds(
                r.parse_or("BYODS_TOKEN_SAFETY_MARGIN_SECONDS", 300)?,
            ),
            refresh_token_warn: chrono::Duration::days(
                r.parse_or("BYODS_REFRESH_TOKEN_WARN_DAYS", 14)?,
            ),
            http_timeout,
            http_connect_timeout,
            max_attempts,
            max_retry_after: r.secs_or("BYODS_MAX_RETRY_AFTER_SECONDS", 60)?,
            concurrency,
            metrics_namespace: r
                .optional("BYODS_METRICS_NAMESPACE")
                .unwrap_or_else(|| "WebexBYODS".to_owned()),
            slack_secret_id: r.optional("BYODS_SLACK_SECRET_ID"),
            webex_base_url: r.base_url(&["WEBEX_API_BASE_URL"], DEFAULT_WEBEX_API_BASE_URL)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(move |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_follow_the_spec_table() {
        let c = config(&[("BYODS_SECRET_ID", "webex-byods-credentials")]).unwrap();
        assert_eq!(c.extend_mode, ExtendMode::Window);
        assert_eq!(c.extend_window, chrono::Duration::minutes(180));
        assert_eq!(c.token_lifetime_minutes, None);
        assert_eq!(c.max_attempts, 3);
        assert_eq!(c.concurrency, 4);
        assert_eq!(c.metrics_namespace, "WebexBYODS");
        assert_eq!(c.webex_base_url.as_str(), "https://webexapis.com/v1");
        assert!(c.data_source_ids.is_empty());
    }

    #[test]
    fn the_legacy_variable_names_of_the_sample_work() {
        let c = config(&[
            ("SECRET_NAME", "legacy"),
            ("DATA_SOURCE_ID", "ds-1"),
            ("TOKEN_LIFETIME_MINUTES", "1440"),
        ])
        .unwrap();
        assert_eq!(c.secret_id, "legacy");
        assert_eq!(c.data_source_ids, vec!["ds-1"]);
        assert_eq!(c.token_lifetime_minutes, Some(1440));
    }

    #[test]
    fn a_missing_secret_id_or_a_lifetime_outside_1_to_1440_is_an_init_error() {
        assert_eq!(config(&[]).unwrap_err().var, "BYODS_SECRET_ID");
        for bad in ["0", "1441", "x"] {
            let e = config(&[
                ("BYODS_SECRET_ID", "s"),
                ("BYODS_TOKEN_LIFETIME_MINUTES", bad),
            ])
            .unwrap_err();
            assert_eq!(e.var, "BYODS_TOKEN_LIFETIME_MINUTES");
        }
    }

    #[test]
    fn a_window_shorter_than_two_runs_is_rejected() {
        let e = config(&[
            ("BYODS_SECRET_ID", "s"),
            ("BYODS_EXTEND_WINDOW_MINUTES", "90"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "BYODS_EXTEND_WINDOW_MINUTES");
    }
}
