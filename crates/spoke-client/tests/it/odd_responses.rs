//! Odd responses, timeouts and transport failures (wiremock, one server per test, and fake faults).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use spoke_client::{
    NewMessage, NewRequest, RequestId, RequestQuery, RequestStatus, SpokeApi, SpokeClient,
    SpokeError, TagId, TeamId, UserId,
};
use tokio::time::Instant;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

async fn mock_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(500).set_body_string("unexpected request: no mock matched"),
        )
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer) -> SpokeClient {
    client_for(&format!("{}/api/v1", server.uri()), "wiremock-key")
}

fn client_with_timeout(server: &MockServer, timeout: Duration) -> SpokeClient {
    SpokeClient::builder(
        lambda_kit::http::default_client(),
        secrecy::SecretString::from("wiremock-key"),
    )
    .base_url(format!("{}/api/v1", server.uri()))
    .retry_policy(fast_policy())
    .attempt_timeout(timeout)
    .build()
    .unwrap()
}

#[tokio::test]
async fn spk12_only_underscore_ids_unknown_fields_nulls_and_odd_statuses_decode() {
    let server = mock_server().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/requests"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [
                {"_id": "62c000000000000000000001", "status": "PENDING", "owner": null, "team": "",
                 "unknownField": {"nested": [1, 2]}, "requestType": {"_id": "61b000000000000000000007"},
                 "tags": null, "requestTypeInfo": null},
                {"subject": "an item without any id is skipped"},
                {"id": "62c000000000000000000002", "status": "ARCHIVED", "privacyLevel": null}
            ],
            "total": "3", "start": "0", "limit": "25"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/5f0c3a9e2b7d4c0012ab3401"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "_id": "5f0c3a9e2b7d4c0012ab3401", "displayName": null, "email": "alice@example.com",
            "memberships": ["5f0aaaaaaaaaaaaaaaaaaaaa", {"org": "example", "status": "ACTIVE", "role": "MEMBER"}],
            "profile": {"locale": "en-US"}, "createdAt": "not a timestamp"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let page = c
        .list_requests(&RequestQuery::all_statuses())
        .await
        .unwrap();
    assert_eq!(page.results.len(), 2);
    assert_eq!(page.received, 3);
    assert_eq!(page.total, Some(3));
    assert_eq!(page.limit, Some(25));
    let first = &page.results[0];
    assert_eq!(first.id, RequestId::new("62c000000000000000000001"));
    assert_eq!(first.status, Some(RequestStatus::Pending));
    assert_eq!((first.owner.clone(), first.team.clone()), (None, None));
    assert_eq!(
        first.request_type.as_ref().unwrap().as_str(),
        "61b000000000000000000007"
    );
    assert_eq!(
        page.results[1].status,
        Some(RequestStatus::Unknown("ARCHIVED".into()))
    );
    let user = c.get_user(&UserId::new(ALICE)).await.unwrap().unwrap();
    assert_eq!(user.memberships.len(), 2);
    assert_eq!(user.created_at.as_deref(), Some("not a timestamp"));
}

#[tokio::test]
async fn spk14_tag_writes_accept_200_with_an_empty_body_as_well_as_204() {
    let server = mock_server().await;
    Mock::given(method("PATCH"))
        .and(path("/api/v1/requests/r1/tags"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/requests/r1/tags/t1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/api/v1/requests/r2/tags"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/requests/r2/tags/t1"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    for r in ["r1", "r2"] {
        c.add_tags(&RequestId::new(r), &[TagId::new("t1")])
            .await
            .unwrap();
        c.remove_tag(&RequestId::new(r), &TagId::new("t1"))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn an_undecodable_2xx_body_is_a_decode_error_that_is_not_retried() {
    let server = mock_server().await;
    let body = format!("<html>{}</html>", "x".repeat(2000));
    Mock::given(method("GET"))
        .and(path("/api/v1/whoami"))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).whoami().await.unwrap_err();
    let SpokeError::Decode { body, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(body.0.chars().count(), 512);
    assert!(!err.to_string().contains("<html>"));
    assert!(!err.is_transient());
}

#[tokio::test]
async fn the_fakes_malformed_body_fault_is_a_decode_error() {
    let f = spawn().await;
    f.fake.add_fault(
        Some("GET"),
        "/teams/*",
        Some(1),
        json!({"malformedBody": true}),
    );
    let err = f.client.get_team(&TeamId::new(IT)).await.unwrap_err();
    assert!(matches!(err, SpokeError::Decode { .. }), "{err:?}");
    assert_eq!(f.calls("GET", "/teams/*"), 1);
}

#[tokio::test]
async fn a_server_error_on_create_is_not_retried_and_flags_the_outcome_unknown() {
    let server = mock_server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/requests"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .create_request(&NewRequest::new("s", UserId::new(SVC)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SpokeError::Server { status: 502, .. }),
        "{err:?}"
    );
    assert!(err.outcome_unknown());
    assert!(err.is_transient());
    assert_eq!(err.attempts(), 1);
}

#[tokio::test]
async fn a_message_post_that_times_out_is_not_retried() {
    let server = mock_server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/requests/r1/messages"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(1000)))
        .expect(1)
        .mount(&server)
        .await;
    let err = client_with_timeout(&server, Duration::from_millis(200))
        .post_message(
            &RequestId::new("r1"),
            &NewMessage::from_user(&UserId::new(SVC), "hi"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SpokeError::Timeout { .. }), "{err:?}");
    assert!(err.outcome_unknown());
}

#[tokio::test]
async fn a_get_that_times_out_is_retried_up_to_four_attempts() {
    let server = mock_server().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/whoami"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(1000)))
        .expect(4)
        .mount(&server)
        .await;
    let err = client_with_timeout(&server, Duration::from_millis(150))
        .whoami()
        .await
        .unwrap_err();
    assert!(matches!(err, SpokeError::Timeout { .. }), "{err:?}");
    assert_eq!(err.attempts(), 4);
    assert!(!err.outcome_unknown());
}

#[tokio::test]
async fn a_connect_failure_is_retried_even_for_a_create() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let c = client_for(&format!("http://127.0.0.1:{port}/api/v1"), "k");
    let err = c
        .create_request(&NewRequest::new("s", UserId::new(SVC)))
        .await
        .unwrap_err();
    assert!(matches!(err, SpokeError::Transport { .. }), "{err:?}");
    assert_eq!(err.attempts(), 4, "never sent, so safe to retry");
    assert!(!err.outcome_unknown());
    assert!(
        !format!("{err:?}").contains("/api/v1"),
        "the URL is stripped from the source"
    );
}

#[tokio::test]
async fn a_dropped_connection_is_retried_for_reads_but_not_for_creates() {
    let f = spawn().await;
    f.fake
        .add_fault(Some("GET"), "/teams/*", Some(1), json!({"drop": true}));
    f.client.get_team(&TeamId::new(IT)).await.unwrap().unwrap();
    assert_eq!(f.calls("GET", "/teams/*"), 2);
    f.fake
        .add_fault(Some("POST"), "/requests", Some(1), json!({"drop": true}));
    let err = f
        .client
        .create_request(&NewRequest::new("s", UserId::new(SVC)))
        .await
        .unwrap_err();
    assert!(err.outcome_unknown(), "{err:?}");
    assert_eq!(f.calls("POST", "/requests"), 1);
}

#[tokio::test]
async fn statuses_map_to_their_error_kinds_without_retries() {
    let cases: [(u16, serde_json::Value, &str); 6] = [
        (401, json!({}), "invalid_api_key"),
        (
            402,
            json!({"code": 11003, "message": "upgrade"}),
            "payment_required",
        ),
        (
            403,
            json!({"code": 99001, "message": "Forbidden"}),
            "forbidden",
        ),
        (
            422,
            json!({"code": 11008, "message": "The request was malformed."}),
            "bad_request",
        ),
        (404, json!({"code": 11003}), "not_found"),
        (418, json!({}), "unexpected"),
    ];
    for (status, body, kind) in cases {
        let server = mock_server().await;
        Mock::given(method("PATCH"))
            .and(path("/api/v1/teams/t1"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
        let err = client(&server)
            .update_team(&TeamId::new("t1"), &spoke_client::TeamPatch::default())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{status}: {err:?}");
        assert_eq!(err.attempts(), 1);
        assert!(!err.is_transient());
        assert_eq!(err.route(), "/teams/{teamId}");
    }
}

#[tokio::test]
async fn the_reset_header_is_measured_against_the_response_date() {
    let server = mock_server().await;
    // The server's clock is in 2024; measured against our clock the reset would be long past.
    Mock::given(method("GET"))
        .and(path("/api/v1/whoami"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("date", "Mon, 01 Jan 2024 00:00:00 GMT")
                .insert_header("x-ratelimit-reset", "1704067201"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/whoami"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"user": SVC})))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    client(&server).whoami().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn without_a_date_header_the_reset_is_measured_against_the_injected_clock() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // hyper (and so wiremock) always adds `Date`; a hand-written answer leaves it out.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let reset = chrono::DateTime::parse_from_rfc3339("2030-01-01T00:01:00Z")
        .unwrap()
        .timestamp();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0_u8; 4096];
        let _ = socket.read(&mut buf).await.unwrap();
        let answer = format!(
            "HTTP/1.1 429 Too Many Requests\r\nx-ratelimit-reset: {reset}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        socket.write_all(answer.as_bytes()).await.unwrap();
    });
    let clock = lambda_kit::FixedClock::at("2030-01-01T00:00:00Z").unwrap();
    let c = SpokeClient::builder(
        lambda_kit::http::default_client(),
        secrecy::SecretString::from("k"),
    )
    .base_url(format!("http://{addr}/api/v1"))
    .clock(Arc::new(clock))
    .build()
    .unwrap();
    let err = c.whoami().await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)), "{err:?}");
    server.await.unwrap();
}

#[tokio::test]
async fn a_low_rate_limit_budget_is_recorded_and_logged() {
    let capture = lambda_kit::tracing_init::capture_logs();
    let server = mock_server().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/whoami"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"user": SVC}))
                .insert_header("x-ratelimit-limit", "6000")
                .insert_header("x-ratelimit-remaining", "12")
                .insert_header("x-ratelimit-reset", "1900000000"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    c.whoami().await.unwrap();
    let rate = c.rate_limit().unwrap();
    assert_eq!(
        (rate.limit, rate.remaining, rate.reset),
        (Some(6000), Some(12), Some(1_900_000_000))
    );
    assert!(capture.contents().contains("rate-limit budget below 10 %"));
}
