use std::time::{Duration, Instant};

use serde_json::json;
use slack_notify::{Message, SlackError, WebhookPoster};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{add_fault, calls, fake, secret, webhooks};

#[tokio::test]
async fn posts_an_alert_to_its_webhook_channel() {
    let fake = fake().await;
    let url = secret(&fake.webhook_url("alerts_it").unwrap());
    let message = Message::text("disk full")
        .username("oncall-spoke alerts")
        .icon_emoji(":atspoke:");
    webhooks().post_webhook(&url, &message).await.unwrap();
    let stored = fake.fake.messages("#alerts_it");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].text, "disk full");
    assert_eq!(stored[0].icon_emoji.as_deref(), Some(":atspoke:"));
}

type Expectation = fn(&SlackError) -> bool;

#[tokio::test]
async fn maps_each_webhook_error_and_does_not_retry_it() {
    let fake = fake().await;
    let base = fake.base_url();
    let cases: Vec<(String, Message, Expectation)> = vec![
        (
            format!("{base}/services/T0FAKE0001/B0ALERTSIT/unknownsecret"),
            Message::text("x"),
            |e| matches!(e, SlackError::NoService),
        ),
        (
            fake.webhook_url("old-team").unwrap(),
            Message::text("x"),
            |e| matches!(e, SlackError::ChannelArchived),
        ),
        (
            format!("{base}/services/T0FAKE0001/B0LOCKED01/testonlyProhibitedHook0001"),
            Message::text("x"),
            |e| matches!(e, SlackError::ActionProhibited),
        ),
        (
            format!("{base}{}", fake.fake.default_webhook_path().unwrap()),
            Message::text("x").channel("#nowhere"),
            |e| matches!(e, SlackError::ChannelNotFound),
        ),
        (
            fake.webhook_url("alerts_it").unwrap(),
            Message::text(""),
            |e| matches!(e, SlackError::InvalidPayload { error } if error == "no_text"),
        ),
    ];
    for (url, message, expected) in cases {
        fake.fake.kit().clear_journal();
        let err = webhooks()
            .post_webhook(&secret(&url), &message)
            .await
            .unwrap_err();
        assert!(expected(&err), "unexpected error {err:?}");
        assert!(!err.is_transient());
        assert_eq!(
            calls(&fake, "POST", "/services/**"),
            1,
            "4xx must not be retried"
        );
    }
}

#[tokio::test]
async fn maps_a_400_invalid_payload_answer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/T/B/X"))
        .respond_with(ResponseTemplate::new(400).set_body_string("invalid_payload"))
        .expect(1)
        .mount(&server)
        .await;
    let url = secret(&format!("{}/services/T/B/X", server.uri()));
    let err = webhooks()
        .post_webhook(&url, &Message::text("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, SlackError::InvalidPayload { error } if error == "invalid_payload"));
}

#[tokio::test]
async fn a_200_without_the_ok_body_is_a_failure() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>login</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let url = secret(&format!("{}/services/T/B/X", server.uri()));
    let err = webhooks()
        .post_webhook(&url, &Message::text("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, SlackError::Api { .. }), "{err:?}");
}

#[tokio::test]
async fn waits_for_retry_after_on_429_then_succeeds() {
    let fake = fake().await;
    add_fault(
        &fake,
        json!({"path": "/services/**", "times": 1, "action": {"status": 429, "retryAfter": 1}}),
    )
    .await;
    let url = secret(&fake.webhook_url("alerts_it").unwrap());
    let started = Instant::now();
    webhooks()
        .post_webhook(&url, &Message::text("after the limit"))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    assert_eq!(calls(&fake, "POST", "/services/**"), 2);
    assert_eq!(fake.fake.messages("alerts_it").len(), 1);
}

#[tokio::test]
async fn retries_server_errors_with_backoff_up_to_the_attempt_limit() {
    let fake = fake().await;
    add_fault(
        &fake,
        json!({"path": "/services/**", "times": 2, "action": {"status": 503}}),
    )
    .await;
    let url = secret(&fake.webhook_url("alerts_it").unwrap());
    webhooks()
        .post_webhook(&url, &Message::text("third time"))
        .await
        .unwrap();
    assert_eq!(calls(&fake, "POST", "/services/**"), 3);

    add_fault(
        &fake,
        json!({"path": "/services/**", "times": 5, "action": {"status": 500}}),
    )
    .await;
    let err = webhooks()
        .post_webhook(&url, &Message::text("never"))
        .await
        .unwrap_err();
    assert!(matches!(err, SlackError::Server { status: 500 }));
    assert!(err.is_transient());
    assert_eq!(calls(&fake, "POST", "/services/**"), 6);
}

#[tokio::test]
async fn a_rate_limit_wait_beyond_the_policy_maximum_fails_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
        .expect(1)
        .mount(&server)
        .await;
    let url = secret(&format!("{}/services/T/B/X", server.uri()));
    let started = Instant::now();
    let err = webhooks()
        .post_webhook(&url, &Message::text("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SlackError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(30))
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_webhook_timeout_is_reported_and_not_repeated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("ok")
                .set_delay(Duration::from_millis(600)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let url = secret(&format!("{}/services/T/B/X", server.uri()));
    let err = webhooks()
        .post_webhook(&url, &Message::text("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, SlackError::Timeout), "{err:?}");
}

#[tokio::test]
async fn refuses_a_plain_http_webhook_url_outside_loopback_without_sending() {
    let err = webhooks()
        .post_webhook(
            &secret("http://hooks.slack.com/services/T/B/X"),
            &Message::text("x"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SlackError::InvalidWebhookUrl));
    assert!(!err.to_string().contains("hooks.slack.com"));
}

#[tokio::test]
async fn an_oversized_button_is_refused_before_sending() {
    let fake = fake().await;
    let url = secret(&fake.webhook_url("alerts_it").unwrap());
    let message =
        Message::text("x").block(slack_notify::Block::actions([slack_notify::Button::new(
            "a",
            "y".repeat(76),
        )]));
    let err = webhooks().post_webhook(&url, &message).await.unwrap_err();
    assert!(matches!(err, SlackError::InvalidMessage(_)));
    assert_eq!(calls(&fake, "POST", "/services/**"), 0);
}
