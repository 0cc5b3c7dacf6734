//! BYO-5 … BYO-9: the integration's refresh token (saved before the listing, rotated or kept) and what each
//! refusal from Webex means (`invalid_grant` → re-auth, `invalid_client` → configuration, 403/401 from the
//! mint → the service app or its scope), against the fake Webex over HTTP and moto.

use byods_extender::FailureClass;
use chrono::Duration;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn byo5_a_refreshed_integration_token_is_saved_even_if_the_listing_then_fails() {
    let env = Env::start(seed(), |_| legacy_secret()).await;
    env.fault("GET", "/dataSources", None, json!({"status": 500}));
    let err = env.run(scheduled_event(), &[]).await.unwrap_err();
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
    env.run(scheduled_event(), &[]).await.unwrap();
    let rotated = env.secret().await["tokenManager"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, "int-refresh-1");
    assert!(env.fake.accepts_refresh_token(&rotated));
    assert!(!env.fake.accepts_refresh_token("int-refresh-1"));

    env.advance(Duration::days(8));
    env.run(scheduled_event(), &[]).await.unwrap();
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
    env.run(scheduled_event(), &[]).await.unwrap();
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

        let (result, alerts) = env.run_with_slack(scheduled_event()).await;
        let err = result.unwrap_err();

        assert_eq!(err.class, FailureClass::ReauthRequired);
        let d: lambda_runtime::Diagnostic = err.clone().into();
        assert_eq!(d.error_type, "ReauthRequired");
        assert_eq!(alerts.len(), 1, "exactly one Slack alert");
        assert!(
            alerts[0].contains("OAuth refresh token expired")
                && alerts[0].contains("byods setup-oauth")
        );
        for s in SEED_SECRETS {
            assert!(!alerts[0].contains(s));
        }
        assert!(
            env.logs.assert_absent(&["secret-part"]).is_ok(),
            "the webhook URL is never logged"
        );
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
    let (result, alerts) = env.run_with_slack(scheduled_event()).await;
    let err = result.unwrap_err();
    assert_eq!(err.class, FailureClass::ConfigInvalid);
    assert!(env.metrics.total("OAuthRefreshFailures").abs() < f64::EPSILON);
    assert_eq!(alerts.len(), 1);
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
    let err = env.run(scheduled_event(), &[]).await.unwrap_err();
    assert_eq!(err.class, FailureClass::ServiceAppNotAuthorized);
    assert!(env.puts().is_empty());
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn byo9_a_401_from_the_mint_after_a_fresh_refresh_means_the_scope_is_missing() {
    let mut s = seed();
    s["integrations"][0]["scopes"] = json!(["spark:people_read"]);
    let env = Env::start(s, canonical_secret).await;
    let err = env.run(scheduled_event(), &[]).await.unwrap_err();
    assert_eq!(err.class, FailureClass::IntegrationScopeMissing);
    assert_eq!(
        env.calls("POST", "/applications/*/token").len(),
        2,
        "minted, refreshed, minted once more"
    );
    assert_eq!(env.calls("POST", "/access_token").len(), 1);
    env.assert_no_leaks().await;
}
