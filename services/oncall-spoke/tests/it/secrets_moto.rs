//! The production wiring (`build_deps`) with the real `SecretsClient` against moto.

use std::sync::Arc;

use fake_kit::moto::Moto;
use lambda_kit::{Clock, FixedClock, MemorySink};
use oncall_spoke::{Config, Invocation, build_deps, handle};
use slack_fake::SlackFake;
use spoke_fake::SpokeFake;

use crate::support::{ALICE, API_KEY, IT, baseline, config_map, secret_for, unique};

#[tokio::test]
async fn the_production_wiring_reads_the_secret_from_secrets_manager_and_updates_the_team() {
    let moto = Moto::start().await.expect("moto (run: python3 -m venv .venv && .venv/bin/pip install -r tools/xtask/requirements/moto.txt)");
    let spoke = SpokeFake::new(crate::support::spoke_seed()).unwrap();
    let spoke_server = spoke.spawn().await.unwrap();
    let slack_seed =
        slack_fake::Seed::from_json(include_str!("../fixtures/slack-seed.json")).unwrap();
    let slack = SlackFake::new(slack_seed).spawn().await.unwrap();

    let sdk = secrets::local_sdk_client(&moto.endpoint());
    let secret_id = unique("oncall-spoke");
    sdk.create_secret()
        .name(&secret_id)
        .secret_string(secret_for(&slack, API_KEY).to_string())
        .send()
        .await
        .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::at("2025-08-04T20:40:11Z").unwrap());
    let store: Arc<dyn secrets::SecretStore> =
        Arc::new(secrets::SecretsClient::new(sdk, clock.clone()));
    let map = config_map(&spoke_fake::api_base_url(&spoke_server), &secret_id, &[]);
    let config = Config::from_lookup(move |k| map.get(k).cloned()).unwrap();
    let http = lambda_kit::http::http_client("oncall-spoke-test/0.0.0").unwrap();
    let deps = build_deps(
        config,
        http,
        Some(store),
        clock,
        Arc::new(MemorySink::default()),
    )
    .unwrap();

    let response = handle(baseline(), &Invocation::new("req-moto"), &deps)
        .await
        .unwrap();
    assert_eq!(response.result, "updated");
    assert_eq!(
        spoke.team(IT).unwrap()["settings"]["delegation"]["specificUser"],
        ALICE
    );

    let missing = {
        let map = config_map(
            &spoke_fake::api_base_url(&spoke_server),
            &unique("absent"),
            &[],
        );
        let config = Config::from_lookup(move |k| map.get(k).cloned()).unwrap();
        let http = lambda_kit::http::http_client("oncall-spoke-test/0.0.0").unwrap();
        let clock: Arc<dyn Clock> = Arc::new(FixedClock::at("2025-08-04T20:40:11Z").unwrap());
        let store: Arc<dyn secrets::SecretStore> = Arc::new(secrets::SecretsClient::new(
            secrets::local_sdk_client(&moto.endpoint()),
            clock.clone(),
        ));
        build_deps(
            config,
            http,
            Some(store),
            clock,
            Arc::new(MemorySink::default()),
        )
        .unwrap()
    };
    let err = handle(baseline(), &Invocation::new("req-moto-2"), &missing)
        .await
        .unwrap_err();
    assert_eq!(err.response().reason, "secret_unavailable");
}
