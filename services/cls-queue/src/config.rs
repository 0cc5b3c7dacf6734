//! Configuration read once at cold start; the variables are listed in the README's "Environment" table.

use chrono::NaiveDate;
use cls_core::ReviewConfig;
use cls_wiring::config::{ApiUrls, ClsConfig};
use lambda_kit::config::{ConfigError, EnvReader};
use slack_notify::SlackEndpoints;

/// The consumer's configuration: ids and URLs only; secret values come from Secrets Manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CLS_STAGE` (required), the secret ids (`CLS_GITHUB_SECRET_ID`, `CLS_SLACK_SECRET_ID`,
    /// `CLS_SPOKE_SECRET_ID`, `CLS_IDENTITY_SECRET_ID` — a missing identity secret means an empty directory —
    /// and `CLS_ALERTS_SECRET_ID`: the IT alert webhook URL, taken from the old layout's Slack secret while it
    /// does not exist; the webhook's id is never read) and `CLS_SECRETS_TTL_SECONDS` (default 300: secrets
    /// and the settings built from them are re-read after it).
    pub cls: ClsConfig,
    /// `SPOKE_BASE_URL` (alias `CLS_SPOKE_API_URL`) and `GITHUB_API_BASE_URL` (alias `CLS_GITHUB_API_URL`).
    pub api: ApiUrls,
    /// `CLS_QUEUE_MAX_RECEIVES` (default 5): the queue's `maxReceiveCount`. A record that fails retryably on
    /// this receive goes to the DLQ next, so IT is alerted (`RetriesExhausted`).
    pub max_receives: u32,
    /// `CLS_NOTIFY_DAYS` (default `21,7,3`), `CLS_INACTIVITY_DAYS` (default 90, 0 disables) and
    /// `CLS_INACTIVITY_WARN_DAYS` (default 7): the thresholds `review` messages are re-decided with.
    pub review: ReviewConfig,
    /// `CLS_EXTENSION_DAYS` (default 90): the step of a Slack "Extend" click.
    pub extension_days: u32,
    /// `SLACK_API_BASE_URL` (alias `CLS_SLACK_API_URL`, default `https://slack.com/api`) and
    /// `SLACK_RESPONSE_URL_PREFIX` (default `https://hooks.slack.com/`; a click's `response_url` must start
    /// with it).
    pub slack: SlackEndpoints,
    /// `CLS_FAKE_TODAY` (`YYYY-MM-DD`, unset by default): the date clicks, imports and extensions are
    /// computed from; refused when `CLS_STAGE` is `production`.
    pub fake_today: Option<NaiveDate>,
}

lambda_kit::config_entry_points!(Config);

impl Config {
    /// Reads the stage, the secret ids and TTL, the API base URLs, the review thresholds, the Slack endpoints and
    /// the test clock.
    fn from_reader(env: &EnvReader<'_>) -> Result<Self, ConfigError> {
        let cls = ClsConfig::from_reader(env)?;
        Ok(Self {
            fake_today: cls_core::review::fake_today(env, &cls.stage)?,
            review: ReviewConfig::from_reader(env)?,
            extension_days: env.parse_or("CLS_EXTENSION_DAYS", 90)?,
            slack: SlackEndpoints::from_config(env)?,
            api: ApiUrls::from_reader(env)?,
            max_receives: env.parse_or("CLS_QUEUE_MAX_RECEIVES", 5)?,
            cls,
        })
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn canonical_base_urls_win_over_the_cls_aliases() {
        let c = Config::from_pairs(&[
            ("CLS_STAGE", "testing"),
            ("SPOKE_BASE_URL", "http://127.0.0.1:1/spoke/api/v1"),
            ("CLS_SPOKE_API_URL", "http://127.0.0.1:2/other"),
            ("CLS_GITHUB_API_URL", "http://127.0.0.1:3/github"),
        ])
        .unwrap();
        assert_eq!(c.api.spoke.as_str(), "http://127.0.0.1:1/spoke/api/v1");
        assert_eq!(c.api.github.as_str(), "http://127.0.0.1:3/github");
        assert_eq!(c.cls.secrets.spoke, "cls/spoke");
        assert_eq!(c.cls.secrets.alerts, "cls/alerts");
        assert_eq!(c.max_receives, 5);
    }

    #[test]
    fn lifecycle_settings_have_defaults_and_the_fake_clock_is_refused_in_production() {
        let c = Config::from_pairs(&[("CLS_STAGE", "testing"), ("CLS_FAKE_TODAY", "2027-04-21")])
            .unwrap();
        assert_eq!(c.review.notify_days, vec![21, 7, 3]);
        assert_eq!(c.extension_days, 90);
        assert_eq!(c.slack.response_url_prefix, "https://hooks.slack.com/");
        assert_eq!(
            c.fake_today.map(cls_core::dates::format_date).as_deref(),
            Some("2027-04-21")
        );
        let err = Config::from_pairs(&[
            ("CLS_STAGE", "production"),
            ("CLS_FAKE_TODAY", "2027-04-21"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "CLS_FAKE_TODAY");
    }

    #[test]
    fn a_plain_http_remote_base_url_and_a_missing_stage_are_refused() {
        assert_eq!(Config::from_pairs(&[]).unwrap_err().var, "CLS_STAGE");
        let err = Config::from_pairs(&[
            ("CLS_STAGE", "t"),
            ("GITHUB_API_BASE_URL", "http://example.com"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "GITHUB_API_BASE_URL");
    }
}
