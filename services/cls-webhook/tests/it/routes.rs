//! The `POST /github/webhook` decision table of the README (CLS-1, CLS-3 … CLS-7).

use std::time::Duration;

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_signed_member_added_is_queued_once_with_the_spec_group_dedup_id_and_envelope() {
    let stack = spawn().await;
    let response = stack.call(fixture("member-added")).await;
    assert_eq!(status(&response), 202);
    assert_eq!(
        body_json(&response),
        json!({"status": "queued", "delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"})
    );
    let messages = stack.receive_all().await;
    assert_eq!(messages.len(), 1);
    let (group, dedup, body) = &messages[0];
    assert_eq!(group, "gh-38302899-39652351");
    assert_eq!(dedup, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    assert_eq!(body["v"], 1);
    assert_eq!(body["kind"], "member_event");
    assert_eq!(body["org"], json!({"id": 38302899, "login": "acme"}));
    assert_eq!(
        body["collaborator"],
        json!({"id": 39652351, "login": "octocat"})
    );
    let m = &body["member_event"];
    assert_eq!(m["delivery_id"], "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    assert_eq!(m["action"], "added");
    assert_eq!(m["installation_id"], 14988838);
    assert_eq!(
        m["repository"],
        json!({"id": 186853002, "full_name": "acme/widgets", "private": true})
    );
    assert_eq!(
        m["sender"],
        json!({"id": 39652351, "login": "octocat", "type": "User"})
    );
    assert_eq!(
        (m["permission"].as_str(), m["role_name"].as_str()),
        (Some("write"), Some("maintain"))
    );
    assert!(
        body.to_string().len() < 1024,
        "only the trimmed envelope is queued"
    );
    assert_eq!(stack.metrics.total("Enqueued"), 1.0);
}

#[tokio::test]
async fn a_base64_encoded_body_verifies_the_same_way() {
    let stack = spawn().await;
    let response = stack.call(fixture("member-added-base64")).await;
    assert_eq!(status(&response), 202);
    assert_eq!(stack.depth().await, 1);
}

#[tokio::test]
async fn githubs_published_vector_verifies_and_a_tampered_copy_does_not() {
    let stack = spawn().await;
    let mut valid = signed(b"Hello, World!", VECTOR_SECRET, "member", "vector-1");
    assert_eq!(
        valid.headers["x-hub-signature-256"],
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );
    // Accepted by the signature check, then refused as not JSON: 400, not 401.
    assert_eq!(status(&stack.call(valid.clone()).await), 400);
    valid.body = Some("Hello, World?".into());
    assert_eq!(
        status(&stack.call(valid).await),
        401,
        "one changed byte of the body"
    );
    let mut bad_sig = signed(b"Hello, World!", VECTOR_SECRET, "member", "vector-2");
    bad_sig.headers.insert(
        "x-hub-signature-256",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18"
            .parse()
            .unwrap(),
    );
    assert_eq!(
        status(&stack.call(bad_sig).await),
        401,
        "one changed byte of the signature"
    );
    assert_eq!(stack.depth().await, 0);
}

#[tokio::test]
async fn missing_or_malformed_or_wrong_signatures_get_401_and_nothing_is_queued() {
    let stack = spawn().await;
    let mut missing = fixture("member-added");
    missing.headers.remove("x-hub-signature-256");
    assert_eq!(status(&stack.call(missing).await), 401);
    for bad in [
        "sha1=0123",
        "sha256=abc",
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    ] {
        let mut e = fixture("member-added");
        e.headers
            .insert("x-hub-signature-256", bad.parse().unwrap());
        assert_eq!(status(&stack.call(e).await), 401, "{bad}");
    }
    let body = serde_json::to_vec(&member_payload()).unwrap();
    assert_eq!(
        status(
            &stack
                .deliver(&body, "some-other-secret", "member", "wrong-1")
                .await
        ),
        401
    );
    assert_eq!(stack.depth().await, 0);
    assert!(stack.metrics.total("WebhookRejected") >= 5.0);
}

#[tokio::test]
async fn the_previous_secret_is_accepted_during_rotation() {
    let stack = spawn().await;
    let body = serde_json::to_vec(&member_payload()).unwrap();
    assert_eq!(
        status(&stack.deliver(&body, SECRET, "member", "rot-1").await),
        202
    );
    assert_eq!(
        status(
            &stack
                .deliver(&body, "a-new-secret-being-rolled-out", "member", "rot-2")
                .await
        ),
        202
    );
}

#[tokio::test]
async fn missing_event_or_delivery_headers_and_malformed_json_get_400() {
    let stack = spawn().await;
    for header in ["x-github-event", "x-github-delivery"] {
        let mut e = fixture("member-added");
        e.headers.remove(header);
        assert_eq!(status(&stack.call(e).await), 400, "{header}");
    }
    assert_eq!(
        status(
            &stack
                .deliver(b"{not json", SECRET, "member", "bad-json")
                .await
        ),
        400
    );
    let wrong_shape = br#"{"action": 5}"#;
    assert_eq!(
        status(
            &stack
                .deliver(wrong_shape, SECRET, "member", "bad-shape")
                .await
        ),
        400
    );
    assert_eq!(stack.depth().await, 0);
}

#[tokio::test]
async fn a_body_over_the_cap_gets_413_before_hashing() {
    let stack = spawn().await;
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(70_000));
    assert_eq!(
        status(
            &stack
                .call(signed(big.as_bytes(), SECRET, "member", "big-1"))
                .await
        ),
        413
    );
    // Unsigned: still 413, proving the cap applies before the signature check.
    let mut unsigned = signed(big.as_bytes(), SECRET, "member", "big-2");
    unsigned.headers.remove("x-hub-signature-256");
    assert_eq!(status(&stack.call(unsigned).await), 413);
    assert_eq!(stack.metrics.total("WebhookRejected"), 2.0);
    assert_eq!(stack.depth().await, 0);
}

#[tokio::test]
async fn ping_is_answered_200_and_never_queued() {
    let stack = spawn().await;
    let response = stack.call(fixture("ping")).await;
    assert_eq!(status(&response), 200);
    assert_eq!(
        body_json(&response),
        json!({"status": "ignored", "reason": "ping"})
    );
    assert_eq!(stack.depth().await, 0);
}

#[tokio::test]
async fn other_events_actions_user_repos_and_unknown_orgs_are_ignored_with_200() {
    let stack = spawn().await;
    let payload = member_payload();
    let other_event = serde_json::to_vec(
        &json!({"action": "member_added", "organization": {"id": 1, "login": "acme"}}),
    )
    .unwrap();
    assert_eq!(
        status(
            &stack
                .deliver(&other_event, SECRET, "organization", "i-1")
                .await
        ),
        200
    );
    let mut invited = payload.clone();
    invited["action"] = "invited".into();
    let mut user_repo = payload.clone();
    user_repo.as_object_mut().unwrap().remove("organization");
    let mut no_member_id = payload.clone();
    no_member_id["member"].as_object_mut().unwrap().remove("id");
    let mut unknown_org = payload.clone();
    unknown_org["organization"] = json!({"id": 99, "login": "someone-else"});
    for (i, p) in [invited, user_repo, no_member_id, unknown_org]
        .into_iter()
        .enumerate()
    {
        let body = serde_json::to_vec(&p).unwrap();
        let response = stack
            .call(signed(&body, SECRET, "member", &format!("i-{}", i + 2)))
            .await;
        assert_eq!(status(&response), 200, "case {i}");
        assert_eq!(body_json(&response)["status"], "ignored");
    }
    assert_eq!(stack.depth().await, 0);
    assert_eq!(stack.metrics.total("UnknownOrg"), 1.0);
}

#[tokio::test]
async fn the_same_delivery_twice_and_twenty_concurrent_copies_make_one_queue_message() {
    let stack = spawn().await;
    let copies = (0..20).map(|_| stack.call(fixture("member-added")));
    let responses = futures::future::join_all(copies).await;
    assert!(responses.iter().all(|r| status(r) == 202));
    assert_eq!(status(&stack.call(fixture("member-added")).await), 202);
    assert_eq!(
        stack.depth().await,
        1,
        "SQS deduplicates on the delivery id"
    );
}

#[tokio::test]
async fn a_queue_failure_answers_503_counts_it_and_alerts_once_with_the_delivery_id() {
    let stack = spawn_with(&[(
        "CLS_QUEUE_URL",
        "http://127.0.0.1:1/000000000000/missing.fifo",
    )])
    .await;
    let response = stack.call(fixture("member-added")).await;
    assert_eq!(status(&response), 503);
    assert_eq!(stack.metrics.total("EnqueueFailed"), 1.0);
    let line = stack
        .metrics
        .lines()
        .into_iter()
        .find(|l| l.contains("EnqueueFailed"))
        .unwrap();
    let emf: serde_json::Value = serde_json::from_str(&line).unwrap();
    let declared = &emf["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(declared["Namespace"], "CLS");
    assert_eq!(
        declared["Dimensions"],
        json!([["Stage"]]),
        "the alarm's dimension set"
    );
    assert_eq!(
        declared["Metrics"][0],
        json!({"Name": "EnqueueFailed", "Unit": "Count"})
    );
    assert_eq!(emf["Stage"], "testing");
    let alerts = stack.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0].contains("EnqueueFailed")
            && alerts[0].contains("72d3162e-cc78-11e3-81ab-4c9367dc0958")
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_and_slack_interactions_are_answered() {
    let stack = spawn().await;
    let mut e = fixture("member-added");
    e.raw_path = Some("/elsewhere".into());
    assert_eq!(status(&stack.call(e).await), 404);
    let mut e = fixture("member-added");
    e.request_context.http.method = lambda_http::http::Method::GET;
    assert_eq!(status(&stack.call(e).await), 405);
    // The Slack route is live: a GitHub delivery there has no Slack signature.
    let mut e = fixture("member-added");
    e.raw_path = Some("/slack/interactions".into());
    assert_eq!(status(&stack.call(e).await), 401);
}

#[tokio::test]
async fn github_fake_deliveries_through_the_api_gateway_emulator_are_queued() {
    let stack = spawn().await;
    let (url, _api) = stack.behind_api_gateway(cls_webhook::GITHUB_ROUTE).await;
    let github = github_fake::GithubFake::minimal().unwrap();
    let payload = member_payload();
    let outcome = github
        .send_webhook(&url, "member", Some("emulated-1"), &payload)
        .await
        .unwrap();
    assert_eq!(outcome.status, 202);
    let ping = github
        .send_webhook(&url, "ping", None, &json!({"zen": "hi", "hook_id": 1}))
        .await
        .unwrap();
    assert_eq!(ping.status, 200);
    let messages = stack.receive_all().await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].1, "emulated-1");
    // Within GitHub's 10 s budget by a wide margin.
    let started = std::time::Instant::now();
    github
        .send_webhook(&url, "member", Some("emulated-2"), &payload)
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let capture = lambda_kit::tracing_init::capture_logs();
    let stack = spawn_with(&[(
        "CLS_QUEUE_URL",
        "http://127.0.0.1:1/000000000000/missing.fifo",
    )])
    .await;
    stack.call(fixture("member-added")).await;
    let body = serde_json::to_vec(&member_payload()).unwrap();
    stack
        .deliver(&body, "some-other-secret", "member", "wrong-9")
        .await;
    let secret_part = stack.alert_url.rsplit('/').next().unwrap().to_owned();
    capture
        .assert_absent(&[
            SECRET,
            VECTOR_SECRET,
            "a-new-secret-being-rolled-out",
            SLACK_SECRET,
            SLACK_PREVIOUS_SECRET,
            &secret_part,
            "sha256=",
            "\"octocat\",\"id\"",
        ])
        .unwrap();
    assert!(
        capture.contents().contains("enqueue failed"),
        "the capture saw the run"
    );
}

#[tokio::test]
async fn the_installation_target_header_picks_which_apps_secrets_are_tried() {
    let stack = spawn().await;
    let body = serde_json::to_vec(&member_payload()).unwrap();
    // Signed with the other App's secret but naming acme's App: refused.
    let mut e = signed(&body, VECTOR_SECRET, "member", "target-1");
    e.headers.insert(
        "x-github-hook-installation-target-id",
        "102441".parse().unwrap(),
    );
    assert_eq!(status(&stack.call(e).await), 401);
    // Naming the other App, acme's own secret is not even tried.
    let mut e = signed(&body, SECRET, "member", "target-2");
    e.headers
        .insert("x-github-hook-installation-target-id", "7".parse().unwrap());
    assert_eq!(status(&stack.call(e).await), 401);
    // Naming acme's App with acme's secret: accepted.
    let mut e = signed(&body, SECRET, "member", "target-3");
    e.headers.insert(
        "x-github-hook-installation-target-id",
        "102441".parse().unwrap(),
    );
    assert_eq!(status(&stack.call(e).await), 202);
    assert_eq!(stack.depth().await, 1);
}

#[tokio::test]
async fn an_envelope_over_256_kib_is_refused_with_one_alert_and_not_queued() {
    let stack = spawn_with(&[("CLS_MAX_BODY_BYTES", "1048576")]).await;
    let mut payload = member_payload();
    payload["repository"]["full_name"] = format!("acme/{}", "w".repeat(300 * 1024)).into();
    let body = serde_json::to_vec(&payload).unwrap();
    let response = stack.deliver(&body, SECRET, "member", "huge-1").await;
    assert_eq!(status(&response), 413);
    assert_eq!(stack.depth().await, 0);
    let alerts = stack.alerts();
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].contains("EnvelopeTooLarge") && alerts[0].contains("huge-1"));
}
