//! The scan, the decision, the queue and the limits (CLS-22, CLS-25, CLS-26, CLS-35).

use std::collections::BTreeSet;

use serde_json::json;

use crate::support::{
    ORG, OTHER_REQUEST_TYPE, Options, Ticket, d, github_secret, prepare, spawn, spawn_with,
    spoke_secret, writes,
};

const TODAY: &str = "2027-01-10";

fn far(n: u32) -> Ticket {
    Ticket::new(n, "2028-06-01")
}

/// collab1 expired before [`TODAY`], collab2 21 days from it (a reminder), collab3 far away.
fn one_expired_one_reminder_one_far() -> [Ticket; 3] {
    [
        Ticket::new(1, "2027-01-01"),
        Ticket::new(2, "2027-01-20"),
        far(3),
    ]
}

#[tokio::test]
async fn every_page_of_250_tickets_is_read_and_expiries_up_to_today_are_enqueued() {
    let stack = spawn().await;
    let mut tickets: Vec<Ticket> = (0..250).map(far).collect();
    // Due: 10 long past, 5 on the run date (spread over the three pages).
    let due: Vec<u32> = (0..15).map(|i| i * 16 + 3).collect();
    for (k, n) in due.iter().enumerate() {
        let expiry = if k < 10 { "2026-12-01" } else { TODAY };
        tickets[*n as usize] = Ticket::new(*n, expiry);
    }
    tickets[249] = Ticket::new(249, "2027-02-15"); // 36 days: no reminder yet
    stack.seed_tickets(&tickets);

    let report = stack.sweep(TODAY).await;

    assert_eq!(report.scanned, 250);
    assert_eq!(report.reviewable, 250);
    let lists = stack.listing_queries();
    assert_eq!(lists.len(), 3, "{lists:?}");
    for (page, query) in lists.iter().enumerate() {
        for part in [
            "status=OPEN%2CPENDING%2CLOCKED",
            "sort=createdFirst",
            "limit=100",
            // Each page after the first starts on the last ticket of the one before (crate::listing).
            &format!("start={}", page * 99),
        ] {
            assert!(query.contains(part), "{part} missing in {query}");
        }
    }
    let reviews = stack.reviews().await;
    let sent: BTreeSet<String> = reviews
        .iter()
        .map(|(_, _, r)| r.ticket_id.clone())
        .collect();
    let expected: BTreeSet<String> = due.iter().map(|n| Ticket::new(*n, TODAY).id()).collect();
    assert_eq!(sent, expected);
    let org_id = stack.env.github.org_id("acme").unwrap();
    for (group, dedup, review) in &reviews {
        let n: u64 = review.ticket_id[19..].parse().unwrap();
        assert_eq!(group, &format!("gh-{org_id}-{}", 5_000_000 + n));
        assert_eq!(dedup, &format!("review-{}-{TODAY}", review.ticket_id));
        assert_eq!(review.run_date, d(TODAY));
        assert_eq!(review.activity_source.as_deref(), Some("off"));
    }
    assert_eq!(report.due.get("expire"), Some(&15));
    assert_eq!(stack.env.metrics.total("SweepDue"), 15.0);
    assert_eq!(stack.env.metrics.total("SweepCompleted"), 1.0);
    assert!(
        stack
            .env
            .metrics
            .lines()
            .iter()
            .any(|l| l.contains("\"SweepDurationMs\""))
    );
    let summaries = stack.summaries();
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    assert!(
        summaries[0].contains("250 open tickets") && summaries[0].contains("expire 15"),
        "{}",
        summaries[0]
    );
}

#[tokio::test]
async fn a_sweep_after_three_skipped_days_expires_every_ticket_that_came_due() {
    let stack = spawn().await;
    let tickets = vec![
        Ticket::new(1, "2027-01-07"),
        Ticket::new(2, "2027-01-08"),
        Ticket::new(3, "2027-01-09"),
        Ticket::new(4, TODAY),
        far(5),
    ];
    stack.seed_tickets(&tickets);
    stack.sweep(TODAY).await;
    let sent = stack.reviewed_tickets().await;
    let expected: Vec<String> = tickets[..4].iter().map(Ticket::id).collect();
    assert_eq!(sent, expected);
}

#[tokio::test]
async fn a_second_sweep_the_same_day_adds_nothing_to_the_queue() {
    let stack = spawn().await;
    stack.seed_tickets(&one_expired_one_reminder_one_far());
    stack.sweep(TODAY).await;
    assert_eq!(stack.depth().await, 2, "one expire and one 21-day reminder");
    let again = stack.sweep(TODAY).await;
    assert_eq!(
        again.due.values().sum::<usize>(),
        2,
        "still due: the consumer has not run"
    );
    assert_eq!(
        stack.depth().await,
        2,
        "FIFO deduplication: review-{{ticket}}-{{run_date}}"
    );
}

#[tokio::test]
async fn a_dry_run_sends_nothing_and_posts_the_plan() {
    let stack = spawn().await;
    stack.seed_tickets(&one_expired_one_reminder_one_far());
    let report = stack
        .invoke(json!({"today": TODAY, "dry_run": true}))
        .await
        .unwrap();
    assert!(report.dry_run);
    assert_eq!(report.enqueued, 0);
    assert_eq!(stack.depth().await, 0);
    let plan: Vec<String> = stack
        .alert_channel()
        .into_iter()
        .filter(|t| t.starts_with("CLS sweep dry run"))
        .collect();
    assert_eq!(plan.len(), 1, "{plan:?}");
    assert!(
        plan[0].contains("acme/collab1 expire (expires 2027-01-01)"),
        "{}",
        plan[0]
    );
    assert!(
        plan[0].contains("acme/collab2 notify (expires 2027-01-20)"),
        "{}",
        plan[0]
    );
    assert!(!plan[0].contains("collab3"));
    // CLS-25: no Spoke write and no GitHub call that changes anything (the sweep is read-only; the plan is
    // all a dry run produces).
    let spoke_writes = writes(&stack.env.spoke.kit().journal(), "");
    assert!(spoke_writes.is_empty(), "{spoke_writes:?}");
    let github_writes = writes(&stack.env.github.kit().journal(), "/access_tokens");
    assert!(github_writes.is_empty(), "{github_writes:?}");
    for metric in ["SweepDue", "SweepCompleted", "Enqueued"] {
        assert_eq!(
            stack.env.metrics.total(metric),
            0.0,
            "a dry run counts no {metric}"
        );
    }
    // The configuration switch does the same.
    let stack = spawn_with(Options::default().var("CLS_DRY_RUN", "true")).await;
    stack.seed_tickets(&[Ticket::new(1, "2027-01-01")]);
    stack.sweep(TODAY).await;
    assert_eq!(stack.depth().await, 0);
}

#[tokio::test]
async fn thirty_due_removals_with_a_brake_of_25_enqueue_no_removal_and_alert_once() {
    let stack = spawn().await;
    let mut tickets: Vec<Ticket> = (0..30).map(|n| Ticket::new(n, "2027-01-02")).collect();
    tickets.push(Ticket::new(30, "2027-01-25")); // a 21-day reminder still goes
    stack.seed_tickets(&tickets);

    let report = stack.sweep(TODAY).await;

    assert!(report.brake_tripped);
    assert_eq!(report.held_removals.len(), 30);
    let reviews = stack.reviews().await;
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].2.ticket_id, Ticket::new(30, TODAY).id());
    let alerts = stack.alerts_of("SweepBrakeTripped");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    for n in 0..30 {
        assert!(
            alerts[0].contains(&format!("acme/collab{n} expire")),
            "collab{n} not listed"
        );
    }
    assert!(alerts[0].contains("--allow-removals 30"));
    assert_eq!(stack.env.metrics.total("SweepBrakeTripped"), 1.0);

    // The operator confirms: the brake is raised for that run.
    let confirmed = stack
        .invoke(json!({"today": TODAY, "allow_removals": 30}))
        .await
        .unwrap();
    assert!(!confirmed.brake_tripped);
    let removals = stack.reviews().await;
    assert_eq!(removals.len(), 30);
    assert_eq!(stack.alerts_of("SweepBrakeTripped").len(), 1);
}

#[tokio::test]
async fn more_actions_than_the_limit_trigger_exactly_one_continuation_that_sends_the_rest() {
    let stack = spawn_with(Options::default().var("CLS_SWEEP_MAX_ACTIONS", "10")).await;
    let tickets: Vec<Ticket> = (0..15).map(|n| Ticket::new(n, "2027-01-05")).collect();
    stack.seed_tickets(&tickets);

    let first = stack.sweep(TODAY).await;
    assert_eq!(first.enqueued, 10);
    assert_eq!(first.remaining, 5);
    assert!(first.continued);
    let events = stack.env.continuations.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].continuation, 1);
    assert_eq!(events[0].today.as_deref(), Some(TODAY));

    // Lambda runs the continuation: the other five, and no further continuation.
    let event = serde_json::to_value(&events[0]).unwrap();
    let second = stack.invoke(event).await.unwrap();
    assert_eq!(second.enqueued, 5);
    assert_eq!(second.remaining, 0);
    assert_eq!(stack.env.continuations.events().len(), 1);
    let sent = stack.reviewed_tickets().await;
    assert_eq!(sent, tickets.iter().map(Ticket::id).collect::<Vec<_>>());
    assert_eq!(
        stack.env.metrics.total("SweepDue"),
        15.0,
        "counted once per run"
    );
}

#[tokio::test]
async fn the_run_date_override_is_refused_in_production() {
    let stack = spawn_with(Options::default().var("CLS_STAGE", "production")).await;
    stack.seed_tickets(&[Ticket::new(1, "2020-01-01")]);
    let err = stack.invoke(json!({"today": TODAY})).await.unwrap_err();
    assert!(
        matches!(err, cls_sweep::SweepError::TestClockRefused),
        "{err:?}"
    );
    assert_eq!(stack.depth().await, 0);
    assert_eq!(stack.alerts_of("TestClockRefused").len(), 1);
}

/// Why `Deps::new` (what `main` runs at cold start) refuses the Spoke secret after `edit`.
async fn start_error(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut secret = spoke_secret();
    edit(&mut secret);
    let env = prepare(Options {
        spoke_secret: Some(secret),
        ..Options::default()
    })
    .await;
    let err = env.build().await.err().expect("the start must fail");
    err.to_string()
}

#[tokio::test]
async fn a_missing_spoke_field_or_tag_id_fails_the_start_naming_the_key() {
    let err = start_error(|secret| {
        secret["fields"]
            .as_object_mut()
            .unwrap()
            .remove("cls_state");
    })
    .await;
    assert!(err.contains("fields.cls_state"), "{err}");
    let err = start_error(|secret| secret["tags"]["expired"] = json!("")).await;
    assert!(err.contains("tags.expired"), "{err}");
}

#[tokio::test]
async fn unreadable_tickets_are_skipped_listed_and_alerted_once_per_day() {
    let stack = spawn().await;
    let mut bad_expiry = Ticket::new(1, "soon");
    bad_expiry.state["expires_on"] = json!(null);
    let bad_state = Ticket::new(2, "2027-01-01").raw_state("{not json");
    let good = Ticket::new(3, "2027-01-01");
    stack.seed_tickets(&[bad_expiry.clone(), bad_state.clone(), good.clone()]);

    let report = stack.sweep(TODAY).await;
    stack.sweep(TODAY).await;

    let skipped: Vec<(String, String)> = report
        .skipped
        .iter()
        .map(|s| (s.ticket.clone(), s.reason.clone()))
        .collect();
    assert_eq!(
        skipped,
        vec![
            (bad_expiry.id(), "unparseable expiry".to_owned()),
            (bad_state.id(), "unparseable cls_state".to_owned())
        ]
    );
    let alerts = stack.alerts_of("TicketSkipped");
    assert_eq!(alerts.len(), 2, "once per ticket per day: {alerts:?}");
    assert!(stack.summaries()[0].contains(&bad_state.id()));
    assert_eq!(stack.reviewed_tickets().await, vec![good.id()]);
}

#[tokio::test]
async fn a_new_org_in_the_github_secret_is_swept_without_a_restart() {
    let stack = spawn_with(Options {
        orgs: vec![ORG],
        ..Options::default().var("CLS_SECRETS_TTL_SECONDS", "0")
    })
    .await;
    let mut globex = Ticket::new(2, "2027-01-01");
    globex.org = "globex".into();
    stack.seed_tickets(&[Ticket::new(1, "2027-01-01"), globex.clone()]);

    let before = stack.sweep(TODAY).await;
    assert_eq!(before.skipped.len(), 1);
    assert_eq!(before.skipped[0].reason, "org globex is not configured");

    stack
        .put_github_secret(&github_secret(&stack.env.github, &[ORG, "globex"], "off"))
        .await;
    let after = stack.sweep(TODAY).await;
    assert!(after.skipped.is_empty(), "{:?}", after.skipped);
    let sent = stack.reviewed_tickets().await;
    assert!(sent.contains(&globex.id()));

    // A changed secret that does not validate keeps the last good settings, with one alert.
    stack.put_github_secret(&json!({"orgs": []})).await;
    let kept = stack.sweep(TODAY).await;
    assert!(kept.skipped.is_empty());
    let alerts = stack.alerts_of("SettingsInvalid");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("orgs"), "{}", alerts[0]);
}

#[tokio::test]
async fn after_the_last_continuation_the_rest_waits_for_the_next_run_with_one_alert() {
    let stack = spawn_with(
        Options::default()
            .var("CLS_SWEEP_MAX_ACTIONS", "2")
            .var("CLS_SWEEP_MAX_CONTINUATIONS", "1"),
    )
    .await;
    let tickets: Vec<Ticket> = (0..5).map(|n| Ticket::new(n, "2027-01-05")).collect();
    stack.seed_tickets(&tickets);

    stack.sweep(TODAY).await;
    let event = serde_json::to_value(&stack.env.continuations.events()[0]).unwrap();
    let last = stack.invoke(event).await.unwrap();

    assert_eq!(last.continuation, 1);
    assert_eq!(last.enqueued, 2);
    assert_eq!(last.remaining, 1);
    assert!(!last.continued);
    assert_eq!(
        stack.env.continuations.events().len(),
        1,
        "no second continuation"
    );
    assert_eq!(stack.depth().await, 4);
    let alerts = stack.alerts_of("SweepLimitReached");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0].contains("1 actions are still due"),
        "{}",
        alerts[0]
    );
}

#[tokio::test]
async fn a_failed_send_fails_the_invocation_for_a_retry_and_alerts() {
    let stack = spawn().await;
    stack.seed_tickets(&[Ticket::new(1, "2027-01-01"), far(2)]);
    stack
        .env
        .sqs
        .delete_queue()
        .queue_url(&stack.env.queues.url)
        .send()
        .await
        .unwrap();

    let err = stack.invoke(json!({"today": TODAY})).await.unwrap_err();

    assert!(
        matches!(err, cls_sweep::SweepError::Enqueue { failed: 1, .. }),
        "{err:?}"
    );
    assert_eq!(
        lambda_kit::Classify::class(&err),
        lambda_kit::ErrorClass::Retryable
    );
    assert_eq!(stack.alerts_of("EnqueueFailed").len(), 1);
    assert_eq!(stack.env.metrics.total("EnqueueFailed"), 1.0);
    assert_eq!(
        stack.env.metrics.total("SweepCompleted"),
        0.0,
        "no heartbeat for a failed run"
    );
}

#[tokio::test]
async fn tickets_of_other_request_types_in_the_cls_team_are_ignored_silently() {
    let stack = spawn().await;
    let due = Ticket::new(1, "2027-01-01");
    // A laptop request in the same team: none of the CLS fields.
    let laptop = json!({
        "id": "62c00000000000000000f001", "subject": "New laptop", "requester": crate::support::SERVICE_USER,
        "team": crate::support::TEAM, "requestType": OTHER_REQUEST_TYPE, "status": "OPEN",
        "answers": [{"fieldId": "00000000-0000-4000-8000-000000000101", "value": "X1 Carbon"}],
        "createdAt": "2026-01-01T00:00:00.000Z",
    });
    // Another type whose answers happen to use the CLS field ids and an expiry in the past: still not CLS's.
    let mut lookalike = Ticket::new(2, "2026-12-01").seed();
    lookalike["requestType"] = json!(OTHER_REQUEST_TYPE);
    stack.seed_requests(vec![laptop, lookalike, due.seed()]);

    let report = stack.sweep(TODAY).await;
    stack.sweep(TODAY).await;

    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.reviewable, 1);
    assert!(stack.alerts_of("TicketSkipped").is_empty());
    assert_eq!(stack.reviewed_tickets().await, vec![due.id()]);
    assert!(
        !stack.summaries()[0].contains("skipped"),
        "{}",
        stack.summaries()[0]
    );
}

#[tokio::test]
async fn a_continuation_on_another_instance_does_not_alert_a_skipped_ticket_again() {
    let stack = spawn_with(Options::default().var("CLS_SWEEP_MAX_ACTIONS", "1")).await;
    let bad = Ticket::new(3, "2027-01-01").raw_state("{not json");
    stack.seed_tickets(&[
        Ticket::new(1, "2027-01-01"),
        Ticket::new(2, "2027-01-02"),
        bad.clone(),
    ]);
    let first = stack.sweep(TODAY).await;
    assert!(first.continued);
    assert_eq!(stack.alerts_of("TicketSkipped").len(), 1);

    let second = stack.continue_on_another_instance(0).await;
    assert_eq!(second.enqueued, 1);
    assert_eq!(second.skipped.len(), 1, "still listed in the report");
    assert_eq!(
        stack.alerts_of("TicketSkipped").len(),
        1,
        "alerted once per run, not once per invocation"
    );
}
