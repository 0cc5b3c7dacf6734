//! BYO-1 … BYO-22: the sweep against the fake Webex over HTTP and moto, with the real `secrets` crate.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration as StdDuration;

use byods_extender::session::Outcome;
use byods_extender::{AlertKind, FailureClass, handle};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::support::*;

fn scheduled_event() -> Value {
    serde_json::from_str(include_str!("../../events/scheduled.json")).unwrap()
}

fn outcome_of(summary: &byods_extender::SweepSummary, id: &str) -> Outcome {
    summary
        .data_sources
        .iter()
        .find(|r| r.id == id)
        .unwrap()
        .outcome
}

fn ts(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// A seed with one extra token or data source.
fn seed_with(key: &str, item: Value) -> Value {
    let mut s = seed();
    s[key].as_array_mut().unwrap().push(item);
    s
}

#[tokio::test]
async fn byo1_a_due_source_gets_one_put_with_the_fields_of_the_get_and_a_fresh_nonce() {
    let env = Env::start(seed(), canonical_secret).await;
    let deps = env.deps(&[("BYODS_TOKEN_LIFETIME_MINUTES", "720")]);

    let summary = handle(scheduled_event(), &deps).await.unwrap();

    assert_eq!(outcome_of(&summary, "ds-due"), Outcome::Extended);
    assert_eq!(outcome_of(&summary, "ds-later"), Outcome::SkippedNotDue);
    let puts = env.puts();
    assert_eq!(puts.len(), 1, "exactly one PUT");
    assert!(puts[0].path.ends_with("/dataSources/ds-due"));
    let body = puts[0].json_body().unwrap();
    assert_eq!(body["audience"], "MedDocVirtualAgent");
    assert_eq!(body["subject"], "callAudioData");
    assert_eq!(body["url"], "https://dap.example.com/ds1");
    assert_eq!(body["schemaId"], "78efc775-dccb-45ca-9acf-989a4a59f788");
    assert_eq!(body["tokenLifetimeMinutes"], 720);
    assert_eq!(body["status"], "active");
    let nonce = body["nonce"].as_str().unwrap();
    assert_ne!(nonce, "nonce-ds-due-0");
    assert!(uuid::Uuid::parse_str(nonce).is_ok(), "a UUID nonce");
    let r = summary
        .data_sources
        .iter()
        .find(|r| r.id == "ds-due")
        .unwrap();
    assert!(r.new_expires_at.unwrap() > r.expires_at.unwrap());
    // BYO-21: every request carries TrackingID byods_<sweepId>_<seq>.
    let prefix = format!("byods_{}_", summary.sweep_id);
    for call in env.fake.kit().journal() {
        assert!(
            call.header("trackingid").unwrap().starts_with(&prefix),
            "{call:?}"
        );
    }
    assert!(
        env.secret().await["serviceApp"]["accessToken"].is_string(),
        "the minted token is cached"
    );
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo2_a_source_outside_the_window_is_skipped_unless_the_mode_is_always() {
    let env = Env::start(seed(), canonical_secret).await;
    let summary = handle(
        json!({"byods": {"dataSourceIds": ["ds-later"]}}),
        &env.deps(&[]),
    )
    .await
    .unwrap();
    assert_eq!(outcome_of(&summary, "ds-later"), Outcome::SkippedNotDue);
    assert!(env.puts().is_empty());

    let summary = handle(
        scheduled_event(),
        &env.deps(&[("BYODS_EXTEND_MODE", "always")]),
    )
    .await
    .unwrap();
    assert_eq!(outcome_of(&summary, "ds-later"), Outcome::Extended);
    assert_eq!(outcome_of(&summary, "ds-due"), Outcome::Extended);
    assert_eq!(env.puts().len(), 2);
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo3_a_second_sweep_right_after_the_first_changes_nothing() {
    let env = Env::start(seed(), canonical_secret).await;
    handle(scheduled_event(), &env.deps(&[])).await.unwrap();
    let version = env.secret_version().await;
    let puts = env.puts().len();

    let summary = handle(scheduled_event(), &env.deps(&[])).await.unwrap();

    assert_eq!(env.puts().len(), puts, "no new PUT");
    assert_eq!(summary.counts.extended, 0);
    assert_eq!(summary.service_app_token_source.as_deref(), Some("cache"));
    assert_eq!(env.secret_version().await, version, "no secret write");
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo3_two_concurrent_sweeps_both_succeed_and_leave_a_usable_secret() {
    let env = Env::start(seed(), |_| legacy_secret()).await;
    let (a, b) = (env.deps(&[]), env.deps(&[]));
    let (ra, rb) = tokio::join!(handle(scheduled_event(), &a), handle(scheduled_event(), &b));
    ra.unwrap();
    rb.unwrap();
    let secret = env.secret().await;
    let rt = secret["tokenManager"]["refreshToken"].as_str().unwrap();
    assert!(env.fake.accepts_refresh_token(rt));
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo4_the_seed_shaped_secret_works_and_is_migrated_to_canonical_keys() {
    let env = Env::start(seed(), |_| legacy_secret()).await;
    handle(scheduled_event(), &env.deps(&[])).await.unwrap();
    let secret = env.secret().await;
    let tm = &secret["tokenManager"];
    assert_eq!(secret["schemaVersion"], 2);
    assert_eq!(secret["deployedBy"], "ops-team", "unknown keys remain");
    assert_eq!(tm["clientId"], "C-integration");
    assert_eq!(tm["clientSecret"], "integration-secret");
    assert_eq!(tm["refreshToken"], "int-refresh-1");
    for alias in [
        "personalAccessToken",
        "oauthClientId",
        "oauthClientSecret",
        "oauthRefreshToken",
    ] {
        assert!(tm.get(alias).is_none(), "{alias} dropped");
    }
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo5_a_refreshed_integration_token_is_saved_even_if_the_listing_then_fails() {
    let env = Env::start(seed(), |_| legacy_secret()).await;
    env.fault("GET", "/dataSources", None, json!({"status": 500}));
    let err = handle(scheduled_event(), &env.deps(&[])).await.unwrap_err();
    assert_eq!(err.class, FailureClass::Upstream);
    let tm = env.secret().await["tokenManager"].clone();
    assert!(
        tm["accessToken"].as_str().unwrap().starts_with("fake_at_"),
        "the new access token is saved"
    );
    assert!(ts(&tm["accessTokenExpiresAt"]) > env.now() + Duration::days(13));
    assert!(tm["refreshTokenExpiresAt"].is_string());
    assert!(tm["refreshedAt"].is_string());
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo6_a_rotated_refresh_token_is_stored_and_the_next_sweep_uses_it() {
    let env = Env::start(seed(), |_| legacy_secret()).await;
    env.fake
        .update_settings(&json!({"rotation": true}))
        .unwrap();
    handle(scheduled_event(), &env.deps(&[])).await.unwrap();
    let rotated = env.secret().await["tokenManager"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, "int-refresh-1");
    assert!(env.fake.accepts_refresh_token(&rotated));
    assert!(!env.fake.accepts_refresh_token("int-refresh-1"));

    env.advance(Duration::days(8));
    handle(scheduled_event(), &env.deps(&[])).await.unwrap();
    let again = env.secret().await["tokenManager"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(
        again, rotated,
        "the stored token was used and rotated again"
    );
    assert!(env.fake.accepts_refresh_token(&again));
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo6_when_the_response_omits_the_refresh_token_the_old_one_is_kept() {
    let env = Env::start(seed(), |_| legacy_secret()).await;
    env.fake
        .update_settings(&json!({"omitRefreshToken": true}))
        .unwrap();
    handle(scheduled_event(), &env.deps(&[])).await.unwrap();
    assert_eq!(
        env.secret().await["tokenManager"]["refreshToken"],
        "int-refresh-1"
    );
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo7_invalid_grant_yields_reauth_required_and_exactly_one_reauth_alert() {
    for status in [400, 401] {
        let env = Env::start(seed(), |_| legacy_secret()).await;
        env.fake
            .update_settings(&json!({"refreshErrorStatus": status}))
            .unwrap();
        env.fake.revoke_refresh_tokens("C-integration");
        let before = env.secret().await;

        let err = handle(scheduled_event(), &env.deps(&[])).await.unwrap_err();

        assert_eq!(err.class, FailureClass::ReauthRequired);
        let d: lambda_runtime::Diagnostic = err.clone().into();
        assert_eq!(d.error_type, "ReauthRequired");
        let alerts = env.alerts.alerts();
        assert_eq!(alerts.len(), 1, "exactly one alert");
        assert_eq!(
            alerts[0].kind,
            AlertKind::SweepFailed(FailureClass::ReauthRequired)
        );
        assert!(alerts[0].text.contains("byods setup-oauth"));
        assert!((env.metrics.total("OAuthRefreshFailures") - 1.0).abs() < f64::EPSILON);
        assert!(env.puts().is_empty());
        assert_eq!(env.secret().await, before, "secret unchanged");
        let sweep_id = err.summary.unwrap().sweep_id;
        let logs = env.logs.contents();
        assert!(
            logs.lines().any(|l| l.contains(&sweep_id)
                && l.contains("OAuth refresh token expired")
                && l.contains("byods setup-oauth")),
            "the re-auth log line"
        );
        env.assert_no_leaks().await;
    }
}

#[tokio::test]
async fn byo8_invalid_client_is_a_config_error_and_not_a_reauth() {
    let mut secret = legacy_secret();
    secret["tokenManager"]["oauthClientSecret"] = json!("wrong-secret");
    let env = Env::start(seed(), move |_| secret).await;
    let err = handle(scheduled_event(), &env.deps(&[])).await.unwrap_err();
    assert_eq!(err.class, FailureClass::ConfigInvalid);
    assert!(env.metrics.total("OAuthRefreshFailures").abs() < f64::EPSILON);
    assert_eq!(env.alerts.alerts().len(), 1);
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo9_a_403_from_the_mint_means_the_service_app_is_not_authorised() {
    let env = Env::start(seed(), |now| {
        let mut s = canonical_secret(now);
        s["serviceApp"]["targetOrgId"] = json!("org-not-authorised");
        s
    })
    .await;
    let err = handle(scheduled_event(), &env.deps(&[])).await.unwrap_err();
    assert_eq!(err.class, FailureClass::ServiceAppNotAuthorized);
    assert!(env.puts().is_empty());
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo9_a_401_from_the_mint_after_a_fresh_refresh_means_the_scope_is_missing() {
    let mut s = seed();
    s["integrations"][0]["scopes"] = json!(["spark:people_read"]);
    let env = Env::start(s, canonical_secret).await;
    let err = handle(scheduled_event(), &env.deps(&[])).await.unwrap_err();
    assert_eq!(err.class, FailureClass::IntegrationScopeMissing);
    assert_eq!(
        env.calls("POST", "/applications/*/token").len(),
        2,
        "minted, refreshed, minted once more"
    );
    assert_eq!(env.calls("POST", "/access_token").len(), 1);
    env.assert_no_leaks().await;
}

fn with_service_app_tokens(access_expires: Duration) -> impl FnOnce(DateTime<Utc>) -> Value {
    move |now| {
        let mut s = canonical_secret(now);
        s["serviceApp"]["accessToken"] = json!("sa-access-1");
        s["serviceApp"]["accessTokenExpiresAt"] = json!(rfc(now + access_expires));
        s["serviceApp"]["refreshToken"] = json!("sa-refresh-1");
        s["serviceApp"]["refreshTokenExpiresAt"] = json!(rfc(now + Duration::days(60)));
        s["serviceApp"]["obtainedAt"] = json!(rfc(now - Duration::hours(1)));
        s
    }
}

fn seed_with_service_app_tokens(access_secs: i64) -> Value {
    let mut s = seed();
    let tokens = s["tokens"].as_array_mut().unwrap();
    tokens.push(json!({"token": "sa-access-1", "kind": "access", "clientId": "C-service-app", "expiresInSecs": access_secs, "orgId": "org-1"}));
    tokens.push(json!({"token": "sa-refresh-1", "kind": "refresh", "clientId": "C-service-app", "expiresInSecs": 5_000_000, "orgId": "org-1"}));
    s
}

#[tokio::test]
async fn byo10_a_valid_cached_service_app_token_needs_no_token_call() {
    let env = Env::start(
        seed_with_service_app_tokens(3000),
        with_service_app_tokens(Duration::minutes(50)),
    )
    .await;
    let version = env.secret_version().await;
    let summary = handle(scheduled_event(), &env.deps(&[])).await.unwrap();
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
    let summary = handle(scheduled_event(), &env.deps(&[])).await.unwrap();
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
    let summary = handle(scheduled_event(), &env.deps(&[])).await.unwrap();
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
    handle(
        json!({"byods": {"dataSourceIds": ["ds-due"]}}),
        &env.deps(&[]),
    )
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
    handle(
        json!({"byods": {"dataSourceIds": ["ds-due"]}}),
        &env.deps(&[]),
    )
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
    let err = handle(
        json!({"byods": {"dataSourceIds": ["ds-due"]}}),
        &env.deps(&[]),
    )
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
    let summary = handle(scheduled_event(), &env.deps(&[])).await.unwrap();
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
    let err = handle(
        json!({"byods": {"dataSourceIds": ["ds-due"]}}),
        &env.deps(&[]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.class, FailureClass::Upstream);
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo13_a_response_slower_than_the_timeout_is_a_timeout() {
    let env = Env::start(seed(), canonical_secret).await;
    env.fault("GET", "/dataSources/ds-due", None, json!({"delayMs": 2500}));
    let deps = env.deps(&[
        ("BYODS_HTTP_TIMEOUT_SECONDS", "1"),
        ("BYODS_MAX_ATTEMPTS", "1"),
    ]);
    let err = handle(json!({"byods": {"dataSourceIds": ["ds-due"]}}), &deps)
        .await
        .unwrap_err();
    assert_eq!(err.class, FailureClass::Timeout);
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo14_one_failing_source_does_not_stop_the_others_and_the_invocation_fails() {
    let s = seed_with(
        "dataSources",
        json!({"id": "ds-gone", "url": "https://dap.example.com/ds3", "nonce": "n3", "tokenExpiresInMinutes": 30, "orgId": "org-1"}),
    );
    let env = Env::start(s, canonical_secret).await;
    env.fault(
        "GET",
        "/dataSources/ds-gone",
        None,
        json!({"status": 404, "headers": {"TrackingID": "ROUTER_GONE_1"}}),
    );

    let err = handle(
        scheduled_event(),
        &env.deps(&[("BYODS_EXTEND_MODE", "always")]),
    )
    .await
    .unwrap_err();

    assert_eq!(err.class, FailureClass::DataSourceNotFound);
    let summary = err.summary.clone().unwrap();
    assert_eq!(outcome_of(&summary, "ds-due"), Outcome::Extended);
    assert_eq!(outcome_of(&summary, "ds-later"), Outcome::Extended);
    assert_eq!(outcome_of(&summary, "ds-gone"), Outcome::Failed);
    assert!(err.message.contains("ds-gone"));
    assert!((env.metrics.total("DataSourcesFailed") - 1.0).abs() < f64::EPSILON);
    let logs = env.logs.contents();
    assert!(
        logs.lines().any(|l| l.contains("data_source_failed")
            && l.contains("ds-gone")
            && l.contains("ROUTER_GONE_1")),
        "the failure log names the id and the fake's tracking id"
    );
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo15_a_disabled_source_is_skipped_and_never_put() {
    let s = seed_with(
        "dataSources",
        json!({"id": "ds-off", "status": "disabled", "url": "https://dap.example.com/off", "nonce": "n4", "tokenExpiresInMinutes": 10, "orgId": "org-1", "errorMessage": "maintenance"}),
    );
    let env = Env::start(s, canonical_secret).await;
    let summary = handle(
        json!({"byods": {"dataSourceIds": ["ds-off"]}}),
        &env.deps(&[]),
    )
    .await
    .unwrap();
    assert_eq!(outcome_of(&summary, "ds-off"), Outcome::SkippedDisabled);
    assert!(env.puts().is_empty());
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo16_without_token_expiry_time_or_top_level_fields_the_claims_are_used() {
    let env = Env::start(seed(), canonical_secret).await;
    env.fake
        .update_settings(&json!({"omitTokenExpiryTime": true, "omitAudienceSubject": true}))
        .unwrap();
    let summary = handle(scheduled_event(), &env.deps(&[])).await.unwrap();
    assert_eq!(
        outcome_of(&summary, "ds-due"),
        Outcome::Extended,
        "exp of the JWS makes it due"
    );
    assert_eq!(outcome_of(&summary, "ds-later"), Outcome::SkippedNotDue);
    let body = env.puts()[0].json_body().unwrap();
    assert_eq!(body["audience"], "MedDocVirtualAgent");
    assert_eq!(body["subject"], "callAudioData");
    let r = summary
        .data_sources
        .iter()
        .find(|r| r.id == "ds-due")
        .unwrap();
    assert!(
        r.new_expires_at.is_some() && r.warning.is_none(),
        "verified through the new JWS exp"
    );
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo16_with_neither_fields_nor_claims_the_source_is_invalid_and_not_put() {
    let s = seed_with(
        "dataSources",
        json!({"id": "ds-bare", "url": "https://dap.example.com/bare", "nonce": "n5", "tokenExpiresInMinutes": 30, "orgId": "org-1", "jwsToken": ""}),
    );
    let env = Env::start(s, canonical_secret).await;
    env.fake
        .update_settings(&json!({"omitAudienceSubject": true}))
        .unwrap();
    let err = handle(
        json!({"byods": {"dataSourceIds": ["ds-bare"]}}),
        &env.deps(&[]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.class, FailureClass::DataSourceInvalid);
    assert!(env.puts().is_empty());
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo17_a_dry_run_puts_nothing_and_with_cached_tokens_writes_nothing() {
    let env = Env::start(
        seed_with_service_app_tokens(3000),
        with_service_app_tokens(Duration::minutes(50)),
    )
    .await;
    let version = env.secret_version().await;
    let summary = handle(json!({"byods": {"dryRun": true}}), &env.deps(&[]))
        .await
        .unwrap();
    assert!(summary.dry_run);
    assert_eq!(outcome_of(&summary, "ds-due"), Outcome::WouldExtend);
    assert!(env.puts().is_empty());
    assert_eq!(env.secret_version().await, version);
    assert!((env.metrics.total("DataSourcesWouldExtend") - 1.0).abs() < f64::EPSILON);
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo18_a_failed_secret_write_is_reported_without_losing_the_rotated_token() {
    let env = Env::start(seed(), |_| legacy_secret()).await;
    env.fake
        .update_settings(&json!({"rotation": true}))
        .unwrap();
    let store = FailingWrites::new(env.store());
    let deps = env.deps_with_store(store.clone(), &[]);

    let err = handle(scheduled_event(), &deps).await.unwrap_err();

    assert_eq!(err.class, FailureClass::SecretWriteFailed);
    let summary = err.summary.clone().unwrap();
    assert_eq!(
        outcome_of(&summary, "ds-due"),
        Outcome::Extended,
        "the sources are still extended"
    );
    assert!((env.metrics.total("SecretWriteFailures") - 1.0).abs() < f64::EPSILON);
    assert!(deps.has_pending_write());
    assert_eq!(
        env.secret().await["tokenManager"]["oauthRefreshToken"],
        "int-refresh-1",
        "nothing written yet"
    );
    assert!(
        !env.fake.accepts_refresh_token("int-refresh-1"),
        "the old token is gone at Webex"
    );

    store.fail.store(false, Ordering::SeqCst);
    handle(scheduled_event(), &deps).await.unwrap();

    assert!(!deps.has_pending_write());
    let rt = env.secret().await["tokenManager"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        env.fake.accepts_refresh_token(&rt),
        "the rotated token reached the secret"
    );
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo19_an_external_change_between_read_and_write_survives_and_the_newer_tokens_win() {
    let s = seed_with(
        "tokens",
        json!({"token": "external-access-token", "kind": "access", "clientId": "C-integration", "expiresInSecs": 1_000_000}),
    );
    let env = Env::start(s, |_| legacy_secret()).await;
    let mut edited = legacy_secret();
    edited["deployedBy"] = json!("edited-by-ops");
    edited["serviceApp"]["clientSecret"] = json!("service-app-secret");
    edited["tokenManager"]["accessToken"] = json!("external-access-token");
    edited["tokenManager"]["accessTokenExpiresAt"] = json!(rfc(env.now() + Duration::days(14)));
    edited["tokenManager"]["refreshedAt"] = json!(rfc(env.now() + Duration::hours(1)));
    let store = Arc::new(ExternalEditBeforeWrite {
        inner: env.store(),
        sm: env.sm.clone(),
        edit: std::sync::Mutex::new(Some(edited)),
        reads: std::sync::atomic::AtomicUsize::new(0),
    });
    let deps = env.deps_with_store(store, &[]);
    let _ = handle(scheduled_event(), &deps).await;
    let secret = env.secret().await;
    assert_eq!(
        secret["deployedBy"], "edited-by-ops",
        "the external static change survives"
    );
    assert_eq!(
        secret["tokenManager"]["accessToken"], "external-access-token",
        "the newer token group wins"
    );
    assert!(
        secret["serviceApp"]["accessToken"]
            .as_str()
            .unwrap()
            .starts_with("fake_at_"),
        "our newer service-app tokens win"
    );
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo22_every_metric_is_emitted_in_the_webex_byods_namespace_zeros_included() {
    let env = Env::start(seed(), canonical_secret).await;
    handle(scheduled_event(), &env.deps(&[])).await.unwrap();
    let lines = env.metrics.lines();
    let main: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(
        main["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "WebexBYODS"
    );
    assert_eq!(main["Service"], "byods-extender");
    for name in [
        "DataSourcesExtended",
        "DataSourcesSkipped",
        "DataSourcesFailed",
        "DataSourcesWouldExtend",
        "OAuthRefreshFailures",
        "SecretWriteFailures",
        "RateLimitedResponses",
        "HttpRetries",
        "SweepSuccess",
        "SweepDurationMs",
        "MinDataSourceTokenMinutesLeft",
        "IntegrationRefreshTokenSecondsLeft",
    ] {
        assert!(main.get(name).is_some(), "{name} missing");
    }
    assert_eq!(main["DataSourcesFailed"], 0.0);
    assert_eq!(main["SweepSuccess"], 1.0);
    let per_source: Vec<Value> = lines[1..]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        per_source
            .iter()
            .any(|v| v["DataSourceId"] == "ds-due" && v["DataSourceTokenMinutesLeft"].is_number())
    );
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo20_debug_output_of_the_secret_types_is_redacted() {
    let creds = byods_extender::credentials::Credentials::from_value(&legacy_secret()).unwrap();
    let text = format!("{creds:?}");
    for s in SEED_SECRETS {
        assert!(!text.contains(s), "{s} in Debug output");
    }
    assert!(text.contains("REDACTED"));
}

#[tokio::test]
async fn byo28_the_legacy_variable_names_work_and_without_ids_every_listed_source_is_processed() {
    let env = Env::start(seed(), canonical_secret).await;
    let map: std::collections::HashMap<String, String> = [
        ("SECRET_NAME", env.secret_id.clone()),
        ("DATA_SOURCE_ID", "ds-due".to_owned()),
        ("TOKEN_LIFETIME_MINUTES", "600".to_owned()),
        ("WEBEX_API_BASE_URL", env.api_base()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let config = byods_extender::Config::from_lookup(move |k| map.get(k).cloned()).unwrap();
    let deps = byods_extender::Deps::with_webex_client(
        config,
        env.store(),
        Arc::new(env.alerts.clone()),
        env.clock.clone(),
        Arc::new(env.metrics.clone()),
        Arc::new(env.sleeper.clone()),
    )
    .unwrap();
    let summary = handle(scheduled_event(), &deps).await.unwrap();
    assert_eq!(summary.data_sources.len(), 1);
    assert!(
        env.calls("GET", "/dataSources").is_empty(),
        "configured ids: no listing"
    );
    assert_eq!(
        env.puts()[0].json_body().unwrap()["tokenLifetimeMinutes"],
        600
    );

    let summary = handle(scheduled_event(), &env.deps(&[])).await.unwrap();
    assert_eq!(
        summary.data_sources.len(),
        2,
        "no ids configured: every listed source"
    );
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn invalid_grant_posts_exactly_one_slack_reauth_message_to_the_webhook_of_the_slack_secret() {
    use wiremock::matchers::{method, path};
    let slack = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .and(path("/services/T0/B0/secret-part"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&slack)
        .await;
    let env = Env::start(seed(), |_| legacy_secret()).await;
    env.fake.revoke_refresh_tokens("C-integration");
    let slack_secret = unique("byods-slack");
    let webhook = format!("{}/services/T0/B0/secret-part", slack.uri());
    env.sm
        .create_secret()
        .name(&slack_secret)
        .secret_string(json!({"webhookUrl": webhook}).to_string())
        .send()
        .await
        .unwrap();
    let store = env.store();
    let alerter = byods_extender::SlackAlerter::new(
        Arc::new(slack_notify::WebhookClient::new(reqwest::Client::new())),
        store.clone(),
        &slack_secret,
    );
    let deps = byods_extender::Deps::with_webex_client(
        env.config(&[("BYODS_SLACK_SECRET_ID", slack_secret.as_str())]),
        store,
        Arc::new(alerter),
        env.clock.clone(),
        Arc::new(env.metrics.clone()),
        Arc::new(env.sleeper.clone()),
    )
    .unwrap();

    let err = handle(scheduled_event(), &deps).await.unwrap_err();

    assert_eq!(err.class, FailureClass::ReauthRequired);
    let posts = slack.received_requests().await.unwrap();
    assert_eq!(posts.len(), 1, "exactly one re-auth message");
    let text = String::from_utf8_lossy(&posts[0].body).into_owned();
    assert!(text.contains("OAuth refresh token expired") && text.contains("byods setup-oauth"));
    for s in SEED_SECRETS {
        assert!(!text.contains(s));
    }
    assert!(
        env.logs.assert_absent(&["secret-part"]).is_ok(),
        "the webhook URL is never logged"
    );
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn sources_not_started_before_the_deadline_fail_with_deadline_exceeded() {
    let env = Env::start(
        seed_with_service_app_tokens(3000),
        with_service_app_tokens(Duration::minutes(50)),
    )
    .await;
    let deadline = env.now() + Duration::seconds(5); // minus the 10 s reserve: already passed
    let err =
        byods_extender::handle_with_deadline(scheduled_event(), &env.deps(&[]), Some(deadline))
            .await
            .unwrap_err();
    assert_eq!(err.class, FailureClass::DeadlineExceeded);
    assert!(env.puts().is_empty());
    env.assert_no_leaks().await;
}

#[test]
fn deps_can_be_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<byods_extender::Deps>();
}

#[tokio::test]
async fn a_transient_keep_alive_failure_with_a_still_valid_token_does_not_stop_the_sweep() {
    let env = Env::start(seed(), |now| {
        let mut s = canonical_secret(now);
        s["tokenManager"]["accessTokenExpiresAt"] = json!(rfc(now + Duration::days(3)));
        s["tokenManager"]["refreshedAt"] = json!(rfc(now - Duration::days(11)));
        s
    })
    .await;
    env.fault("POST", "/access_token", Some(3), json!({"status": 503}));
    let summary = handle(scheduled_event(), &env.deps(&[])).await.unwrap();
    assert_eq!(outcome_of(&summary, "ds-due"), Outcome::Extended);
    assert_eq!(
        env.calls("POST", "/access_token").len(),
        3,
        "the keep-alive was tried with retries"
    );
    env.assert_no_leaks().await;
}
