use serde_json::Value;
use slack_notify::{Block, Button, ButtonStyle, ChannelId, Message, post_message_body};

use crate::{client_for, fake};

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

const VALUE: &str = r#"{"t":"5f0c1a2b3c4d5e6f7a8b9c0d","o":38302899,"ol":"acme","u":39652351,"ul":"octocat","e":"2027-05-12"}"#;

fn reminder() -> Message {
    Message::text("octocat's access to acme expires on 2027-05-12 (in 21 days)")
        .block(Block::section(
            "*octocat* is an outside collaborator in *acme* (acme/widgets: write).\nAccess ends on *2027-05-12* (in 21 days). <https://example.askspoke.com/next/requests/42|Ticket>",
        ))
        .block(
            Block::actions([
                Button::new("cls_extend", "Extend 90 days").style(ButtonStyle::Primary).value(VALUE),
                Button::new("cls_let_expire", "Let it expire").value(VALUE),
            ])
            .block_id("cls-5f0c1a2b3c4d5e6f7a8b9c0d-2027-05-12-21"),
        )
}

#[test]
fn the_reminder_message_matches_the_contract_exactly() {
    let body = post_message_body(&ChannelId::new("D0123456789"), &reminder());
    assert_eq!(body, fixture("reminder.json"));
    assert!(reminder().validate().is_ok());
}

#[test]
fn the_reminder_round_trips_through_serde() {
    let json = fixture("reminder.json");
    let message: Message = serde_json::from_value(json).unwrap();
    assert_eq!(message.channel.as_deref(), Some("D0123456789"));
    assert_eq!(
        Message {
            channel: None,
            ..message
        },
        reminder()
    );
}

#[test]
fn the_oncall_it_alert_matches_the_contract_exactly() {
    let message = Message::text(
        ":rotating_light: <https://example.askspoke.com/teams/it|IT team Spoke settings> were not updated for the on-call handoff to *Alice Example* (alice@example.com).\nReason: `not_team_member`: the user is not an agent of the team.\nTeam channel: #it-team (notified).\nEvent 6f1c2b0e-3a7d-4c55-9e2f-0b8d1a7c4e21, request 0d3c2b1a-aaaa-bbbb-cccc-111122223333.",
    )
    .channel("#alerts_it")
    .username("oncall-spoke alerts")
    .icon_emoji(":atspoke:");
    assert_eq!(
        serde_json::to_value(&message).unwrap(),
        fixture("oncall-it-alert.json")
    );
}

#[test]
fn an_outcome_context_line_replaces_the_buttons() {
    let outcome = Message::text("Extended").with_blocks(vec![
        Block::section("*octocat* is an outside collaborator in *acme*."),
        Block::context("Extended to 2027-08-10 by @alice"),
    ]);
    assert_eq!(
        serde_json::to_value(&outcome).unwrap(),
        serde_json::json!({"text": "Extended", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*octocat* is an outside collaborator in *acme*."}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Extended to 2027-08-10 by @alice"}]}
        ]})
    );
}

#[tokio::test]
async fn the_fake_stores_the_reminder_blocks_unchanged() {
    let fake = fake().await;
    let client = client_for(&fake, &fake.fake.bot_token());
    let dm = client
        .open_conversation(&"U0ALICE001".into())
        .await
        .unwrap();
    client.post_message(&dm, &reminder()).await.unwrap();
    let stored = fake.fake.dm_messages("U0ALICE001");
    assert_eq!(
        Value::Array(stored[0].blocks.clone()),
        fixture("reminder.json")["blocks"]
    );
}

/// The button value of the contract, as a caller would build it from typed fields.
#[derive(serde::Serialize)]
struct ReminderValue<'a> {
    t: &'a str,
    o: u64,
    ol: &'a str,
    u: u64,
    ul: &'a str,
    e: &'a str,
}

const REMINDER_VALUE: ReminderValue<'static> = ReminderValue {
    t: "5f0c1a2b3c4d5e6f7a8b9c0d",
    o: 38302899,
    ol: "acme",
    u: 39652351,
    ul: "octocat",
    e: "2027-05-12",
};

fn prompt() -> Message {
    Message::prompt(
        "octocat's access to acme expires on 2027-05-12 (in 21 days)",
        "*octocat* is an outside collaborator in *acme* (acme/widgets: write).\nAccess ends on *2027-05-12* (in 21 days). <https://example.askspoke.com/next/requests/42|Ticket>",
        "cls-5f0c1a2b3c4d5e6f7a8b9c0d-2027-05-12-21",
        [
            Button::new("cls_extend", "Extend 90 days")
                .style(ButtonStyle::Primary)
                .json_value(&REMINDER_VALUE)
                .unwrap(),
            Button::new("cls_let_expire", "Let it expire")
                .json_value(&REMINDER_VALUE)
                .unwrap(),
        ],
    )
}

#[test]
fn the_prompt_builder_with_json_values_produces_the_contract_reminder() {
    let body = post_message_body(&ChannelId::new("D0123456789"), &prompt());
    assert_eq!(body, fixture("reminder.json"));
    assert_eq!(prompt(), reminder());
}

#[test]
fn a_json_value_longer_than_2000_characters_is_refused_not_truncated() {
    let long = "x".repeat(2000);
    let err = Button::new("cls_extend", "Extend 90 days")
        .json_value(&long)
        .unwrap_err();
    assert_eq!(
        err,
        slack_notify::BlockError::TooLong {
            what: "button value",
            len: 2002,
            max: 2000
        }
    );
}

#[test]
fn the_outcome_replaces_the_buttons_with_a_context_line() {
    let done = prompt().with_outcome("Extended to 2027-08-10 by @alice");
    assert_eq!(done.text, prompt().text);
    assert_eq!(
        serde_json::to_value(&done.blocks).unwrap(),
        serde_json::json!([
            fixture("reminder.json")["blocks"][0],
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Extended to 2027-08-10 by @alice"}]}
        ])
    );
}

#[tokio::test]
async fn chat_update_with_the_outcome_leaves_no_button_to_click() {
    let fake = fake().await;
    let client = client_for(&fake, &fake.fake.bot_token());
    let dm = client
        .open_conversation(&"U0ALICE001".into())
        .await
        .unwrap();
    let posted = client.post_message(&dm, &prompt()).await.unwrap();
    client
        .update_message(
            &posted.channel,
            &posted.ts,
            &prompt().with_outcome("Marked to expire by @alice"),
        )
        .await
        .unwrap();
    let stored = &fake.fake.dm_messages("U0ALICE001")[0];
    assert_eq!(stored.edits, 1);
    assert_eq!(stored.blocks.len(), 2);
    assert_eq!(stored.blocks[1]["type"], "context");
    assert_eq!(
        stored.blocks[1]["elements"][0]["text"],
        "Marked to expire by @alice"
    );
    assert!(stored.blocks.iter().all(|b| b["type"] != "actions"));
}

#[tokio::test]
async fn posting_to_a_channel_without_the_bot_is_not_in_channel() {
    let fake = fake().await;
    let client = client_for(&fake, &fake.fake.bot_token());
    let err = client
        .post_message(&ChannelId::new("#random"), &prompt())
        .await
        .unwrap_err();
    assert!(
        matches!(err, slack_notify::SlackError::NotInChannel),
        "{err:?}"
    );
    fake.fake.join_channel("random").unwrap();
    client
        .post_message(&ChannelId::new("#random"), &prompt())
        .await
        .unwrap();
}
