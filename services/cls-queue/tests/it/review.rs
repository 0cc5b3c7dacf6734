//! `review` handling (README, `review`; CLS-23, CLS-24, CLS-27, CLS-28, CLS-29, CLS-32; issue 11's App without
//! Members: write).

use cls_core::button::ButtonValue;
use cls_core::ticket::{Access, RemovalReason};
use fake_kit::FaultRule;
use serde_json::json;

use crate::life::*;
use crate::support::*;

/// github-fake answers every removal of an acme outside collaborator with `status` and `message`.
fn removals_answer(stack: &Stack, status: u16, message: &str) {
    stack.github.kit().add_fault(FaultRule::new(
        Some("DELETE"),
        "/orgs/acme/outside_collaborators/*",
        None,
        json!({"status": status, "body": {"message": message}}),
    ));
}

#[tokio::test]
async fn an_expired_collaborator_is_removed_by_current_login_and_the_ticket_closes_once() {
    let stack = spawn().await;
    // The ticket still shows the old login; the user id resolves the current one.
    let id = seed(
        &stack,
        &granted("octo-old", OCTOCAT_ID, "2026-05-12", "2027-05-12"),
        ALICE,
    )
    .await;
    let env = review(&stack, &id, OCTOCAT_ID, "2027-05-15", "off", None);
    deliver(&stack, &env).await;

    assert_eq!(
        github_calls(&stack, "DELETE", "/orgs/acme/outside_collaborators/octocat"),
        1
    );
    assert!(!stack.github.is_outside_collaborator(ORG, "octocat"));
    let r = request(&stack, &id);
    assert_eq!(r["status"], "RESOLVED");
    assert_eq!(Stack::answer(&r, 2).as_deref(), Some("octocat"));
    let s = state(&stack, &id);
    assert_eq!(
        (s.access, s.reason),
        (Access::Removed, Some(RemovalReason::Expired))
    );
    assert_eq!(s.removed_on, Some(d("2027-05-15")));
    assert_eq!(
        tags(&stack, &id),
        vec![TAG_REMOVED.to_owned(), TAG_EXPIRED.to_owned()]
    );
    let messages = stack.messages(&id);
    assert_eq!(
        messages,
        vec![format!(
            "'octocat' was removed from acme by CLS: access expired on 2027-05-12. Access closed. [cls:review-{id}-2027-05-15]"
        )]
    );
    let notice = stack.slack.dm_messages(ALICE_SLACK);
    assert_eq!(notice.len(), 1, "the owner is told");
    assert!(
        notice[0]
            .text
            .contains("octocat's access to acme was removed")
    );
    assert_eq!(stack.metrics.total("CollaboratorRemoved"), 1.0);

    // The same review again (after the queue's dedup window): nothing more.
    deliver(&stack, &env).await;
    assert_eq!(
        github_calls(&stack, "DELETE", "/orgs/acme/outside_collaborators/*"),
        1
    );
    assert_eq!(stack.messages(&id).len(), 1);
    assert!(stack.alerts().is_empty());
}

#[tokio::test]
async fn a_collaborator_already_gone_is_closed_as_removed_without_an_alert() {
    let stack = spawn().await;
    let id = seed_octocat(&stack).await;
    removals_answer(&stack, 404, "Not Found");
    review_on(&stack, &id, "2027-05-12").await;
    let s = state(&stack, &id);
    assert_eq!(
        (s.access, s.reason),
        (Access::Removed, Some(RemovalReason::Expired))
    );
    assert_eq!(stack.metrics.total("RemovalAlreadyGone"), 1.0);
    assert!(stack.alerts().is_empty());
}

#[tokio::test]
async fn a_422_closes_the_ticket_as_became_member_without_removal() {
    let stack = spawn().await;
    let id = seed_octocat(&stack).await;
    removals_answer(&stack, 422, "octocat is a member of the organization");
    review_on(&stack, &id, "2027-05-12").await;
    let s = state(&stack, &id);
    assert_eq!(
        (s.access, s.reason),
        (Access::Removed, Some(RemovalReason::BecameMember))
    );
    assert_eq!(tags(&stack, &id), vec![TAG_REMOVED.to_owned()]);
    assert!(stack.messages(&id)[0].contains("is now a member of acme"));
    assert!(
        stack.github.is_outside_collaborator(ORG, "octocat"),
        "nothing was removed"
    );
    assert!(stack.alerts().is_empty());
}

#[tokio::test]
async fn a_deleted_account_closes_the_ticket_without_a_delete_call() {
    let stack = spawn().await;
    let gone = 77_000_001;
    let id = seed(
        &stack,
        &granted("ghost", gone, "2026-05-12", "2027-05-12"),
        ALICE,
    )
    .await;
    deliver(
        &stack,
        &review(&stack, &id, gone, "2027-05-12", "off", None),
    )
    .await;
    assert_eq!(state(&stack, &id).access, Access::Removed);
    assert_eq!(
        github_calls(&stack, "DELETE", "/orgs/acme/outside_collaborators/*"),
        0
    );
    assert!(stack.messages(&id)[0].contains("the GitHub account no longer exists"));
}

#[tokio::test]
async fn a_removal_the_app_may_not_make_tags_the_ticket_and_alerts_once() {
    let stack = spawn().await;
    let id = seed_octocat(&stack).await;
    // The App installation may read members but not remove anyone (no "Members: write"): github-fake
    // answers the DELETE 403 "Resource not accessible by integration".
    stack.github.set_permission(ORG, "members", "read").unwrap();
    review_on(&stack, &id, "2027-05-12").await;
    assert!(tags(&stack, &id).contains(&TAG_ATTENTION.to_owned()));
    assert_eq!(state(&stack, &id).access, Access::Granted, "still open");
    let alerts = stack.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("octocat"), "{}", alerts[0]);
    assert!(
        stack.github.is_outside_collaborator(ORG, "octocat"),
        "nothing was removed"
    );
    assert_eq!(stack.dlq_depth().await, 0, "acknowledged, not retried");
}

#[tokio::test]
async fn reminders_go_out_once_per_threshold_with_both_buttons() {
    let stack = spawn().await;
    let id = seed_octocat(&stack).await;
    let dms = |stack: &Stack| stack.slack.dm_messages(ALICE_SLACK).len();
    review_on(&stack, &id, "2027-04-20").await;
    assert_eq!(dms(&stack), 0, "22 days left: nothing due");
    let first = review(&stack, &id, OCTOCAT_ID, "2027-04-21", "off", None);
    deliver(&stack, &first).await;
    assert_eq!(dms(&stack), 1);
    assert_eq!(
        slack_calls(&stack, "users.lookupByEmail"),
        1,
        "owner and adder share one e-mail"
    );
    assert_eq!(slack_calls(&stack, "conversations.open"), 1, "one person");
    assert_eq!(slack_calls(&stack, "chat.postMessage"), 1);
    deliver(&stack, &first).await;
    review_on(&stack, &id, "2027-04-22").await;
    assert_eq!(dms(&stack), 1, "re-runs send nothing");
    review_on(&stack, &id, "2027-05-05").await;
    assert_eq!(dms(&stack), 2);
    review_on(&stack, &id, "2027-05-09").await;
    assert_eq!(dms(&stack), 3);
    let s = state(&stack, &id);
    let notified = s.notified.unwrap();
    assert_eq!(
        (notified.for_date, notified.days),
        (d("2027-05-12"), vec![21, 7, 3])
    );
    assert_eq!(s.notify_slack_ids, vec![ALICE_SLACK.to_owned()]);
    assert_eq!(stack.messages(&id).len(), 3);
    assert!(
        stack.messages(&id)[0].starts_with(
            "Reminder sent to <@U0ALICE001>: access expires on 2027-05-12 (in 21 days)."
        )
    );

    // CLS-29: both buttons, and a value that decodes back to this ticket and expiry.
    let reminder = &stack.slack.dm_messages(ALICE_SLACK)[0];
    assert_eq!(
        reminder.text,
        "octocat's access to acme expires on 2027-05-12 (in 21 days)"
    );
    let actions = reminder
        .blocks
        .iter()
        .find(|b| b["type"] == "actions")
        .unwrap();
    let ids: Vec<&str> = actions["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["cls_extend", "cls_let_expire"]);
    let value = ButtonValue::decode(actions["elements"][0]["value"].as_str().unwrap()).unwrap();
    assert_eq!(value.ticket_id, id);
    assert_eq!(value.expires_on, d("2027-05-12"));
    assert_eq!(
        (value.user_id, value.org_login.as_str()),
        (OCTOCAT_ID, "acme")
    );
}

#[tokio::test]
async fn after_missed_runs_one_reminder_records_every_passed_threshold() {
    let stack = spawn().await;
    let id = seed_octocat(&stack).await;
    review_on(&stack, &id, "2027-05-10").await;
    assert_eq!(stack.slack.dm_messages(ALICE_SLACK).len(), 1);
    assert!(
        stack.slack.dm_messages(ALICE_SLACK)[0]
            .text
            .contains("(in 2 days)")
    );
    assert_eq!(state(&stack, &id).notified.unwrap().days, vec![21, 7, 3]);
}

#[tokio::test]
async fn nobody_reachable_by_dm_sends_the_reminder_to_the_fallback_channel() {
    let stack = spawn().await;
    let mut fields = granted("octocat", OCTOCAT_ID, "2026-05-12", "2027-05-12");
    fields.added_by = Some("unknown".into());
    // Owner = the default owner, whose e-mail Slack does not know (users_not_found).
    let id = seed(&stack, &fields, DEFAULT_OWNER).await;
    review_on(&stack, &id, "2027-04-21").await;
    let posted = stack.slack.messages(FALLBACK_CHANNEL);
    assert_eq!(posted.len(), 1);
    assert!(
        posted[0].text.starts_with("@it-admin octocat's access"),
        "{}",
        posted[0].text
    );
    assert_eq!(stack.metrics.total("NotificationFallback"), 1.0);
    assert_eq!(state(&stack, &id).notified.unwrap().days, vec![21]);
    assert!(stack.messages(&id)[0].contains(&format!("the fallback channel {FALLBACK_CHANNEL}")));
}

#[tokio::test]
async fn inactivity_warns_first_and_removes_only_with_a_working_signal() {
    let stack = spawn().await;
    let id = seed(
        &stack,
        &granted("octocat", OCTOCAT_ID, "2026-01-01", "2027-01-01"),
        ALICE,
    )
    .await;
    // Activity seen: recorded without a message.
    deliver(
        &stack,
        &review(
            &stack,
            &id,
            OCTOCAT_ID,
            "2026-01-05",
            "audit_log",
            Some("2026-01-04"),
        ),
    )
    .await;
    assert_eq!(state(&stack, &id).last_activity, Some(d("2026-01-04")));
    assert!(stack.messages(&id).is_empty());
    // 83 days after the last activity: warning for the 90th day.
    deliver(
        &stack,
        &review(&stack, &id, OCTOCAT_ID, "2026-03-28", "audit_log", None),
    )
    .await;
    assert_eq!(
        state(&stack, &id).inactivity_warned_for,
        Some(d("2026-04-04"))
    );
    let warning = stack.slack.dm_messages(ALICE_SLACK);
    assert_eq!(warning.len(), 1);
    assert!(
        warning[0]
            .text
            .contains("removed for inactivity on 2026-04-04")
    );
    // The signal unavailable on the removal day: nobody is removed.
    review_on(&stack, &id, "2026-04-04").await;
    assert_eq!(state(&stack, &id).access, Access::Granted);
    assert_eq!(
        github_calls(&stack, "DELETE", "/orgs/acme/outside_collaborators/*"),
        0
    );
    // The signal working and still quiet: removed as inactive.
    deliver(
        &stack,
        &review(&stack, &id, OCTOCAT_ID, "2026-04-05", "audit_log", None),
    )
    .await;
    assert_removed_as_inactive(&stack, &id);
    assert!(
        stack
            .messages(&id)
            .last()
            .unwrap()
            .contains("no activity since 2026-01-04")
    );
}

#[tokio::test]
async fn a_slack_outage_retries_the_reminder_instead_of_falling_back() {
    let stack = spawn().await;
    let id = seed_octocat(&stack).await;
    stack.slack.kit().add_fault(FaultRule::new(
        Some("POST"),
        "/api/chat.postMessage",
        Some(1),
        json!({"status": 503}),
    ));
    review_on(&stack, &id, "2027-04-21").await;
    assert_eq!(
        stack.slack.dm_messages(ALICE_SLACK).len(),
        1,
        "sent on the retry"
    );
    assert!(stack.slack.messages(FALLBACK_CHANNEL).is_empty());
    assert_eq!(stack.metrics.total("NotificationFallback"), 0.0);
    assert_eq!(state(&stack, &id).notified.unwrap().days, vec![21]);
    assert_eq!(stack.messages(&id).len(), 1);
}
