//! Failures that were once reported as success: each run here must fail (or alarm), against the fake
//! Webex over HTTP and moto.

use std::collections::BTreeMap;

use byods_extender::session::Outcome;
use byods_extender::{FailureClass, handle};
use chrono::Duration;
use serde_json::{Value, json};

use crate::support::*;

/// The EMF lines written from line `from` on: the sweep's main line and each source's minutes left.
fn metrics_since(env: &Env, from: usize) -> (Value, BTreeMap<String, f64>) {
    let lines: Vec<Value> = env.metrics.lines()[from..]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let main = lines
        .iter()
        .find(|l| l.get("DataSourceId").is_none())
        .cloned()
        .expect("the sweep's metric line");
    let per_source = lines
        .iter()
        .filter_map(|l| {
            let id = l.get("DataSourceId")?.as_str()?.to_owned();
            Some((id, l["DataSourceTokenMinutesLeft"].as_f64()?))
        })
        .collect();
    (main, per_source)
}

#[tokio::test]
async fn a_transient_keep_alive_failure_still_extends_the_sources_but_fails_the_run() {
    let env = Env::start(seed(), |now| {
        let mut s = canonical_secret(now);
        s["tokenManager"]["accessTokenExpiresAt"] = json!(rfc(now + Duration::days(3)));
        s["tokenManager"]["refreshedAt"] = json!(rfc(now - Duration::days(11)));
        s
    })
    .await;
    env.fault("POST", "/access_token", Some(3), json!({"status": 503}));

    let err = env.run(scheduled_event(), &[]).await.unwrap_err();

    assert_eq!(err.class, FailureClass::Upstream, "{}", err.message);
    let summary = err.summary.as_ref().unwrap();
    assert_eq!(
        outcome_of(summary, "ds-due"),
        Outcome::Extended,
        "the still valid token is used"
    );
    assert_eq!(
        env.calls("POST", "/access_token").len(),
        3,
        "the keep-alive was tried with retries"
    );
    let (main, _) = metrics_since(&env, 0);
    assert_eq!(main["SweepSuccess"], 0.0);
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn a_listed_data_source_without_an_id_fails_the_run() {
    let env = Env::start(seed(), canonical_secret).await;
    let listing = json!({"items": [{"id": "ds-due"}, {"status": "active", "url": "https://dap.example.com/x"}]});
    env.fault(
        "GET",
        "/dataSources",
        Some(1),
        json!({"status": 200, "body": listing}),
    );

    let err = env.run(scheduled_event(), &[]).await.unwrap_err();

    assert_eq!(
        err.class,
        FailureClass::DataSourceInvalid,
        "{}",
        err.message
    );
    assert!(err.message.contains("without an id"), "{}", err.message);
    let summary = err.summary.as_ref().unwrap();
    assert_eq!(
        outcome_of(summary, "ds-due"),
        Outcome::Extended,
        "the others carry on"
    );
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn a_404_from_the_listing_is_a_webex_rejection_not_a_missing_data_source() {
    let env = Env::start(seed(), canonical_secret).await;
    env.fault("GET", "/dataSources", Some(1), json!({"status": 404}));

    let err = env.run(scheduled_event(), &[]).await.unwrap_err();

    assert_eq!(err.class, FailureClass::WebexRejected, "{}", err.message);
    assert!(
        err.failures
            .iter()
            .all(|f| f.class != FailureClass::DataSourceNotFound)
    );
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn a_service_app_refresh_failing_with_503_fails_the_run_instead_of_minting() {
    let env = Env::start(
        seed_with_service_app_tokens(-60),
        with_service_app_tokens(Duration::minutes(-1)),
    )
    .await;
    env.fault("POST", "/access_token", None, json!({"status": 503}));

    let err = env.run(scheduled_event(), &[]).await.unwrap_err();

    assert_eq!(err.class, FailureClass::Upstream, "{}", err.message);
    assert!(
        env.calls("POST", "/applications/*/token").is_empty(),
        "only a refused refresh token (400/401) leads to a mint"
    );
    assert!(env.puts().is_empty());
    env.assert_no_leaks().await;
}

#[tokio::test]
async fn a_run_stopped_before_the_data_sources_still_emits_their_expiry_metrics() {
    let env = Env::start(seed(), canonical_secret).await;
    let deps = env.deps(&[]).await;
    handle(scheduled_event(), &invocation(), &deps)
        .await
        .unwrap();
    let (first, first_sources) = metrics_since(&env, 0);
    let first_min = first["MinDataSourceTokenMinutesLeft"].as_f64().unwrap();
    assert_eq!(first_sources.len(), 2);

    env.advance(Duration::minutes(30));
    env.fault("GET", "/dataSources", None, json!({"status": 500}));
    let from = env.metrics.lines().len();
    let err = handle(scheduled_event(), &invocation(), &deps)
        .await
        .unwrap_err();

    assert_eq!(err.class, FailureClass::Upstream);
    let (second, second_sources) = metrics_since(&env, from);
    let second_min = second["MinDataSourceTokenMinutesLeft"].as_f64().unwrap();
    assert!(
        (first_min - 30.0 - second_min).abs() <= 1.0,
        "the last known expiry, 30 minutes later: {first_min} then {second_min}"
    );
    assert_eq!(
        second_sources.keys().collect::<Vec<_>>(),
        first_sources.keys().collect::<Vec<_>>(),
        "every source's metric, from the last known expiry"
    );

    // A process that never read the data sources knows nothing: 0, which the alarm catches.
    let cold = env.deps(&[]).await;
    let from = env.metrics.lines().len();
    handle(scheduled_event(), &invocation(), &cold)
        .await
        .unwrap_err();
    let (cold_main, _) = metrics_since(&env, from);
    assert_eq!(cold_main["MinDataSourceTokenMinutesLeft"], 0.0);
    env.assert_no_leaks().await;
}
