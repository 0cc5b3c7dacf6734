//! Scenario 4: Slack is down (every call and every incoming webhook answers 503). `oncall-spoke`'s primary
//! action (the Spoke team's delegate) still happens; an alert it owes is never dropped silently: the
//! invocation fails so Lambda retries it, and once Slack is back the retry delivers it exactly once.

use anyhow::{Result, anyhow};
use demo::flows::handoff::{
    HANDOFF_ON_CALL_EMAIL, HANDOFF_ON_CALL_USER_ID, HANDOFF_TEAM, HANDOFF_TEAM_ID, handoff_event,
};
use serde_json::json;

use crate::harness::{Harness, progress, to_u64};
use crate::report::ScenarioResult;

/// Lambda's asynchronous invocation: the first attempt and two retries.
const ASYNC_ATTEMPTS: usize = 3;

/// Slack channels an `oncall-spoke` alert goes to: the team's and IT's.
const CHANNELS: [&str; 2] = ["it-team", "alerts_it"];

/// Runs the scenario.
pub async fn slack_down(h: &mut Harness) -> Result<ScenarioResult> {
    let mut result = ScenarioResult::new("slack_down");
    let slack = &h.stack.fakes.slack;
    h.fault("slack", &json!({"path": "/**", "action": {"status": 503}}))
        .await?;

    // 1. A handoff that needs no alert: the delegate changes although Slack is down.
    result.events_in += 1;
    let primary = invoke(
        h,
        handoff_event("chaos-handoff-primary", HANDOFF_TEAM, HANDOFF_ON_CALL_EMAIL),
    )
    .await;
    let delegate = h
        .stack
        .fakes
        .spoke
        .team(HANDOFF_TEAM_ID)
        .map(|t| t["settings"]["delegation"]["specificUser"].clone());
    let applied = delegate
        .as_ref()
        .is_some_and(|d| d == HANDOFF_ON_CALL_USER_ID);
    result.processed += u64::from(applied);
    result.check(applied && primary.is_ok(), || {
        format!("the handoff with Slack down: {primary:?}, delegate {delegate:?}")
    });

    // 2. A handoff that owes an alert (the on-call person is not in the team): every attempt while Slack is
    //    down must fail, so that Lambda retries it.
    result.events_in += 1;
    let before: Vec<usize> = CHANNELS.iter().map(|c| slack.messages(c).len()).collect();
    let event = handoff_event("chaos-handoff-alert", HANDOFF_TEAM, "carol@example.com");
    let mut failed_while_down = 0;
    for _ in 0..ASYNC_ATTEMPTS {
        if invoke(h, event.clone()).await.is_err() {
            failed_while_down += 1;
        }
    }
    result.detail("attempts_while_down", to_u64(ASYNC_ATTEMPTS));
    result.detail("attempts_failed_while_down", to_u64(failed_while_down));
    result.check(failed_while_down == ASYNC_ATTEMPTS, || {
        format!(
            "{} of {ASYNC_ATTEMPTS} attempts reported success with the alert undelivered",
            ASYNC_ATTEMPTS - failed_while_down
        )
    });
    let slack_calls = to_u64(slack.kit().journal().iter().filter(|e| e.faulted).count());
    result.detail("slack_calls_refused", slack_calls);

    // Slack is back; the event is retried once more (the DLQ replay of docs/operations).
    h.clear_faults("slack").await?;
    let replay = invoke(h, event.clone()).await;
    progress(
        "slack_down",
        &format!("replay after Slack returned: {replay:?}"),
    );
    let delivered: Vec<usize> = CHANNELS
        .iter()
        .zip(&before)
        .map(|(c, b)| slack.messages(c).len().saturating_sub(*b))
        .collect();
    // A second replay (Lambda may deliver an event twice) must not repeat the alert.
    let _ = invoke(h, event).await;
    let after_second: Vec<usize> = CHANNELS
        .iter()
        .zip(&before)
        .map(|(c, b)| slack.messages(c).len().saturating_sub(*b))
        .collect();
    let reached = delivered.iter().all(|n| *n >= 1);
    result.processed += u64::from(reached);
    result.duplicate_messages = after_second
        .iter()
        .map(|n| to_u64(n.saturating_sub(1)))
        .sum();
    result.detail("alerts_delivered_team", to_u64(delivered[0]));
    result.detail("alerts_delivered_it", to_u64(delivered[1]));
    result.lost = result.events_in.saturating_sub(result.processed);
    Ok(result)
}

/// Invokes `oncall-spoke`; a function error comes back as `Err` (scanned for leaks).
async fn invoke(h: &Harness, event: serde_json::Value) -> Result<serde_json::Value> {
    match h.stack.registry.invoke("oncall-spoke", event).await {
        None => Err(anyhow!("oncall-spoke is not registered")),
        Some(Err(message)) => {
            h.scan("error", &message);
            Err(anyhow!("function error: {message}"))
        }
        Some(Ok(response)) => {
            h.scan("response", &response.to_string());
            Ok(response)
        }
    }
}
