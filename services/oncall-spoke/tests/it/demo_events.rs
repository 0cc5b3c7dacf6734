//! The sample events of `events/` against the fakes' demo seeds, as `cargo xtask invoke` replays them.

use std::sync::Arc;

use lambda_kit::{FixedClock, MemorySink};
use oncall_spoke::adapters::{SlackWebhookPoster, SpokeClientConnector, StoreSecretSource};
use oncall_spoke::{Config, Deps, Invocation, handle};
use secrets::MemorySecretStore;
use serde_json::{Value, json};
use slack_fake::SlackFake;
use spoke_fake::SpokeFake;

use crate::support::{config_map, unique};

const FACILITIES: &str = "5cb65407f38ee4000743e946";
const FRANK: &str = "5f0c3a9e2b7d4c0012ab3406";

fn sample(name: &str) -> Value {
    let text = match name {
        "noop" => include_str!("../../events/handoff-noop.json"),
        "updates" => include_str!("../../events/handoff-updates.json"),
        "alerts" => include_str!("../../events/handoff-alerts.json"),
        _ => include_str!("../../events/spec-sample.json"),
    };
    serde_json::from_str(text).unwrap()
}

#[test]
fn the_spec_sample_event_is_the_baseline_fixture() {
    let fixture: Value = serde_json::from_str(include_str!("../fixtures/baseline.json")).unwrap();
    assert_eq!(sample("spec"), fixture);
}

#[tokio::test]
async fn the_sample_events_make_no_change_one_change_and_one_alert_on_the_demo_seeds() {
    let spoke = SpokeFake::demo().unwrap();
    let spoke_server = spoke.spawn().await.unwrap();
    let slack = SlackFake::demo().spawn().await.unwrap();
    let base = slack.base_url();
    let secret = json!({
        "spokeApiKey": "demo-spoke-key",
        "slack": {
            "defaultWebhookUrl": format!("{base}{}", slack.fake.default_webhook_path().unwrap()),
            "channelWebhooks": {
                "#alerts_it": slack.webhook_url("#alerts_it").unwrap(),
                "#it-team": slack.webhook_url("#it-team").unwrap()
            }
        }
    });
    let secret_id = unique("oncall-spoke");
    let store = MemorySecretStore::with(&secret_id, secret);
    let map = config_map(
        &spoke_fake::api_base_url(&spoke_server),
        &secret_id,
        &[("ONCALL_MAX_EVENT_AGE_SECS".to_owned(), "0".to_owned())],
    );
    let config = Config::from_lookup(move |k| map.get(k).cloned()).unwrap();
    let clock = Arc::new(FixedClock::at("2026-11-28T09:00:00Z").unwrap());
    let http = lambda_kit::http::http_client("oncall-spoke-test/0.0.0").unwrap();
    let deps = Deps::new(
        config.clone(),
        Arc::new(SpokeClientConnector::new(
            http.clone(),
            config.spoke_base_url.as_str(),
            clock.clone(),
        )),
        Arc::new(SlackWebhookPoster::new(http, clock.clone())),
        Arc::new(StoreSecretSource::new(Arc::new(store), &secret_id)),
        clock,
        Arc::new(MemorySink::default()),
    );
    let run = |name: &'static str| {
        let deps = &deps;
        async move { handle(sample(name), &Invocation::new(unique("req")), deps).await }
    };

    let noop = run("noop").await.unwrap();
    assert_eq!((noop.result, noop.reason), ("noop", "already_assigned"));
    let updated = run("updates").await.unwrap();
    assert_eq!(updated.result, "updated");
    assert_eq!(
        spoke.team(FACILITIES).unwrap()["settings"]["delegation"]["specificUser"],
        FRANK
    );
    assert_eq!(run("updates").await.unwrap().result, "noop");
    assert_eq!(spoke.kit().calls("PATCH", "/teams/*").len(), 1);

    let alerted = run("alerts").await.unwrap();
    assert_eq!(
        (alerted.result, alerted.reason),
        ("permanent_error", "not_team_member")
    );
    assert_eq!(slack.fake.messages("alerts_it").len(), 1);
    assert_eq!(slack.fake.messages("it-team").len(), 1);
}
