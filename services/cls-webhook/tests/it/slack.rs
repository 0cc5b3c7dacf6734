//! `POST /slack/interactions` (statuses of the README): signature and timestamp before parsing,
//! one `slack_action` per click on the FIFO queue, 200 with an empty body.

use std::time::Duration;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use base64::Engine;
use cls_core::button::ButtonValue;
use cls_core::envelope::slack_dedup_id;
use serde_json::{Value, json};

use crate::support::*;

fn assert_empty_200(r: &ApiGatewayV2httpResponse) {
    assert_eq!(status(r), 200);
    assert!(r.body.is_none(), "Slack gets an empty body: {:?}", r.body);
}

/// The fixture payload, clicked now.
fn click(stack: &Stack) -> (String, i64) {
    (slack_form(&slack_payload()), stack.now())
}

#[tokio::test]
async fn a_valid_click_enqueues_one_slack_action_with_the_collaborator_group_and_click_dedup_id() {
    let stack = spawn().await;
    let (body, now) = click(&stack);
    let response = stack.call(slack_signed(&body, SLACK_SECRET, now)).await;
    assert_empty_200(&response);
    let messages = stack.receive_all().await;
    assert_eq!(messages.len(), 1);
    let (group, dedup, envelope) = &messages[0];
    assert_eq!(group, "gh-38302899-39652351");
    assert_eq!(
        dedup,
        &slack_dedup_id("U0ALICE001", "1778594591.000200", "1778594600.123456")
    );
    assert_eq!(envelope["v"], 1);
    assert_eq!(envelope["kind"], "slack_action");
    assert_eq!(envelope["org"], json!({"id": 38302899, "login": "acme"}));
    assert_eq!(
        envelope["collaborator"],
        json!({"id": 39652351, "login": "octocat"})
    );
    assert_eq!(
        envelope["slack_action"],
        json!({
            "action": "extend",
            "ticket_id": "5f0c1a2b3c4d5e6f7a8b9c0d",
            "expected_expiry": "2027-05-12",
            "slack_user_id": "U0ALICE001",
            "slack_user_name": "alice",
            "channel_id": "D0ALICE001",
            "message_ts": "1778594591.000200",
            "response_url": "https://hooks.slack.com/actions/T0FAKE0001/6123456789012/testonlyResponseUrl0001"
        })
    );
    let parsed = cls_core::Envelope::parse(&envelope.to_string()).unwrap();
    assert_eq!(parsed.group_id(), *group);
    assert_eq!(
        stack.metric_with("Enqueued", &[("kind", "slack_action")]),
        1.0
    );
}

#[tokio::test]
async fn let_it_expire_is_enqueued_as_let_expire() {
    let stack = spawn().await;
    let mut payload = slack_payload();
    payload["actions"][0]["action_id"] = "cls_let_expire".into();
    let response = stack.click(&payload).await;
    assert_empty_200(&response);
    let messages = stack.receive_all().await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].2["slack_action"]["action"], "let_expire");
}

#[tokio::test]
async fn a_replayed_click_leaves_exactly_one_message_on_the_queue() {
    let stack = spawn().await;
    let (body, now) = click(&stack);
    let request = slack_signed(&body, SLACK_SECRET, now);
    assert_empty_200(&stack.call(request.clone()).await);
    stack.clock.advance(chrono::Duration::seconds(60));
    assert_empty_200(&stack.call(request).await);
    assert_eq!(stack.depth().await, 1, "FIFO deduplication on the click");
}

#[tokio::test]
async fn forged_stale_or_tampered_requests_get_401_and_queue_nothing() {
    let stack = spawn().await;
    let (body, now) = click(&stack);
    // Forged: signed with a secret that is not configured.
    assert_eq!(
        status(&stack.call(slack_signed(&body, "forged-secret", now)).await),
        401
    );
    // Stale and future: more than 300 s from the injected clock.
    for ts in [now - 301, now + 301] {
        assert_eq!(
            status(&stack.call(slack_signed(&body, SLACK_SECRET, ts)).await),
            401,
            "{ts}"
        );
    }
    // Within the window it is accepted... (checked last, after the refusals)
    // One byte of the body changed after signing.
    let mut tampered = slack_signed(&body, SLACK_SECRET, now);
    let changed = body.replacen("U0ALICE001", "U0ALICE002", 1);
    assert_eq!(changed.len(), body.len());
    tampered.body = Some(changed);
    assert_eq!(status(&stack.call(tampered).await), 401);
    // One hex digit of the signature changed.
    let mut bad_sig = slack_signed(&body, SLACK_SECRET, now);
    let sig = bad_sig.headers["x-slack-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    let flipped = format!(
        "{}{}",
        &sig[..sig.len() - 1],
        if sig.ends_with('0') { '1' } else { '0' }
    );
    bad_sig
        .headers
        .insert("x-slack-signature", flipped.parse().unwrap());
    assert_eq!(status(&stack.call(bad_sig).await), 401);
    // Headers missing or the timestamp not an integer.
    for header in ["x-slack-signature", "x-slack-request-timestamp"] {
        let mut e = slack_signed(&body, SLACK_SECRET, now);
        e.headers.remove(header);
        assert_eq!(status(&stack.call(e).await), 401, "{header}");
    }
    let mut e = slack_signed(&body, SLACK_SECRET, now);
    e.headers
        .insert("x-slack-request-timestamp", "soon".parse().unwrap());
    assert_eq!(status(&stack.call(e).await), 401);
    assert_eq!(stack.depth().await, 0);
    assert_eq!(
        stack.metric_with("WebhookRejected", &[("reason", "stale")]),
        2.0
    );
    assert_eq!(
        stack.metric_with("WebhookRejected", &[("reason", "signature_mismatch")]),
        3.0
    );
    // The same request at the edge of the window is accepted.
    let response = stack
        .call(slack_signed(&body, SLACK_SECRET, now - 300))
        .await;
    assert_empty_200(&response);
}

#[tokio::test]
async fn the_previous_signing_secret_is_accepted_during_rotation() {
    let stack = spawn().await;
    let (body, now) = click(&stack);
    assert_empty_200(
        &stack
            .call(slack_signed(&body, SLACK_PREVIOUS_SECRET, now))
            .await,
    );
    assert_eq!(stack.depth().await, 1);
}

#[tokio::test]
async fn a_base64_encoded_body_is_decoded_before_the_signature_check() {
    let stack = spawn().await;
    let (body, now) = click(&stack);
    let mut e = slack_signed(&body, SLACK_SECRET, now);
    e.body = Some(base64::engine::general_purpose::STANDARD.encode(body.as_bytes()));
    e.is_base64_encoded = true;
    assert_empty_200(&stack.call(e).await);
    assert_eq!(stack.depth().await, 1);
}

#[tokio::test]
async fn a_body_over_the_cap_gets_413_before_the_signature_check() {
    let stack = spawn_with(&[("CLS_MAX_BODY_BYTES", "1024")]).await;
    let (body, now) = click(&stack);
    assert!(body.len() > 1024);
    let mut e = slack_signed(&body, SLACK_SECRET, now);
    e.headers.remove("x-slack-signature");
    assert_eq!(status(&stack.call(e).await), 413);
    assert_eq!(stack.depth().await, 0);
}

#[tokio::test]
async fn other_interactions_buttons_and_unusable_values_are_acknowledged_and_ignored() {
    let stack = spawn().await;
    let base = slack_payload();
    let mut view = base.clone();
    view["type"] = "view_submission".into();
    let mut other_button = base.clone();
    other_button["actions"][0]["action_id"] = "open_ticket".into();
    let mut no_actions = base.clone();
    no_actions["actions"] = json!([]);
    let mut bad_value = base.clone();
    bad_value["actions"][0]["value"] = "extend please".into();
    let mut partial_value = base.clone();
    partial_value["actions"][0]["value"] = json!(r#"{"t":"x","o":1}"#);
    for (name, payload) in [
        ("view_submission", view),
        ("other button", other_button),
        ("no actions", no_actions),
        ("bad value", bad_value),
        ("partial value", partial_value),
    ] {
        let response = stack.click(&payload).await;
        assert_eq!(status(&response), 200, "{name}");
        assert!(response.body.is_none(), "{name}");
    }
    assert_eq!(stack.depth().await, 0);
}

#[tokio::test]
async fn a_signed_body_without_a_json_payload_or_click_ids_gets_400() {
    let stack = spawn().await;
    let mut no_ts = slack_payload();
    no_ts["actions"][0]
        .as_object_mut()
        .unwrap()
        .remove("action_ts");
    let mut no_user = slack_payload();
    no_user.as_object_mut().unwrap().remove("user");
    let bodies = [
        "token=abc&team_id=T1".to_owned(),
        "payload=%7Bnot-json".to_owned(),
        slack_form(&no_ts),
        slack_form(&no_user),
    ];
    for body in &bodies {
        let response = stack
            .call(slack_signed(body, SLACK_SECRET, stack.now()))
            .await;
        assert_eq!(status(&response), 400, "{body}");
    }
    assert_eq!(stack.depth().await, 0);
}

#[tokio::test]
async fn a_queue_failure_answers_503_and_alerts_once() {
    let stack = spawn_with(&[(
        "CLS_QUEUE_URL",
        "http://127.0.0.1:1/000000000000/missing.fifo",
    )])
    .await;
    let (body, now) = click(&stack);
    let response = stack.call(slack_signed(&body, SLACK_SECRET, now)).await;
    assert_eq!(status(&response), 503);
    assert_eq!(stack.metrics.total("EnqueueFailed"), 1.0);
    let alerts = stack.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("EnqueueFailed") && alerts[0].contains("5f0c1a2b3c4d5e6f7a8b9c0d"));
    assert!(
        !alerts[0].contains("testonlyResponseUrl0001"),
        "the response_url is a credential"
    );
}

#[tokio::test]
async fn no_signing_secret_or_response_url_reaches_the_logs() {
    let capture = lambda_kit::tracing_init::capture_logs();
    let stack = spawn().await;
    let (body, now) = click(&stack);
    stack.call(slack_signed(&body, SLACK_SECRET, now)).await;
    stack.call(slack_signed(&body, "forged-secret", now)).await;
    capture
        .assert_absent(&[
            SLACK_SECRET,
            SLACK_PREVIOUS_SECRET,
            "testonlyResponseUrl0001",
            "v0=",
        ])
        .unwrap();
    assert!(capture.contents().contains("click enqueued"));
}

/// A reminder with the two CLS buttons posted by the bot into Alice's DM on slack-fake: (channel, ts).
async fn post_reminder(slack_api: &str, bot_token: &str, value: &ButtonValue) -> (String, String) {
    let http = lambda_kit::http::default_client();
    let call = |method: &str, body: Value| {
        http.post(format!("{slack_api}/{method}"))
            .bearer_auth(bot_token)
            .json(&body)
            .send()
    };
    let opened: Value = call("conversations.open", json!({"users": "U0ALICE001"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let channel = opened["channel"]["id"].as_str().unwrap().to_owned();
    let value = value.encode().unwrap();
    let posted: Value = call(
        "chat.postMessage",
        json!({"channel": channel, "text": "octocat's access to acme expires on 2027-05-12",
               "blocks": [{"type": "actions", "block_id": "cls-t1-2027-05-12-21", "elements": [
                   {"type": "button", "action_id": "cls_extend", "style": "primary",
                    "text": {"type": "plain_text", "text": "Extend 90 days"}, "value": value},
                   {"type": "button", "action_id": "cls_let_expire",
                    "text": {"type": "plain_text", "text": "Let it expire"}, "value": value}]}]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(posted["ok"], true, "{posted}");
    (channel, posted["ts"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_click_sent_by_slack_fake_through_the_api_gateway_emulator_is_queued() {
    let stack = spawn().await;
    let (url, _api) = stack.behind_api_gateway(cls_webhook::SLACK_ROUTE).await;
    let value = ButtonValue {
        ticket_id: "5f0c3a9e2b7d4c0012ab0777".into(),
        org_id: 38302899,
        org_login: "acme".into(),
        user_id: 39652351,
        user_login: "octocat".into(),
        expires_on: chrono::NaiveDate::from_ymd_opt(2027, 5, 12).unwrap(),
    };
    let server = stack.slack_server();
    let (channel, ts) =
        post_reminder(&server.api_base_url(), &stack.slack.bot_token(), &value).await;
    let control = format!("{}/__fake/interactions/send", server.base_url());
    let send = |extra: Value| {
        let mut body = json!({"url": url, "user": "U0ALICE001", "channel": channel, "ts": ts,
                              "actionId": "cls_extend"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        lambda_kit::http::default_client()
            .post(&control)
            .json(&body)
            .send()
    };
    let started = std::time::Instant::now();
    let clicked: Value = send(json!({})).await.unwrap().json().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "Slack's 3 s budget"
    );
    assert_eq!(clicked["status"], 200, "{clicked}");
    assert_eq!(clicked["body"], "");
    // A forged and a stale click through the same path change nothing.
    let forged: Value = send(json!({"signingSecret": "forged"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(forged["status"], 401);
    let stale: Value = send(json!({"timestamp": stack.now() - 600}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stale["status"], 401);
    let messages = stack.receive_all().await;
    assert_eq!(messages.len(), 1);
    let (group, dedup, envelope) = &messages[0];
    assert_eq!(group, "gh-38302899-39652351");
    let payload = &clicked["payload"];
    assert_eq!(
        dedup,
        &slack_dedup_id(
            "U0ALICE001",
            &ts,
            payload["actions"][0]["action_ts"].as_str().unwrap()
        )
    );
    assert_eq!(
        envelope["slack_action"]["ticket_id"],
        "5f0c3a9e2b7d4c0012ab0777"
    );
    assert_eq!(envelope["slack_action"]["channel_id"], channel.as_str());
    assert_eq!(
        envelope["slack_action"]["response_url"],
        payload["response_url"]
    );
}
