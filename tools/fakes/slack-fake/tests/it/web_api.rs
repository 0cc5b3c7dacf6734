use serde_json::json;

use crate::{api, bot_api, spawn};

#[tokio::test]
async fn a_wrong_token_is_invalid_auth_and_a_missing_one_not_authed() {
    let fake = spawn().await;
    let wrong = api(
        &fake,
        "chat.postMessage",
        Some("xoxb-wrong"),
        json!({"channel": "C0ITTEAM01", "text": "hi"}),
    )
    .await;
    assert_eq!(wrong, json!({"ok": false, "error": "invalid_auth"}));
    let missing = api(
        &fake,
        "chat.postMessage",
        None,
        json!({"channel": "C0ITTEAM01", "text": "hi"}),
    )
    .await;
    assert_eq!(missing["error"], "not_authed");
    assert!(fake.fake.messages("it-team").is_empty());
}

#[tokio::test]
async fn looks_users_up_by_email_case_insensitively_and_hides_deactivated_ones() {
    let fake = spawn().await;
    let token = fake.fake.bot_token();
    let resp = fake_kit::default_client()
        .post(format!("{}/users.lookupByEmail", fake.api_base_url()))
        .bearer_auth(&token)
        .form(&[("email", "Alice@Example.com")])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["ok"], true);
    assert_eq!(body["user"]["id"], "U0ALICE001");
    let gone = fake_kit::default_client()
        .get(format!(
            "{}/users.lookupByEmail?email=gone@example.com",
            fake.api_base_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(gone, json!({"ok": false, "error": "users_not_found"}));
}

#[tokio::test]
async fn opens_a_stable_dm_and_stores_posted_messages_with_unique_ts() {
    let fake = spawn().await;
    let open = bot_api(&fake, "conversations.open", json!({"users": "U0BOB00001"})).await;
    let dm = open["channel"]["id"].as_str().unwrap().to_owned();
    assert!(dm.starts_with('D'));
    let again = bot_api(&fake, "conversations.open", json!({"users": "U0BOB00001"})).await;
    assert_eq!(again["channel"]["id"], dm.as_str());
    assert_eq!(again["already_open"], true);

    let first = bot_api(
        &fake,
        "chat.postMessage",
        json!({"channel": dm, "text": "one"}),
    )
    .await;
    let second = bot_api(
        &fake,
        "chat.postMessage",
        json!({"channel": dm, "text": "two"}),
    )
    .await;
    assert_eq!(first["ok"], true);
    assert_eq!(first["channel"], dm.as_str());
    assert_ne!(first["ts"], second["ts"]);
    let stored = fake.fake.dm_messages("U0BOB00001");
    assert_eq!(
        stored.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["one", "two"]
    );
    let unknown = bot_api(&fake, "conversations.open", json!({"users": "U0NOBODY00"})).await;
    assert_eq!(unknown["error"], "user_not_found");
}

#[tokio::test]
async fn post_message_reports_slack_errors_for_bad_channels_and_blocks() {
    let fake = spawn().await;
    let cases = [
        (
            json!({"channel": "C0NOWHERE0", "text": "x"}),
            "channel_not_found",
        ),
        (json!({"channel": "#old-team", "text": "x"}), "is_archived"),
        (json!({"channel": "#it-team"}), "no_text"),
        (
            json!({"channel": "#it-team", "text": "x", "blocks": [{"type": "actions", "elements": [
                {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b"}, "value": "v".repeat(2001)}
            ]}]}),
            "invalid_blocks",
        ),
    ];
    for (body, error) in cases {
        let answer = bot_api(&fake, "chat.postMessage", body).await;
        assert_eq!(answer["ok"], false);
        assert_eq!(answer["error"], error);
    }
    assert!(fake.fake.messages("it-team").is_empty());
}

#[tokio::test]
async fn updates_a_stored_message_and_rejects_an_unknown_ts() {
    let fake = spawn().await;
    let posted = bot_api(&fake, "chat.postMessage", json!({"channel": "#it-team", "text": "before", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "b"}}]}),
    )
    .await;
    let ts = posted["ts"].as_str().unwrap();
    let updated = bot_api(
        &fake,
        "chat.update",
        json!({"channel": "C0ITTEAM01", "ts": ts, "text": "after", "blocks": []}),
    )
    .await;
    assert_eq!(updated["ok"], true);
    let stored = fake.fake.messages("#it-team");
    assert_eq!(stored[0].text, "after");
    assert!(stored[0].blocks.is_empty());
    assert_eq!(stored[0].edits, 1);
    let missing = bot_api(
        &fake,
        "chat.update",
        json!({"channel": "C0ITTEAM01", "ts": "1.000001", "text": "x"}),
    )
    .await;
    assert_eq!(missing, json!({"ok": false, "error": "message_not_found"}));
}

#[tokio::test]
async fn a_fault_rule_answers_429_with_retry_after_then_recovers() {
    let fake = spawn().await;
    let token = fake.fake.bot_token();
    let client = fake_kit::default_client();
    let added = client
        .post(format!("{}/__fake/faults", fake.base_url()))
        .json(&json!({"path": "/api/chat.postMessage", "times": 1,
            "action": {"status": 429, "retryAfter": 1, "body": {"ok": false, "error": "ratelimited"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let limited = client
        .post(format!("{}/chat.postMessage", fake.api_base_url()))
        .bearer_auth(&token)
        .json(&json!({"channel": "#it-team", "text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "1");
    assert_eq!(
        limited.json::<serde_json::Value>().await.unwrap()["error"],
        "ratelimited"
    );
    let ok = bot_api(
        &fake,
        "chat.postMessage",
        json!({"channel": "#it-team", "text": "x"}),
    )
    .await;
    assert_eq!(ok["ok"], true);
}

#[tokio::test]
async fn the_rate_limiter_rejects_with_slacks_body() {
    let fake = spawn().await;
    let client = fake_kit::default_client();
    client
        .post(format!("{}/__fake/rate-limit", fake.base_url()))
        .json(&json!({"rejectNext": 1, "resetInSecs": 1, "retryAfter": true}))
        .send()
        .await
        .unwrap();
    let limited = client
        .post(format!("{}/users.lookupByEmail", fake.api_base_url()))
        .bearer_auth(fake.fake.bot_token())
        .form(&[("email", "alice@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "1");
    assert_eq!(
        limited.json::<serde_json::Value>().await.unwrap(),
        json!({"ok": false, "error": "ratelimited"})
    );
}

#[tokio::test]
async fn the_state_redacts_tokens_and_webhook_secrets() {
    let fake = spawn().await;
    let state = fake_kit::default_client()
        .get(format!("{}/__fake/state", fake.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!state.contains(&fake.fake.bot_token()));
    assert!(!state.contains(&fake.fake.signing_secret()));
    assert!(!state.contains("testonlyAlertsItHook000001"));
    assert!(state.contains("/services/T0FAKE0001/B0ALERTSIT/[REDACTED]"));
    let journal = fake_kit::default_client()
        .get(format!("{}/__fake/journal", fake.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(journal.status(), 200);
}

#[tokio::test]
async fn a_json_body_is_authenticated_by_the_authorization_header_only() {
    let fake = spawn().await;
    let token = fake.fake.bot_token();
    let in_json = api(
        &fake,
        "auth.test",
        None,
        json!({"token": token, "channel": "#it-team"}),
    )
    .await;
    assert_eq!(in_json, json!({"ok": false, "error": "not_authed"}));
    let form = fake_kit::default_client()
        .post(format!("{}/auth.test", fake.api_base_url()))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(form["ok"], true, "a form body may carry the token: {form}");
    assert_eq!(bot_api(&fake, "auth.test", json!({})).await["ok"], true);
}

#[tokio::test]
async fn every_429_carries_retry_after() {
    let fake = spawn().await;
    let control = fake_kit::testing::Control::new(&fake.base_url());
    control
        .fault(
            "POST",
            "/api/chat.postMessage",
            1,
            json!({"status": 429, "body": {"ok": false, "error": "ratelimited"}}),
        )
        .await;
    let limited = fake_kit::testing::send(
        fake_kit::default_client()
            .post(format!("{}/chat.postMessage", fake.api_base_url()))
            .bearer_auth(fake.fake.bot_token())
            .json(&json!({"channel": "#it-team", "text": "hi"})),
    )
    .await;
    assert_eq!(limited.status, 429);
    let secs: u64 = limited.header("retry-after").parse().unwrap();
    assert!(secs >= 1, "{secs}");
}
