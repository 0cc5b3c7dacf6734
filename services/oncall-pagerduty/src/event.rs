//! The `On-call Handoff Event` this service puts: the source, the detail-type and the detail oncall-spoke
//! reads (services/oncall-spoke/README.md, "Behaviour"; this README, "Behaviour").

use chrono::SecondsFormat;
use serde_json::{Map, Value, json};

use crate::config::TeamMapping;
use crate::decide::Reason;
use crate::pagerduty::{OnCall, User};

/// The EventBridge `source` oncall-spoke's rule matches.
pub const SOURCE: &str = "on-call/handoff";
/// The EventBridge `detail-type` oncall-spoke's rule matches.
pub const DETAIL_TYPE: &str = "On-call Handoff Event";

/// The event's detail: the team's level-1 handoff from `previous` (when known) to `current`, whose e-mail
/// is `email`.
pub fn detail(
    team: &TeamMapping,
    current: &OnCall,
    email: &str,
    previous: Option<&User>,
    reason: Reason,
) -> Value {
    let named = current
        .schedule
        .as_ref()
        .unwrap_or(&current.escalation_policy);
    let mut handoff = Map::new();
    handoff.insert("escalationLevel".to_owned(), json!(1));
    handoff.insert("scheduleName".to_owned(), json!(named.summary));
    handoff.insert("scheduleUrl".to_owned(), json!(named.html_url));
    if let Some(previous) = previous {
        handoff.insert("goingOff".to_owned(), previous.reference_json());
    }
    handoff.insert("goingOn".to_owned(), current.user.reference_json());

    let mut team_json = Map::new();
    team_json.insert("name".to_owned(), json!(team.team));
    team_json.insert("service".to_owned(), json!(team.source.id()));
    if let Some(channel) = &team.slack_channel {
        team_json.insert("slack".to_owned(), json!(channel));
    }
    team_json.insert("spoke".to_owned(), json!(team.spoke_team));

    let mut detail = Map::new();
    detail.insert("PagerdutyHandoffs".to_owned(), json!([handoff]));
    detail.insert("Team".to_owned(), Value::Object(team_json));
    detail.insert("OnCallEmail".to_owned(), json!(email));
    if let Some(previous) = previous.and_then(User::usable_email) {
        detail.insert("PreviouslyOnCall".to_owned(), json!(previous));
    }
    detail.insert("Reason".to_owned(), json!(reason.as_str()));
    detail.insert(
        "ShiftStart".to_owned(),
        json!(
            current
                .start
                .map(|s| s.to_rfc3339_opts(SecondsFormat::Secs, true))
        ),
    );
    Value::Object(detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;

    fn on_call() -> OnCall {
        serde_json::from_value(json!({
            "escalation_policy": {"id": "PEPFAC1", "summary": "Facilities", "html_url": "https://example.pagerduty.com/escalation_policies/PEPFAC1"},
            "escalation_level": 1,
            "schedule": {"id": "PSFAC01", "summary": "Facilities rota", "html_url": "https://example.pagerduty.com/schedules/PSFAC01"},
            "user": {"id": "PU00005", "type": "user", "name": "Erin Example", "summary": "Erin Example",
                     "email": "erin@example.com", "self": "https://api.pagerduty.com/users/PU00005",
                     "html_url": "https://example.pagerduty.com/users/PU00005"},
            "start": "2026-03-09T09:00:00Z",
            "end": "2026-03-16T09:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn the_detail_has_the_shape_oncall_spoke_reads() {
        let team = TeamMapping {
            source: Source::EscalationPolicy("PEPFAC1".into()),
            team: "facilities".into(),
            spoke_team: "Facilities".into(),
            slack_channel: Some("#facilities".into()),
        };
        let previous: User = serde_json::from_value(
            json!({"id": "PU00004", "name": "Dave Example", "email": "dave@example.com"}),
        )
        .unwrap();
        let d = detail(
            &team,
            &on_call(),
            "erin@example.com",
            Some(&previous),
            Reason::ShiftChange,
        );
        let handoff = &d["PagerdutyHandoffs"][0];
        assert_eq!(handoff["escalationLevel"], 1);
        assert_eq!(handoff["scheduleName"], "Facilities rota");
        assert_eq!(
            handoff["scheduleUrl"],
            "https://example.pagerduty.com/schedules/PSFAC01"
        );
        assert_eq!(handoff["goingOn"]["summary"], "Erin Example");
        assert_eq!(handoff["goingOn"]["type"], "user_reference");
        assert_eq!(handoff["goingOff"]["id"], "PU00004");
        assert_eq!(
            d["Team"],
            json!({"name": "facilities", "service": "PEPFAC1", "slack": "#facilities", "spoke": "Facilities"})
        );
        assert_eq!(d["OnCallEmail"], "erin@example.com");
        assert_eq!(d["PreviouslyOnCall"], "dave@example.com");
        assert_eq!(d["Reason"], "shift_change");
        assert_eq!(d["ShiftStart"], "2026-03-09T09:00:00Z");
    }

    #[test]
    fn an_unknown_previous_person_and_channel_are_left_out() {
        let team = TeamMapping {
            source: Source::Schedule("PSFAC01".into()),
            team: "facilities".into(),
            spoke_team: "Facilities".into(),
            slack_channel: None,
        };
        let d = detail(
            &team,
            &on_call(),
            "erin@example.com",
            None,
            Reason::Reconcile,
        );
        assert!(d["PagerdutyHandoffs"][0].get("goingOff").is_none());
        assert!(d.get("PreviouslyOnCall").is_none());
        assert!(d["Team"].get("slack").is_none());
        assert_eq!(d["Reason"], "reconcile");
    }
}
