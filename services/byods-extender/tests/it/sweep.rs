//! The sweep's BYO-1 … BYO-4, BYO-14 … BYO-22 and BYO-28 against the fake Webex over HTTP and moto, with the
//! real `secrets` crate. BYO-5 … BYO-9 are in `refresh`, BYO-10 … BYO-13 in `tokens`, the CLI's in `cli`.

use std::sync::atomic::Ordering;
use std::time::Duration as StdDuration;

use byods_extender::session::Outcome;
use byods_extender::{FailureClass, handle};
use chrono::Duration;
use lambda_kit::Invocation;
use serde_json::{Value, json};

use crate::support::*;
#[tokio::test]
async fn byo1_a_due_source_gets_one_put_with_the_fields_of_the_get_and_a_fresh_nonce() {
    let env = Env::start(seed(), canonical_secret).await;
    let deps = env.deps(&[("BYODS_TOKEN_LIFETIME_MINUTES", "720")]).await;

    let summary = handle(scheduled_event(), &invocation(), &deps)
        .await
        .unwrap();

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
    let summary = env
        .run(json!({"byods": {"dataSourceIds": ["ds-later"]}}), &[])
        .await
        .unwrap();
    assert_eq!(outcome_of(&summary, "ds-later"), Outcome::SkippedNotDue);
    assert!(env.puts().is_empty());

    let summary = env
        .run(scheduled_event(), &[("BYODS_EXTEND_MODE", "always")])
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
    env.run(scheduled_event(), &[]).await.unwrap();
    let version = env.secret_version().await;
    let puts = env.puts().len();

    let summary = env.run(scheduled_event(), &[]).await.unwrap();

    assert_eq!(env.puts().len(), puts, "no new PUT");
    assert_eq!(summary.counts.extended, 0);
    assert_eq!(summary.service_app_token_source.as_deref(), Some("cache"));
    assert_eq!(env.secret_version().await, version, "no secret write");
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo3_two_concurrent_sweeps_both_succeed_and_leave_a_usable_secret() {
    let env = Env::start(seed(), |_| legacy_secret()).await;
    let (a, b) = (env.deps(&[]).await, env.deps(&[]).await);
    let invocation = invocation();
    let (ra, rb) = tokio::join!(
        handle(scheduled_event(), &invocation, &a),
        handle(scheduled_event(), &invocation, &b)
    );
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
    env.run(scheduled_event(), &[]).await.unwrap();
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

    let err = env
        .run(scheduled_event(), &[("BYODS_EXTEND_MODE", "always")])
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
    let summary = env
        .run(json!({"byods": {"dataSourceIds": ["ds-off"]}}), &[])
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
    let summary = env.run(scheduled_event(), &[]).await.unwrap();
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
async fn byo16_a_put_answer_without_token_or_expiry_is_verified_by_reading_the_new_tokens_exp() {
    let env = Env::start(seed(), canonical_secret).await;
    env.fake
        .update_settings(&json!({"putAnswerWithoutToken": true, "omitTokenExpiryTime": true}))
        .unwrap();
    let summary = env
        .run(json!({"byods": {"dataSourceIds": ["ds-due"]}}), &[])
        .await
        .unwrap();
    let r = &summary.data_sources[0];
    assert_eq!(r.outcome, Outcome::Extended);
    assert!(r.warning.is_none(), "verified: {:?}", r.warning);
    let (_, fake_expiry) = env.fake.data_source_updates("ds-due").unwrap();
    assert_eq!(
        r.new_expires_at.map(rfc),
        Some(rfc(ts(&json!(fake_expiry)))),
        "the exp of the token the second read shows"
    );
    assert_eq!(
        env.calls("GET", "/dataSources/ds-due").len(),
        2,
        "read, PUT, read again"
    );
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo28_every_page_of_the_listing_is_followed() {
    let mut s = seed_with(
        "dataSources",
        json!({"id": "ds-third", "url": "https://dap.example.com/third", "nonce": "n3", "tokenExpiresInMinutes": 30, "orgId": "org-1"}),
    );
    s["settings"]["listPageSize"] = json!(1);
    let env = Env::start(s, canonical_secret).await;
    let summary = env.run(scheduled_event(), &[]).await.unwrap();
    let mut ids: Vec<&str> = summary.data_sources.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["ds-due", "ds-later", "ds-third"]);
    assert_eq!(
        env.calls("GET", "/dataSources").len(),
        3,
        "one page per source"
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
    let err = env
        .run(json!({"byods": {"dataSourceIds": ["ds-bare"]}}), &[])
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
    let summary = env
        .run(json!({"byods": {"dryRun": true}}), &[])
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
    let store = InterferingStore::new(&env);
    store.fail_writes.store(true, Ordering::SeqCst);
    let deps = env.deps_with_store(store.clone(), &[]).await;

    let err = handle(scheduled_event(), &invocation(), &deps)
        .await
        .unwrap_err();

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

    store.fail_writes.store(false, Ordering::SeqCst);
    handle(scheduled_event(), &invocation(), &deps)
        .await
        .unwrap();

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
    let store = InterferingStore::new(&env);
    *store.edit_before_first_write.lock().unwrap() = Some(edited);
    let deps = env.deps_with_store(store, &[]).await;
    let _ = handle(scheduled_event(), &invocation(), &deps).await;
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
    env.run(scheduled_event(), &[]).await.unwrap();
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
    let deps = env.deps_for(config).await;
    let summary = handle(scheduled_event(), &invocation(), &deps)
        .await
        .unwrap();
    assert_eq!(summary.data_sources.len(), 1);
    assert!(
        env.calls("GET", "/dataSources").is_empty(),
        "configured ids: no listing"
    );
    assert_eq!(
        env.puts()[0].json_body().unwrap()["tokenLifetimeMinutes"],
        600
    );

    let summary = env.run(scheduled_event(), &[]).await.unwrap();
    assert_eq!(
        summary.data_sources.len(),
        2,
        "no ids configured: every listed source"
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
    // 5 s left, minus the 10 s reserve: already passed.
    let invocation = Invocation::with_remaining("test-request", StdDuration::from_secs(5));
    let err = handle(scheduled_event(), &invocation, &env.deps(&[]).await)
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
