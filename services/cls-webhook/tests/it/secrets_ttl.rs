//! Issue 11 "Also fix": secrets and org settings are re-read on the TTL (`CLS_SECRETS_TTL_SECONDS`), so a
//! rotated secret or a new org needs no redeploy; and issue 10's migration: the old layout still works.

use serde_json::json;

use crate::support::*;

const TTL: &str = "60";

fn member_for(org_id: u64, login: &str) -> Vec<u8> {
    let mut payload = member_payload();
    payload["organization"] = json!({"id": org_id, "login": login});
    serde_json::to_vec(&payload).unwrap()
}

#[tokio::test]
async fn a_rotated_webhook_secret_is_used_once_the_ttl_has_passed() {
    let stack = spawn_with(&[("CLS_SECRETS_TTL_SECONDS", TTL)]).await;
    let body = serde_json::to_vec(&member_payload()).unwrap();
    assert_eq!(
        status(&stack.deliver(&body, SECRET, "member", "ttl-1").await),
        202
    );
    let mut orgs = webhook_orgs();
    orgs[0]["webhook_secrets"] = json!(["rotated-secret-2"]);
    stack
        .put_secret(
            &stack.ids.webhook,
            &json!({"orgs": orgs, "slack_signing_secrets": [SLACK_SECRET]}),
        )
        .await;
    // Within the TTL the cached secret still decides.
    assert_eq!(
        status(
            &stack
                .deliver(&body, "rotated-secret-2", "member", "ttl-2")
                .await
        ),
        401
    );
    stack.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(
        status(
            &stack
                .deliver(&body, "rotated-secret-2", "member", "ttl-3")
                .await
        ),
        202
    );
    assert_eq!(
        status(&stack.deliver(&body, SECRET, "member", "ttl-4").await),
        401,
        "the retired secret no longer verifies"
    );
    let deliveries: Vec<String> = stack.receive_all().await.into_iter().map(|m| m.1).collect();
    assert_eq!(deliveries.len(), 2);
    assert!(deliveries.contains(&"ttl-1".to_owned()) && deliveries.contains(&"ttl-3".to_owned()));
}

#[tokio::test]
async fn a_new_org_and_a_rotated_signing_secret_are_picked_up_after_the_ttl() {
    let stack = spawn_with(&[("CLS_SECRETS_TTL_SECONDS", TTL)]).await;
    let newco = member_for(4242, "newco");
    let reply = stack
        .deliver(&newco, "newco-secret", "member", "new-1")
        .await;
    assert_eq!(
        status(&reply),
        401,
        "not configured yet: no secret verifies"
    );
    let mut orgs = webhook_orgs();
    orgs.as_array_mut().unwrap().push(
        json!({"org": "newco", "org_id": 4242, "app_id": 9, "webhook_secrets": ["newco-secret"]}),
    );
    stack
        .put_secret(
            &stack.ids.webhook,
            &json!({"orgs": orgs, "slack_signing_secrets": ["rotated-signing"]}),
        )
        .await;
    stack.clock.advance(chrono::Duration::seconds(61));
    let reply = stack
        .deliver(&newco, "newco-secret", "member", "new-2")
        .await;
    assert_eq!(status(&reply), 202);
    let form = slack_form(&slack_payload());
    assert_eq!(
        status(
            &stack
                .call(slack_signed(&form, SLACK_SECRET, stack.now()))
                .await
        ),
        401,
        "the old signing secret was rotated out"
    );
    assert_eq!(
        status(
            &stack
                .call(slack_signed(&form, "rotated-signing", stack.now()))
                .await
        ),
        200
    );
    let groups: Vec<String> = stack.receive_all().await.into_iter().map(|m| m.0).collect();
    assert_eq!(groups.len(), 2);
    assert!(groups.contains(&"gh-4242-39652351".to_owned()));
}

#[tokio::test]
async fn the_old_layout_serves_github_and_slack_with_one_warning_naming_the_secret_ids() {
    let capture = lambda_kit::tracing_init::capture_logs();
    let stack = spawn_with_layout(Layout::Legacy, &[]).await;
    let body = serde_json::to_vec(&member_payload()).unwrap();
    assert_eq!(
        status(&stack.deliver(&body, SECRET, "member", "legacy-1").await),
        202
    );
    assert_eq!(
        status(&stack.deliver(&body, SECRET, "member", "legacy-2").await),
        202
    );
    let form = slack_form(&slack_payload());
    let reply = stack
        .call(slack_signed(&form, SLACK_SECRET, stack.now()))
        .await;
    assert_eq!(status(&reply), 200);
    assert_eq!(stack.depth().await, 3);
    let logs = capture.contents();
    let warnings: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("legacy_secret_layout") && l.contains(&stack.ids.webhook))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains(&stack.ids.github) && warnings[0].contains(&stack.ids.slack));
    capture
        .assert_absent(&[SECRET, SLACK_SECRET, "xoxb-test-only-legacy"])
        .unwrap();
}

#[tokio::test]
async fn alerts_go_to_the_old_slack_secret_url_while_cls_alerts_does_not_exist() {
    let stack = spawn_with_layout(
        Layout::Legacy,
        &[(
            "CLS_QUEUE_URL",
            "http://127.0.0.1:1/000000000000/missing.fifo",
        )],
    )
    .await;
    let response = stack.call(fixture("member-added")).await;
    assert_eq!(status(&response), 503);
    let alerts = stack.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("EnqueueFailed"));
}

#[tokio::test]
async fn an_unreadable_webhook_secret_answers_503_and_alerts() {
    let stack = spawn_with(&[
        ("CLS_WEBHOOK_SECRET_ID", "clsw-test/does-not-exist/webhook"),
        ("CLS_GITHUB_SECRET_ID", "clsw-test/does-not-exist/github"),
    ])
    .await;
    let response = stack.call(fixture("member-added")).await;
    assert_eq!(status(&response), 503);
    assert_eq!(body_json(&response)["reason"], "secrets_unavailable");
    let form = slack_form(&slack_payload());
    let reply = stack
        .call(slack_signed(&form, SLACK_SECRET, stack.now()))
        .await;
    assert_eq!(status(&reply), 503);
    let alerts = stack.alerts();
    assert_eq!(
        alerts.len(),
        1,
        "identical alerts are sent once: {alerts:?}"
    );
    assert!(alerts[0].contains("SecretUnavailable"));
}
