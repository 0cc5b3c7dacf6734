//! What is put and when: one event per shift change with the right people, nothing for an unchanged rota,
//! missed runs converging (warm and after a cold start), the daily reconcile, an unknown e-mail reported.

use serde_json::{Value, json};

use crate::support::{ALICE, BOB, DAVE, ERIN, PAT, spawn, spawn_with, teams};

fn people(event: &Value) -> (String, String, Option<String>) {
    let d = &event["detail"];
    (
        d["PagerdutyHandoffs"][0]["goingOn"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        d["OnCallEmail"].as_str().unwrap().to_owned(),
        d["PreviouslyOnCall"].as_str().map(str::to_owned),
    )
}

#[tokio::test]
async fn a_shift_change_puts_exactly_one_event_with_the_right_people() {
    let stack = spawn("2026-03-02T16:58:00Z").await;
    let deps = stack.deps().await;
    let quiet = stack.run(&deps).await.unwrap();
    assert_eq!((quiet.handoffs, quiet.unchanged), (0, 2), "{quiet:?}");
    assert!(stack.events().await.is_empty());

    stack.set_clock("2026-03-02T17:03:00Z");
    let summary = stack.run(&deps).await.unwrap();

    assert_eq!((summary.handoffs, summary.unchanged), (1, 1), "{summary:?}");
    let events = stack.events().await;
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event["source"], "on-call/handoff");
    assert_eq!(event["detail-type"], "On-call Handoff Event");
    assert_eq!(
        people(event),
        (
            BOB.to_owned(),
            "bob@example.com".to_owned(),
            Some("alice@example.com".to_owned())
        )
    );
    let detail = &event["detail"];
    assert_eq!(detail["PagerdutyHandoffs"][0]["goingOff"]["id"], ALICE);
    assert_eq!(detail["PagerdutyHandoffs"][0]["escalationLevel"], 1);
    assert_eq!(
        detail["PagerdutyHandoffs"][0]["scheduleName"],
        "IT Helpdesk"
    );
    assert_eq!(
        detail["Team"],
        json!({"name": "it", "service": "PEPIT01", "slack": "#it-team", "spoke": "IT"})
    );
    assert_eq!(detail["ShiftStart"], "2026-03-02T17:00:00Z");
    assert_eq!(detail["Reason"], "shift_change");
    assert_eq!(event["time"], "2026-03-02T17:03:00Z");
    assert!((stack.metrics.total("HandoffsEmitted") - 1.0).abs() < f64::EPSILON);

    let calls = stack.oncall_calls().await;
    let call = calls.last().unwrap();
    assert_eq!(call["headers"]["authorization"], "[REDACTED]");
    assert_eq!(
        call["headers"]["accept"],
        "application/vnd.pagerduty+json;version=2"
    );
    let query = call["query"].as_str().unwrap();
    for part in [
        "earliest=true",
        "include%5B%5D=users",
        "limit=100",
        "offset=0",
    ] {
        assert!(query.contains(part), "{query}");
    }
}

#[tokio::test]
async fn an_unchanged_rota_puts_nothing() {
    let stack = spawn("2026-03-02T10:30:00Z").await;
    let deps = stack.deps().await;
    for now in [
        "2026-03-02T10:30:00Z",
        "2026-03-02T10:35:00Z",
        "2026-03-02T10:40:00Z",
    ] {
        stack.set_clock(now);
        let summary = stack.run(&deps).await.unwrap();
        assert_eq!(
            (summary.handoffs, summary.reconciles, summary.unchanged),
            (0, 0, 2),
            "{now}"
        );
    }
    assert!(stack.events().await.is_empty());
    assert!(stack.metrics.total("HandoffsEmitted").abs() < f64::EPSILON);
    assert_eq!(
        stack.metrics.lines().len(),
        3,
        "one EMF line per run, zeros included"
    );
}

#[tokio::test]
async fn three_missed_runs_converge_on_the_next_run() {
    let stack = spawn("2026-03-02T16:50:00Z").await;
    let deps = stack.deps().await;
    stack.run(&deps).await.unwrap();
    // 16:55, 17:00 and 17:05 never ran (an outage); bob took over at 17:00.
    stack.set_clock("2026-03-02T17:10:00Z");
    stack.run(&deps).await.unwrap();
    let events = stack.events_of("it").await;
    assert_eq!(events.len(), 1);
    assert_eq!(people(&events[0]).0, BOB);
    stack.set_clock("2026-03-02T17:15:00Z");
    stack.run(&deps).await.unwrap();
    assert!(stack.events().await.is_empty(), "converged: nothing more");
}

#[tokio::test]
async fn three_missed_runs_converge_after_a_cold_start() {
    let stack = spawn("2026-03-02T16:50:00Z").await;
    stack.run(&stack.deps().await).await.unwrap();
    // A deploy: the old execution environment is gone; the next run starts cold 20 minutes later.
    stack.set_clock("2026-03-02T17:10:00Z");
    let fresh = stack.deps().await;
    stack.run(&fresh).await.unwrap();
    let events = stack.events().await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(
        people(&events[0]),
        (
            BOB.to_owned(),
            "bob@example.com".to_owned(),
            Some("alice@example.com".to_owned())
        )
    );
    stack.set_clock("2026-03-02T17:15:00Z");
    stack.run(&fresh).await.unwrap();
    assert!(stack.events().await.is_empty());
}

#[tokio::test]
async fn a_cold_start_after_a_handled_change_repeats_it_at_most_within_the_lookback() {
    let stack = spawn("2026-03-02T17:02:00Z").await;
    stack.run(&stack.deps().await).await.unwrap();
    assert_eq!(
        stack.events().await.len(),
        1,
        "bob's shift, new within the look-back"
    );
    stack.set_clock("2026-03-02T18:01:00Z");
    stack.run(&stack.deps().await).await.unwrap();
    assert!(
        stack.events().await.is_empty(),
        "an hour later a cold start no longer repeats it"
    );
}

#[tokio::test]
async fn the_daily_reconcile_puts_every_team_once_with_the_people_filled_in() {
    let stack = spawn("2026-03-03T05:58:00Z").await;
    let deps = stack.deps().await;
    assert_eq!(stack.run(&deps).await.unwrap().reconciles, 0);
    stack.set_clock("2026-03-03T06:03:00Z");
    let summary = stack.run(&deps).await.unwrap();
    assert_eq!(
        (summary.reconciles, summary.handoffs),
        (2, 0),
        "{summary:?}"
    );
    let events = stack.events().await;
    assert_eq!(events.len(), 2);
    let it = events
        .iter()
        .find(|e| e["detail"]["Team"]["name"] == "it")
        .unwrap();
    assert_eq!(it["detail"]["Reason"], "reconcile");
    assert_eq!(it["detail"]["OnCallEmail"], "carol@example.com");
    assert_eq!(it["detail"]["PreviouslyOnCall"], "bob@example.com");
    let facilities = events
        .iter()
        .find(|e| e["detail"]["Team"]["name"] == "facilities")
        .unwrap();
    assert_eq!(people(facilities).0, DAVE);
    assert!((stack.metrics.total("ReconcileEmitted") - 2.0).abs() < f64::EPSILON);
    stack.set_clock("2026-03-03T06:08:00Z");
    assert_eq!(stack.run(&deps).await.unwrap().reconciles, 0);
    assert!(stack.events().await.is_empty());

    let asked = stack
        .run_within(
            &deps,
            std::time::Duration::from_secs(30),
            json!({"reconcile": true}),
        )
        .await
        .unwrap();
    assert_eq!(
        asked.reconciles, 2,
        "an operator's reconcile puts every team"
    );
    assert_eq!(stack.events().await.len(), 2);
}

#[tokio::test]
async fn a_schedule_team_follows_its_schedule_across_the_week() {
    let stack = spawn("2026-03-09T08:58:00Z").await;
    let deps = stack.deps().await;
    stack.run(&deps).await.unwrap();
    stack.set_clock("2026-03-09T09:01:00Z");
    stack.run(&deps).await.unwrap();
    let events = stack.events_of("facilities").await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        people(&events[0]),
        (
            ERIN.to_owned(),
            "erin@example.com".to_owned(),
            Some("dave@example.com".to_owned())
        )
    );
    assert_eq!(events[0]["detail"]["Team"]["service"], "PSFAC01");
    assert!(events[0]["detail"]["Team"].get("slack").is_none());
}

#[tokio::test]
async fn an_unknown_email_is_reported_and_not_guessed_until_it_is_added() {
    let mut seed: Value = serde_json::from_str(pagerduty_fake::MINIMAL_SEED).unwrap();
    seed["schedules"][1]["overrides"] =
        json!([{"user": PAT, "start": "2026-03-02T10:00:00Z", "end": "2026-03-02T12:00:00Z"}]);
    let stack = spawn_with(
        pagerduty_fake::PagerDutyFake::new(seed.clone()).unwrap(),
        teams(),
        "2026-03-02T09:58:00Z",
    )
    .await;
    let deps = stack.deps().await;
    stack.run(&deps).await.unwrap();
    assert_eq!(
        stack.events().await.len(),
        2,
        "the 09:00 shifts, new within the cold start's look-back"
    );

    stack.set_clock("2026-03-02T10:03:00Z");
    let summary = stack.run(&deps).await.unwrap();
    assert_eq!(
        (summary.unknown_users, summary.handoffs, summary.failed),
        (1, 0, 0),
        "{summary:?}"
    );
    assert!(
        stack.events().await.is_empty(),
        "no event, no guessed address"
    );
    assert!((stack.metrics.total("UnknownUsers") - 1.0).abs() < f64::EPSILON);
    let alerts = stack.slack.fake.messages("alerts_it");
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].text.contains("Pat Contractor") && alerts[0].text.contains(PAT),
        "{}",
        alerts[0].text
    );

    stack.set_clock("2026-03-02T10:08:00Z");
    assert_eq!(
        stack.run(&deps).await.unwrap().unknown_users,
        1,
        "still due, still unknown"
    );
    assert_eq!(
        stack.slack.fake.messages("alerts_it").len(),
        1,
        "the repeat window holds the alert back"
    );

    seed["users"][6]["email"] = json!("pat@example.com");
    assert_eq!(stack.control.reset(Some(seed)).await.status, 204);
    stack.set_clock("2026-03-02T10:13:00Z");
    stack.run(&deps).await.unwrap();
    let events = stack.events_of("facilities").await;
    assert_eq!(events.len(), 1, "the e-mail was added: the handoff follows");
    assert_eq!(
        people(&events[0]),
        (
            PAT.to_owned(),
            "pat@example.com".to_owned(),
            Some("dave@example.com".to_owned())
        )
    );
}

#[tokio::test]
async fn an_empty_mapping_reads_nothing_and_puts_nothing() {
    let stack = spawn_with(
        pagerduty_fake::PagerDutyFake::minimal().unwrap(),
        json!([]),
        "2026-03-03T06:03:00Z",
    )
    .await;
    let summary = stack.run(&stack.deps().await).await.unwrap();
    assert_eq!((summary.teams, summary.failed), (0, 0));
    assert!(stack.oncall_calls().await.is_empty());
    assert!(stack.events().await.is_empty());
}
