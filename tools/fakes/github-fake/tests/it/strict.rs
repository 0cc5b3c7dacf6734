//! Where the fake refuses or sends what GitHub does (README, "Strictness"): each test fails against the lenient
//! behaviour it replaced.

use serde_json::{Value, json};

use crate::support::{Running, expected_signature, good_jwt, jwt, receiver, t0};

#[tokio::test]
async fn a_rest_call_without_a_user_agent_is_forbidden_before_anything_else() {
    let r = Running::minimal().await;
    let bare = fake_kit::default_client();
    let resp = bare
        .get(r.url("/users/octocat"))
        .header("x-github-api-version", "2022-11-28")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.headers()["content-type"], "text/html");
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Please make sure your request has a User-Agent header")
    );
    let blank = bare
        .post(r.url("/app/installations/14988838/access_tokens"))
        .header("user-agent", " ")
        .header("x-github-api-version", "2022-11-28")
        .bearer_auth(good_jwt(&r.fake, t0()))
        .send()
        .await
        .unwrap();
    assert_eq!(blank.status(), 403, "a blank User-Agent is none");
    assert_eq!(r.fake.tokens_issued(), 0);
}

#[tokio::test]
async fn a_rest_call_needs_a_supported_api_version() {
    let r = Running::minimal().await;
    let token = r.token("acme").await;
    let bare = fake_kit::default_client();
    for version in [None, Some("2021-01-01"), Some("latest")] {
        let mut req = bare
            .get(r.url("/orgs/acme/members/alice"))
            .header("user-agent", "tests")
            .bearer_auth(&token);
        if let Some(v) = version {
            req = req.header("x-github-api-version", v);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 400, "{version:?}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["status"], "400");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("X-GitHub-Api-Version")
        );
    }
    assert_eq!(
        r.get("/orgs/acme/members/alice", &token).await.status(),
        204
    );
}

#[tokio::test]
async fn the_control_routes_need_no_client_headers() {
    let r = Running::minimal().await;
    let resp = fake_kit::default_client()
        .get(r.url("/__fake/state"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn an_app_jwt_expiring_more_than_ten_minutes_ahead_is_refused() {
    let r = Running::minimal().await;
    let now = t0().timestamp();
    let app = json!(r.fake.app_id().to_string());
    let mint = |token: String| {
        r.http
            .post(r.url("/app/installations/14988838/access_tokens"))
            .bearer_auth(token)
            .send()
    };
    for (why, iat, exp) in [
        ("exp 10 min 1 s ahead", now - 60, now + 601),
        ("exp 10 min 20 s ahead", now - 60, now + 620),
        ("iat 10 min ahead", now + 600, now + 600),
    ] {
        let resp = mint(jwt(app.clone(), iat, exp)).await.unwrap();
        assert_eq!(resp.status(), 401, "{why}");
    }
    assert_eq!(r.fake.tokens_issued(), 0);
    let at_the_limit = mint(jwt(app, now - 60, now + 600)).await.unwrap();
    assert_eq!(at_the_limit.status(), 201, "exactly 10 minutes is allowed");
}

#[tokio::test]
async fn a_webhook_body_is_githubs_bytes_so_a_verifier_that_reserialises_fails() {
    let r = Running::minimal().await;
    let target = receiver(202).await;
    let spec = github_fake::MemberSpec::new("added", "acme", "octocat", "widgets");
    r.fake
        .send_member_event(&target.uri(), &spec, None)
        .await
        .unwrap();
    let got = &target.received_requests().await.unwrap()[0];
    let raw = String::from_utf8(got.body.clone()).unwrap();
    assert!(
        raw.starts_with(r#"{"action":"added","member":{"login":"octocat","id":"#),
        "{raw}"
    );
    assert!(
        !raw.contains('\n') && !raw.contains(": "),
        "compact, as GitHub sends"
    );
    let header = got.headers["x-hub-signature-256"].to_str().unwrap();
    let secret = r.fake.webhook_secret();
    assert_eq!(header, expected_signature(&secret, raw.as_bytes()));

    // A receiver that parses the body and signs its own serialisation computes another signature.
    let parsed: Value = serde_json::from_slice(&got.body).unwrap();
    for reserialised in [
        serde_json::to_vec(&parsed).unwrap(),
        serde_json::to_vec_pretty(&parsed).unwrap(),
    ] {
        assert_ne!(header, expected_signature(&secret, &reserialised));
    }
}
