//! The PagerDuty flow, end to end: an override in pagerduty-fake puts Frank on call for Facilities;
//! `oncall-pagerduty` sees the new shift and puts one handoff event on the bus (moto delivers it to the handoff
//! queue, where oncall-spoke's rule target would be); `oncall-spoke` takes that event and makes Frank the Spoke
//! team's delegate; a second run puts nothing.

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use devstack::Stack;
use lambda_kit::{Clock, SystemClock};
use serde_json::{Value, json};

use super::invoked;
use crate::flows::handoff::HANDOFF_TEAM_ID;
use crate::report::{Row, record};
use crate::services::{oncall, pagerduty};

/// The Facilities schedule of pagerduty-fake's demo seed (level 1 of escalation policy `PEPFAC1`).
pub const SCHEDULE: &str = "PSFAC01";
/// Frank's PagerDuty user id.
pub const FRANK_PAGERDUTY: &str = "PU00006";
/// Frank's Spoke user id: the Facilities delegate at the end of the flow.
pub const FRANK_SPOKE: &str = "5f0c3a9e2b7d4c0012ab3406";

/// A scheduled event as EventBridge delivers it at `time` (only its `time` is read).
fn scheduled_event(time: DateTime<Utc>) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time.to_rfc3339(),
        "region": "us-east-1",
        "resources": [],
        "detail": {}
    })
}

/// Every event the handoff queue holds now, deleted once read.
async fn delivered(stack: &Stack) -> Result<Vec<Value>> {
    let url = stack
        .endpoints
        .get("handoff_queue_url")
        .ok_or_else(|| anyhow!("the stack has no handoff queue"))?;
    let mut events = Vec::new();
    loop {
        let received = stack
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .context("reading the handoff queue")?;
        if received.messages().is_empty() {
            return Ok(events);
        }
        for message in received.messages() {
            events.push(serde_json::from_str(message.body().unwrap_or("null"))?);
            stack
                .sqs
                .delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .context("deleting a handoff message")?;
        }
    }
}

/// One scheduled run of `oncall-pagerduty`: its summary and the Facilities events it put on the bus.
async fn run_once(stack: &Stack) -> Result<(Value, Vec<Value>)> {
    let summary = invoked(
        stack
            .registry
            .invoke(pagerduty::FUNCTION, scheduled_event(SystemClock.now()))
            .await,
    )?;
    let events = delivered(stack)
        .await?
        .into_iter()
        .filter(|e| e["detail"]["Team"]["spoke"] == "Facilities")
        .collect();
    Ok((summary, events))
}

/// Replays the PagerDuty flow.
pub async fn replay(stack: &Stack) -> Vec<Row> {
    let flow = "pagerduty";
    let mut rows = Vec::new();

    let overridden = async {
        let start = stack
            .fakes
            .pagerduty
            .kit()
            .now()
            .duration_trunc(TimeDelta::seconds(1))?;
        let end = start + TimeDelta::hours(4);
        let id = stack
            .fakes
            .pagerduty
            .add_override(
                SCHEDULE,
                FRANK_PAGERDUTY,
                &start.to_rfc3339(),
                &end.to_rfc3339(),
            )
            .map_err(|e| anyhow!("{e}"))?;
        anyhow::Ok((
            (),
            format!(
                "override {id}: Frank on call for Facilities from {}",
                start.format("%H:%M:%S")
            ),
        ))
    }
    .await;
    if record(
        &mut rows,
        flow,
        "an override in pagerduty-fake puts Frank on call",
        overridden,
    )
    .is_none()
    {
        return rows;
    }

    let run = async {
        let (summary, events) = run_once(stack).await?;
        anyhow::ensure!(
            events.len() == 1,
            "{} Facilities event(s) on the bus; run: {summary}",
            events.len()
        );
        let event = events.into_iter().next().unwrap_or_default();
        let detail = &event["detail"];
        anyhow::ensure!(
            detail["OnCallEmail"] == "frank@example.com",
            "on call: {}",
            detail["OnCallEmail"]
        );
        let evidence = format!(
            "1 event: {} ← {} ({})",
            detail["OnCallEmail"].as_str().unwrap_or("?"),
            detail["PreviouslyOnCall"].as_str().unwrap_or("nobody"),
            detail["Reason"].as_str().unwrap_or("?"),
        );
        anyhow::Ok((event, evidence))
    }
    .await;
    let Some(event) = record(
        &mut rows,
        flow,
        "oncall-pagerduty puts one handoff event on the bus",
        run,
    ) else {
        return rows;
    };

    let applied = async {
        let response = invoked(stack.registry.invoke(oncall::FUNCTION, event).await)?;
        anyhow::ensure!(
            response["result"] == "updated",
            "oncall-spoke answered {response}"
        );
        let team = stack
            .fakes
            .spoke
            .team(HANDOFF_TEAM_ID)
            .ok_or_else(|| anyhow!("team {HANDOFF_TEAM_ID} is not in spoke-fake"))?;
        let delegate = &team["settings"]["delegation"]["specificUser"];
        anyhow::ensure!(
            delegate == FRANK_SPOKE,
            "the Facilities delegate is {delegate}"
        );
        Ok(format!(
            "team {HANDOFF_TEAM_ID}: SPECIFIC_USER → {FRANK_SPOKE} (Frank)"
        ))
    }
    .await;
    rows.push(Row::from_result(
        flow,
        "oncall-spoke makes Frank the Spoke team's delegate",
        applied,
    ));

    let again = async {
        let (summary, events) = run_once(stack).await?;
        anyhow::ensure!(
            events.is_empty(),
            "{} more Facilities event(s)",
            events.len()
        );
        Ok(format!(
            "no event; {} team(s) unchanged",
            summary["unchanged"]
        ))
    }
    .await;
    rows.push(Row::from_result(flow, "the next run puts nothing", again));
    rows
}
