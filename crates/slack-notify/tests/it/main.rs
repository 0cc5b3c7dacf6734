//! slack-notify over HTTP: against slack-fake for Slack's behaviour, wiremock for odd answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod blocks;
mod hostile;
mod logs;
mod signature;
mod web_api;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use lambda_kit::http::RetryPolicy;
use secrecy::SecretString;
use slack_fake::{SlackFake, SpawnedSlackFake};
use slack_notify::{SlackClient, SlackEndpoints, WebhookClient};

/// Short waits so tests stay fast: 3 attempts, 10–40 ms backoff, rate-limit waits up to 2 s.
pub(crate) fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(40),
        max_rate_limit_wait: Duration::from_secs(2),
    }
}

pub(crate) fn http() -> reqwest::Client {
    lambda_kit::http::http_client_with(
        "slack-notify-tests/0.0.0",
        Duration::from_millis(200),
        Duration::from_millis(200),
    )
    .unwrap()
}

pub(crate) fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

pub(crate) async fn fake() -> SpawnedSlackFake {
    SlackFake::minimal().spawn().await.unwrap()
}

pub(crate) fn client_for(fake: &SpawnedSlackFake, token: &str) -> SlackClient {
    let endpoints = SlackEndpoints::new(&fake.api_base_url(), &fake.response_url_prefix()).unwrap();
    SlackClient::new(http(), endpoints, secret(token))
        .with_retry_policy(quick_policy())
        .with_clock(Arc::new(lambda_kit::SystemClock))
}

pub(crate) fn webhooks() -> WebhookClient {
    WebhookClient::new(http()).with_retry_policy(quick_policy())
}

/// How many calls the fake journaled for `path` (fault-rule pattern syntax).
pub(crate) fn calls(fake: &SpawnedSlackFake, method: &str, path: &str) -> usize {
    fake.fake.kit().calls(method, path).len()
}

pub(crate) async fn add_fault(fake: &SpawnedSlackFake, rule: serde_json::Value) {
    let resp = lambda_kit::http::default_client()
        .post(format!("{}/__fake/faults", fake.base_url()))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}
