//! Issue 11: a delivery is accepted only when the secret that verified it belongs to the App of the org the
//! payload names; orgs match by `organization.id`, the login only as a fallback that alerts as a rename.

use serde_json::json;

use crate::support::*;

fn payload_for(org_id: u64, login: &str) -> Vec<u8> {
    let mut payload = member_payload();
    payload["organization"] = json!({"id": org_id, "login": login});
    serde_json::to_vec(&payload).unwrap()
}

#[tokio::test]
async fn one_apps_secret_cannot_sign_a_delivery_for_another_apps_org() {
    let stack = spawn().await;
    // acme's payload signed with the vector App's (valid, configured) secret.
    let forged = payload_for(38302899, "acme");
    let response = stack
        .deliver(&forged, VECTOR_SECRET, "member", "cross-1")
        .await;
    assert_eq!(status(&response), 401);
    assert_eq!(body_json(&response)["reason"], "bad_signature");
    assert_eq!(stack.depth().await, 0);
    assert_eq!(
        stack.metric_with("WebhookRejected", &[("reason", "wrong_app_secret")]),
        1.0
    );
    let alerts = stack.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("WrongAppSecret") && alerts[0].contains("cross-1"));
    // The same App signing for its own org is accepted.
    let own = payload_for(1, "vector");
    let response = stack.deliver(&own, VECTOR_SECRET, "member", "own-1").await;
    assert_eq!(status(&response), 202);
    let messages = stack.receive_all().await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].0, "gh-1-39652351");
}

#[tokio::test]
async fn an_org_renamed_on_github_is_matched_by_id_queued_and_alerted_once() {
    let stack = spawn().await;
    let renamed = payload_for(38302899, "acme-renamed");
    let response = stack.deliver(&renamed, SECRET, "member", "rename-1").await;
    assert_eq!(status(&response), 202);
    let messages = stack.receive_all().await;
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].2["org"],
        json!({"id": 38302899, "login": "acme-renamed"})
    );
    assert_eq!(
        stack.metric_with("OrgRenamed", &[("matched_by", "id")]),
        1.0
    );
    let alerts = stack.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("OrgRenamed") && alerts[0].contains("acme-renamed"));
}

#[tokio::test]
async fn a_login_match_with_another_id_is_a_fallback_that_alerts_and_stays_bound_to_the_app() {
    let stack = spawn().await;
    let other_id = payload_for(555, "acme");
    let response = stack.deliver(&other_id, SECRET, "member", "login-1").await;
    assert_eq!(status(&response), 202);
    assert_eq!(
        stack.metric_with("OrgRenamed", &[("matched_by", "login")]),
        1.0
    );
    assert_eq!(stack.alerts().len(), 1);
    // The fallback does not let another App's secret in.
    let response = stack
        .deliver(&other_id, VECTOR_SECRET, "member", "login-2")
        .await;
    assert_eq!(status(&response), 401);
    assert_eq!(stack.depth().await, 1);
}
