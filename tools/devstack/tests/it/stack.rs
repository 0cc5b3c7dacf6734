//! The local stack without handlers (`Stack::start(options, &())`): the seeded fakes, moto, the queue and
//! `endpoints.json`.

use devstack::{DevSecrets, Stack, StackOptions};

#[tokio::test]
async fn a_bare_stack_seeds_the_pinned_credentials_and_writes_a_flat_endpoints_file() {
    let pinned = DevSecrets {
        github_webhook_secret: format!("pinned-github-{}", uuid::Uuid::new_v4()),
        slack_signing_secret: format!("pinned-slack-{}", uuid::Uuid::new_v4()),
        spoke_api_key: format!("pinned-spoke-{}", uuid::Uuid::new_v4()),
        pagerduty_api_key: format!("pinned-pagerduty-{}", uuid::Uuid::new_v4()),
    };
    let stack = Stack::start(
        StackOptions::ephemeral().with_dev_secrets(pinned.clone()),
        &(),
    )
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("devstack-endpoints-{}", uuid::Uuid::new_v4()));
    let path = dir.join("endpoints.json");

    stack.write_endpoints(&path).unwrap();

    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let object = written.as_object().unwrap();
    assert!(
        object.values().all(serde_json::Value::is_string),
        "flat: every value is a string"
    );
    for key in [
        "devstack",
        "admin",
        "moto",
        "spoke",
        "spoke_control",
        "slack",
        "slack_control",
        "invoke",
        "github",
        "github_control",
        "webex",
        "webex_control",
        "pagerduty",
        "pagerduty_control",
        "queue_url",
        "dlq_url",
        "handoff_bus",
        "handoff_queue_url",
        "api",
    ] {
        assert!(object.contains_key(key), "{key} is present");
    }
    assert_eq!(written["spoke_api_key"], pinned.spoke_api_key.as_str());
    assert_eq!(
        written["github_webhook_secret"],
        pinned.github_webhook_secret.as_str()
    );
    assert_eq!(
        written["slack_signing_secret"],
        pinned.slack_signing_secret.as_str()
    );
    assert_eq!(
        stack.fakes.github.webhook_secret(),
        pinned.github_webhook_secret
    );
    assert_eq!(
        stack.fakes.slack.signing_secret(),
        pinned.slack_signing_secret
    );
    assert!(
        written["spoke"]
            .as_str()
            .unwrap()
            .ends_with("/spoke/api/v1")
    );
    assert_eq!(
        written["admin"],
        format!("{}/__devstack", written["devstack"].as_str().unwrap())
    );
    // The fixture's fixed key no longer opens spoke-fake.
    let teams = format!("{}/teams", stack.endpoints["spoke"]);
    let http = lambda_kit::http::default_client();
    let fixed = http
        .get(&teams)
        .header("Api-Key", "demo-spoke-key")
        .send()
        .await
        .unwrap();
    assert_eq!(fixed.status(), 403, "the fixture key is refused");
    let refusal: serde_json::Value = fixed.json().await.unwrap();
    assert_eq!(refusal["code"], 11038, "as an invalid key: {refusal}");
    let fresh = http
        .get(&teams)
        .header("Api-Key", &pinned.spoke_api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200, "the run's key is accepted");
    assert_eq!(
        written["pagerduty_api_key"],
        pinned.pagerduty_api_key.as_str()
    );
    let oncalls = format!("{}/oncalls", stack.endpoints["pagerduty"]);
    for (key, status) in [
        ("demo-pd-key", 401),
        (pinned.pagerduty_api_key.as_str(), 200),
    ] {
        let answer = http
            .get(&oncalls)
            .header("Authorization", format!("Token token={key}"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "pagerduty-fake with {key}");
    }

    // No handler is registered: no webhook route, no queue mapping.
    assert!(stack.registry.names().is_empty());
    assert!(!object.contains_key("cls_webhook"));
    assert!(stack.event_source.is_none());
    std::fs::remove_dir_all(dir).unwrap();
    stack.shutdown().await;
}
