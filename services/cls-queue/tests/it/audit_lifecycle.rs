//! The sweep and the consumer together (issue 11 "Done when"): the real `cls-sweep` handler enqueues onto the
//! same moto FIFO queue that cls-queue's handler drains, so reminders, removals and reruns are seen end to end
//! — not only each side against hand-made messages.

use std::sync::Arc;

use cls_core::ticket::{Access, RemovalReason};
use lambda_kit::{Invocation, MemorySink, Platform};
use serde_json::json;

use crate::life::*;
use crate::support::*;

/// `cls-sweep` over this stack's queue, secrets and stand-ins, built as its `main` builds it (its metrics
/// kept apart from the consumer's).
async fn sweeper(stack: &Stack) -> cls_sweep::Deps {
    let mut vars = stack.vars.clone();
    vars.insert("CLS_QUEUE_URL".to_owned(), stack.queues.url.clone());
    let config = cls_sweep::Config::from_lookup(lambda_kit::config::map_lookup(vars)).unwrap();
    let platform = Platform {
        metrics: Arc::new(MemorySink::default()),
        ..stack.platform.clone()
    };
    cls_sweep::Deps::new(config, &platform).await.unwrap()
}

/// What a rerun of the sweep after the 5-minute FIFO deduplication window looks like to the queue: a copy of
/// every queued message under a deduplication id SQS has not seen.
async fn copy_past_the_dedup_window(stack: &Stack) {
    use aws_sdk_sqs::types::MessageSystemAttributeName as Attr;
    let page = stack
        .sqs
        .receive_message()
        .queue_url(&stack.queues.url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .message_system_attribute_names(Attr::All)
        .send()
        .await
        .unwrap();
    for message in page.messages.unwrap_or_default() {
        let attrs = message.attributes.clone().unwrap_or_default();
        let dedup = format!("{}-late", attrs[&Attr::MessageDeduplicationId]);
        stack
            .send_raw(
                &attrs[&Attr::MessageGroupId],
                &dedup,
                message.body().unwrap_or_default(),
            )
            .await;
    }
}

/// A stack with octocat's ticket (granted 2026-05-12, expiring 2027-05-12, owned by alice). `audit_log`:
/// github-fake's demo seed with `acme` on Enterprise Cloud as the activity source; otherwise no activity
/// source (expiry and reminders only).
async fn stack_with_ticket_and(audit_log: bool) -> (Stack, String) {
    let stack = spawn_with(Options {
        demo_github: audit_log,
        ..Options::default()
    })
    .await;
    let mut secret = github_secret(&stack.github, &[ORG], false);
    for org in secret["orgs"].as_array_mut().unwrap() {
        org["activity_source"] = json!(if audit_log { "audit_log" } else { "off" });
    }
    devstack::aws::put_secret(&stack.secrets_sdk, &stack.github_secret_id, &secret)
        .await
        .unwrap();
    let id = seed_octocat(&stack).await;
    (stack, id)
}

async fn stack_with_ticket() -> (Stack, String) {
    stack_with_ticket_and(false).await
}

async fn depth(stack: &Stack) -> u64 {
    devstack::aws::queue_depth(&stack.sqs, &stack.queues.url)
        .await
        .unwrap()
}

async fn sweep(deps: &cls_sweep::Deps, today: &str) -> cls_sweep::SweepReport {
    cls_sweep::handle(json!({"today": today}), &Invocation::new("sweep"), deps)
        .await
        .unwrap()
}

/// The reminder DMs alice received (not the removal notice).
fn reminders(stack: &Stack) -> Vec<String> {
    stack
        .slack
        .dm_messages(ALICE_SLACK)
        .into_iter()
        .map(|m| m.text)
        .filter(|t| t.contains(" expires on "))
        .collect()
}

#[tokio::test]
async fn reminders_go_out_once_each_at_21_7_3_days_and_a_second_sweep_after_the_consumer_finds_nothing()
 {
    let (stack, id) = stack_with_ticket().await;
    let deps = sweeper(&stack).await;
    // Daily runs around each threshold; the expected reminder count after each day.
    let days = [
        ("2027-04-20", 0),
        ("2027-04-21", 1),
        ("2027-04-22", 1),
        ("2027-05-04", 1),
        ("2027-05-05", 2),
        ("2027-05-06", 2),
        ("2027-05-09", 3),
        ("2027-05-10", 3),
        ("2027-05-11", 3),
    ];
    for (day, expected) in days {
        sweep(&deps, day).await;
        stack.drain(std::time::Duration::from_secs(30)).await;
        assert_eq!(reminders(&stack).len(), expected, "after the run of {day}");
        // The same day again, after the consumer has applied the first run: the sweep itself finds
        // nothing due (not just SQS deduplication absorbing a copy).
        let again = sweep(&deps, day).await;
        assert_eq!(
            again.due.values().sum::<usize>(),
            0,
            "{day}: {:?}",
            again.due
        );
        assert_eq!(again.enqueued, 0, "{day}");
        assert_eq!(depth(&stack).await, 0, "{day}");
    }
    let texts = reminders(&stack);
    for (text, days) in texts.iter().zip(["21", "7", "3"]) {
        assert!(text.contains(&format!("(in {days} days)")), "{texts:?}");
    }
    let notified = state(&stack, &id).notified.unwrap();
    assert_eq!(
        (notified.for_date, notified.days),
        (d("2027-05-12"), vec![21, 7, 3])
    );
    assert_eq!(
        stack.messages(&id).len(),
        3,
        "one ticket message per reminder"
    );

    // The expiry day: removed once; the ticket is closed and a rerun lists nothing to review.
    let report = sweep(&deps, "2027-05-12").await;
    assert_eq!(report.due.get("expire"), Some(&1));
    stack.drain(std::time::Duration::from_secs(30)).await;
    assert!(!stack.github.is_outside_collaborator(ORG, "octocat"));
    let s = state(&stack, &id);
    assert_eq!(
        (s.access, s.reason),
        (Access::Removed, Some(RemovalReason::Expired))
    );
    assert_eq!(request(&stack, &id)["status"], "RESOLVED");
    let again = sweep(&deps, "2027-05-12").await;
    assert_eq!((again.reviewable, again.enqueued), (0, 0));
    assert_eq!(
        github_calls(&stack, "DELETE", "/orgs/acme/outside_collaborators/*"),
        1
    );
    assert_eq!(reminders(&stack).len(), 3);
}

#[tokio::test]
async fn a_rerun_after_the_dedup_window_is_absorbed_by_the_consumers_recheck() {
    let (stack, id) = stack_with_ticket().await;
    let deps = sweeper(&stack).await;

    // The 21-day reminder: the scheduled run and a rerun whose copy the queue does not deduplicate, both
    // queued before cls-queue runs.
    sweep(&deps, "2027-04-21").await;
    copy_past_the_dedup_window(&stack).await;
    assert_eq!(depth(&stack).await, 2, "the copy got past FIFO dedup");
    stack.drain(std::time::Duration::from_secs(30)).await;
    assert_eq!(reminders(&stack).len(), 1, "one DM");
    assert_eq!(stack.messages(&id).len(), 1, "one ticket message");
    assert_eq!(stack.metrics.total("DuplicateDeliverySkipped"), 1.0);

    // The expiry day, the same way: one DELETE, one removal message.
    sweep(&deps, "2027-05-12").await;
    copy_past_the_dedup_window(&stack).await;
    assert_eq!(depth(&stack).await, 2);
    stack.drain(std::time::Duration::from_secs(30)).await;
    assert_eq!(
        github_calls(&stack, "DELETE", "/orgs/acme/outside_collaborators/*"),
        1
    );
    assert_eq!(stack.messages(&id).len(), 2, "{:?}", stack.messages(&id));
    assert_eq!(state(&stack, &id).access, Access::Removed);
    let alerts: Vec<String> = stack
        .alerts()
        .into_iter()
        .filter(|a| a.contains("*CLS "))
        .collect();
    assert!(alerts.is_empty(), "{alerts:?}");
}

#[tokio::test]
async fn inactivity_through_the_sweep_records_activity_warns_and_removes_only_with_a_working_audit_log()
 {
    let (stack, id) = stack_with_ticket_and(true).await;
    let deps = sweeper(&stack).await;
    let drain = || stack.drain(std::time::Duration::from_secs(30));
    // octocat fetched on 2026-06-01: the next day's sweep carries it and cls-queue records it, silently.
    let at = chrono::NaiveDate::from_ymd_opt(2026, 6, 1)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis();
    stack
        .github
        .add_audit_events(
            ORG,
            vec![
                json!({"action": "git.fetch", "actor": "octocat", "actor_id": OCTOCAT_ID,
                        "repo": "acme/widgets", "@timestamp": at, "created_at": at}),
            ],
        )
        .unwrap();
    let report = sweep(&deps, "2026-06-02").await;
    assert_eq!(
        report.due.get("record_activity"),
        Some(&1),
        "{:?}",
        report.due
    );
    drain().await;
    assert_eq!(state(&stack, &id).last_activity, Some(d("2026-06-01")));
    assert!(stack.messages(&id).is_empty());
    assert!(stack.slack.dm_messages(ALICE_SLACK).is_empty());

    // 83 days after the last activity: one warning naming the removal date.
    sweep(&deps, "2026-08-23").await;
    drain().await;
    assert_eq!(
        state(&stack, &id).inactivity_warned_for,
        Some(d("2026-08-30"))
    );
    let dms = stack.slack.dm_messages(ALICE_SLACK);
    assert_eq!(dms.len(), 1);
    assert!(
        dms[0].text.contains("removed for inactivity on 2026-08-30"),
        "{}",
        dms[0].text
    );
    // Warned, not yet due: nothing.
    assert_eq!(sweep(&deps, "2026-08-29").await.enqueued, 0);

    // The removal day with the audit log unavailable: nobody is removed, IT is told once.
    stack.github.set_enterprise(ORG, false).unwrap();
    let report = sweep(&deps, "2026-08-30").await;
    assert!(report.due.is_empty(), "{:?}", report.due);
    drain().await;
    assert_eq!(state(&stack, &id).access, Access::Granted);
    let unavailable: Vec<String> = stack
        .alerts()
        .into_iter()
        .filter(|a| a.contains("ActivitySourceUnavailable"))
        .collect();
    assert_eq!(unavailable.len(), 1, "{unavailable:?}");

    // The next day with the log answering and still no activity: removed as inactive, once.
    stack.github.set_enterprise(ORG, true).unwrap();
    let report = sweep(&deps, "2026-08-31").await;
    assert_eq!(
        report.due.get("inactivity_expire"),
        Some(&1),
        "{:?}",
        report.due
    );
    drain().await;
    assert_removed_as_inactive(&stack, &id);
    assert_eq!(
        github_calls(&stack, "DELETE", "/orgs/acme/outside_collaborators/*"),
        1
    );
    assert!(!stack.github.is_outside_collaborator(ORG, "octocat"));
}
