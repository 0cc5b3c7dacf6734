//! Reminder recipients and the "Let it expire" button (README, `slack_action`): the owner and a different primary adder
//! are both reminded and both may decide; a let-expire click replaces the buttons with its outcome.

use serde_json::json;

use crate::life::*;
use crate::support::*;

const BOB_SLACK: &str = "U0BOB00001";

/// octocat's ticket owned by alice but added by bob (an identity-directory e-mail Slack knows).
async fn owned_by_alice_added_by_bob() -> (Stack, String) {
    let stack = spawn_with(Options {
        env: vec![("CLS_FAKE_TODAY", "2027-04-21".to_owned())],
        identity: Some(json!({"source": "static", "users": {
            "alice": {"email": "alice@example.com", "employee": true},
            "bob": {"email": "bob@example.com", "employee": true}
        }})),
        ..Options::default()
    })
    .await;
    let mut fields = granted("octocat", OCTOCAT_ID, "2026-05-12", "2027-05-12");
    fields.added_by = Some("bob".to_owned());
    fields.repositories = vec![
        cls_core::ticket::RepoGrant::parse_line("acme/widgets: write (added by bob 2026-05-12)")
            .unwrap(),
    ];
    let id = seed(&stack, &fields, ALICE).await;
    (stack, id)
}

#[tokio::test]
async fn the_owner_and_a_different_adder_are_both_reminded_and_the_adder_may_let_it_expire() {
    let (stack, id) = owned_by_alice_added_by_bob().await;
    review_on(&stack, &id, "2027-04-21").await;

    assert_eq!(stack.slack.dm_messages(ALICE_SLACK).len(), 1, "the owner");
    assert_eq!(stack.slack.dm_messages(BOB_SLACK).len(), 1, "the adder");
    let mut ids = state(&stack, &id).notify_slack_ids;
    ids.sort();
    assert_eq!(ids, vec![ALICE_SLACK.to_owned(), BOB_SLACK.to_owned()]);
    assert_eq!(stack.messages(&id).len(), 1, "one ticket message");

    // bob lets it expire from his DM: every threshold of this expiry is marked and his reminder shows the
    // outcome instead of the buttons.
    let channel = dm_channel(&stack, BOB_SLACK);
    let ts = stack.slack.dm_messages(BOB_SLACK)[0].ts.clone();
    let url = response_url(&stack, &channel, &ts).await;
    let c = Click {
        action: "let_expire",
        user: BOB_SLACK,
        name: "bob",
        ..alice_extends(&stack, &id, &channel, &ts, &url)
    };
    deliver(&stack, &click(&stack, &c)).await;

    let s = state(&stack, &id);
    let notified = s.notified.unwrap();
    assert_eq!(
        (notified.for_date, notified.days),
        (d("2027-05-12"), vec![21, 7, 3])
    );
    assert_eq!(s.expires_on, Some(d("2027-05-12")), "the expiry stays");
    assert!(s.ext.is_empty());
    assert_reminder_replaced_by(
        &stack,
        BOB_SLACK,
        "Marked to expire on 2027-05-12 by <@U0BOB00001>",
    );
    assert!(
        stack
            .messages(&id)
            .last()
            .unwrap()
            .contains("chose to let access expire"),
        "{:?}",
        stack.messages(&id)
    );
    assert_eq!(stack.metrics.total("ExtensionApplied"), 0.0);

    // No reminder at 7 or 3 days for this expiry; the removal still happens on the day.
    review_on(&stack, &id, "2027-05-05").await;
    review_on(&stack, &id, "2027-05-09").await;
    assert_eq!(stack.slack.dm_messages(BOB_SLACK).len(), 1);
    assert_eq!(stack.slack.dm_messages(ALICE_SLACK).len(), 1);
    review_on(&stack, &id, "2027-05-12").await;
    assert_eq!(
        github_calls(&stack, "DELETE", "/orgs/acme/outside_collaborators/octocat"),
        1
    );
}
