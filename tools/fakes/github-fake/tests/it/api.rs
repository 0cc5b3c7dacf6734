use github_fake::GithubFake;
use serde_json::{Value, json};

use crate::support::{Running, github_client, good_jwt, jwt, t0};

#[tokio::test]
async fn a_valid_app_jwt_gets_an_opaque_token_that_expires_in_an_hour_of_fake_time() {
    let r = Running::minimal().await;
    let resp = r
        .http
        .post(r.url("/app/installations/14988838/access_tokens"))
        .bearer_auth(good_jwt(&r.fake, t0()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert!(token.starts_with("ghs_") && token.len() > 40);
    let expires =
        chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap()).unwrap();
    let ttl = expires.with_timezone(&chrono::Utc) - t0();
    assert!((3599..=3601).contains(&ttl.num_seconds()), "{ttl}");
    assert_eq!(r.fake.tokens_issued(), 1);
}

#[tokio::test]
async fn bad_app_jwts_are_refused_with_401() {
    let r = Running::minimal().await;
    let now = t0().timestamp();
    let app = json!(r.fake.app_id().to_string());
    let cases = [
        ("expired", jwt(app.clone(), now - 700, now - 100)),
        ("too long-lived", jwt(app.clone(), now, now + 3600)),
        (
            "issued in the future",
            jwt(app.clone(), now + 300, now + 500),
        ),
        ("another app", jwt(json!("999"), now - 60, now + 540)),
        ("not a jwt", "garbage".to_owned()),
    ];
    for (why, token) in cases {
        let resp = r
            .http
            .post(r.url("/app/installations/14988838/access_tokens"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{why}");
    }
    let numeric = jwt(json!(r.fake.app_id()), now - 60, now + 540);
    let resp = r
        .http
        .post(r.url("/app/installations/14988838/access_tokens"))
        .bearer_auth(numeric)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "a numeric iss is accepted too");
    assert_eq!(r.fake.tokens_issued(), 1);
}

#[tokio::test]
async fn an_unknown_installation_is_404() {
    let r = Running::minimal().await;
    let resp = r
        .http
        .post(r.url("/app/installations/1/access_tokens"))
        .bearer_auth(good_jwt(&r.fake, t0()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn api_calls_need_a_live_installation_token() {
    let r = Running::minimal().await;
    assert_eq!(
        r.get("/orgs/acme/members/alice", "ghs_made_up")
            .await
            .status(),
        401
    );
    let resp = r
        .http
        .get(r.url("/orgs/acme/members/alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let token = r.token("acme").await;
    assert_eq!(
        r.get("/orgs/acme/members/alice", &token).await.status(),
        204
    );
    r.fake.kit().advance(chrono::Duration::minutes(61));
    assert_eq!(
        r.get("/orgs/acme/members/alice", &token).await.status(),
        401,
        "expired on the fake clock"
    );
}

#[tokio::test]
async fn a_token_of_another_installation_cannot_read_the_org() {
    let r = Running::start(GithubFake::demo().unwrap()).await;
    let globex = r.token("globex").await;
    assert_eq!(
        r.get("/orgs/acme/members/alice", &globex).await.status(),
        403
    );
    assert_eq!(
        r.get("/orgs/globex/members/it-admin", &globex)
            .await
            .status(),
        204
    );
}

#[tokio::test]
async fn membership_answers_204_404_and_302_when_hidden() {
    let r = Running::minimal().await;
    let token = r.token("acme").await;
    assert_eq!(
        r.get("/orgs/acme/members/alice", &token).await.status(),
        204
    );
    assert_eq!(
        r.get("/orgs/acme/members/octocat", &token).await.status(),
        404
    );
    assert_eq!(
        r.get("/orgs/acme/members/nobody", &token).await.status(),
        404
    );

    let mut seed: Value = serde_json::from_str(github_fake::MINIMAL_SEED).unwrap();
    seed["orgs"][0]["membership_hidden"] = json!(true);
    let hidden = Running::start(GithubFake::new(seed).unwrap()).await;
    let token = hidden.token("acme").await;
    let resp = hidden.get("/orgs/acme/members/alice", &token).await;
    assert_eq!(resp.status(), 302);
    assert!(resp.headers().get("location").is_some());
}

#[tokio::test]
async fn removal_answers_204_then_404_and_422_for_members() {
    let r = Running::minimal().await;
    let token = r.token("acme").await;
    let delete = |login: &str| {
        r.http
            .delete(r.url(&format!("/orgs/acme/outside_collaborators/{login}")))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(delete("octocat").await.unwrap().status(), 204);
    assert!(!r.fake.is_outside_collaborator("acme", "octocat"));
    assert_eq!(delete("octocat").await.unwrap().status(), 404);
    assert_eq!(delete("alice").await.unwrap().status(), 422);
}

#[tokio::test]
async fn lists_are_paginated_with_absolute_link_headers() {
    let fake = GithubFake::minimal().unwrap();
    for i in 0..4 {
        fake.add_collaborator("acme", "widgets", &format!("guest{i}"), "read")
            .unwrap();
    }
    let r = Running::start(fake).await;
    let token = r.token("acme").await;
    let mut next = Some(r.url("/orgs/acme/outside_collaborators?filter=all&per_page=2"));
    let mut logins = Vec::new();
    let mut pages = 0;
    while let Some(url) = next.take() {
        let resp = r.http.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let link = resp
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_owned());
        if let Some(link) = &link {
            assert!(
                link.contains("filter=all") && link.contains("per_page=2"),
                "{link}"
            );
        }
        next = link.and_then(|l| {
            l.split(',').find(|p| p.contains("rel=\"next\"")).map(|p| {
                p.trim()
                    .split(';')
                    .next()
                    .unwrap()
                    .trim_matches(['<', '>', ' '])
                    .to_owned()
            })
        });
        let page: Vec<Value> = resp.json().await.unwrap();
        logins.extend(page.iter().map(|u| u["login"].as_str().unwrap().to_owned()));
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(logins.len(), 5);
    assert!(logins.contains(&"octocat".to_owned()));
}

#[tokio::test]
async fn links_keep_the_prefix_the_fake_is_mounted_under() {
    let fake = GithubFake::minimal().unwrap();
    for i in 0..3 {
        fake.add_collaborator("acme", "widgets", &format!("guest{i}"), "read")
            .unwrap();
    }
    fake.kit().set_time(t0());
    let router = axum::Router::new().nest("/github", fake.router());
    let server = fake_kit::serve_ephemeral(router).await.unwrap();
    let http = github_client();
    let jwt = good_jwt(&fake, t0());
    let resp = http
        .post(format!(
            "{}/github/app/installations/14988838/access_tokens",
            server.base_url()
        ))
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap();
    let token: Value = resp.json().await.unwrap();
    let resp = http
        .get(format!(
            "{}/github/orgs/acme/outside_collaborators?per_page=2",
            server.base_url()
        ))
        .bearer_auth(token["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let link = resp
        .headers()
        .get("link")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        link.starts_with(&format!(
            "<{}/github/orgs/acme/outside_collaborators?",
            server.base_url()
        )),
        "{link}"
    );
}

#[tokio::test]
async fn responses_carry_rate_limit_headers_and_a_fake_clock_date() {
    let r = Running::minimal().await;
    let token = r.token("acme").await;
    let resp = r.get("/orgs/acme/members/alice", &token).await;
    assert_eq!(resp.headers()["x-ratelimit-remaining"], "4999");
    assert!(resp.headers().contains_key("x-ratelimit-reset"));
    let date = resp.headers()["date"].to_str().unwrap();
    assert!(date.starts_with("Tue, 12 May 2026"), "{date}");
}

#[tokio::test]
async fn a_fault_rule_can_answer_a_primary_rate_limit() {
    let r = Running::minimal().await;
    let token = r.token("acme").await;
    r.fake.kit().add_fault(fake_kit::FaultRule::new(
        Some("GET"),
        "/orgs/acme/members/*",
        Some(1),
        json!({"status": 403, "headers": {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1778587260"}}),
    ));
    let resp = r.get("/orgs/acme/members/alice", &token).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.headers()["x-ratelimit-remaining"], "0");
    assert_eq!(
        r.get("/orgs/acme/members/alice", &token).await.status(),
        204
    );
}

#[tokio::test]
async fn permissions_invitations_users_and_the_audit_log_follow_the_seed() {
    let r = Running::start(GithubFake::demo().unwrap()).await;
    let token = r.token("acme").await;
    let perm: Value = r
        .get(
            "/repos/acme/widgets/collaborators/octocat/permission",
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (perm["permission"].as_str(), perm["role_name"].as_str()),
        (Some("write"), Some("maintain"))
    );
    let none: Value = r
        .get("/repos/acme/widgets/collaborators/mona/permission", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["permission"], "none");
    let inv: Vec<Value> = r
        .get("/repos/acme/widgets/invitations", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inv[0]["invitee"]["login"], "mona");
    let user: Value = r.get("/user/39652351", &token).await.json().await.unwrap();
    assert_eq!(user["login"], "octocat");
    assert_eq!(r.get("/user/5", &token).await.status(), 404);
    let events: Vec<Value> = r
        .get(
            "/orgs/acme/audit-log?phrase=repo:acme/widgets%20created:%3E=2026-05-11&include=all",
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "only the clone on 2026-05-12");
    assert_eq!(events[0]["action"], "git.clone");
    let globex = r.token("globex").await;
    assert_eq!(
        r.get("/orgs/globex/audit-log?phrase=x", &globex)
            .await
            .status(),
        404
    );
}
