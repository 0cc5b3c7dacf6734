//! `slack_action` handling (README, `slack_action`; CLS-31): who may decide, stale clicks, the extension and the
//! reminder updated in place.

use chrono::Duration;
use cls_core::ticket::Access;
use serde_json::Value;

use crate::life::*;
use crate::support::*;

/// bob: in Slack, but neither notified, an adder nor an admin.
const STRANGER: &str = "U0BOB00001";

/// A stack on 2027-04-21 with octocat's ticket (expiry 2027-05-12) and the 21-day reminder DM'd to alice.
async fn reminded() -> (Stack, String, String, String) {
    let stack = spawn_with(Options {
        env: vec![("CLS_FAKE_TODAY", "2027-04-21".to_owned())],
        ..Options::default()
    })
    .await;
    let id = seed_octocat(&stack).await;
    review_on(&stack, &id, "2027-04-21").await;
    let channel = dm_channel(&stack, ALICE_SLACK);
    let ts = stack.slack.dm_messages(ALICE_SLACK)[0].ts.clone();
    (stack, id, channel, ts)
}

fn posts_to_response_urls(stack: &Stack) -> Vec<String> {
    stack
        .slack
        .response_url_posts()
        .into_iter()
        .flatten()
        .filter_map(|p: Value| p["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_notified_adder_extends_and_the_reminder_shows_who_until_when() {
    let (stack, id, channel, ts) = reminded().await;
    let url = response_url(&stack, &channel, &ts).await;
    let c = alice_extends(&stack, &id, &channel, &ts, &url);
    let env = click(&stack, &c);
    deliver(&stack, &env).await;

    let r = request(&stack, &id);
    assert_eq!(Stack::answer(&r, 1).as_deref(), Some("2027-08-10"));
    let s = state(&stack, &id);
    assert_eq!(s.expires_on, Some(d("2027-08-10")));
    assert_eq!(s.notified, None, "reminders start again for the new date");
    assert_eq!(s.last_activity, Some(d("2027-04-21")));
    assert_eq!(
        (s.ext[0].by.as_str(), s.ext[0].on, s.ext[0].to),
        (ALICE_SLACK, d("2027-04-21"), d("2027-08-10"))
    );
    let messages = stack.messages(&id);
    assert!(
        messages
            .last()
            .unwrap()
            .starts_with("Access extended to 2027-08-10 by alice via Slack."),
        "{messages:?}"
    );
    assert_reminder_replaced_by(
        &stack,
        ALICE_SLACK,
        "Extended to 2027-08-10 by <@U0ALICE001>",
    );
    assert_eq!(stack.metrics.total("ExtensionApplied"), 1.0);

    // A replay of the same click changes nothing.
    deliver(&stack, &env).await;
    assert_eq!(state(&stack, &id).ext.len(), 1);
    assert_eq!(stack.messages(&id).len(), messages.len());
}

#[tokio::test]
async fn a_click_by_someone_else_is_refused_privately_and_changes_nothing() {
    let (stack, id, channel, ts) = reminded().await;
    let url = response_url(&stack, &channel, &ts).await;
    let before = request(&stack, &id);
    let c = Click {
        user: STRANGER,
        name: "mallory",
        ..alice_extends(&stack, &id, &channel, &ts, &url)
    };
    deliver(&stack, &click(&stack, &c)).await;
    assert_eq!(
        posts_to_response_urls(&stack),
        vec!["Only the person who added octocat or an IT admin can extend this access.".to_owned()]
    );
    assert_eq!(
        stack.slack.response_url_posts().concat()[0]["response_type"],
        "ephemeral"
    );
    assert_eq!(
        Stack::answer(&request(&stack, &id), 8),
        Stack::answer(&before, 8)
    );
    assert_eq!(stack.slack.dm_messages(ALICE_SLACK)[0].edits, 0);
    assert_eq!(stack.metrics.total("ExtensionDenied"), 1.0);
}

#[tokio::test]
async fn an_admin_may_decide_and_a_stale_click_changes_nothing() {
    let (stack, id, channel, ts) = reminded().await;
    // An admin lets it expire: every threshold of this expiry is marked, no more reminders.
    let url = response_url(&stack, &channel, &ts).await;
    let admin = Click {
        action: "let_expire",
        user: SLACK_ADMIN,
        name: "it-admin",
        ..alice_extends(&stack, &id, &channel, &ts, &url)
    };
    deliver(&stack, &click(&stack, &admin)).await;
    let notified = state(&stack, &id).notified.unwrap();
    assert_eq!(
        (notified.for_date, notified.days),
        (d("2027-05-12"), vec![21, 7, 3])
    );
    assert!(
        stack
            .messages(&id)
            .last()
            .unwrap()
            .contains("chose to let access expire")
    );
    review_on(&stack, &id, "2027-05-09").await;
    assert_eq!(
        stack.slack.dm_messages(ALICE_SLACK).len(),
        1,
        "no more reminders"
    );

    // A click on an out-of-date reminder (the expiry it showed is not the current one).
    let url = response_url(&stack, &channel, &ts).await;
    let before = Stack::answer(&request(&stack, &id), 8);
    let stale = Click {
        expected: "2027-02-01",
        ..alice_extends(&stack, &id, &channel, &ts, &url)
    };
    deliver(&stack, &click(&stack, &stale)).await;
    assert_eq!(Stack::answer(&request(&stack, &id), 8), before);
    assert!(
        posts_to_response_urls(&stack)
            .iter()
            .any(|t| t.contains("now expires on 2027-05-12. Nothing was changed.")),
        "{:?}",
        posts_to_response_urls(&stack)
    );
    assert_eq!(state(&stack, &id).access, Access::Granted);
}

#[tokio::test]
async fn an_old_response_url_is_not_used_and_the_clicker_gets_a_dm_instead() {
    let (stack, id, channel, ts) = reminded().await;
    let url = response_url(&stack, &channel, &ts).await;
    let late = Click {
        user: STRANGER,
        name: "mallory",
        at: stack.deps.clock.now() - Duration::minutes(26),
        ..alice_extends(&stack, &id, &channel, &ts, &url)
    };
    deliver(&stack, &click(&stack, &late)).await;
    assert!(posts_to_response_urls(&stack).is_empty());
    let dm = stack.slack.dm_messages(STRANGER);
    assert_eq!(dm.len(), 1);
    assert!(dm[0].text.starts_with("Only the person who added octocat"));
}

#[tokio::test]
async fn a_response_url_outside_the_slack_prefix_is_never_called() {
    let (stack, id, channel, ts) = reminded().await;
    let foreign = "https://attacker.example/actions/1";
    let c = Click {
        user: STRANGER,
        name: "mallory",
        ..alice_extends(&stack, &id, &channel, &ts, foreign)
    };
    deliver(&stack, &click(&stack, &c)).await;
    let dm = stack.slack.dm_messages(STRANGER);
    assert_eq!(dm.len(), 1, "the refusal went by DM instead");
    assert!(dm[0].text.starts_with("Only the person who added octocat"));
}
