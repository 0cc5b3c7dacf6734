use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{api, bot_api, spawn};

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
    let posted = bot_api(
        &fake,
        "chat.postMessage",
        json!({"channel": "U0ALICE001", "text": "reminder", "blocks": reminder_blocks()}),
    )
    .await;
    let answer: Value = fake_kit::default_client()
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
    let posted = bot_api(
        &fake,
        "chat.postMessage",
        json!({"channel": "#it-team", "text": "reminder", "blocks": reminder_blocks()}),
    )
    .await;
    let client = fake_kit::default_client();
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
    let posted = bot_api(
        &fake,
        "chat.postMessage",
        json!({"channel": "#it-team", "text": "plain"}),
    )
    .await;
    let resp = fake_kit::default_client()
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
    let created: Value = fake_kit::default_client()
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
    let reply = fake_kit::default_client()
        .post(url)
        .json(&json!({"response_type": "ephemeral", "text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
}

/// Verifies a received request the way the service must: `v0` HMAC over `v0:{ts}:{body}` with the fake's
/// signing secret.
fn is_validly_signed(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let (Some(ts), Some(sig)) = (
        headers.get("x-slack-request-timestamp"),
        headers.get("x-slack-signature"),
    ) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{}:", ts.to_str().unwrap()).as_bytes());
    mac.update(body);
    sig.to_str().unwrap() == format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

async fn send(fake: &slack_fake::SpawnedSlackFake, path: &str, body: Value) -> Value {
    let resp = fake_kit::default_client()
        .post(format!("{}/__fake/interactions/{path}", fake.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

async fn posted_reminder(fake: &slack_fake::SpawnedSlackFake) -> Value {
    let token = fake.fake.bot_token();
    api(
        fake,
        "chat.postMessage",
        Some(&token),
        json!({"channel": "U0ALICE001", "text": "reminder", "blocks": reminder_blocks()}),
    )
    .await
}

#[tokio::test]
async fn forged_wrongly_signed_unsigned_and_stale_clicks_can_be_sent_on_purpose() {
    let fake = spawn().await;
    let (target, received) = receiver().await;
    let posted = posted_reminder(&fake).await;
    let secret = fake.fake.signing_secret();
    let click = |extra: Value| {
        let mut body = json!({
            "url": format!("{}/slack/interactions", target.base_url()),
            "user": "U0ALICE001", "channel": posted["channel"], "ts": posted["ts"],
            "actionId": "cls_extend",
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };

    send(&fake, "send", click(json!({}))).await;
    send(&fake, "send", click(json!({"forgeSignature": true}))).await;
    send(
        &fake,
        "send",
        click(json!({"signingSecret": "not-the-secret"})),
    )
    .await;
    send(&fake, "send", click(json!({"unsigned": true}))).await;
    let stale = send(&fake, "send", click(json!({"ageSecs": 301}))).await;

    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 5);
    assert!(is_validly_signed(&secret, &got[0].0, &got[0].1));
    assert!(!is_validly_signed(&secret, &got[1].0, &got[1].1));
    assert!(
        got[1].0["x-slack-signature"]
            .to_str()
            .unwrap()
            .starts_with("v0=")
            && got[1].0["x-slack-signature"].len() == 67,
        "a forged signature is well formed"
    );
    assert!(!is_validly_signed(&secret, &got[2].0, &got[2].1));
    assert!(got[3].0.get("x-slack-signature").is_none());
    assert!(got[3].0.get("x-slack-request-timestamp").is_none());
    assert!(
        is_validly_signed(&secret, &got[4].0, &got[4].1),
        "stale but correctly signed"
    );
    // The fake clock runs with real time: the send happened at most one second before `now`.
    let now = fake.fake.kit().now().timestamp();
    let sent: i64 = stale["timestamp"].as_str().unwrap().parse().unwrap();
    assert!(
        (now - 302..=now - 301).contains(&sent),
        "timestamp {sent}, now {now}: 301 s before the send"
    );

    let signings: Vec<String> = fake
        .fake
        .sent_interactions()
        .into_iter()
        .map(|i| i.signing)
        .collect();
    assert_eq!(
        signings,
        ["valid", "forged", "wrong_secret", "unsigned", "valid"]
    );
}

#[tokio::test]
async fn a_replay_resends_the_same_bytes_and_headers() {
    let fake = spawn().await;
    let (target, received) = receiver().await;
    let posted = posted_reminder(&fake).await;
    let first = send(
        &fake,
        "send",
        json!({
            "url": format!("{}/slack/interactions", target.base_url()),
            "user": "U0ALICE001", "channel": posted["channel"], "ts": posted["ts"],
            "actionId": "cls_let_expire",
        }),
    )
    .await;
    fake.fake.kit().advance(chrono::Duration::seconds(30));
    let replay = send(&fake, "replay", json!({"deliveryId": first["deliveryId"]})).await;
    assert_eq!(replay["replayOf"], first["deliveryId"]);
    assert_eq!(replay["status"], 200);
    assert_eq!(replay["timestamp"], first["timestamp"]);
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1, got[1].1, "same body");
    for header in ["x-slack-signature", "x-slack-request-timestamp"] {
        assert_eq!(got[0].0[header], got[1].0[header], "{header}");
    }
    let sent = fake.fake.sent_interactions();
    assert_eq!(sent[1].replay_of, Some(sent[0].id));
    assert_eq!(sent[1].action_id.as_deref(), Some("cls_let_expire"));

    let missing = fake_kit::default_client()
        .post(format!("{}/__fake/interactions/replay", fake.base_url()))
        .json(&json!({"deliveryId": 99}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn any_payload_or_raw_body_can_be_sent_signed() {
    let fake = spawn().await;
    let (target, received) = receiver().await;
    let url = format!("{}/slack/interactions", target.base_url());
    let secret = fake.fake.signing_secret();
    send(
        &fake,
        "send",
        json!({"url": url, "payload": {"type": "view_submission", "user": {"id": "U0BOB00001"}}}),
    )
    .await;
    send(
        &fake,
        "send",
        json!({"url": url, "rawBody": "payload=not-json"}),
    )
    .await;
    let got = received.lock().unwrap().clone();
    let payload: Value = url::form_urlencoded::parse(&got[0].1)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| serde_json::from_str(&v).unwrap())
        .unwrap();
    assert_eq!(payload["type"], "view_submission");
    assert!(is_validly_signed(&secret, &got[0].0, &got[0].1));
    assert_eq!(&got[1].1[..], b"payload=not-json");
    assert!(is_validly_signed(&secret, &got[1].0, &got[1].1));

    let incomplete = fake_kit::default_client()
        .post(format!("{}/__fake/interactions/send", fake.base_url()))
        .json(&json!({"url": url, "user": "U0ALICE001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(incomplete.status(), 400);
}
