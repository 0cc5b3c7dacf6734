//! Configuration, read and validated once per execution environment (README, "Configuration").

use std::time::Duration;

use lambda_kit::config::{ConfigError, EnvReader};
use serde::Deserialize;
use url::Url;

/// The production PagerDuty REST API.
pub const DEFAULT_PAGERDUTY_API_URL: &str = "https://api.pagerduty.com";

/// What a team's on-call is read from: an escalation policy's level 1, or a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// The level-1 on-call of this escalation policy.
    EscalationPolicy(String),
    /// Whoever this schedule puts on call (at its lowest escalation level).
    Schedule(String),
}

impl Source {
    /// The PagerDuty id.
    pub fn id(&self) -> &str {
        match self {
            Self::EscalationPolicy(id) | Self::Schedule(id) => id,
        }
    }
}

/// One entry of `ONCALL_PD_TEAMS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMapping {
    /// Where the on-call is read.
    pub source: Source,
    /// The team's name (the event's `Team.name`).
    pub team: String,
    /// The Spoke team, as oncall-spoke's event expects it (`Team.spoke`: its name, or an id pinned in
    /// oncall-spoke's `ONCALL_TEAM_IDS`).
    pub spoke_team: String,
    /// The team's Slack channel (`Team.slack`), when it has one.
    pub slack_channel: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    escalation_policy_id: Option<String>,
    schedule_id: Option<String>,
    team: String,
    spoke_team: String,
    slack_channel: Option<String>,
}

/// The service configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `ONCALL_PD_SECRET_ID` (required): the Secrets Manager secret `{"api_key": "<read-only REST API key>"}`,
    /// optionally with `webhookUrl`, the Slack incoming webhook of the IT alerts.
    pub secret_id: String,
    /// `ONCALL_PD_TEAMS` (required): a JSON array of team mappings.
    pub teams: Vec<TeamMapping>,
    /// `ONCALL_EVENT_BUS_NAME` (required): the EventBridge bus the handoff events are put on.
    pub event_bus_name: String,
    /// `PAGERDUTY_API_URL`, default `https://api.pagerduty.com`; https unless loopback.
    pub pagerduty_api_url: Url,
    /// `ONCALL_PD_RECONCILE_HOUR_UTC`, default 6: the hour (0–23) of the daily reconcile.
    pub reconcile_hour_utc: u32,
    /// `ONCALL_PD_INTERVAL_MINUTES`, default 5: how often the schedule runs the function.
    pub interval: Duration,
    /// `ONCALL_PD_LOOKBACK_MINUTES`, default 60 (at least the interval): how far back a cold start looks for
    /// shift starts it cannot know were already handled.
    pub lookback: Duration,
    /// `ONCALL_PD_SECRET_TTL_SECS`, default 900: how long the secret is cached.
    pub secret_ttl: Duration,
    /// `ONCALL_PD_ALERT_REPEAT_SECS`, default 3600: an identical IT alert is sent at most once per this window.
    pub alert_repeat: Duration,
}

lambda_kit::config_entry_points!(Config);

impl Config {
    fn from_reader(env: &EnvReader<'_>) -> Result<Self, ConfigError> {
        let secret_id = env.required("ONCALL_PD_SECRET_ID")?;
        let teams = parse_teams(&env.required("ONCALL_PD_TEAMS")?)
            .map_err(|reason| ConfigError::new("ONCALL_PD_TEAMS", reason))?;
        let event_bus_name = env.required("ONCALL_EVENT_BUS_NAME")?;
        let pagerduty_api_url = env.base_url(&["PAGERDUTY_API_URL"], DEFAULT_PAGERDUTY_API_URL)?;
        let reconcile_hour_utc: u32 = env.parse_or("ONCALL_PD_RECONCILE_HOUR_UTC", 6)?;
        if reconcile_hour_utc > 23 {
            return Err(ConfigError::new(
                "ONCALL_PD_RECONCILE_HOUR_UTC",
                "must be an hour from 0 to 23",
            ));
        }
        let interval = minutes(env, "ONCALL_PD_INTERVAL_MINUTES", 5)?;
        let lookback = minutes(env, "ONCALL_PD_LOOKBACK_MINUTES", 60)?;
        if lookback < interval {
            return Err(ConfigError::new(
                "ONCALL_PD_LOOKBACK_MINUTES",
                "must be at least ONCALL_PD_INTERVAL_MINUTES",
            ));
        }
        Ok(Self {
            secret_id,
            teams,
            event_bus_name,
            pagerduty_api_url,
            reconcile_hour_utc,
            interval,
            lookback,
            secret_ttl: env.secs_or("ONCALL_PD_SECRET_TTL_SECS", 900)?,
            alert_repeat: env.secs_or("ONCALL_PD_ALERT_REPEAT_SECS", 3600)?,
        })
    }
}

fn minutes(env: &EnvReader<'_>, var: &str, default: u64) -> Result<Duration, ConfigError> {
    let value: u64 = env.parse_or(var, default)?;
    if value == 0 {
        return Err(ConfigError::new(var, "must be at least 1 minute"));
    }
    Ok(Duration::from_secs(value * 60))
}

/// Parses `ONCALL_PD_TEAMS`: a JSON array of mappings, each naming exactly one of `escalation_policy_id` and
/// `schedule_id`, with non-empty `team` and `spoke_team`; no id twice. `[]` maps no team (the stack's default
/// until teams are configured; it then disables the schedule).
fn parse_teams(raw: &str) -> Result<Vec<TeamMapping>, String> {
    let raw: Vec<RawMapping> =
        serde_json::from_str(raw).map_err(|e| format!("not a JSON array of team mappings: {e}"))?;
    let mut teams: Vec<TeamMapping> = Vec::with_capacity(raw.len());
    for (index, m) in raw.into_iter().enumerate() {
        let trimmed = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let source = match (trimmed(m.escalation_policy_id), trimmed(m.schedule_id)) {
            (Some(id), None) => Source::EscalationPolicy(id),
            (None, Some(id)) => Source::Schedule(id),
            _ => {
                return Err(format!(
                    "entry {index} must name exactly one of escalation_policy_id and schedule_id"
                ));
            }
        };
        let (Some(team), Some(spoke_team)) = (trimmed(Some(m.team)), trimmed(Some(m.spoke_team)))
        else {
            return Err(format!(
                "entry {index}: team and spoke_team must not be empty"
            ));
        };
        if teams.iter().any(|t| t.source == source) {
            return Err(format!("entry {index}: {} is mapped twice", source.id()));
        }
        teams.push(TeamMapping {
            source,
            team,
            spoke_team,
            slack_channel: trimmed(m.slack_channel),
        });
    }
    Ok(teams)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEAMS: &str = r##"[
        {"escalation_policy_id": "PEPIT01", "team": "it", "spoke_team": "IT", "slack_channel": "#it-team"},
        {"schedule_id": "PSFAC01", "team": "facilities", "spoke_team": "Facilities"}
    ]"##;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("ONCALL_PD_SECRET_ID", "oncall-pagerduty"),
            ("ONCALL_PD_TEAMS", TEAMS),
            ("ONCALL_EVENT_BUS_NAME", "oncall-handoff"),
        ]
    }

    #[test]
    fn defaults_apply_when_only_the_required_values_are_set() {
        let c = Config::from_pairs(&base()).unwrap();
        assert_eq!(c.pagerduty_api_url.as_str(), "https://api.pagerduty.com/");
        assert_eq!(c.reconcile_hour_utc, 6);
        assert_eq!(c.interval, Duration::from_secs(300));
        assert_eq!(c.lookback, Duration::from_secs(3600));
        assert_eq!(c.secret_ttl, Duration::from_secs(900));
        assert_eq!(c.alert_repeat, Duration::from_secs(3600));
        assert_eq!(
            c.teams[0],
            TeamMapping {
                source: Source::EscalationPolicy("PEPIT01".into()),
                team: "it".into(),
                spoke_team: "IT".into(),
                slack_channel: Some("#it-team".into()),
            }
        );
        assert_eq!(c.teams[1].source, Source::Schedule("PSFAC01".into()));
        assert_eq!(c.teams[1].slack_channel, None);
    }

    #[test]
    fn an_empty_team_list_maps_no_team() {
        let mut pairs = base();
        pairs.push(("ONCALL_PD_TEAMS", "[]"));
        assert!(Config::from_pairs(&pairs).unwrap().teams.is_empty());
    }

    #[test]
    fn every_variable_is_parsed_into_its_type() {
        let mut pairs = base();
        pairs.extend([
            ("PAGERDUTY_API_URL", "http://127.0.0.1:8800/pagerduty/"),
            ("ONCALL_PD_RECONCILE_HOUR_UTC", "23"),
            ("ONCALL_PD_INTERVAL_MINUTES", "10"),
            ("ONCALL_PD_LOOKBACK_MINUTES", "30"),
            ("ONCALL_PD_SECRET_TTL_SECS", "60"),
            ("ONCALL_PD_ALERT_REPEAT_SECS", "0"),
        ]);
        let c = Config::from_pairs(&pairs).unwrap();
        assert_eq!(
            c.pagerduty_api_url.as_str(),
            "http://127.0.0.1:8800/pagerduty"
        );
        assert_eq!(c.reconcile_hour_utc, 23);
        assert_eq!(c.interval, Duration::from_secs(600));
        assert_eq!(c.lookback, Duration::from_secs(1800));
        assert_eq!(c.secret_ttl, Duration::from_secs(60));
        assert_eq!(c.alert_repeat, Duration::ZERO);
    }

    #[test]
    fn a_missing_or_invalid_value_fails_naming_the_variable() {
        for (var, value) in [
            ("ONCALL_PD_TEAMS", "{}"),
            ("ONCALL_PD_TEAMS", r#"[{"team": "it", "spoke_team": "IT"}]"#),
            (
                "ONCALL_PD_TEAMS",
                r#"[{"escalation_policy_id": "P1", "schedule_id": "S1", "team": "it", "spoke_team": "IT"}]"#,
            ),
            (
                "ONCALL_PD_TEAMS",
                r#"[{"escalation_policy_id": "P1", "team": "it", "spoke_team": " "}]"#,
            ),
            (
                "ONCALL_PD_TEAMS",
                r#"[{"escalation_policy_id": "P1", "team": "a", "spoke_team": "A"}, {"escalation_policy_id": "P1", "team": "b", "spoke_team": "B"}]"#,
            ),
            (
                "ONCALL_PD_TEAMS",
                r##"[{"escalation_policy_id": "P1", "team": "it", "spoke_team": "IT", "slack": "#x"}]"##,
            ),
            ("PAGERDUTY_API_URL", "http://api.pagerduty.com"),
            ("ONCALL_PD_RECONCILE_HOUR_UTC", "24"),
            ("ONCALL_PD_INTERVAL_MINUTES", "0"),
            ("ONCALL_PD_INTERVAL_MINUTES", "five"),
            ("ONCALL_PD_LOOKBACK_MINUTES", "2"),
            ("ONCALL_PD_SECRET_TTL_SECS", "-1"),
        ] {
            let mut pairs = base();
            pairs.push((var, value));
            let err = Config::from_pairs(&pairs).unwrap_err();
            assert_eq!(err.var, var, "{var}={value}: {err}");
        }
        for required in [
            "ONCALL_PD_SECRET_ID",
            "ONCALL_PD_TEAMS",
            "ONCALL_EVENT_BUS_NAME",
        ] {
            let pairs: Vec<_> = base().into_iter().filter(|(k, _)| *k != required).collect();
            assert_eq!(Config::from_pairs(&pairs).unwrap_err().var, required);
        }
    }
}
