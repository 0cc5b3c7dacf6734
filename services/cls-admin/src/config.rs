//! Configuration read once at cold start; the variables are listed in the README's "Environment" table.

use chrono::NaiveDate;
use cls_wiring::config::{ApiUrls, ClsConfig};
use lambda_kit::config::{ConfigError, EnvReader};

/// What `cls-admin` reads from the environment. Ids and URLs only; secret values come from Secrets Manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CLS_STAGE` (required: `testing`, `staging` or `production`), `CLS_SECRETS_TTL_SECONDS` (default 300)
    /// and the secret ids: `CLS_GITHUB_SECRET_ID`, `CLS_SLACK_SECRET_ID`, `CLS_ALERTS_SECRET_ID` (else the old
    /// layout's `cls/slack` URL), `CLS_SPOKE_SECRET_ID`, `CLS_IDENTITY_SECRET_ID` (optional secret), with the
    /// `cls/…` defaults.
    pub cls: ClsConfig,
    /// `SPOKE_BASE_URL` (alias `CLS_SPOKE_API_URL`) and `GITHUB_API_BASE_URL` (alias `CLS_GITHUB_API_URL`).
    pub api: ApiUrls,
    /// `CLS_QUEUE_URL` (required): the FIFO queue every mutating command writes to.
    pub queue_url: String,
    /// `CLS_FAKE_TODAY` (`YYYY-MM-DD`, unset by default): the date the commands treat as today; refused when
    /// `CLS_STAGE` is `production`.
    pub fake_today: Option<NaiveDate>,
    /// `CLS_OPERATOR`, else `USER` / `USERNAME`: who runs the command (named in `extend`'s ticket message);
    /// `--operator` overrides it.
    pub operator: Option<String>,
}

lambda_kit::config_entry_points!(Config);

impl Config {
    /// Reads the stage, the secret ids and TTL, the queue URL, the API base URLs, the test clock and the
    /// operator.
    fn from_reader(env: &EnvReader<'_>) -> Result<Self, ConfigError> {
        let cls = ClsConfig::from_reader(env)?;
        Ok(Self {
            fake_today: cls_core::review::fake_today(env, &cls.stage)?,
            queue_url: env.required("CLS_QUEUE_URL")?,
            api: ApiUrls::from_reader(env)?,
            operator: env
                .first_of(&["CLS_OPERATOR", "USER", "USERNAME"])
                .filter(|s| !s.trim().is_empty()),
            cls,
        })
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn stage_and_queue_are_required_and_defaults_apply() {
        assert_eq!(Config::from_pairs(&[]).unwrap_err().var, "CLS_STAGE");
        assert_eq!(
            Config::from_pairs(&[("CLS_STAGE", "testing")])
                .unwrap_err()
                .var,
            "CLS_QUEUE_URL"
        );
        let c = Config::from_pairs(&[
            ("CLS_STAGE", "testing"),
            ("CLS_QUEUE_URL", "http://q"),
            ("CLS_OPERATOR", "jane"),
            ("USER", "root"),
        ])
        .unwrap();
        assert_eq!(c.cls.secrets.spoke, "cls/spoke");
        assert_eq!(c.cls.secrets.alerts, "cls/alerts");
        assert_eq!(c.operator.as_deref(), Some("jane"));
        assert_eq!(c.api.github.as_str(), "https://api.github.com/");
    }

    #[test]
    fn a_fake_today_is_refused_in_production() {
        let c = Config::from_pairs(&[
            ("CLS_STAGE", "testing"),
            ("CLS_QUEUE_URL", "q"),
            ("CLS_FAKE_TODAY", "2027-01-02"),
        ])
        .unwrap();
        assert_eq!(c.fake_today, NaiveDate::from_ymd_opt(2027, 1, 2));
        let err = Config::from_pairs(&[
            ("CLS_STAGE", "production"),
            ("CLS_QUEUE_URL", "q"),
            ("CLS_FAKE_TODAY", "2027-01-02"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "CLS_FAKE_TODAY");
    }
}
