//! Configuration read once at cold start; the variables are listed in the README's "Environment" table.

use chrono::NaiveDate;
use cls_core::ReviewConfig;
use cls_wiring::config::{ApiUrls, ClsConfig};
use lambda_kit::config::{ConfigError, EnvReader};

pub use cls_wiring::config::PRODUCTION;

/// The sweep's configuration: ids, URLs and limits; secret values come from Secrets Manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CLS_STAGE` (required: `testing`, `staging` or `production`), `CLS_SECRETS_TTL_SECONDS` (default 300)
    /// and the secret ids: `CLS_GITHUB_SECRET_ID` (default `cls/github`: orgs, App keys, `activity_source`),
    /// `CLS_SPOKE_SECRET_ID` (default `cls/spoke`), `CLS_ALERTS_SECRET_ID` (default `cls/alerts`: the IT alert
    /// webhook) and `CLS_SLACK_SECRET_ID` (default `cls/slack`: read only for the alert webhook while
    /// `cls/alerts` does not exist). The other ids are not read by the sweep.
    pub cls: ClsConfig,
    /// `SPOKE_BASE_URL` (alias `CLS_SPOKE_API_URL`) and `GITHUB_API_BASE_URL` (alias `CLS_GITHUB_API_URL`).
    pub api: ApiUrls,
    /// `CLS_QUEUE_URL` (required): the FIFO queue the reviews go to.
    pub queue_url: String,
    /// `CLS_NOTIFY_DAYS` (default `21,7,3`), `CLS_INACTIVITY_DAYS` (default 90, 0 disables) and
    /// `CLS_INACTIVITY_WARN_DAYS` (default 7), read as `cls-queue` reads them.
    pub review: ReviewConfig,
    /// `CLS_SWEEP_MAX_ACTIONS` (default 500): messages per invocation.
    pub max_actions: usize,
    /// `CLS_SWEEP_MAX_CONTINUATIONS` (default 5): self-invocations per run.
    pub max_continuations: u32,
    /// `CLS_SWEEP_MAX_PAGES` (default 2,000, i.e. 200,000 open tickets): pages of 100 open tickets one
    /// invocation may read; a longer listing fails the run (alerted) rather than sweeping part of it.
    pub max_pages: u32,
    /// `CLS_SWEEP_MAX_REMOVALS` (default 25): the safety brake.
    pub max_removals: usize,
    /// `CLS_DRY_RUN` (default false): plan only.
    pub dry_run: bool,
    /// `CLS_FAKE_TODAY` (unset): the run date for tests; refused when the stage is `production`.
    pub fake_today: Option<NaiveDate>,
    /// `CLS_ACTIVITY_LOOKBACK_DAYS` (default 2): the activity query starts this many days before the run date
    /// (the previous daily run's date minus one day).
    pub activity_lookback_days: u32,
    /// `AWS_LAMBDA_FUNCTION_NAME` (set by Lambda): the function a continuation invokes.
    pub function_name: Option<String>,
}

lambda_kit::config_entry_points!(Config);

impl Config {
    /// Reads the stage, the secret ids and TTL, the queue URL, the API base URLs, the review thresholds, the
    /// sweep's limits and the test clock.
    fn from_reader(env: &EnvReader<'_>) -> Result<Self, ConfigError> {
        let cls = ClsConfig::from_reader(env)?;
        let fake_today = cls_core::review::fake_today(env, &cls.stage)?;
        let review = ReviewConfig::from_reader(env)?;
        let max_actions: usize = env.parse_or("CLS_SWEEP_MAX_ACTIONS", 500)?;
        if max_actions == 0 {
            return Err(ConfigError::new(
                "CLS_SWEEP_MAX_ACTIONS",
                "must be positive",
            ));
        }
        let max_pages: u32 = env.parse_or("CLS_SWEEP_MAX_PAGES", 2_000)?;
        if max_pages == 0 {
            return Err(ConfigError::new("CLS_SWEEP_MAX_PAGES", "must be positive"));
        }
        Ok(Self {
            queue_url: env.required("CLS_QUEUE_URL")?,
            api: ApiUrls::from_reader(env)?,
            review,
            max_actions,
            max_continuations: env.parse_or("CLS_SWEEP_MAX_CONTINUATIONS", 5)?,
            max_pages,
            max_removals: env.parse_or("CLS_SWEEP_MAX_REMOVALS", 25)?,
            dry_run: env.bool_or("CLS_DRY_RUN", false)?,
            fake_today,
            activity_lookback_days: env.parse_or("CLS_ACTIVITY_LOOKBACK_DAYS", 2)?,
            function_name: env.optional("AWS_LAMBDA_FUNCTION_NAME"),
            cls,
        })
    }

    /// True in the production stage (no test clock there).
    pub fn is_production(&self) -> bool {
        self.cls.is_production()
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let all: Vec<(&str, &str)> = [("CLS_QUEUE_URL", "http://q")]
            .into_iter()
            .chain(pairs.iter().copied())
            .collect();
        Config::from_pairs(&all)
    }

    #[test]
    fn defaults_follow_the_spec() {
        let c = config(&[("CLS_STAGE", "testing")]).unwrap();
        assert_eq!(c.max_actions, 500);
        assert_eq!(c.max_continuations, 5);
        assert_eq!(
            c.max_pages, 2_000,
            "100,000 open tickets fit with room to spare"
        );
        assert_eq!(c.max_removals, 25);
        assert!(!c.dry_run);
        assert_eq!(c.review, ReviewConfig::default());
        assert_eq!(c.cls.secrets.alerts, "cls/alerts");
        assert_eq!(c.fake_today, None);
    }

    #[test]
    fn the_fake_clock_is_refused_in_production_and_parsed_elsewhere() {
        let err = config(&[
            ("CLS_STAGE", "production"),
            ("CLS_FAKE_TODAY", "2027-01-01"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "CLS_FAKE_TODAY");
        let c = config(&[("CLS_STAGE", "staging"), ("CLS_FAKE_TODAY", "2027-01-01")]).unwrap();
        assert_eq!(c.fake_today, cls_core::dates::parse_date("2027-01-01"));
        let err = config(&[("CLS_STAGE", "staging"), ("CLS_FAKE_TODAY", "tomorrow")]).unwrap_err();
        assert_eq!(err.var, "CLS_FAKE_TODAY");
    }

    #[test]
    fn limits_and_thresholds_are_read_and_checked() {
        let c = config(&[
            ("CLS_STAGE", "testing"),
            ("CLS_SWEEP_MAX_ACTIONS", "10"),
            ("CLS_NOTIFY_DAYS", "14, 2"),
            ("CLS_DRY_RUN", "true"),
        ])
        .unwrap();
        assert_eq!(c.max_actions, 10);
        assert_eq!(c.review.notify_days, vec![14, 2]);
        assert!(c.dry_run);
        assert_eq!(
            config(&[("CLS_STAGE", "t"), ("CLS_SWEEP_MAX_ACTIONS", "0")])
                .unwrap_err()
                .var,
            "CLS_SWEEP_MAX_ACTIONS"
        );
        assert_eq!(
            config(&[("CLS_STAGE", "t"), ("CLS_SWEEP_MAX_PAGES", "7")])
                .unwrap()
                .max_pages,
            7
        );
        for bad in ["0", "-1", "many"] {
            assert_eq!(
                config(&[("CLS_STAGE", "t"), ("CLS_SWEEP_MAX_PAGES", bad)])
                    .unwrap_err()
                    .var,
                "CLS_SWEEP_MAX_PAGES"
            );
        }
        assert_eq!(
            config(&[("CLS_STAGE", "t"), ("CLS_NOTIFY_DAYS", "x")])
                .unwrap_err()
                .var,
            "CLS_NOTIFY_DAYS"
        );
    }
}
