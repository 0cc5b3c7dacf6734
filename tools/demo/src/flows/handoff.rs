//! The handoff flow: `oncall-spoke` sets the Spoke team's delegate, does nothing on a repeat and alerts when
//! the on-call person is not in the team.

use anyhow::{Result, anyhow};
use devstack::Stack;
use serde_json::{Value, json};

use super::invoked;
use crate::report::Row;
use crate::services::oncall::FUNCTION;

/// The Spoke team of the handoff flow (SPECIFIC_USER delegation in the spoke-fake demo seed).
pub const HANDOFF_TEAM: &str = "Facilities";
/// The Spoke team id of [`HANDOFF_TEAM`].
pub const HANDOFF_TEAM_ID: &str = "5cb65407f38ee4000743e946";
/// A team agent who is not the current delegate (erin@example.com).
pub const HANDOFF_ON_CALL_EMAIL: &str = "erin@example.com";
/// Erin's Spoke user id.
pub const HANDOFF_ON_CALL_USER_ID: &str = "5f0c3a9e2b7d4c0012ab3405";

/// The handoff event of the demo: `on_call` takes over escalation level 1 of the Spoke team `team`.
pub fn handoff_event(id: &str, team: &str, on_call: &str) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": "On-call Handoff Event",
        "source": "on-call/handoff",
        "account": "123456789012",
        "time": "2026-01-05T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "PagerdutyHandoffs": [{
                "escalationLevel": 1,
                "scheduleName": "Facilities",
                "scheduleUrl": "https://example.pagerduty.com/schedules/PFAC001",
                "goingOff": {"id": "PU00004", "type": "user_reference", "summary": "Dave Example"},
                "goingOn": {"id": "PU00005", "type": "user_reference", "summary": "On Call"}
            }],
            "Team": {"name": "facilities", "service": "PFAC001", "slack": "#it-team", "spoke": team},
            "OnCallEmail": on_call,
            "PreviouslyOnCall": "dave@example.com"
        }
    })
}

/// Replays the handoff flow.
pub async fn replay(stack: &Stack) -> Vec<Row> {
    let flow = "handoff";
    let mut rows = Vec::new();
    let event = handoff_event("demo-handoff-1", HANDOFF_TEAM, HANDOFF_ON_CALL_EMAIL);

    let first = stack.registry.invoke(FUNCTION, event.clone()).await;
    rows.push(Row::from_result(
        flow,
        "seed event sets the team's delegate",
        async {
            let response = invoked(first)?;
            anyhow::ensure!(
                response["result"] == "updated",
                "result {}",
                response["result"]
            );
            let delegation = team_delegation(stack)?;
            anyhow::ensure!(
                delegation["specificUser"] == HANDOFF_ON_CALL_USER_ID,
                "the team's delegation is {delegation}"
            );
            Ok(format!(
                "team {HANDOFF_TEAM_ID}: SPECIFIC_USER → {HANDOFF_ON_CALL_USER_ID}"
            ))
        }
        .await,
    ));

    let patches_before = stack
        .fakes
        .spoke
        .kit()
        .calls("PATCH", "/api/v1/teams/*")
        .len();
    let second = stack.registry.invoke(FUNCTION, event).await;
    rows.push(Row::from_result(
        flow,
        "the same event again is a no-op",
        async {
            let response = invoked(second)?;
            anyhow::ensure!(
                response["result"] == "noop",
                "result {}",
                response["result"]
            );
            let patches = stack
                .fakes
                .spoke
                .kit()
                .calls("PATCH", "/api/v1/teams/*")
                .len();
            anyhow::ensure!(patches == patches_before, "a second PATCH was sent");
            Ok(format!(
                "reason {}, no PATCH",
                response["reason"].as_str().unwrap_or("?")
            ))
        }
        .await,
    ));

    let alerts_before = stack.fakes.slack.messages("alerts_it").len();
    let third = stack
        .registry
        .invoke(
            FUNCTION,
            handoff_event("demo-handoff-3", HANDOFF_TEAM, "carol@example.com"),
        )
        .await;
    rows.push(Row::from_result(
        flow,
        "an on-call person outside the team alerts",
        async {
            let response = invoked(third)?;
            anyhow::ensure!(
                response["result"] == "permanent_error",
                "result {}",
                response["result"]
            );
            let alerts = stack.fakes.slack.messages("alerts_it").len();
            anyhow::ensure!(alerts > alerts_before, "no alert reached #alerts_it");
            Ok(format!(
                "reason {}, {} alert(s) sent",
                response["reason"].as_str().unwrap_or("?"),
                response["alerts_sent"]
            ))
        }
        .await,
    ));
    rows
}

fn team_delegation(stack: &Stack) -> Result<Value> {
    let team = stack
        .fakes
        .spoke
        .team(HANDOFF_TEAM_ID)
        .ok_or_else(|| anyhow!("team {HANDOFF_TEAM_ID} is not in spoke-fake"))?;
    Ok(team["settings"]["delegation"].clone())
}
