//! The bot's channel memberships: `not_in_channel` until it joins; DMs it opened are fine.

use serde_json::{Value, json};

use crate::{bot_api, spawn};

async fn control(fake: &slack_fake::SpawnedSlackFake, path: &str) -> reqwest::Response {
    fake_kit::default_client()
        .post(format!("{}/__fake{path}", fake.base_url()))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn posting_to_a_channel_the_bot_is_not_in_fails_until_it_joins() {
    let fake = spawn().await;
    let post = json!({"channel": "#random", "text": "hello"});
    let refused = bot_api(&fake, "chat.postMessage", post.clone()).await;
    assert_eq!(refused, json!({"ok": false, "error": "not_in_channel"}));
    assert!(fake.fake.messages("random").is_empty());
    assert_eq!(fake.fake.is_bot_member("random"), Some(false));

    let joined = control(&fake, "/channels/random/join").await;
    assert_eq!(joined.status(), 200);
    assert_eq!(
        joined.json::<Value>().await.unwrap(),
        json!({"channel": "C0RANDOM01", "botMember": true})
    );
    let posted = bot_api(&fake, "chat.postMessage", post.clone()).await;
    assert_eq!(posted["ok"], true);
    assert_eq!(fake.fake.messages("random").len(), 1);

    assert_eq!(
        control(&fake, "/channels/C0RANDOM01/leave").await.status(),
        200
    );
    let again = bot_api(&fake, "chat.postMessage", post).await;
    assert_eq!(again["error"], "not_in_channel");
}

#[tokio::test]
async fn dms_need_no_membership_and_unknown_or_archived_channels_cannot_be_joined() {
    let fake = spawn().await;
    let dm = bot_api(&fake, "conversations.open", json!({"users": "U0BOB00001"})).await;
    let dm_id = dm["channel"]["id"].as_str().unwrap();
    let posted = bot_api(
        &fake,
        "chat.postMessage",
        json!({"channel": dm_id, "text": "reminder"}),
    )
    .await;
    assert_eq!(posted["ok"], true);
    assert_eq!(control(&fake, "/channels/nowhere/join").await.status(), 404);
    assert_eq!(
        control(&fake, &format!("/channels/{dm_id}/join"))
            .await
            .status(),
        404
    );
    assert_eq!(
        control(&fake, "/channels/old-team/join").await.status(),
        409
    );
    assert_eq!(control(&fake, "/channels/random/dance").await.status(), 404);
}

#[tokio::test]
async fn the_state_lists_the_channels_the_bot_is_in() {
    let fake = spawn().await;
    fake.fake.join_channel("#random").unwrap();
    fake.fake.set_bot_member("it-team", false).unwrap();
    let state: Value = fake_kit::default_client()
        .get(format!("{}/__fake/state", fake.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = state["botChannels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alerts_it", "old-team", "random"]);
    let it_team = state["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "it-team")
        .unwrap();
    assert_eq!(it_team["bot_member"], false);
}
