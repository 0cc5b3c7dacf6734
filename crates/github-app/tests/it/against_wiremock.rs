use std::sync::Arc;

use github_app::{GithubApi, GithubClient, GithubError, Membership};
use lambda_kit::FixedClock;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{fast_retry, t0, test_creds};

async fn server_with_token() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/app/installations/77/access_tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"token": "ghs_wiremocktoken0123456789", "expires_at": "2026-05-12T13:00:00Z"}),
        ))
        .mount(&server)
        .await;
    server
}

/// Fails loudly on any call no other mock claimed.
async fn catch_all(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(|req: &Request| {
            ResponseTemplate::new(500).set_body_string(format!(
                "unexpected {} {}",
                req.method,
                req.url.path()
            ))
        })
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

fn client(base: &str) -> GithubClient {
    GithubClient::builder(base, Arc::new(FixedClock::new(t0())))
        .retry_policy(fast_retry())
        .installation("acme", 77, test_creds(5))
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_request_carries_the_github_headers_and_the_token() {
    let server = server_with_token().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/members/alice"))
        .and(header("accept", "application/vnd.github+json"))
        .and(header("x-github-api-version", "2022-11-28"))
        .and(header(
            "authorization",
            "Bearer ghs_wiremocktoken0123456789",
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    assert_eq!(
        client(&server.uri())
            .membership("acme", "alice")
            .await
            .unwrap(),
        Membership::Member
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "the token mint, then the call");
    // GitHub refuses a call without a User-Agent (403) and an unsupported API version (400): both on every one.
    for request in &requests {
        let ua = request.headers["user-agent"].to_str().unwrap();
        assert!(ua.starts_with("cls-github-app/"), "{} {ua}", request.url);
        assert_eq!(
            request.headers["x-github-api-version"], "2022-11-28",
            "{}",
            request.url
        );
    }
    let token_call = &requests[0];
    let jwt = token_call
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(jwt.starts_with("Bearer ey"), "an App JWT");
}

#[tokio::test]
async fn a_pagination_link_to_another_host_is_refused() {
    let server = server_with_token().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/repos"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"id": 1, "name": "a", "full_name": "acme/a"}]))
                .insert_header(
                    "link",
                    "<https://evil.example/orgs/acme/repos?page=2>; rel=\"next\"",
                ),
        )
        .mount(&server)
        .await;
    let err = client(&server.uri()).org_repos("acme").await.unwrap_err();
    assert!(matches!(err, GithubError::Pagination { .. }), "{err:?}");
}

#[tokio::test]
async fn an_unexpected_body_is_a_decode_error() {
    let server = server_with_token().await;
    Mock::given(method("GET"))
        .and(path("/user/42"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>"))
        .mount(&server)
        .await;
    let err = client(&server.uri())
        .user_by_id("acme", 42)
        .await
        .unwrap_err();
    assert!(matches!(err, GithubError::Decode { .. }), "{err:?}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn the_redelivery_post_is_not_retried_on_a_server_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/app/hook/deliveries/9/attempts"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server.uri())
        .redeliver("acme", 9)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GithubError::Api { status: 502, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_plain_http_base_url_off_loopback_is_rejected() {
    let err = GithubClient::builder("http://api.github.com", Arc::new(FixedClock::new(t0())))
        .build()
        .unwrap_err();
    assert!(matches!(err, GithubError::Config(_)));
}

#[tokio::test]
async fn the_client_is_usable_as_a_shared_trait_object() {
    let server = server_with_token().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/members/bob"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let api: Arc<dyn GithubApi> = Arc::new(client(&server.uri()));
    let handle = tokio::spawn({
        let api = api.clone();
        async move { api.membership("acme", "bob").await }
    });
    assert_eq!(handle.await.unwrap().unwrap(), Membership::NotMember);
}
