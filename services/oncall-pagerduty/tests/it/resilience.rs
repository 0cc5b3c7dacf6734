//! PagerDuty misbehaving: paging across pages, 429 and 5xx retried within the deadline, a run out of time
//! failing and the next one converging, a rotated key, a refused key.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{KEY, spawn, spawn_with};

fn statuses(calls: &[Value]) -> Vec<u64> {
    calls
        .iter()
        .map(|c| c["status"].as_u64().unwrap())
        .collect()
}

fn offsets(calls: &[Value]) -> Vec<String> {
    calls
        .iter()
        .map(|c| {
            let query = c["query"].as_str().unwrap();
            query
                .split('&')
                .find_map(|p| p.strip_prefix("offset="))
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_on_call_on_the_third_page_is_found_by_paging() {
    // 250 people always on call at level 1, and one newcomer whose shift starts at 17:00: the newcomer's
    // entry sorts last, on the third page of 100.
    let mut seed = pagerduty_fake::paging_seed(KEY, 250);
    seed["users"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "PUNEW01", "name": "New Person", "email": "new@example.com"}));
    seed["schedules"] = json!([{"id": "PSPAGE", "name": "Paging rota", "layers": [
        {"rotationVirtualStart": "2026-03-02T17:00:00Z", "rotationTurnLengthSeconds": 86400, "users": ["PUNEW01"]}
    ]}]);
    seed["escalationPolicies"][0]["rules"][0]["targets"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "schedule_reference", "id": "PSPAGE"}));
    let teams = json!([{"escalation_policy_id": "PEPPAGE", "team": "paging", "spoke_team": "IT"}]);
    let stack = spawn_with(
        pagerduty_fake::PagerDutyFake::new(seed).unwrap(),
        teams,
        "2026-03-02T17:05:00Z",
    )
    .await;

    let summary = stack.run(&stack.deps().await).await.unwrap();

    assert_eq!(summary.handoffs, 1, "{summary:?}");
    let events = stack.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail"]["OnCallEmail"], "new@example.com");
    assert_eq!(
        events[0]["detail"]["PreviouslyOnCall"],
        "user-000@example.com"
    );
    let calls = stack.oncall_calls().await;
    assert_eq!(
        offsets(&calls),
        ["0", "100", "200", "0", "100", "200"],
        "current, then previous"
    );
}

#[tokio::test]
async fn rate_limited_calls_are_retried_after_pagerdutys_reset() {
    let stack = spawn("2026-03-02T17:03:00Z").await;
    stack
        .control
        .rate_limit(json!({"rejectNext": 2, "resetInSecs": 1}))
        .await;
    let started = Instant::now();

    let summary = stack.run(&stack.deps().await).await.unwrap();

    assert_eq!(summary.failed, 0, "{summary:?}");
    assert_eq!(stack.events().await.len(), 1, "bob's shift");
    let calls = stack.oncall_calls().await;
    assert_eq!(statuses(&calls)[..3], [429, 429, 200]);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "each 429 waited for its reset"
    );
    assert!(stack.metrics.total("PagerDutyErrors").abs() < f64::EPSILON);
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried() {
    let stack = spawn("2026-03-02T17:03:00Z").await;
    stack
        .control
        .fault("GET", "/oncalls", 2, json!({"status": 503}))
        .await;
    stack
        .control
        .fault("GET", "/oncalls", 1, json!({"drop": true}))
        .await;

    let summary = stack.run(&stack.deps().await).await.unwrap();

    assert_eq!(summary.handoffs, 1, "{summary:?}");
    assert_eq!(
        statuses(&stack.oncall_calls().await)[..4],
        [503, 503, 0, 200]
    );
}

#[tokio::test]
async fn a_run_out_of_time_fails_within_its_deadline_and_the_next_run_converges() {
    let stack = spawn("2026-03-02T16:58:00Z").await;
    let deps = stack.deps().await;
    stack.run(&deps).await.unwrap();
    stack.set_clock("2026-03-02T17:03:00Z");
    stack
        .control
        .add_fault(json!({"method": "GET", "path": "/oncalls", "action": {"status": 500}}))
        .await;
    let started = Instant::now();

    let failed = stack
        .run_within(&deps, Duration::from_secs(4), json!({}))
        .await
        .unwrap_err();

    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let oncall_pagerduty::ServiceError::Retryable(summary) = &failed;
    assert_eq!(summary.failed, 2, "{failed}");
    assert!(failed.to_string().contains("HTTP 500"), "{failed}");
    assert!(stack.metrics.total("PagerDutyErrors") >= 1.0);
    assert!(
        stack.oncall_calls().await.len() >= 2,
        "retried before giving up"
    );
    assert!(stack.events().await.is_empty());

    stack.control.clear_faults().await;
    stack.set_clock("2026-03-02T17:08:00Z");
    stack.run(&deps).await.unwrap();
    let events = stack.events_of("it").await;
    assert_eq!(
        events.len(),
        1,
        "the failed run's change is picked up by the next"
    );
}

#[tokio::test]
async fn a_rate_limit_longer_than_the_time_left_fails_at_once() {
    let stack = spawn("2026-03-02T17:03:00Z").await;
    stack
        .control
        .rate_limit(json!({"rejectNext": 5, "resetInSecs": 20}))
        .await;
    let started = Instant::now();
    let failed = stack
        .run_within(&stack.deps().await, Duration::from_secs(10), json!({}))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(failed.to_string().contains("rate-limited"), "{failed}");
}

#[tokio::test]
async fn a_rotated_key_is_read_again_once_and_a_refused_one_alerts() {
    let stack = spawn("2026-03-02T16:58:00Z").await;
    let deps = stack.deps().await;
    stack.run(&deps).await.unwrap();
    let mut seed: Value = serde_json::from_str(pagerduty_fake::MINIMAL_SEED).unwrap();
    seed["apiKeys"] = json!([{"key": "rotated-key"}]);
    assert_eq!(stack.control.reset(Some(seed.clone())).await.status, 204);
    stack.put_secret("rotated-key").await;
    stack.set_clock("2026-03-02T17:03:00Z");

    stack.run(&deps).await.unwrap();

    assert_eq!(statuses(&stack.oncall_calls().await)[..2], [401, 200]);
    assert_eq!(stack.events().await.len(), 1);

    seed["apiKeys"] = json!([{"key": "newer-key"}]);
    assert_eq!(stack.control.reset(Some(seed)).await.status, 204);
    stack.put_secret("revoked-key").await;
    stack.set_clock("2026-03-02T17:08:00Z");
    let failed = stack.run(&deps).await.unwrap_err();
    assert!(
        failed.to_string().contains("refused the API key"),
        "{failed}"
    );
    let alerts = stack.slack.fake.messages("alerts_it");
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].text.contains(&stack.secret_id),
        "{}",
        alerts[0].text
    );
    assert!(!alerts[0].text.contains("revoked-key"));
}
