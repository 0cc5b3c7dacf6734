//! HTTP tests of the Slack stand-in, over real sockets on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod interactions;
mod membership;
mod web_api;
mod webhooks;

use serde_json::Value;
use slack_fake::{SlackFake, SpawnedSlackFake};

pub(crate) async fn spawn() -> SpawnedSlackFake {
    SlackFake::minimal().spawn().await.expect("fake starts")
}

pub(crate) async fn api(
    fake: &SpawnedSlackFake,
    method: &str,
    token: Option<&str>,
    body: Value,
) -> Value {
    let mut req = fake_kit::default_client()
        .post(format!("{}/{method}", fake.api_base_url()))
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request sent");
    assert_eq!(resp.status(), 200, "Slack answers API errors with HTTP 200");
    resp.json().await.expect("JSON answer")
}

/// Calls Web API `method` with the seeded bot token.
pub(crate) async fn bot_api(fake: &SpawnedSlackFake, method: &str, body: Value) -> Value {
    api(fake, method, Some(&fake.fake.bot_token()), body).await
}
