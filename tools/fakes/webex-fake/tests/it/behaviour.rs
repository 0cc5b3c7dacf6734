//! The behaviour of the README's "Behaviour" table and its switches.

use base64::Engine as _;
use fake_kit::FaultRule;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::Running;

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()).as_slice())
}

/// Runs `/authorize` and returns the redirect's query pairs.
async fn authorize(run: &Running, verifier: &str) -> Vec<(String, String)> {
    let resp = run
        .http
        .get(run.url("/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", "C-integration"),
            ("redirect_uri", "http://localhost:3000/callback"),
            ("scope", "spark:applications_token"),
            ("state", "s-123"),
            ("code_challenge", &challenge(verifier)),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    let location = url_of(resp.headers()["location"].to_str().unwrap());
    assert!(
        location
            .as_str()
            .starts_with("http://localhost:3000/callback?")
    );
    location.query_pairs().into_owned().collect()
}

fn url_of(s: &str) -> reqwest::Url {
    reqwest::Url::parse(s).unwrap()
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    &pairs.iter().find(|(k, _)| k == key).unwrap().1
}

fn exchange<'a>(code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("client_id", "C-integration"),
        ("client_secret", "integration-secret"),
        ("code", code),
        ("redirect_uri", "http://localhost:3000/callback"),
        ("code_verifier", verifier),
    ]
}

#[tokio::test]
async fn the_authorization_code_is_exchanged_only_with_the_matching_pkce_verifier() {
    let run = Running::minimal().await;
    let verifier = "v".repeat(64);
    let pairs = authorize(&run, &verifier).await;
    assert_eq!(get(&pairs, "state"), "s-123");
    let code = get(&pairs, "code").to_owned();

    let (status, body) = run.token(&exchange(&code, "wrong-verifier")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let pairs = authorize(&run, &verifier).await;
    let code = get(&pairs, "code").to_owned();
    let (status, body) = run.token(&exchange(&code, &verifier)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].is_string() && body["expires_in"].is_number());
    let (status, _) = run.token(&exchange(&code, &verifier)).await;
    assert_eq!(status, 400, "a code is single-use");
}

#[tokio::test]
async fn the_authorize_modes_deny_or_return_a_wrong_state() {
    let run = Running::minimal().await;
    run.fake
        .update_settings(&json!({"authorizeMode": "access_denied"}))
        .unwrap();
    let pairs = authorize(&run, "x").await;
    assert_eq!(get(&pairs, "error"), "access_denied");
    run.fake
        .update_settings(&json!({"authorizeMode": "wrong_state"}))
        .unwrap();
    let pairs = authorize(&run, "x").await;
    assert_ne!(get(&pairs, "state"), "s-123");
}

fn refresh(token: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "refresh_token"),
        ("client_id", "C-integration"),
        ("client_secret", "integration-secret"),
        ("refresh_token", token),
    ]
}

#[tokio::test]
async fn rotation_issues_a_new_refresh_token_and_the_old_one_gets_invalid_grant() {
    let run = Running::minimal().await;
    let (status, body) = run.token(&refresh("int-refresh-1")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["refresh_token"], "int-refresh-1",
        "normally the same token comes back"
    );

    run.fake
        .update_settings(&json!({"rotation": true}))
        .unwrap();
    let (_, body) = run.token(&refresh("int-refresh-1")).await;
    let rotated = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, "int-refresh-1");
    let (status, body) = run.token(&refresh("int-refresh-1")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(run.token(&refresh(&rotated)).await.0, 200);

    run.fake
        .update_settings(&json!({"refreshErrorStatus": 401}))
        .unwrap();
    assert_eq!(run.token(&refresh("int-refresh-1")).await.0, 401);
}

#[tokio::test]
async fn a_wrong_client_secret_gets_invalid_client_and_omit_mode_drops_the_refresh_token() {
    let run = Running::minimal().await;
    let (status, body) = run
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "C-integration"),
            ("client_secret", "nope"),
            ("refresh_token", "int-refresh-1"),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client"))
    );
    run.fake
        .update_settings(&json!({"omitRefreshToken": true}))
        .unwrap();
    let (_, body) = run.token(&refresh("int-refresh-1")).await;
    assert!(body.get("refresh_token").is_none());
}

#[tokio::test]
async fn the_mint_checks_bearer_app_and_authorisation() {
    let run = Running::minimal().await;
    let app = webex_fake::derive_app_id("C-service-app");
    let body = json!({"clientId": "C-service-app", "clientSecret": "service-app-secret", "targetOrgId": "org-1"});
    let call = |path: String, bearer: &'static str| {
        let (http, body) = (run.http.clone(), body.clone());
        async move {
            http.post(path)
                .bearer_auth(bearer)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        call(run.url(&format!("/applications/{app}/token")), "bad-token").await,
        401
    );
    assert_eq!(
        call(run.url("/applications/unknown/token"), "int-access-1").await,
        404
    );
    assert_eq!(
        call(
            run.url(&format!("/applications/{app}/token")),
            "int-access-1"
        )
        .await,
        200
    );
}

#[tokio::test]
async fn a_put_with_a_new_nonce_issues_a_later_token_and_invalid_puts_are_rejected() {
    let run = Running::minimal().await;
    let token = run.service_app_token().await;
    let put = |body: Value| {
        let (http, url, token) = (
            run.http.clone(),
            run.url("/dataSources/ds-due"),
            token.clone(),
        );
        async move {
            let resp = http
                .put(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let before: Value = run
        .http
        .get(run.url("/dataSources/ds-due"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        put(json!({"nonce": "nonce-ds-due-0"})).await.0,
        400,
        "reused nonce"
    );
    assert_eq!(
        put(json!({"nonce": "fresh", "tokenLifetimeMinutes": 1441}))
            .await
            .0,
        400
    );
    assert_eq!(
        put(json!({"status": "disabled"})).await.0,
        400,
        "disabling needs errorMessage"
    );
    let (status, after) =
        put(json!({"nonce": "fresh-1", "tokenLifetimeMinutes": 1440, "status": "active"})).await;
    assert_eq!(status, 200);
    assert!(
        after["tokenExpiryTime"].as_str().unwrap() > before["tokenExpiryTime"].as_str().unwrap()
    );
    assert_ne!(after["jwsToken"], before["jwsToken"]);
    let payload = after["jwsToken"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    for claim in [
        "aud",
        "sub",
        "iss",
        "iat",
        "exp",
        "jti",
        "com.cisco.datasource.url",
        "com.cisco.datasource.schema.uuid",
        "com.cisco.org.uuid",
    ] {
        assert!(claims.get(claim).is_some(), "{claim}");
    }
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        1440 * 60
    );
    let unauthenticated = run
        .http
        .get(run.url("/dataSources"))
        .bearer_auth("int-access-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        unauthenticated.status().as_u16(),
        401,
        "an integration token is not a service-app token"
    );
}

#[tokio::test]
async fn every_response_carries_a_tracking_id_even_an_injected_fault() {
    let run = Running::minimal().await;
    run.fake.kit().add_fault(FaultRule::new(
        Some("GET"),
        "/dataSources/ds-due",
        Some(1),
        json!({"status": 429, "retryAfter": 3}),
    ));
    let token = run.service_app_token().await;
    let faulted = run
        .http
        .get(run.url("/dataSources/ds-due"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(faulted.status().as_u16(), 429);
    assert_eq!(faulted.headers()["retry-after"], "3");
    assert!(faulted.headers().contains_key("trackingid"));
    let ok = run
        .http
        .get(run.url("/dataSources/ds-due"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(ok.headers().contains_key("trackingid"));
}

#[tokio::test]
async fn the_state_shows_fingerprints_instead_of_tokens() {
    let run = Running::minimal().await;
    let token = run.service_app_token().await;
    let state = run
        .http
        .get(format!("{}/__fake/state", run.server.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for secret in [
        "int-refresh-1",
        "int-access-1",
        "integration-secret",
        "service-app-secret",
        "nonce-ds-due-0",
        token.as_str(),
    ] {
        assert!(!state.contains(secret), "{secret} in state");
    }
    assert!(state.contains("\"fp\""));
}
