use serde_json::{Value, json};

use crate::support::{Running, expected_signature, good_jwt, receiver, t0};

#[tokio::test]
async fn the_send_route_signs_the_raw_body_and_reports_the_answer() {
    let r = Running::minimal().await;
    let target = receiver(202).await;
    let resp = r
        .post_control(
            "/webhooks/send",
            json!({"url": format!("{}/github/webhook", target.uri()), "event": "ping",
                   "delivery": "d-1", "payload": {"zen": "Keep it logically awesome.", "hook_id": 1}}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let outcome: Value = resp.json().await.unwrap();
    assert_eq!(outcome["status"], 202);
    assert_eq!(outcome["guid"], "d-1");
    assert_eq!(outcome["body"], r#"{"status":"queued"}"#);
    let got = &target.received_requests().await.unwrap()[0];
    assert_eq!(got.headers["x-github-event"], "ping");
    assert_eq!(got.headers["x-github-delivery"], "d-1");
    assert_eq!(
        got.headers["x-github-hook-installation-target-id"],
        r.fake.app_id().to_string().as_str()
    );
    assert_eq!(
        got.headers["x-hub-signature-256"].to_str().unwrap(),
        expected_signature(&r.fake.webhook_secret(), &got.body)
    );
}

#[tokio::test]
async fn a_delivery_id_is_generated_when_omitted_and_signing_can_be_broken_on_purpose() {
    let r = Running::minimal().await;
    let target = receiver(401).await;
    let url = format!("{}/hook", target.uri());
    let a: Value = r
        .post_control(
            "/webhooks/send",
            json!({"url": url, "event": "member", "payload": {}, "sign_with": "wrong"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let b: Value = r
        .post_control(
            "/webhooks/send",
            json!({"url": url, "event": "member", "payload": {}, "unsigned": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a["status"], 401);
    assert_ne!(a["guid"], b["guid"]);
    assert_eq!(a["guid"].as_str().unwrap().len(), 36);
    let got = target.received_requests().await.unwrap();
    assert_ne!(
        got[0].headers["x-hub-signature-256"].to_str().unwrap(),
        expected_signature(&r.fake.webhook_secret(), &got[0].body)
    );
    assert!(!got[1].headers.contains_key("x-hub-signature-256"));
}

#[tokio::test]
async fn only_loopback_receivers_are_accepted() {
    let r = Running::minimal().await;
    let resp = r
        .post_control(
            "/webhooks/send",
            json!({"url": "https://example.com/hook", "event": "ping", "payload": {}}),
        )
        .await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn the_member_route_builds_the_payload_from_state_and_applies_it() {
    let r = Running::minimal().await;
    let target = receiver(202).await;
    let resp = r
        .post_control(
            "/webhooks/member",
            json!({"url": target.uri(), "action": "added", "org": "acme", "login": "newbie", "repo": "widgets",
                   "role_name": "triage", "sender": "alice"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(r.fake.is_outside_collaborator("acme", "newbie"));
    let got = &target.received_requests().await.unwrap()[0];
    let payload: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(payload["action"], "added");
    assert_eq!(payload["member"]["login"], "newbie");
    assert_eq!(payload["sender"]["login"], "alice");
    assert_eq!(payload["changes"]["role_name"]["to"], "triage");
    assert_eq!(payload["changes"]["permission"]["to"], "read");
    assert_eq!(payload["repository"]["full_name"], "acme/widgets");
    assert_eq!(payload["organization"]["id"], 38302899);
    assert_eq!(payload["installation"]["id"], 14988838);

    let removed = r
        .post_control(
            "/webhooks/member",
            json!({"url": target.uri(), "action": "removed", "org": "acme", "login": "newbie", "repo": "widgets"}),
        )
        .await;
    assert_eq!(removed.status(), 200);
    assert!(!r.fake.is_outside_collaborator("acme", "newbie"));
}

#[tokio::test]
async fn the_payload_route_matches_the_spec_fixture_shape_without_changing_state() {
    let r = Running::minimal().await;
    let payload: Value = r
        .post_control(
            "/payloads/member",
            json!({"action": "added", "org": "acme", "login": "octocat", "repo": "widgets"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        payload["member"],
        json!({"login": "octocat", "id": 39652351, "node_id": "U_39652351", "type": "User", "email": null, "site_admin": false})
    );
    assert_eq!(
        payload["changes"],
        json!({"permission": {"to": "write"}, "role_name": {"to": "maintain"}})
    );
    assert_eq!(payload["sender"]["id"], 39652351);
    assert_eq!(payload["repository"]["private"], true);
    let bad = r
        .post_control(
            "/payloads/member",
            json!({"action": "added", "org": "acme", "login": "ghost", "repo": "widgets"}),
        )
        .await;
    assert_eq!(
        bad.status(),
        400,
        "unknown users are not invented without apply"
    );
}

#[tokio::test]
async fn state_shows_tokens_only_as_fingerprints_and_redacts_the_secret() {
    let r = Running::minimal().await;
    let token = r.token("acme").await;
    let state: Value = r
        .http
        .get(r.url("/__fake/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = state.to_string();
    assert!(!text.contains(&token));
    assert!(!text.contains(&r.fake.webhook_secret()));
    assert_eq!(state["tokens"][0]["fingerprint"].as_str().unwrap().len(), 8);
    assert_eq!(
        state["orgs"][0]["outside_collaborators"],
        json!(["octocat"])
    );
    let journal = r
        .http
        .get(r.url("/__fake/journal"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!journal.contains(&token), "the journal redacts credentials");
}

#[tokio::test]
async fn revoked_tokens_answer_401_and_reset_restores_the_seed() {
    let r = Running::minimal().await;
    let token = r.token("acme").await;
    r.fake
        .add_collaborator("acme", "widgets", "temp", "read")
        .unwrap();
    assert_eq!(
        r.post_control("/tokens/revoke", json!({})).await.status(),
        204
    );
    assert_eq!(
        r.get("/orgs/acme/members/alice", &token).await.status(),
        401
    );
    let reset = r.http.post(r.url("/__fake/reset")).send().await.unwrap();
    assert_eq!(reset.status(), 204);
    assert!(!r.fake.is_outside_collaborator("acme", "temp"));
    assert!(r.fake.is_outside_collaborator("acme", "octocat"));
}

#[tokio::test]
async fn deliveries_are_listed_for_the_app_and_can_be_redelivered() {
    let r = Running::minimal().await;
    let target = receiver(500).await;
    r.post_control("/webhooks/send", json!({"url": target.uri(), "event": "member", "delivery": "g-1", "payload": {"action": "added"}}))
        .await;
    let jwt = good_jwt(&r.fake, t0());
    let list: Vec<Value> = r
        .http
        .get(r.url("/app/hook/deliveries"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["status"], "Invalid HTTP Response: 500");
    assert_eq!(list[0]["action"], "added");
    let id = list[0]["id"].as_u64().unwrap();
    let resp = r
        .http
        .post(r.url(&format!("/app/hook/deliveries/{id}/attempts")))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let got = target.received_requests().await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].headers["x-github-delivery"], "g-1");
    let token_not_jwt = r.token("acme").await;
    let resp = r
        .http
        .get(r.url("/app/hook/deliveries"))
        .bearer_auth(token_not_jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn both_fixtures_load() {
    let demo = github_fake::GithubFake::demo().unwrap();
    assert_eq!(demo.org_id("globex"), Some(48302900));
    assert!(demo.is_outside_collaborator("acme", "octocat"));
    assert!(demo.is_outside_collaborator("acme", "hubot"));
    assert!(!demo.is_outside_collaborator("acme", "carol"));
    assert!(
        github_fake::GithubFake::new(json!({"app": {"id": 1, "webhook_secret": "x"}, "orgs": [
        {"login": "a", "id": 1, "installation_id": 2, "members": ["ghost"]}]}))
        .is_err()
    );
}

#[tokio::test]
async fn org_control_routes_change_membership_visibility_and_the_audit_log() {
    let r = Running::minimal().await;
    let token = r.token("acme").await;
    let patch = r
        .http
        .patch(r.url("/__fake/orgs/acme"))
        .json(&json!({"membership_hidden": true, "enterprise": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 204);
    assert_eq!(
        r.get("/orgs/acme/members/alice", &token).await.status(),
        302
    );
    r.fake.set_membership_hidden("acme", false).unwrap();

    assert_eq!(
        r.post_control("/orgs/acme/members", json!({"login": "octocat"}))
            .await
            .status(),
        204
    );
    assert_eq!(
        r.get("/orgs/acme/members/octocat", &token).await.status(),
        204
    );
    assert!(!r.fake.is_outside_collaborator("acme", "octocat"));
    let del = r
        .http
        .delete(r.url("/__fake/orgs/acme/members/octocat"))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    assert!(r.fake.is_outside_collaborator("acme", "octocat"));

    let event = json!({"action": "git.fetch", "actor": "octocat", "repo": "acme/widgets", "@timestamp": 1778587200000_i64});
    assert_eq!(
        r.post_control("/orgs/acme/audit-log", event).await.status(),
        204
    );
    let events: Vec<Value> = r
        .get("/orgs/acme/audit-log?phrase=actor:octocat", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        r.post_control("/orgs/initech/members", json!({"login": "x"}))
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn send_member_event_applies_the_change_and_delivers_it() {
    let r = Running::minimal().await;
    let target = receiver(202).await;
    let spec = github_fake::MemberSpec {
        action: "edited".into(),
        org: "acme".into(),
        login: "octocat".into(),
        repo: "widgets".into(),
        role_name: Some("admin".into()),
        ..Default::default()
    };
    let out = r
        .fake
        .send_member_event(&target.uri(), &spec, Some("e-1"))
        .await
        .unwrap();
    assert_eq!((out.status, out.guid.as_str()), (202, "e-1"));
    let got = &target.received_requests().await.unwrap()[0];
    let payload: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(payload["changes"]["old_permission"]["from"], "write");
    assert_eq!(payload["changes"]["permission"]["to"], "admin");
    assert_eq!(
        payload["changes"]["role_name"],
        json!({"from": "maintain", "to": "admin"})
    );
    let state = r.fake.state();
    assert_eq!(
        state["orgs"][0]["repos"][0]["collaborators"][0]["role_name"],
        "admin"
    );
}
