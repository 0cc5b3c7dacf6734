//! Inactivity signals (CLS-32): the audit log feeds `last_activity`; an unavailable log never removes anyone.

use chrono::{TimeZone, Utc};
use serde_json::json;

use crate::support::{Options, Ticket, spawn_with};

/// A collaborator the github-fake demo seed has no audit events for.
const MONA_LISA: u64 = 7_000_001;

fn audit_log() -> Options {
    Options::default().activity_source("audit_log")
}

#[tokio::test]
async fn audit_log_activity_is_carried_in_a_review() {
    let stack = spawn_with(audit_log()).await;
    let ticket = Ticket::new(1, "2028-01-01")
        .login("mona-lisa", MONA_LISA)
        .state("last_activity", json!("2026-02-01"));
    stack.seed_tickets(&[ticket.clone(), Ticket::new(2, "2028-01-01")]);
    let at = Utc
        .with_ymd_and_hms(2026, 3, 9, 12, 0, 0)
        .unwrap()
        .timestamp_millis();
    stack
        .env
        .github
        .add_audit_events(
            "acme",
            vec![
                json!({"action": "git.clone", "actor": "mona-lisa", "actor_id": MONA_LISA,
                        "repo": "acme/widgets", "@timestamp": at, "created_at": at}),
            ],
        )
        .unwrap();

    let report = stack.sweep("2026-03-10").await;

    assert_eq!(
        report.activity.get("acme").map(String::as_str),
        Some("audit_log")
    );
    let reviews = stack.reviews().await;
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    let review = &reviews[0].2;
    assert_eq!(review.ticket_id, ticket.id());
    assert_eq!(review.last_activity, Some(crate::support::d("2026-03-09")));
    assert_eq!(review.activity_source.as_deref(), Some("audit_log"));
    let queries: Vec<String> = stack
        .env
        .github
        .kit()
        .journal()
        .iter()
        .filter(|e| e.path.ends_with("/audit-log"))
        .map(|e| e.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(queries.len(), 1, "one query per org per run");
    assert!(
        queries[0].contains("created%3A%3E%3D2026-03-08"),
        "{}",
        queries[0]
    );
}

#[tokio::test]
async fn an_unavailable_audit_log_gives_no_inactivity_action_and_one_alert() {
    let stack = spawn_with(audit_log()).await;
    // Granted 2026-01-01 and never seen since: 151 days later an answering source warns.
    stack.seed_tickets(&[Ticket::new(1, "2028-01-01")]);
    stack.env.github.set_enterprise("acme", false).unwrap();

    let report = stack.sweep("2026-06-01").await;
    stack.sweep("2026-06-01").await;

    assert!(report.due.is_empty(), "{:?}", report.due);
    assert_eq!(stack.depth().await, 0);
    let alerts = stack.alerts_of("ActivitySourceUnavailable");
    assert_eq!(alerts.len(), 1, "once per day: {alerts:?}");
    assert!(
        alerts[0].contains("404") && alerts[0].contains("acme"),
        "{}",
        alerts[0]
    );
    assert!(report.activity["acme"].starts_with("unavailable"));

    // The same ticket with the audit log answering gets the inactivity warning: the test above is not vacuous.
    stack.env.github.set_enterprise("acme", true).unwrap();
    stack.sweep("2026-06-02").await;
    let reviews = stack.reviews().await;
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].2.activity_source.as_deref(), Some("audit_log"));
}

#[tokio::test]
async fn an_app_without_audit_log_permission_is_alerted_and_removes_nobody() {
    let stack = spawn_with(audit_log()).await;
    stack.seed_tickets(&[Ticket::new(1, "2028-01-01")]);
    stack
        .env
        .github
        .set_permission("acme", "organization_administration", "none")
        .unwrap();

    let report = stack.sweep("2026-06-01").await;

    assert!(report.due.is_empty(), "{:?}", report.due);
    assert_eq!(stack.depth().await, 0);
    let alerts = stack.alerts_of("ActivitySourceUnavailable");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("403"), "{}", alerts[0]);
}

#[tokio::test]
async fn repository_events_are_an_activity_source_too() {
    let stack = spawn_with(Options::default().activity_source("repo_events")).await;
    let pusher = Ticket::new(1, "2028-01-01").state("last_activity", json!("2026-02-01"));
    let quiet = Ticket::new(2, "2028-01-01");
    stack.seed_tickets(&[pusher.clone(), quiet.clone()]);
    stack
        .env
        .github
        .add_repo_events(
            "acme",
            "widgets",
            vec![
                json!({"type": "PushEvent", "actor": {"id": 5_000_001, "login": "collab1"},
                       "created_at": "2026-06-01T09:00:00Z"}),
                json!({"type": "PushEvent", "actor": {"id": 5_000_002, "login": "collab2"},
                       "created_at": "2026-01-05T09:00:00Z"}),
            ],
        )
        .unwrap();

    let report = stack.sweep("2026-06-02").await;

    assert_eq!(report.activity["acme"], "repo_events");
    let mut reviews: Vec<_> = stack
        .reviews()
        .await
        .into_iter()
        .map(|(_, _, r)| r)
        .collect();
    reviews.sort_by(|a, b| a.ticket_id.cmp(&b.ticket_id));
    assert_eq!(reviews.len(), 2, "{reviews:?}");
    // The pusher's activity is recorded; the other, silent since the grant (an old push is outside the
    // window), is warned.
    assert_eq!(reviews[0].ticket_id, pusher.id());
    assert_eq!(
        reviews[0].last_activity,
        Some(crate::support::d("2026-06-01"))
    );
    assert_eq!(reviews[0].activity_source.as_deref(), Some("repo_events"));
    assert_eq!(reviews[1].ticket_id, quiet.id());
    assert_eq!(reviews[1].last_activity, None);
    assert_eq!(reviews[1].activity_source.as_deref(), Some("repo_events"));
    let calls = stack
        .env
        .github
        .kit()
        .journal()
        .iter()
        .filter(|e| e.path.ends_with("/events"))
        .count();
    assert_eq!(
        calls, 1,
        "one call per repository, the repository shared by both tickets"
    );
}

#[tokio::test]
async fn a_continuation_on_another_instance_does_not_alert_the_unavailable_source_again() {
    let stack = spawn_with(audit_log().var("CLS_SWEEP_MAX_ACTIONS", "1")).await;
    stack.seed_tickets(&[Ticket::new(1, "2026-05-30"), Ticket::new(2, "2026-05-31")]);
    stack.env.github.set_enterprise("acme", false).unwrap();
    let first = stack.sweep("2026-06-01").await;
    assert!(first.continued);
    assert_eq!(stack.alerts_of("ActivitySourceUnavailable").len(), 1);

    let second = stack.continue_on_another_instance(0).await;
    assert!(second.activity["acme"].starts_with("unavailable"));
    assert_eq!(second.enqueued, 1);
    assert_eq!(
        stack.alerts_of("ActivitySourceUnavailable").len(),
        1,
        "once per run"
    );
}
