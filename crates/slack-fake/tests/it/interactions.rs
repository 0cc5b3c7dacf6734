use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{api, spawn};

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A stand-in for `POST /slack/interactions` that records what it receives.
async fn receiver() -> (fake_kit::RunningServer, Received) {
    let received: Received = Arc::default();
    let sink = received.clone();
    let app = Router::new().route(
        "/slack/interactions",
        post(move |headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push((headers, body));
                ""
            }
        }),
    );
    (fake_kit::serve_ephemeral(app).await.unwrap(), received)
}

fn reminder_blocks() -> Value {
    json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": "*octocat* expires"}},
        {"type": "actions", "block_id": "cls-t1", "elements": [
            {"type": "button", "action_id": "cls_extend", "style": "primary",
             "text": {"type": "plain_text", "text": "Extend 90 days"}, "value": "{\"t\":\"t1\"}"},
            {"type": "button", "action_id": "cls_let_expire",
             "text": {"type": "plain_text", "text": "Let it expire"}, "value": "{\"t\":\"t1\"}"}
        ]}
    ])
}

#[tokio::test]
async fn sends_a_signed_block_actions_click_on_a_stored_button() {
    let fake = spawn().await;
    let (target, received) = receiver().await;
    let token = fake.fake.bot_token();
    let posted = api(
        &fake,
        "chat.postMessage",
        Some(&token),
        json!({"channel": "U0ALICE001", "text": "reminder", "blocks": reminder_blocks()}),
    )
    .await;
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/__fake/interactions/send", fake.base_url()))
        .json(&json!({
            "url": format!("{}/slack/interactions", target.base_url()),
            "user": "U0ALICE001",
            "channel": posted["channel"],
            "ts": posted["ts"],
            "action_id": "cls_extend",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], 200);

    let (headers, body) = received
        .lock()
        .unwrap()
        .pop()
        .expect("one interaction received");
    let timestamp = headers["x-slack-request-timestamp"]
        .to_str()
        .unwrap()
        .to_owned();
    let signature = headers["x-slack-signature"].to_str().unwrap().to_owned();
    let mut mac = Hmac::<Sha256>::new_from_slice(fake.fake.signing_secret().as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(&body);
    let expected = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(signature, expected);

    let payload: Value = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| serde_json::from_str(&v).unwrap())
        .expect("payload field");
    assert_eq!(payload["type"], "block_actions");
    assert_eq!(payload["user"]["id"], "U0ALICE001");
    assert_eq!(payload["user"]["username"], "alice");
    assert_eq!(payload["container"]["message_ts"], posted["ts"]);
    assert_eq!(payload["channel"]["id"], posted["channel"]);
    assert_eq!(payload["actions"][0]["action_id"], "cls_extend");
    assert_eq!(payload["actions"][0]["block_id"], "cls-t1");
    assert_eq!(payload["actions"][0]["value"], "{\"t\":\"t1\"}");
    let response_url = payload["response_url"].as_str().unwrap();
    assert!(response_url.starts_with(&fake.response_url_prefix()));
}

#[tokio::test]
async fn a_response_url_accepts_five_posts_and_replaces_the_original_on_request() {
    let fake = spawn().await;
    let token = fake.fake.bot_token();
    let posted = api(
        &fake,
        "chat.postMessage",
        Some(&token),
        json!({"channel": "#it-team", "text": "reminder", "blocks": reminder_blocks()}),
    )
    .await;
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{}/__fake/response-urls", fake.base_url()))
        .json(&json!({"channel": posted["channel"], "ts": posted["ts"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = created["responseUrl"].as_str().unwrap().to_owned();
    let replace = json!({"replace_original": true, "text": "Extended", "blocks": []});
    assert_eq!(
        client
            .post(&url)
            .json(&replace)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(fake.fake.messages("it-team")[0].text, "Extended");
    for _ in 0..4 {
        let ephemeral = json!({"response_type": "ephemeral", "text": "only you"});
        assert_eq!(
            client
                .post(&url)
                .json(&ephemeral)
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let sixth = client
        .post(&url)
        .json(&json!({"text": "late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sixth.status(), 404);
    assert_eq!(fake.fake.response_url_posts()[0].len(), 5);
    assert_eq!(
        fake.fake.messages("it-team").len(),
        1,
        "ephemeral replies are not stored in the channel"
    );
}

#[tokio::test]
async fn refuses_to_click_a_button_the_message_does_not_have() {
    let fake = spawn().await;
    let token = fake.fake.bot_token();
    let posted = api(
        &fake,
        "chat.postMessage",
        Some(&token),
        json!({"channel": "#it-team", "text": "plain"}),
    )
    .await;
    let resp = reqwest::Client::new()
        .post(format!("{}/__fake/interactions/send", fake.base_url()))
        .json(&json!({
            "url": "http://127.0.0.1:9/slack/interactions",
            "user": "U0ALICE001", "channel": posted["channel"], "ts": posted["ts"], "action_id": "cls_extend",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn response_urls_keep_the_mount_prefix_when_the_fake_is_nested() {
    let fake = slack_fake::SlackFake::minimal();
    let app = Router::new().nest("/slack", fake.router());
    let server = fake_kit::serve_ephemeral(app).await.unwrap();
    let created: Value = reqwest::Client::new()
        .post(format!("{}/slack/__fake/response-urls", server.base_url()))
        .json(&json!({"channel": "C0ITTEAM01", "ts": "1.000001"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = created["responseUrl"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/slack/actions/", server.base_url())),
        "{url}"
    );
    let reply = reqwest::Client::new()
        .post(url)
        .json(&json!({"response_type": "ephemeral", "text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
}
