//! Parsing and screening of the handoff event: the decision table's rows up to the staleness guard (README,
//! "Behaviour").
//!
//! The event is read leniently from JSON so that every malformed shape maps to a row instead of a decode
//! error. The whole event is never logged.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::config::Config;
use crate::outcome::{AlertKind, Decision, HandoffResult};

/// The EventBridge `source` of handoff events.
pub const EXPECTED_SOURCE: &str = "on-call/handoff";
/// The EventBridge `detail-type` of handoff events.
pub const EXPECTED_DETAIL_TYPE: &str = "On-call Handoff Event";

/// What the alerts and logs may say about the event, as far as it could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventContext {
    /// EventBridge event id (empty when absent).
    pub event_id: String,
    /// Event `time`, when present and valid.
    pub time: Option<DateTime<Utc>>,
    /// `detail.Team.name`, the on-call team key.
    pub team_key: Option<String>,
    /// `detail.Team.slack`, the team channel.
    pub team_channel: Option<String>,
    /// `detail.Team.spoke` as a trimmed string (may be empty for row 6).
    pub spoke_team: Option<String>,
    /// `detail.OnCallEmail`, trimmed, when a string.
    pub on_call_email: Option<String>,
    /// `goingOn.summary` of the first level-1 handoff.
    pub on_call_name: Option<String>,
}

impl EventContext {
    /// The name used for the on-call person in messages.
    pub fn person(&self) -> &str {
        self.on_call_name
            .as_deref()
            .or(self.on_call_email.as_deref())
            .unwrap_or("the on-call person")
    }
}

/// A valid, opted-in, level-1, fresh handoff (rows 1–9 passed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handoff {
    /// The Spoke team name, trimmed, non-empty.
    pub spoke_team: String,
    /// The on-call e-mail, trimmed (compare case-insensitively).
    pub email: String,
}

/// The result of screening: go on with the Spoke steps, or stop with a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screening {
    /// Rows 1–9 passed.
    Proceed(Handoff),
    /// A row of 1–9 matched.
    Stop(Decision),
}

/// Reads what can be read from the event, for logs and alerts.
pub fn context(event: &Value) -> EventContext {
    let detail = event.get("detail").and_then(Value::as_object);
    let team = detail
        .and_then(|d| d.get("Team"))
        .and_then(Value::as_object);
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::trim).map(str::to_owned);
    let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
    EventContext {
        event_id: text(event.get("id")).unwrap_or_default(),
        time: text(event.get("time")).and_then(|t| {
            DateTime::parse_from_rfc3339(&t)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        }),
        team_key: non_empty(text(team.and_then(|t| t.get("name")))),
        team_channel: non_empty(text(team.and_then(|t| t.get("slack")))),
        spoke_team: text(team.and_then(|t| t.get("spoke"))),
        on_call_email: non_empty(text(detail.and_then(|d| d.get("OnCallEmail")))),
        on_call_name: detail
            .and_then(|d| d.get("PagerdutyHandoffs"))
            .and_then(Value::as_array)
            .and_then(|hs| hs.iter().find(|h| is_level_one(h)))
            .and_then(|h| non_empty(text(h.get("goingOn").and_then(|g| g.get("summary"))))),
    }
}

/// Rows 1–9 of the decision table, in order.
pub fn screen(event: &Value, config: &Config, now: DateTime<Utc>) -> Screening {
    use Screening::Stop;
    // Row 1.
    let source = event.get("source").and_then(Value::as_str);
    let detail_type = event.get("detail-type").and_then(Value::as_str);
    if source != Some(EXPECTED_SOURCE) || detail_type != Some(EXPECTED_DETAIL_TYPE) {
        return Stop(Decision::new(HandoffResult::Skipped, "unexpected_event"));
    }
    // Row 2.
    let Some(detail) = event.get("detail").and_then(Value::as_object) else {
        return Stop(Decision::permanent(
            AlertKind::MalformedEvent,
            "`detail` is missing or not an object",
        ));
    };
    let Some(team) = detail.get("Team").and_then(Value::as_object) else {
        return Stop(Decision::permanent(
            AlertKind::MalformedEvent,
            "`detail.Team` is missing or not an object",
        ));
    };
    // Row 3.
    let spoke = match team.get("spoke") {
        None | Some(Value::Null) => {
            return Stop(Decision::new(HandoffResult::Skipped, "not_opted_in"));
        }
        Some(spoke) => spoke,
    };
    // Row 4.
    let Some(handoffs) = detail.get("PagerdutyHandoffs").and_then(Value::as_array) else {
        return Stop(Decision::permanent(
            AlertKind::MalformedEvent,
            "`detail.PagerdutyHandoffs` is missing or not an array",
        ));
    };
    // Row 5.
    if !handoffs.iter().any(is_level_one) {
        return Stop(Decision::new(HandoffResult::Skipped, "not_top_level"));
    }
    // Row 6.
    let spoke_team = match spoke.as_str().map(str::trim) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => {
            return Stop(Decision::permanent(
                AlertKind::TeamKeyEmpty,
                "`detail.Team.spoke` is empty or not a string; fix the team entry in the on-call team list",
            ));
        }
    };
    // Row 7.
    let email = match on_call_email(detail) {
        Ok(email) => email,
        Err(problem) => {
            return Stop(Decision {
                reason: "on_call_email_missing",
                ..Decision::permanent(AlertKind::MalformedEvent, problem)
            });
        }
    };
    // Row 8.
    let previous = detail.get("PreviouslyOnCall").and_then(Value::as_str);
    if config.is_bot(&email) || previous.is_some_and(|p| config.is_bot(p)) {
        return Stop(Decision::new(HandoffResult::Skipped, "bot_account"));
    }
    // Row 9.
    if let Some(max_age) = config.max_event_age {
        let time = event
            .get("time")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok());
        if let Some(time) = time {
            let age = now.signed_duration_since(time.with_timezone(&Utc));
            let max = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
            if age > max {
                return Stop(
                    Decision::new(HandoffResult::Skipped, "stale_event").with_alert(
                        AlertKind::StaleEvent,
                        format!(
                            "the event was put at {} and is {} s old (maximum {} s); it was not applied, check the team by hand",
                            time.with_timezone(&Utc).to_rfc3339(),
                            age.num_seconds(),
                            max_age.as_secs()
                        ),
                    ),
                );
            }
        } else {
            tracing::warn!(
                reason = "event_time_unreadable",
                "event time missing or invalid; staleness not checked"
            );
        }
    }
    Screening::Proceed(Handoff { spoke_team, email })
}

fn on_call_email(detail: &Map<String, Value>) -> Result<String, &'static str> {
    match detail.get("OnCallEmail") {
        None | Some(Value::Null) => Err("`detail.OnCallEmail` is missing"),
        Some(Value::String(s)) if s.trim().is_empty() => Err("`detail.OnCallEmail` is empty"),
        Some(Value::String(s)) if !s.contains('@') => {
            Err("`detail.OnCallEmail` is not an e-mail address")
        }
        Some(Value::String(s)) => Ok(s.trim().to_owned()),
        Some(_) => Err("`detail.OnCallEmail` is not a string"),
    }
}

/// True when a handoff's `escalationLevel` is 1 (number or numeric string).
fn is_level_one(handoff: &Value) -> bool {
    match handoff.get("escalationLevel") {
        Some(Value::Number(n)) => n.as_f64() == Some(1.0),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok() == Some(1.0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;

    fn config(extra: &[(&str, &str)]) -> Config {
        let mut map: HashMap<String, String> =
            [("ONCALL_SECRET_ID", "s"), ("ONCALL_SPOKE_ORG", "example")]
                .iter()
                .chain(extra)
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
        map.shrink_to_fit();
        Config::from_lookup(move |k| map.get(k).cloned()).unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-08-04T20:40:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn baseline() -> Value {
        serde_json::from_str(include_str!("../tests/fixtures/baseline.json")).unwrap()
    }

    fn stop(event: &Value, config: &Config) -> Decision {
        match screen(event, config, now()) {
            Screening::Stop(d) => d,
            Screening::Proceed(h) => panic!("expected a stop, got {h:?}"),
        }
    }

    fn reason_and_alert(d: &Decision) -> (HandoffResult, &str, Option<&str>) {
        (d.result, d.reason, d.alert.as_ref().map(|a| a.kind.code()))
    }

    #[test]
    fn the_baseline_event_proceeds_with_the_trimmed_team_and_email() {
        let mut event = baseline();
        event["detail"]["OnCallEmail"] = json!("  alice@example.com ");
        assert_eq!(
            screen(&event, &config(&[]), now()),
            Screening::Proceed(Handoff {
                spoke_team: "IT".into(),
                email: "alice@example.com".into()
            })
        );
        let ctx = context(&event);
        assert_eq!(ctx.event_id, "6f1c2b0e-3a7d-4c55-9e2f-0b8d1a7c4e21");
        assert_eq!(ctx.on_call_name.as_deref(), Some("Alice Example"));
        assert_eq!(ctx.team_channel.as_deref(), Some("#it-team"));
    }

    #[test]
    fn an_unexpected_source_or_detail_type_is_skipped() {
        for (field, value) in [("source", "aws.events"), ("detail-type", "Scheduled Event")] {
            let mut event = baseline();
            event[field] = json!(value);
            assert_eq!(
                reason_and_alert(&stop(&event, &config(&[]))),
                (HandoffResult::Skipped, "unexpected_event", None)
            );
        }
    }

    #[test]
    fn a_missing_detail_or_team_alerts_it_as_malformed() {
        let mut no_detail = baseline();
        no_detail["detail"] = json!("text");
        let mut no_team = baseline();
        no_team["detail"].as_object_mut().unwrap().remove("Team");
        for event in [no_detail, no_team] {
            assert_eq!(
                reason_and_alert(&stop(&event, &config(&[]))),
                (
                    HandoffResult::PermanentError,
                    "malformed_event",
                    Some("malformed_event")
                )
            );
            assert_eq!(context(&event).team_channel, None);
        }
    }

    #[test]
    fn a_team_without_a_spoke_name_has_not_opted_in() {
        let mut absent = baseline();
        absent["detail"]["Team"]
            .as_object_mut()
            .unwrap()
            .remove("spoke");
        let mut null = baseline();
        null["detail"]["Team"]["spoke"] = Value::Null;
        for event in [absent, null] {
            assert_eq!(
                reason_and_alert(&stop(&event, &config(&[]))),
                (HandoffResult::Skipped, "not_opted_in", None)
            );
        }
    }

    #[test]
    fn missing_handoffs_are_malformed_and_no_level_one_handoff_is_skipped() {
        let mut missing = baseline();
        missing["detail"]["PagerdutyHandoffs"] = json!({});
        assert_eq!(
            reason_and_alert(&stop(&missing, &config(&[]))),
            (
                HandoffResult::PermanentError,
                "malformed_event",
                Some("malformed_event")
            )
        );
        let mut level_two = baseline();
        level_two["detail"]["PagerdutyHandoffs"][1]["escalationLevel"] = json!(2);
        let mut empty = baseline();
        empty["detail"]["PagerdutyHandoffs"] = json!([]);
        for event in [level_two, empty] {
            assert_eq!(
                reason_and_alert(&stop(&event, &config(&[]))),
                (HandoffResult::Skipped, "not_top_level", None)
            );
        }
    }

    #[test]
    fn the_escalation_level_may_be_a_numeric_string() {
        let mut event = baseline();
        event["detail"]["PagerdutyHandoffs"][1]["escalationLevel"] = json!(" 1 ");
        assert!(matches!(
            screen(&event, &config(&[]), now()),
            Screening::Proceed(_)
        ));
    }

    #[test]
    fn an_empty_or_non_string_spoke_name_alerts_team_key_empty() {
        for value in [json!(""), json!("   "), json!(42)] {
            let mut event = baseline();
            event["detail"]["Team"]["spoke"] = value;
            assert_eq!(
                reason_and_alert(&stop(&event, &config(&[]))),
                (
                    HandoffResult::PermanentError,
                    "team_key_empty",
                    Some("team_key_empty")
                )
            );
        }
    }

    #[test]
    fn a_missing_or_invalid_on_call_email_is_malformed() {
        for value in [
            None,
            Some(json!("")),
            Some(json!("not-an-email")),
            Some(json!(7)),
        ] {
            let mut event = baseline();
            match value {
                None => {
                    event["detail"]
                        .as_object_mut()
                        .unwrap()
                        .remove("OnCallEmail");
                }
                Some(v) => event["detail"]["OnCallEmail"] = v,
            }
            assert_eq!(
                reason_and_alert(&stop(&event, &config(&[]))),
                (
                    HandoffResult::PermanentError,
                    "on_call_email_missing",
                    Some("malformed_event")
                )
            );
        }
    }

    #[test]
    fn bot_accounts_are_skipped_whatever_their_letter_case() {
        let config = config(&[("ONCALL_BOT_EMAILS", "svc-bot@example.com")]);
        let mut previous = baseline();
        previous["detail"]["PreviouslyOnCall"] = json!("SVC-Bot@Example.com");
        let mut current = baseline();
        current["detail"]["OnCallEmail"] = json!("Svc-Bot@example.COM");
        for event in [previous, current] {
            assert_eq!(
                reason_and_alert(&stop(&event, &config)),
                (HandoffResult::Skipped, "bot_account", None)
            );
        }
    }

    #[test]
    fn an_event_older_than_the_maximum_age_is_not_applied_and_alerts_it() {
        let config = config(&[("ONCALL_MAX_EVENT_AGE_SECS", "30")]);
        let decision = stop(&baseline(), &config);
        assert_eq!(
            reason_and_alert(&decision),
            (HandoffResult::Skipped, "stale_event", Some("stale_event"))
        );
        assert!(decision.alert.unwrap().detail.contains("49 s old"));
        let disabled = self::config(&[("ONCALL_MAX_EVENT_AGE_SECS", "0")]);
        let mut old = baseline();
        old["time"] = json!("2001-01-01T00:00:00Z");
        assert!(matches!(
            screen(&old, &disabled, now()),
            Screening::Proceed(_)
        ));
    }
}
