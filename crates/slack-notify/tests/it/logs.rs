use serde_json::json;
use slack_notify::{ChannelId, Message, WebhookPoster};

use crate::{add_fault, client_for, fake, secret, webhooks};

#[tokio::test]
async fn neither_the_webhook_url_nor_the_bot_token_reaches_logs_or_errors() {
    let capture = lambda_kit::tracing_init::capture_logs();
    let fake = fake().await;
    let hook = fake.webhook_url("alerts_it").unwrap();
    let hook_secret = hook.rsplit('/').next().unwrap().to_owned();
    let token = fake.fake.bot_token();

    add_fault(
        &fake,
        json!({"path": "/services/**", "times": 1, "action": {"status": 500}}),
    )
    .await;
    add_fault(
        &fake,
        json!({"path": "/api/**", "times": 1, "action": {"status": 503}}),
    )
    .await;
    webhooks()
        .post_webhook(&secret(&hook), &Message::text("x"))
        .await
        .unwrap();
    let client = client_for(&fake, &token);
    client
        .lookup_user_by_email("alice@example.com")
        .await
        .unwrap();

    // A connect failure to a URL carrying a secret: the error chain must not contain it.
    let dead = format!("http://127.0.0.1:9/services/T/B/{hook_secret}");
    let err = webhooks()
        .post_webhook(&secret(&dead), &Message::text("x"))
        .await
        .unwrap_err();
    let mut chain = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        chain.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(
        !chain.contains(&hook_secret),
        "error leaks the webhook URL: {chain}"
    );

    let wrong = client_for(&fake, "xoxb-leaky-token");
    let err = wrong
        .post_message(&ChannelId::new("#it-team"), &Message::text("x"))
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("xoxb-leaky-token"));

    let logs = capture.contents();
    assert!(
        logs.contains("Slack call failed"),
        "the failed attempts were logged"
    );
    capture
        .assert_absent(&[&hook_secret, &hook, &token, "xoxb-leaky-token"])
        .unwrap();
}
