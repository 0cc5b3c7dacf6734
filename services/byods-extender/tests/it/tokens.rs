//! BYO-10 … BYO-13: the service-app token (cache, refresh, mint) and the HTTP policy (429, 5xx, timeouts)
//! against the fake Webex over HTTP and moto.

use std::time::Duration as StdDuration;

use byods_extender::session::Outcome;
use byods_extender::{FailureClass, handle};
use chrono::Duration;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn byo10_a_valid_cached_service_app_token_needs_no_token_call() {
    let env = Env::start(
        seed_with_service_app_tokens(3000),
        with_service_app_tokens(Duration::minutes(50)),
    )
    .await;
    let version = env.secret_version().await;
    let summary = env.run(scheduled_event(), &[]).await.unwrap();
    assert_eq!(summary.service_app_token_source.as_deref(), Some("cache"));
    assert!(env.calls("POST", "/access_token").is_empty());
    assert!(env.calls("POST", "/applications/*/token").is_empty());
    assert_eq!(
        env.secret_version().await,
        version,
        "cached tokens only: nothing written"
    );
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo11_an_expired_service_app_token_is_refreshed_not_minted() {
    let env = Env::start(
        seed_with_service_app_tokens(-60),
        with_service_app_tokens(Duration::minutes(-1)),
    )
    .await;
    let summary = env.run(scheduled_event(), &[]).await.unwrap();
    assert_eq!(summary.service_app_token_source.as_deref(), Some("refresh"));
    assert_eq!(env.calls("POST", "/access_token").len(), 1);
    assert!(env.calls("POST", "/applications/*/token").is_empty());
    assert!(
        env.secret().await["serviceApp"]["accessToken"]
            .as_str()
            .unwrap()
            .starts_with("fake_at_")
    );
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo11_a_service_app_refresh_with_invalid_grant_falls_back_to_the_mint() {
    let env = Env::start(
        seed_with_service_app_tokens(-60),
        with_service_app_tokens(Duration::minutes(-1)),
    )
    .await;
    env.fake.revoke_refresh_tokens("C-service-app");
    let summary = env.run(scheduled_event(), &[]).await.unwrap();
    assert_eq!(summary.service_app_token_source.as_deref(), Some("mint"));
    assert_eq!(env.calls("POST", "/applications/*/token").len(), 1);
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo12_a_429_with_retry_after_is_waited_for_then_succeeds() {
    let env = Env::start(seed(), canonical_secret).await;
    env.fault(
        "GET",
        "/dataSources/ds-due",
        Some(1),
        json!({"status": 429, "retryAfter": 2}),
    );
    env.run(json!({"byods": {"dataSourceIds": ["ds-due"]}}), &[])
        .await
        .unwrap();
    assert_eq!(env.sleeper.waits(), vec![StdDuration::from_secs(2)]);
    assert!((env.metrics.total("RateLimitedResponses") - 1.0).abs() < f64::EPSILON);
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo12_a_429_without_retry_after_waits_15_seconds() {
    let env = Env::start(seed(), canonical_secret).await;
    env.fault(
        "GET",
        "/dataSources/ds-due",
        Some(1),
        json!({"status": 429}),
    );
    env.run(json!({"byods": {"dataSourceIds": ["ds-due"]}}), &[])
        .await
        .unwrap();
    assert_eq!(env.sleeper.waits(), vec![StdDuration::from_secs(15)]);
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo12_a_retry_after_above_the_cap_is_rate_limited_without_waiting() {
    let env = Env::start(seed(), canonical_secret).await;
    env.fault(
        "GET",
        "/dataSources/ds-due",
        Some(1),
        json!({"status": 429, "retryAfter": 120}),
    );
    let err = env
        .run(json!({"byods": {"dataSourceIds": ["ds-due"]}}), &[])
        .await
        .unwrap_err();
    assert_eq!(err.class, FailureClass::RateLimited);
    assert!(env.sleeper.waits().is_empty());
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo13_two_503s_then_success_on_the_third_attempt() {
    let env = Env::start(seed(), canonical_secret).await;
    env.fault(
        "PUT",
        "/dataSources/ds-due",
        Some(2),
        json!({"status": 503}),
    );
    let summary = env.run(scheduled_event(), &[]).await.unwrap();
    assert_eq!(outcome_of(&summary, "ds-due"), Outcome::Extended);
    let puts = env.puts();
    assert_eq!(puts.len(), 3);
    assert_eq!(
        puts[0].json_body().unwrap()["nonce"],
        puts[2].json_body().unwrap()["nonce"],
        "retries resend the same nonce"
    );
    let waits = env.sleeper.waits();
    assert_eq!(waits.len(), 2);
    assert!(waits[0] <= StdDuration::from_secs(1) && waits[1] <= StdDuration::from_secs(2));
    assert!((env.metrics.total("HttpRetries") - 2.0).abs() < f64::EPSILON);
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo13_three_500s_are_an_upstream_failure() {
    let env = Env::start(seed(), canonical_secret).await;
    env.fault(
        "GET",
        "/dataSources/ds-due",
        Some(3),
        json!({"status": 500}),
    );
    let err = env
        .run(json!({"byods": {"dataSourceIds": ["ds-due"]}}), &[])
        .await
        .unwrap_err();
    assert_eq!(err.class, FailureClass::Upstream);
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo13_a_response_slower_than_the_timeout_is_a_timeout() {
    let env = Env::start(seed(), canonical_secret).await;
    env.fault("GET", "/dataSources/ds-due", None, json!({"delayMs": 2500}));
    let deps = env
        .deps(&[
            ("BYODS_HTTP_TIMEOUT_SECONDS", "1"),
            ("BYODS_MAX_ATTEMPTS", "1"),
        ])
        .await;
    let err = handle(
        json!({"byods": {"dataSourceIds": ["ds-due"]}}),
        &invocation(),
        &deps,
    )
    .await
    .unwrap_err();
    assert_eq!(err.class, FailureClass::Timeout);
    env.assert_no_leaks().await;
}
