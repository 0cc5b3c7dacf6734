//! it-alert over HTTP against slack-fake: what reaches the channel, what is suppressed, what is lost.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use fake_kit::FaultRule;
use it_alert::{Alerter, Delivery, FixedUrl, ItAlert, SecretUrl, SlackAlerter, WebhookUrlSource};
use lambda_kit::FixedClock;
use lambda_kit::http::RetryPolicy;
use secrecy::SecretString;
use secrets::MemorySecretStore;
use serde_json::json;
use slack_fake::{SlackFake, SpawnedSlackFake};
use slack_notify::WebhookClient;

/// The HTTP timeout of the poster: a fault delay above it is a timeout.
const TIMEOUT: Duration = Duration::from_millis(200);

fn poster() -> Arc<WebhookClient> {
    let http =
        lambda_kit::http::http_client_with("it-alert-tests/0.0.0", TIMEOUT, TIMEOUT).unwrap();
    Arc::new(WebhookClient::new(http).with_retry_policy(RetryPolicy {
        max_attempts: 2,
        base: Duration::from_millis(5),
        cap: Duration::from_millis(10),
        max_rate_limit_wait: Duration::from_secs(1),
    }))
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::at("2026-01-01T00:00:00Z").unwrap())
}

fn url(fake: &SpawnedSlackFake) -> Arc<dyn WebhookUrlSource> {
    let url = fake.webhook_url("alerts_it").unwrap();
    Arc::new(FixedUrl::new(SecretString::from(url)))
}

fn texts(fake: &SpawnedSlackFake) -> Vec<String> {
    fake.fake
        .messages("alerts_it")
        .into_iter()
        .map(|m| m.text)
        .collect()
}

fn webhook_calls(fake: &SpawnedSlackFake) -> usize {
    fake.fake.kit().calls("POST", "/services/**").len()
}

/// How many uses of the fault rules are left (a timed-out call may never reach the journal).
fn faults_left(fake: &SpawnedSlackFake) -> u32 {
    fake.fake
        .kit()
        .faults()
        .iter()
        .map(|r| r.times.unwrap_or(0))
        .sum()
}

fn delay_next(fake: &SpawnedSlackFake, times: u32) {
    fake.fake.kit().add_fault(FaultRule::new(
        Some("POST"),
        "/services/**",
        Some(times),
        json!({"delayMs": 600}),
    ));
}

#[tokio::test]
async fn an_alert_reaches_the_channel() {
    let fake = SlackFake::minimal().spawn().await.unwrap();
    let alerter = SlackAlerter::new(poster(), url(&fake), clock());
    let alert = ItAlert::text("PermanentFailure", "k1", "bad record for *octocat*");
    assert_eq!(alerter.send(&alert).await, Delivery::Sent);
    assert_eq!(texts(&fake), ["bad record for *octocat*"]);
}

#[tokio::test]
async fn the_same_key_within_the_window_is_sent_once() {
    let fake = SlackFake::minimal().spawn().await.unwrap();
    let clock = clock();
    let alerter = SlackAlerter::new(poster(), url(&fake), clock.clone())
        .with_window(Duration::from_secs(600));
    let alert = ItAlert::text("PermanentFailure", "k1", "first");
    assert_eq!(alerter.send(&alert).await, Delivery::Sent);
    clock.advance(chrono::Duration::seconds(599));
    assert_eq!(alerter.send(&alert).await, Delivery::Suppressed);
    let other = ItAlert::text("PermanentFailure", "k2", "another key");
    assert_eq!(alerter.send(&other).await, Delivery::Sent);
    clock.advance(chrono::Duration::seconds(1));
    assert_eq!(
        alerter.send(&alert).await,
        Delivery::Sent,
        "the window has passed"
    );
    assert_eq!(texts(&fake), ["first", "another key", "first"]);
    assert_eq!(webhook_calls(&fake), 3);
}

#[tokio::test]
async fn an_alert_slack_refuses_is_logged_as_lost_and_tried_again_next_time() {
    let fake = SlackFake::minimal().spawn().await.unwrap();
    let gone = format!("{}/services/T0FAKE0001/B0GONE/nope", fake.base_url());
    let alerter = SlackAlerter::new(
        poster(),
        Arc::new(FixedUrl::new(SecretString::from(gone))),
        clock(),
    );
    let capture = lambda_kit::tracing_init::capture_logs();
    let alert = ItAlert::text("SettingsInvalid", "k1", "cls/spoke: api_key is missing");
    let Delivery::Lost(lost) = alerter.send(&alert).await else {
        panic!("an alert to a removed webhook is lost");
    };
    assert!(!lost.transient, "no_service is permanent: {lost:?}");
    let logs = capture.contents();
    let line = logs
        .lines()
        .find(|l| l.contains("alert_lost") && l.contains("cls/spoke: api_key is missing"))
        .unwrap_or_else(|| panic!("the loss is logged: {logs}"));
    assert!(line.contains("SettingsInvalid"), "{line}");
    assert!(line.contains("ERROR"), "{line}");
    capture.assert_absent(&["B0GONE/nope"]).unwrap();
    assert!(
        matches!(alerter.send(&alert).await, Delivery::Lost(_)),
        "a lost key is not in the window: it is tried again"
    );
    assert_eq!(webhook_calls(&fake), 2);
}

#[tokio::test]
async fn a_slack_outage_is_a_transient_loss() {
    let fake = SlackFake::minimal().spawn().await.unwrap();
    fake.fake.kit().add_fault(FaultRule::new(
        Some("POST"),
        "/services/**",
        None,
        json!({"status": 503}),
    ));
    let alerter = SlackAlerter::new(poster(), url(&fake), clock());
    let delivery = alerter
        .send(&ItAlert::text("SpokeUnavailable", "k", "x"))
        .await;
    assert!(delivery.is_transient_loss(), "{delivery:?}");
    assert!(texts(&fake).is_empty());
}

#[tokio::test]
async fn a_timeout_is_retried_once() {
    let fake = SlackFake::minimal().spawn().await.unwrap();
    delay_next(&fake, 1);
    let alerter = SlackAlerter::new(poster(), url(&fake), clock());
    let delivery = alerter
        .send(&ItAlert::text("StaleEvent", "k", "late"))
        .await;
    assert_eq!(
        delivery,
        Delivery::Sent,
        "the timed-out post is posted once more"
    );
    assert_eq!(faults_left(&fake), 0);
    assert!(texts(&fake).contains(&"late".to_owned()));
}

#[tokio::test]
async fn a_second_timeout_is_a_transient_loss_and_not_retried_again() {
    let fake = SlackFake::minimal().spawn().await.unwrap();
    delay_next(&fake, 3);
    let alerter = SlackAlerter::new(poster(), url(&fake), clock());
    let capture = lambda_kit::tracing_init::capture_logs();
    let delivery = alerter
        .send(&ItAlert::text("StaleEvent", "k", "late"))
        .await;
    assert!(delivery.is_transient_loss(), "{delivery:?}");
    assert_eq!(faults_left(&fake), 1, "two attempts: one retry only");
    assert!(
        capture
            .contents()
            .lines()
            .any(|l| l.contains("alert_lost") && l.contains("timed out"))
    );
}

#[tokio::test]
async fn the_deadline_bounds_delivery() {
    let fake = SlackFake::minimal().spawn().await.unwrap();
    delay_next(&fake, 1);
    let alerter = SlackAlerter::new(poster(), url(&fake), clock());
    let deadline = tokio::time::Instant::now() + Duration::from_millis(50);
    let started = std::time::Instant::now();
    let delivery = alerter
        .send(&ItAlert::text("StaleEvent", "k", "late").before(deadline))
        .await;
    assert!(delivery.is_transient_loss(), "{delivery:?}");
    assert!(started.elapsed() < TIMEOUT, "not retried past the deadline");
}

#[tokio::test]
async fn the_url_is_read_from_the_secret_on_each_alert() {
    let fake = SlackFake::minimal().spawn().await.unwrap();
    let store = MemorySecretStore::with("ops/slack", json!({"other": "x"}));
    let source = Arc::new(SecretUrl::new(
        Arc::new(store.clone()),
        "ops/slack",
        &["webhookUrl", "webhook_url"],
    ));
    let alerter = SlackAlerter::new(poster(), source, clock());
    let first = alerter.send(&ItAlert::text("k", "k1", "before")).await;
    let Delivery::Lost(lost) = first else {
        panic!("no URL in the secret: lost");
    };
    assert!(lost.reason.contains("ops/slack") && lost.reason.contains("webhookUrl"));
    store.insert(
        "ops/slack",
        json!({"webhook_url": fake.webhook_url("alerts_it").unwrap()}),
    );
    assert_eq!(
        alerter.send(&ItAlert::text("k", "k1", "after")).await,
        Delivery::Sent
    );
    assert_eq!(texts(&fake), ["after"]);
    let missing = SecretUrl::new(
        Arc::new(MemorySecretStore::new()),
        "ops/none",
        &["webhookUrl"],
    );
    let e = missing.webhook_url().await.unwrap_err();
    assert!(e.reason.contains("ops/none") && !e.transient);
}
