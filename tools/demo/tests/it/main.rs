//! End to end: the demo's flows on ephemeral ports, asserting the final state of the fakes and of moto.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod binaries;
mod sweep;

use demo::flows::handoff::HANDOFF_TEAM_ID;
use demo::flows::pagerduty::FRANK_SPOKE;
use demo::services::secret_names;
use demo::{StackOptions, flows};
use devstack::seed::{REQUEST_TYPE_ID, has_tag};

#[tokio::test]
async fn the_demo_flows_all_pass_on_ephemeral_ports_and_leave_their_evidence() {
    let stack = demo::start(StackOptions::ephemeral())
        .await
        .expect("the stack starts (run `cargo xtask setup` when moto is missing)");

    let rows = flows::replay(&stack).await;

    let failed: Vec<_> = rows.iter().filter(|r| !r.ok).collect();
    assert!(failed.is_empty(), "failed steps: {failed:#?}");
    for flow in [
        "platform",
        "handoff",
        "pagerduty",
        "cls",
        "cls-lifecycle",
        "byods",
    ] {
        assert!(rows.iter().any(|r| r.flow == flow), "the {flow} flow ran");
    }

    // Handoff, then PagerDuty: the Facilities team is delegated to the person PagerDuty put on call last.
    let team = stack.fakes.spoke.team(HANDOFF_TEAM_ID).unwrap();
    assert_eq!(team["settings"]["delegation"]["strategy"], "SPECIFIC_USER");
    assert_eq!(team["settings"]["delegation"]["specificUser"], FRANK_SPOKE);

    // CLS: exactly one collaborator ticket, left with `access removed` after the removal.
    let tickets: Vec<serde_json::Value> = stack.fakes.spoke.state_json()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["requestType"] == REQUEST_TYPE_ID)
        .cloned()
        .collect();
    assert_eq!(
        tickets.len(),
        2,
        "one ticket for mona, one for octocat (lifecycle), none for the org member"
    );
    for ticket in &tickets {
        assert!(has_tag(ticket, "access_removed"), "{ticket}");
        assert!(!has_tag(ticket, "access_granted"), "{ticket}");
    }
    // The lifecycle: octocat's access expired after one extension and was removed on GitHub.
    let octocat = tickets
        .iter()
        .find(|t| {
            t["subject"]
                .as_str()
                .unwrap_or_default()
                .starts_with("octocat ")
        })
        .expect("octocat's ticket");
    assert_eq!(octocat["status"], "RESOLVED");
    assert!(has_tag(octocat, "expired"));
    assert!(
        !stack
            .fakes
            .github
            .is_outside_collaborator("acme", "octocat")
    );
    assert_eq!(
        devstack::aws::queue_depth(&stack.sqs, &stack.queues.dlq_url)
            .await
            .unwrap(),
        0,
        "nothing was dead-lettered"
    );

    // BYODS: the near-expiry data source was extended once, the other never.
    assert_eq!(
        stack
            .fakes
            .webex
            .data_source_updates("demo-ds-near-expiry")
            .unwrap()
            .0,
        1
    );
    assert_eq!(
        stack
            .fakes
            .webex
            .data_source_updates("demo-ds-not-due")
            .unwrap()
            .0,
        0
    );
    let (secret, _) = devstack::aws::get_secret(&stack.secrets, secret_names::BYODS)
        .await
        .unwrap();
    assert_eq!(
        secret["tokenManager"]["refreshToken"], "demo-int-refresh-revoked",
        "the last write wins"
    );

    // The run's dev-only credentials: random, in endpoints.json and in the secrets the services read.
    let dev = &stack.dev_secrets;
    assert_eq!(stack.endpoints["spoke_api_key"], dev.spoke_api_key);
    assert_eq!(
        stack.endpoints["github_webhook_secret"],
        dev.github_webhook_secret
    );
    assert_eq!(
        stack.endpoints["slack_signing_secret"],
        dev.slack_signing_secret
    );
    assert!(dev.spoke_api_key.starts_with("dev-"));
    let (oncall, _) = devstack::aws::get_secret(&stack.secrets, secret_names::ONCALL)
        .await
        .unwrap();
    assert_eq!(oncall["spokeApiKey"], dev.spoke_api_key.as_str());
    let (cls_spoke, _) = devstack::aws::get_secret(&stack.secrets, "cls/spoke")
        .await
        .unwrap();
    assert_eq!(cls_spoke["api_key"], dev.spoke_api_key.as_str());
    let (cls_github, _) = devstack::aws::get_secret(&stack.secrets, "cls/github")
        .await
        .unwrap();
    // Least privilege: the App key's secret holds no webhook secret, the bot token's secret no signing
    // secret or alert URL (those live in cls/webhook and cls/alerts).
    assert!(cls_github["orgs"][0].get("webhook_secrets").is_none());
    assert!(cls_github["orgs"][0]["private_key_pem"].is_string());
    let (cls_slack, _) = devstack::aws::get_secret(&stack.secrets, "cls/slack")
        .await
        .unwrap();
    assert!(cls_slack.get("signing_secrets").is_none());
    assert!(cls_slack.get("alert_webhook_url").is_none());
    assert!(cls_slack["bot_token"].is_string());
    // The per-function layout cls-webhook reads (issue 10).
    let (cls_webhook, _) = devstack::aws::get_secret(&stack.secrets, "cls/webhook")
        .await
        .unwrap();
    assert_eq!(
        cls_webhook["orgs"][0]["webhook_secrets"][0],
        dev.github_webhook_secret.as_str()
    );
    assert_eq!(
        cls_webhook["slack_signing_secrets"][0],
        dev.slack_signing_secret.as_str()
    );
    let (cls_alerts, _) = devstack::aws::get_secret(&stack.secrets, "cls/alerts")
        .await
        .unwrap();
    assert!(
        cls_alerts["alert_webhook_url"]
            .as_str()
            .unwrap()
            .contains("/services/")
    );
    // Slack: the platform post, the handoff alerts and the re-auth alert.
    assert!(stack.fakes.slack.messages("alerts_it").len() >= 3);

    let state: serde_json::Value = lambda_kit::http::default_client()
        .get(format!("{}/state", stack.endpoints["admin"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for fake in ["spoke", "slack", "github", "webex", "pagerduty"] {
        assert!(
            state.get(fake).is_some(),
            "{fake} is in the aggregate state"
        );
    }
    stack.shutdown().await;
}
