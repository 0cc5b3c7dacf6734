//! SPK-1 … SPK-15 (docs/requirements/spoke-client.md) against spoke-fake over HTTP.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use spoke_client::{
    DelegationStrategy, FieldId, NewMessage, NewRequest, RequestId, RequestPatch, RequestQuery,
    RequestSort, RequestStatus, RequestTypeId, SpokeApi, SpokeError, TagId, TeamId, TeamPatch,
    UserId, UserQuery,
};
use spoke_fake::SpokeFake;
use tokio::time::Instant;

use crate::support::*;

#[tokio::test]
async fn spk1_every_call_sends_the_api_key_accept_and_user_agent_headers() {
    let f = spawn().await;
    f.client.whoami().await.unwrap();
    f.client.get_team(&TeamId::new(IT)).await.unwrap();
    f.client
        .create_request(&NewRequest::new("s", UserId::new(SVC)))
        .await
        .unwrap();
    let journal = f.fake.kit().journal();
    assert_eq!(journal.len(), 3);
    for call in &journal {
        assert_eq!(call.header("api-key"), Some("[REDACTED]"), "{}", call.path);
        assert_eq!(call.header("accept"), Some("application/json"));
        assert_eq!(call.header("user-agent"), Some(USER_AGENT));
        assert_eq!(call.status, 200);
    }
    assert_eq!(journal[2].header("content-type"), Some("application/json"));
    assert_eq!(
        journal[0].header("content-type"),
        None,
        "no body, no content type"
    );
}

#[tokio::test]
async fn spk1_the_api_key_never_appears_in_logs_or_error_text() {
    let capture = lambda_kit::tracing_init::capture_logs();
    let secret = "spk1-super-secret-key-7f3a";
    let f = spawn().await;
    let bad = client_for(&f.api(), secret);
    let err = bad.whoami().await.unwrap_err();
    // Warnings and debug lines for retries, a 404 with an e-mail in the path, a server error.
    f.fake
        .add_fault(Some("GET"), "/teams/*", Some(2), json!({"status": 503}));
    f.client.get_team(&TeamId::new(IT)).await.unwrap();
    assert!(
        f.client
            .user_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let texts = [
        err.to_string(),
        format!("{err:?}"),
        format!("{:?}", f.client),
    ];
    for text in &texts {
        assert!(!text.contains(secret), "{text}");
        assert!(!text.contains(SVC_KEY), "{text}");
    }
    capture
        .assert_absent(&[secret, SVC_KEY, "nobody@example.com"])
        .unwrap();
    let logs = capture.contents();
    assert!(
        logs.contains("/users/email/{address}"),
        "route templates are logged"
    );
    assert!(logs.contains("retrying Spoke call"));
}

#[tokio::test]
async fn spk2_base_urls_with_and_without_a_trailing_slash_reach_the_same_paths() {
    let f = spawn().await;
    let with_slash = client_for(&format!("{}/", f.api()), SVC_KEY);
    let without = client_for(&f.api(), SVC_KEY);
    with_slash
        .get_team(&TeamId::new(IT))
        .await
        .unwrap()
        .unwrap();
    without.get_team(&TeamId::new(IT)).await.unwrap().unwrap();
    let paths: Vec<String> = f.fake.kit().journal().into_iter().map(|c| c.path).collect();
    assert_eq!(paths, vec![format!("/api/v1/teams/{IT}"); 2]);
}

#[tokio::test]
async fn spk3_a_bad_key_is_invalid_api_key_after_exactly_one_attempt() {
    let f = spawn().await;
    let err = client_for(&f.api(), "wrong-key")
        .whoami()
        .await
        .unwrap_err();
    assert!(matches!(err, SpokeError::InvalidApiKey { .. }), "{err:?}");
    assert_eq!(err.status(), Some(403));
    assert_eq!(err.spoke_code(), Some(11038));
    assert_eq!(err.attempts(), 1);
    assert!(!err.is_transient());
    assert_eq!(f.calls("GET", "/whoami"), 1);
}

#[tokio::test]
async fn spk4_an_address_with_a_plus_reaches_the_right_user_and_unknown_is_absent() {
    let f = spawn().await;
    let user = f
        .client
        .user_by_email("a+b@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id, UserId::new(PLUS_USER));
    assert!(user.has_email("A+B@example.com"));
    let call = &f.fake.kit().journal()[0];
    assert_eq!(call.path, "/api/v1/users/email/a%2Bb%40example.com");
    assert!(
        f.client
            .user_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn spk5_paging_over_250_users_returns_all_without_duplicates_in_three_calls() {
    let f = spawn_with(SpokeFake::new(spoke_fake::minimal_seed_with_users(242)).unwrap()).await;
    let users = f.client.all_users(&UserQuery::default()).await.unwrap();
    assert_eq!(users.len(), 250);
    let mut ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 250);
    let calls = f.fake.kit().calls("GET", "/users");
    assert_eq!(calls.len(), 3);
    assert!(
        calls
            .iter()
            .all(|c| c.query.as_deref().unwrap_or("").contains("limit=100"))
    );
}

#[tokio::test]
async fn spk5_a_server_that_caps_the_limit_at_40_still_yields_all_250_users() {
    let f = spawn_with(SpokeFake::new(spoke_fake::minimal_seed_with_users(242)).unwrap()).await;
    f.fake
        .add_fault(Some("GET"), "/users", None, json!({"capLimit": 40}));
    let users = f.client.all_users(&UserQuery::default()).await.unwrap();
    assert_eq!(users.len(), 250);
    assert_eq!(f.calls("GET", "/users"), 7);
}

#[tokio::test]
async fn spk6_the_page_cap_turns_endless_paging_into_an_error() {
    let f = spawn().await;
    f.fake.add_fault(
        Some("GET"),
        "/users",
        None,
        json!({"status": 200, "body": {"results": [{"_id": "5f0c3a9e2b7d4c0012ab9999"}], "total": 1000000}}),
    );
    let err = f.client.all_users(&UserQuery::default()).await.unwrap_err();
    assert!(
        matches!(err, SpokeError::TooManyPages { max_pages: 50, .. }),
        "{err:?}"
    );
    assert_eq!(err.route(), "/users");
    assert_eq!(f.calls("GET", "/users"), 50);
}

#[tokio::test]
async fn spk7_two_503s_then_200_succeed_after_three_attempts() {
    let f = spawn().await;
    f.fake
        .add_fault(Some("GET"), "/teams/*", Some(2), json!({"status": 503}));
    let team = f.client.get_team(&TeamId::new(IT)).await.unwrap().unwrap();
    assert!(team.has_name(" it "));
    assert_eq!(f.calls("GET", "/teams/*"), 3);
    assert_eq!(f.client.retries(), 2, "the retries are counted");
    assert_eq!(
        f.client.with_deadline(Instant::now()).retries(),
        2,
        "clones share the count"
    );
}

#[tokio::test]
async fn spk7_four_503s_give_a_transient_server_error_after_four_attempts() {
    let f = spawn().await;
    f.fake.add_fault(
        Some("GET"),
        "/teams/*",
        Some(4),
        json!({"status": 503, "body": {"code": 50300, "message": "unavailable"}}),
    );
    let err = f.client.get_team(&TeamId::new(IT)).await.unwrap_err();
    assert!(
        matches!(err, SpokeError::Server { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(err.attempts(), 4);
    assert_eq!(err.spoke_code(), Some(50300));
    assert_eq!(f.calls("GET", "/teams/*"), 4);
}

#[tokio::test]
async fn spk8_a_429_with_reset_one_second_ahead_is_retried_after_about_a_second() {
    let f = spawn().await;
    f.control("/rate-limit", json!({"rejectNext": 1, "resetInSecs": 1}))
        .await;
    let started = Instant::now();
    f.client.whoami().await.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(f.calls("GET", "/whoami"), 2);
    let rate = f.client.rate_limit().unwrap();
    assert_eq!(rate.limit, Some(6000));
}

#[tokio::test]
async fn spk8_a_reset_sixty_seconds_ahead_returns_rate_limited_at_once() {
    let f = spawn().await;
    f.control("/rate-limit", json!({"rejectNext": 1, "resetInSecs": 60}))
        .await;
    let started = Instant::now();
    let err = f.client.whoami().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    let retry_after = err.retry_after().unwrap();
    assert!(
        (Duration::from_secs(59)..=Duration::from_secs(61)).contains(&retry_after),
        "{retry_after:?}"
    );
    assert!(matches!(err, SpokeError::RateLimited { .. }));
    assert!(err.is_transient());
    assert_eq!(err.attempts(), 1);
}

#[tokio::test]
async fn spk9_a_create_that_times_out_after_the_commit_is_not_retried() {
    let f = spawn().await;
    f.fake.add_fault(
        Some("POST"),
        "/requests",
        Some(1),
        json!({"commitThenDelayMs": 3000}),
    );
    let client = spoke_client::SpokeClient::builder(
        lambda_kit::http::default_client(),
        secrecy::SecretString::from(SVC_KEY),
    )
    .base_url(f.api())
    .retry_policy(fast_policy())
    .attempt_timeout(Duration::from_millis(500))
    .build()
    .unwrap();
    let err = client
        .create_request(&NewRequest::new(
            "octocat Collaborator Access",
            UserId::new(SVC),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, SpokeError::Timeout { .. }), "{err:?}");
    assert!(err.outcome_unknown());
    assert!(err.to_string().contains("outcome unknown"), "{err}");
    assert_eq!(err.attempts(), 1);
    assert_eq!(
        f.fake.request_count(),
        2,
        "the seeded request and exactly one new one"
    );
}

#[tokio::test]
async fn spk10_a_create_refused_once_with_429_is_retried_and_creates_one_request() {
    let f = spawn().await;
    f.control("/rate-limit", json!({"rejectNext": 1, "resetInSecs": 0}))
        .await;
    let created = f
        .client
        .create_request(&NewRequest::new("s", UserId::new(SVC)).team(TeamId::new(IT)))
        .await
        .unwrap();
    assert_eq!(created.status, Some(RequestStatus::Open));
    assert_eq!(f.fake.request_count(), 2);
    let posts = f.fake.kit().calls("POST", "/requests");
    assert_eq!(
        posts.iter().map(|c| c.status).collect::<Vec<_>>(),
        vec![429, 200]
    );
}

#[tokio::test]
async fn spk11_patch_team_sends_specific_user_and_returns_the_updated_delegation() {
    let f = spawn().await;
    let team = f
        .client
        .update_team(
            &TeamId::new(IT),
            &TeamPatch::assign_specific_user(UserId::new(BOB)),
        )
        .await
        .unwrap();
    let delegation = team.delegation().unwrap();
    assert_eq!(delegation.strategy, Some(DelegationStrategy::SpecificUser));
    assert_eq!(delegation.specific_user, Some(UserId::new(BOB)));
    let call = &f.fake.kit().calls("PATCH", "/teams/*")[0];
    assert!(call.body.contains("\"specificUser\""));
    assert!(!call.body.contains("specifiedUser"));
    assert_eq!(
        call.json_body().unwrap(),
        json!({"settings": {"delegation": {"strategy": "SPECIFIC_USER", "specificUser": BOB}}})
    );
}

#[tokio::test]
async fn spk12_the_fakes_shapes_decode_including_locked_and_pending_requests() {
    // PATCH cannot set LOCKED (the API accepts OPEN, RESOLVED, AUTO_RESOLVED), so the seed holds it.
    let mut seed: serde_json::Value = serde_json::from_str(spoke_fake::MINIMAL_SEED).unwrap();
    seed["requests"][0]["status"] = json!("LOCKED");
    let f = spawn_with(SpokeFake::new(seed).unwrap()).await;
    let r = f
        .client
        .get_request(&RequestId::new(SEEDED_REQUEST))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, Some(RequestStatus::Locked));
    assert_eq!(r.answer(&FieldId::new(FIELD_HANDLE)), Some("octocat"));
    assert_eq!(r.answer_by_label("Expiration date"), Some("2026-08-22"));
    let u = f
        .client
        .get_user(&UserId::new(ALICE))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.memberships[0].status.as_deref(), Some("ACTIVE"));
    assert_eq!(u.status, None);
    assert_eq!(u.effective_status(), Some("ACTIVE"));
    let team = f.client.get_team(&TeamId::new(IT)).await.unwrap().unwrap();
    assert!(team.has_agent(&UserId::new(ALICE)));
    assert_eq!(team.delegation().unwrap().specific_user, None);
}

#[tokio::test]
async fn spk13_list_requests_sends_the_status_list_comma_separated_and_forwards_every_filter() {
    let f = spawn().await;
    let query = RequestQuery {
        statuses: vec![RequestStatus::Open, RequestStatus::Pending],
        team: Some(TeamId::new(IT)),
        tags: vec![TagId::new(TAG_ACTIVE), TagId::new(TAG_REMOVED)],
        q: Some("\"octocat\"".to_owned()),
        start: Some(0),
        limit: Some(30),
        sort: Some(RequestSort::CreatedFirst),
        ..RequestQuery::default()
    };
    let page = f.client.list_requests(&query).await.unwrap();
    assert_eq!(page.results.len(), 1);
    assert_eq!(page.total, Some(1));
    let call = &f.fake.kit().calls("GET", "/requests")[0];
    let pairs = query_pairs(call.query.as_deref().unwrap());
    for (k, v) in [
        ("status", "OPEN,PENDING"),
        ("team", IT),
        ("tag", &format!("{TAG_ACTIVE},{TAG_REMOVED}")),
        ("q", "\"octocat\""),
        ("start", "0"),
        ("limit", "30"),
        ("sort", "createdFirst"),
    ] {
        assert!(
            pairs.contains(&(k.to_owned(), v.to_owned())),
            "{k}={v} in {pairs:?}"
        );
    }
    assert!(
        !pairs.iter().any(|(k, _)| k == "filter"),
        "filter omitted unless configured"
    );
}

#[tokio::test]
async fn spk14_tags_are_added_and_removed_against_204_answers() {
    let f = spawn().await;
    let id = RequestId::new(SEEDED_REQUEST);
    f.client
        .add_tags(&id, &[TagId::new(TAG_REMOVED)])
        .await
        .unwrap();
    f.client
        .remove_tag(&id, &TagId::new(TAG_ACTIVE))
        .await
        .unwrap();
    let r = f.client.get_request(&id).await.unwrap().unwrap();
    assert_eq!(r.tags, vec![TagId::new(TAG_REMOVED)]);
    let call = &f.fake.kit().calls("PATCH", "/tags")[0];
    assert_eq!(
        call.json_body().unwrap(),
        json!({"tags": [{"_id": TAG_REMOVED}]})
    );
    let err = f
        .client
        .add_tags(
            &RequestId::new("ffffffffffffffffffffffff"),
            &[TagId::new(TAG_ACTIVE)],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, SpokeError::NotFound { .. }),
        "writes report 404 as an error"
    );
}

#[tokio::test]
async fn spk15_a_deadline_shorter_than_the_rate_limit_wait_stops_early_with_the_last_error() {
    let f = spawn().await;
    f.control(
        "/rate-limit",
        json!({"rejectNext": 1, "resetInSecs": 2, "retryAfter": true}),
    )
    .await;
    let started = Instant::now();
    let err = f
        .client
        .with_deadline(Instant::now() + Duration::from_millis(1000))
        .whoami()
        .await
        .unwrap_err();
    assert!(matches!(err, SpokeError::RateLimited { .. }), "{err:?}");
    assert_eq!(err.attempts(), 1);
    assert!(started.elapsed() < Duration::from_millis(1000));
}

#[tokio::test]
async fn spk15_a_scoped_deadline_applies_through_a_trait_object() {
    let f = spawn().await;
    f.fake
        .add_fault(Some("GET"), "/teams/*", None, json!({"status": 503}));
    let api: Arc<dyn SpokeApi> = Arc::new(
        spoke_client::SpokeClient::builder(
            lambda_kit::http::default_client(),
            secrecy::SecretString::from(SVC_KEY),
        )
        .base_url(f.api())
        .retry_policy(spoke_client::RetryPolicy {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(4),
            ..spoke_client::RetryPolicy::default()
        })
        .build()
        .unwrap(),
    );
    let started = Instant::now();
    let deadline = Instant::now() + Duration::from_millis(400);
    let result =
        spoke_client::with_deadline(deadline, async { api.get_team(&TeamId::new(IT)).await }).await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, SpokeError::Server { status: 503, .. }),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn find_request_stops_at_the_first_exact_match() {
    let f = spawn().await;
    let query = RequestQuery {
        q: Some("\"octocat\"".into()),
        ..RequestQuery::all_statuses()
    };
    let found = f
        .client
        .find_request(&query, &|r| {
            r.answer(&FieldId::new(FIELD_HANDLE))
                .is_some_and(|h| h.eq_ignore_ascii_case("octocat"))
        })
        .await
        .unwrap();
    assert_eq!(found.unwrap().id, RequestId::new(SEEDED_REQUEST));
    let none = f
        .client
        .find_request(&RequestQuery::all_statuses(), &|r| {
            r.subject.as_deref() == Some("nope")
        })
        .await
        .unwrap();
    assert!(none.is_none());
}

#[tokio::test]
async fn a_collaborator_ticket_round_trip_uses_every_write() {
    let f = spawn().await;
    let me = f.client.whoami().await.unwrap();
    assert_eq!(me.user, UserId::new(SVC));
    let rt = f
        .client
        .get_request_type(&RequestTypeId::new(REQUEST_TYPE))
        .await
        .unwrap()
        .unwrap();
    let handle = rt
        .field_by_label("github HANDLE")
        .unwrap()
        .uuid
        .clone()
        .unwrap();
    let created = f
        .client
        .create_request(
            &NewRequest::new("hubot Collaborator Access", me.user.clone())
                .team(TeamId::new(IT))
                .request_type(rt.id.clone())
                .privacy(spoke_client::PrivacyLevel::Private)
                .answer(handle.clone(), "hubot"),
        )
        .await
        .unwrap();
    assert_eq!(created.answer(&handle), Some("hubot"));
    assert!(created.owner.is_some(), "auto-delegated");
    let update = f
        .client
        .post_message(
            &created.id,
            &NewMessage::from_user(&me.user, "Access extended."),
        )
        .await
        .unwrap();
    assert_eq!(update.text(), Some("Access extended."));
    let resolved = f
        .client
        .update_request(&created.id, &RequestPatch::status(RequestStatus::Resolved))
        .await
        .unwrap();
    assert!(resolved.last_resolved_at.is_some());
    let tags = f
        .client
        .all_tags(&spoke_client::TagQuery::default())
        .await
        .unwrap();
    assert_eq!(tags.len(), 2);
    let teams = f
        .client
        .all_teams(&spoke_client::TeamQuery::default())
        .await
        .unwrap();
    assert_eq!(teams.len(), 2);
    let types = f
        .client
        .all_request_types(&spoke_client::RequestTypeQuery::default())
        .await
        .unwrap();
    assert_eq!(types.len(), 1);
    assert_eq!(f.fake.messages(created.id.as_str()).len(), 1);
}

#[tokio::test]
async fn requests_can_be_consumed_as_a_stream() {
    use futures::TryStreamExt;
    let f = spawn().await;
    for i in 0..3 {
        f.client
            .create_request(
                &NewRequest::new(format!("r{i}"), UserId::new(SVC)).team(TeamId::new(IT)),
            )
            .await
            .unwrap();
    }
    let query = RequestQuery {
        limit: Some(2),
        ..RequestQuery::all_statuses()
    };
    let all: Vec<_> = f
        .client
        .stream_requests(&query)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(f.calls("GET", "/requests"), 2);
}
