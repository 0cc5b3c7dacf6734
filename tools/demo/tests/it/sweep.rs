//! `cls-sweep` in the local stack: invoked by name through devstack's invoke endpoint (what `cargo xtask
//! invoke cls-sweep '{"today":…}'` does), its review goes through the stack's queue mapping to `cls-queue`,
//! which removes the expired collaborator.

use std::time::{Duration, Instant};

use demo::{Stack, StackOptions};
use devstack::seed::{REQUEST_TYPE_ID, answer_of, has_tag};
use github_fake::MemberSpec;
use serde_json::{Value, json};

fn collaborator_tickets(stack: &Stack, login: &str) -> Vec<Value> {
    stack.fakes.spoke.state_json()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["requestType"] == REQUEST_TYPE_ID && r.to_string().contains(login))
        .cloned()
        .collect()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_sweep_invoked_by_name_expires_a_collaborator_through_the_queue_mapping() {
    let stack = demo::start(StackOptions::ephemeral())
        .await
        .expect("the stack starts (run `cargo xtask setup` when moto is missing)");
    assert!(stack.registry.names().contains(&"cls-sweep".to_owned()));
    let github = &stack.fakes.github;

    // mona is added to acme/widgets: the webhook and the queue create her ticket.
    let payload = github
        .member_payload(&MemberSpec {
            action: "added".into(),
            org: "acme".into(),
            login: "mona".into(),
            repo: "widgets".into(),
            role_name: Some("write".into()),
            sender: Some("alice".into()),
            apply: Some(true),
        })
        .unwrap();
    let outcome = github
        .send_webhook(&stack.endpoints["cls_webhook"], "member", None, &payload)
        .await
        .unwrap();
    assert_eq!(outcome.status, 202);
    wait_until("mona's ticket", || {
        collaborator_tickets(&stack, "mona").len() == 1
    })
    .await;
    let ticket = collaborator_tickets(&stack, "mona").remove(0);
    let id = ticket["id"].as_str().unwrap().to_owned();
    let expiry = answer_of(&ticket, "expires_on").expect("an expiry");
    assert!(github.is_outside_collaborator("acme", "mona"));

    // The sweep as of the expiry date, through the invoke endpoint.
    let response = lambda_kit::http::default_client()
        .post(format!("{}/cls-sweep", stack.endpoints["invoke"]))
        .json(&json!({"today": expiry}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["enqueued"], 1, "{report}");
    assert_eq!(report["due"]["expire"], 1, "{report}");

    // The mapping feeds the review to cls-queue: GitHub removal, ticket closed as expired.
    wait_until("the removal", || {
        !github.is_outside_collaborator("acme", "mona")
    })
    .await;
    wait_until("the ticket to be closed", || {
        let t = stack.fakes.spoke.request(&id).unwrap();
        t["status"] == "RESOLVED" && has_tag(&t, "expired")
    })
    .await;
    stack.shutdown().await;
}
