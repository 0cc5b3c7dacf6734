//! The service secret in Secrets Manager (moto): a missing or invalid secret fails the invocation with
//! `secret_unavailable`, before any Spoke call and without an alert.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_missing_secret_fails_the_invocation_without_calls_or_alerts() {
    let stack = spawn_with(Options::default().env("ONCALL_SECRET_ID", &unique("absent"))).await;
    let err = stack.invoke(event()).await.unwrap_err();
    assert_eq!(err.response().reason, "secret_unavailable");
    assert_eq!(stack.spoke_call_count(), 0);
    assert!(stack.slack_posts().is_empty());
}

#[tokio::test]
async fn a_secret_without_a_key_or_an_it_route_is_unavailable() {
    for invalid in [
        json!({"slack": {}}),
        json!({"spokeApiKey": API_KEY, "slack": {"channelWebhooks": {}}}),
    ] {
        let stack = spawn().await;
        stack.put_secret(invalid).await;
        let err = stack
            .invoke(event_for("carol@example.com", "IT"))
            .await
            .unwrap_err();
        assert_eq!(
            (err.response().result, err.response().reason),
            ("retryable_error", "secret_unavailable")
        );
        assert_eq!(stack.spoke_call_count(), 0);
        assert!(stack.slack_posts().is_empty());
    }
}
