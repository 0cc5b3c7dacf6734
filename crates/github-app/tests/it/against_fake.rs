use std::sync::Arc;
use std::time::Duration;

use github_app::{GithubApi, GithubError, Membership, RemovalOutcome, app_jwt};
use github_fake::GithubFake;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::support::{Setup, t0, test_creds};

#[tokio::test]
async fn the_fake_accepts_the_app_jwt_and_issues_an_installation_token() {
    let s = Setup::minimal().await;
    let token = s.client.installation_token("acme").await.unwrap();
    assert!(token.expose_secret().starts_with("ghs_"));
    assert!(token.expose_secret().len() > 40);
    let calls = s
        .fake
        .kit()
        .calls("POST", "/app/installations/14988838/access_tokens");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, 201);
    assert_eq!(calls[0].header("authorization"), Some("[REDACTED]"));
}

#[tokio::test]
async fn a_jwt_signed_with_another_key_is_refused() {
    let fake = GithubFake::minimal().unwrap();
    let mut seed = serde_json::from_str::<serde_json::Value>(github_fake::MINIMAL_SEED).unwrap();
    // A public key that does not match the private key the client signs with.
    seed["app"]["public_key_pem"] = json!(OTHER_PUBLIC_KEY);
    drop(fake);
    let s = Setup::new(GithubFake::new(seed).unwrap()).await;
    let err = s.client.installation_token("acme").await.unwrap_err();
    assert!(matches!(err, GithubError::Unauthorized { .. }), "{err:?}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn a_jwt_for_another_app_is_refused() {
    let fake = GithubFake::minimal().unwrap();
    fake.kit().set_time(t0());
    let server = fake.spawn().await.unwrap();
    let client = github_app::GithubClient::builder(
        server.base_url(),
        Arc::new(lambda_kit::FixedClock::new(t0())),
    )
    .installation("acme", 14988838, test_creds(999))
    .build()
    .unwrap();
    let err = client.installation_token("acme").await.unwrap_err();
    assert!(matches!(err, GithubError::Unauthorized { .. }), "{err:?}");
}

#[tokio::test]
async fn the_installation_token_is_reused_for_a_second_call() {
    let s = Setup::minimal().await;
    assert_eq!(
        s.client.membership("acme", "alice").await.unwrap(),
        Membership::Member
    );
    assert_eq!(
        s.client.membership("acme", "octocat").await.unwrap(),
        Membership::NotMember
    );
    assert_eq!(s.token_calls(), 1);
    assert_eq!(s.fake.tokens_issued(), 1);
}

#[tokio::test]
async fn the_token_is_refreshed_five_minutes_before_it_expires() {
    let s = Setup::minimal().await;
    s.client.membership("acme", "alice").await.unwrap();
    s.advance(chrono::Duration::minutes(54));
    s.client.membership("acme", "alice").await.unwrap();
    assert_eq!(s.token_calls(), 1, "still more than 5 minutes left");
    s.advance(chrono::Duration::minutes(2));
    s.client.membership("acme", "alice").await.unwrap();
    assert_eq!(s.token_calls(), 2, "less than 5 minutes left: refreshed");
}

#[tokio::test]
async fn a_refused_token_is_dropped_and_replaced_once() {
    let s = Setup::minimal().await;
    s.client.membership("acme", "alice").await.unwrap();
    s.fault(
        "GET",
        "/orgs/acme/members/*",
        Some(1),
        json!({"status": 401, "body": {"message": "Bad credentials"}}),
    );
    assert_eq!(
        s.client.membership("acme", "alice").await.unwrap(),
        Membership::Member
    );
    assert_eq!(s.token_calls(), 2);
}

#[tokio::test]
async fn a_token_refused_twice_is_unauthorized() {
    let s = Setup::minimal().await;
    s.fault("GET", "/orgs/acme/members/*", None, json!({"status": 401}));
    let err = s.client.membership("acme", "alice").await.unwrap_err();
    assert!(matches!(err, GithubError::Unauthorized { .. }), "{err:?}");
    assert_eq!(s.calls("GET", "/orgs/acme/members/*"), 2);
    assert_eq!(s.token_calls(), 2);
}

#[tokio::test]
async fn a_token_revoked_on_github_is_refreshed() {
    let s = Setup::minimal().await;
    s.client.membership("acme", "alice").await.unwrap();
    s.fake.revoke_tokens();
    assert_eq!(
        s.client.membership("acme", "alice").await.unwrap(),
        Membership::Member
    );
    assert_eq!(s.token_calls(), 2);
    let statuses: Vec<u16> = s
        .fake
        .kit()
        .calls("GET", "/orgs/acme/members/*")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [204, 401, 204]);
}

#[tokio::test]
async fn membership_hidden_from_the_app_is_a_retryable_error() {
    let mut seed = serde_json::from_str::<serde_json::Value>(github_fake::MINIMAL_SEED).unwrap();
    seed["orgs"][0]["membership_hidden"] = json!(true);
    let s = Setup::new(GithubFake::new(seed).unwrap()).await;
    let err = s.client.membership("acme", "octocat").await.unwrap_err();
    assert!(
        matches!(err, GithubError::MembershipHidden { .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(err.status(), Some(302));
}

#[tokio::test]
async fn an_unknown_org_fails_without_a_call() {
    let s = Setup::minimal().await;
    let err = s.client.membership("initech", "alice").await.unwrap_err();
    assert!(matches!(err, GithubError::UnknownOrg { .. }));
    assert!(s.fake.kit().journal().is_empty());
}

#[tokio::test]
async fn users_resolve_by_id_and_deleted_accounts_are_none() {
    let s = Setup::minimal().await;
    let user = s
        .client
        .user_by_id("acme", 39652351)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.login, "octocat");
    assert_eq!(s.client.user_by_id("acme", 123).await.unwrap(), None);
}

#[tokio::test]
async fn removal_reports_removed_then_already_gone_and_refuses_members() {
    let s = Setup::minimal().await;
    assert_eq!(
        s.client
            .remove_outside_collaborator("acme", "octocat")
            .await
            .unwrap(),
        RemovalOutcome::Removed
    );
    assert!(!s.fake.is_outside_collaborator("acme", "octocat"));
    assert_eq!(
        s.client
            .remove_outside_collaborator("acme", "octocat")
            .await
            .unwrap(),
        RemovalOutcome::AlreadyGone
    );
    assert_eq!(
        s.client
            .remove_outside_collaborator("acme", "alice")
            .await
            .unwrap(),
        RemovalOutcome::IsOrgMember
    );
}

#[tokio::test]
async fn a_forbidden_removal_is_permanent_and_not_retried() {
    let s = Setup::minimal().await;
    s.fault(
        "DELETE",
        "/orgs/acme/outside_collaborators/*",
        None,
        json!({"status": 403, "body": {"message": "Must have admin rights"}, "headers": {"x-ratelimit-remaining": "4000"}}),
    );
    let err = s
        .client
        .remove_outside_collaborator("acme", "octocat")
        .await
        .unwrap_err();
    assert!(matches!(err, GithubError::Forbidden { .. }), "{err:?}");
    assert!(!err.is_transient());
    assert_eq!(s.calls("DELETE", "/orgs/acme/outside_collaborators/*"), 1);
}

#[tokio::test]
async fn a_rate_limited_403_is_retried_after_the_reset() {
    let s = Setup::minimal().await;
    let reset = (s.fake.kit().now() + chrono::Duration::seconds(1)).timestamp();
    s.fault(
        "GET",
        "/orgs/acme/members/*",
        Some(1),
        json!({"status": 403, "body": {"message": "API rate limit exceeded"},
               "headers": {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset.to_string()}}),
    );
    let started = std::time::Instant::now();
    assert_eq!(
        s.client.membership("acme", "alice").await.unwrap(),
        Membership::Member
    );
    assert_eq!(s.calls("GET", "/orgs/acme/members/*"), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "waited for the reset"
    );
}

#[tokio::test]
async fn a_rate_limit_longer_than_the_bounded_wait_is_returned_as_retryable() {
    let s = Setup::minimal().await;
    s.fault(
        "GET",
        "/orgs/acme/members/*",
        None,
        json!({"status": 429, "retryAfter": 3600}),
    );
    let err = s.client.membership("acme", "alice").await.unwrap_err();
    match &err {
        GithubError::RateLimited { retry_after, .. } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(3600)))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(err.is_transient());
    assert_eq!(s.calls("GET", "/orgs/acme/members/*"), 1);
}

#[tokio::test]
async fn the_fakes_own_rate_limit_is_honoured() {
    let s = Setup::minimal().await;
    s.client.installation_token("acme").await.unwrap();
    let http = lambda_kit::http::default_client();
    let resp = http
        .post(format!("{}/__fake/rate-limit", s.server.base_url()))
        .json(&json!({"rejectNext": 1, "resetInSecs": 0, "retryAfter": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        s.client.membership("acme", "alice").await.unwrap(),
        Membership::Member
    );
    assert_eq!(s.calls("GET", "/orgs/acme/members/*"), 2);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let s = Setup::minimal().await;
    s.fault("GET", "/orgs/acme/members/*", None, json!({"status": 502}));
    let err = s.client.membership("acme", "alice").await.unwrap_err();
    assert!(
        matches!(err, GithubError::Api { status: 502, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(s.calls("GET", "/orgs/acme/members/*"), 3);
}

#[tokio::test]
async fn a_transient_server_error_is_retried_to_success() {
    let s = Setup::minimal().await;
    s.fault(
        "GET",
        "/orgs/acme/members/*",
        Some(2),
        json!({"status": 503}),
    );
    assert_eq!(
        s.client.membership("acme", "alice").await.unwrap(),
        Membership::Member
    );
    assert_eq!(s.calls("GET", "/orgs/acme/members/*"), 3);
}

#[tokio::test]
async fn a_slow_answer_times_out_after_bounded_retries() {
    let http = lambda_kit::http::http_client_with(
        "cls-test/0",
        Duration::from_millis(500),
        Duration::from_millis(200),
    )
    .unwrap();
    let s = Setup::with_http(GithubFake::minimal().unwrap(), Some(http)).await;
    s.client.installation_token("acme").await.unwrap();
    s.fault(
        "GET",
        "/orgs/acme/members/*",
        None,
        json!({"delayMs": 1500}),
    );
    let started = std::time::Instant::now();
    let err = s.client.membership("acme", "alice").await.unwrap_err();
    assert!(matches!(err, GithubError::Timeout { .. }), "{err:?}");
    assert!(err.is_transient());
    // Three attempts of 200 ms each (a timed-out call never reaches the fake's journal).
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
}

#[tokio::test]
async fn outside_collaborators_are_listed_across_three_pages() {
    let fake = GithubFake::minimal().unwrap();
    for i in 0..250 {
        fake.add_collaborator("acme", "widgets", &format!("guest{i:03}"), "read")
            .unwrap();
    }
    let s = Setup::new(fake).await;
    let all = s.client.outside_collaborators("acme").await.unwrap();
    assert_eq!(all.len(), 251);
    let mut logins: Vec<&str> = all.iter().map(|u| u.login.as_str()).collect();
    logins.sort_unstable();
    logins.dedup();
    assert_eq!(logins.len(), 251, "no page read twice");
    let calls = s
        .fake
        .kit()
        .calls("GET", "/orgs/acme/outside_collaborators");
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|c| {
        c.query
            .as_deref()
            .unwrap_or_default()
            .contains("per_page=100")
    }));
    assert!(
        calls[0]
            .query
            .as_deref()
            .unwrap_or_default()
            .contains("filter=all")
    );
}

#[tokio::test]
async fn repositories_collaborators_invitations_and_permissions_are_read() {
    let s = Setup::demo().await;
    let repos = s.client.org_repos("acme").await.unwrap();
    assert_eq!(
        repos
            .iter()
            .map(|r| r.full_name.as_str())
            .collect::<Vec<_>>(),
        ["acme/widgets", "acme/gadgets", "acme/docs"]
    );
    let outside = s
        .client
        .repo_outside_collaborators("acme", "widgets")
        .await
        .unwrap();
    assert_eq!(outside.len(), 1, "carol is a member");
    assert_eq!(outside[0].login, "octocat");
    assert_eq!(outside[0].role_name.as_deref(), Some("maintain"));
    assert!(outside[0].permissions.unwrap().maintain);
    let invitations = s.client.repo_invitations("acme", "widgets").await.unwrap();
    assert_eq!(invitations.len(), 1);
    assert_eq!(invitations[0].invitee.as_ref().unwrap().login, "mona");
    assert_eq!(invitations[0].inviter.as_ref().unwrap().login, "alice");
    let perm = s
        .client
        .collaborator_permission("acme", "widgets", "octocat")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (perm.permission.as_str(), perm.role_name.as_deref()),
        ("write", Some("maintain"))
    );
    assert_eq!(
        s.client
            .collaborator_permission("acme", "widgets", "nobody-here")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.client
            .collaborator_permission("acme", "nothing", "octocat")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn the_audit_log_is_read_on_enterprise_and_absent_elsewhere() {
    let s = Setup::demo().await;
    let events = s
        .client
        .audit_log(
            "acme",
            "action:repository_invitation.create repo:acme/widgets created:>=2026-01-01",
            5,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor.as_deref(), Some("alice"));
    assert_eq!(events[0].invitee.as_deref(), Some("octocat"));
    assert!(events[0].at().is_some());
    assert_eq!(
        s.client
            .audit_log("globex", "created:>=2026-01-01", 5)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn repository_events_are_read_over_every_page_newest_first() {
    let s = Setup::demo().await;
    let events: Vec<serde_json::Value> = (0..150)
        .map(|i| {
            serde_json::json!({"type": "PushEvent", "actor": {"id": 1000 + i, "login": format!("dev{i}")},
                "created_at": format!("2026-03-01T00:{:02}:{:02}Z", i / 60, i % 60)})
        })
        .collect();
    s.fake.add_repo_events("acme", "widgets", events).unwrap();
    let read = s
        .client
        .repo_events("acme", "widgets", 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.len(), 150, "two pages of 100 and 50");
    assert_eq!(read[0].actor.as_ref().unwrap().login, "dev149");
    assert_eq!(read[0].kind.as_deref(), Some("PushEvent"));
    assert!(read[0].created_at.is_some());
    let first_page_only = s
        .client
        .repo_events("acme", "widgets", 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first_page_only.len(), 100);
    assert_eq!(
        s.client
            .repo_events("acme", "no-such-repo", 3)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn each_org_uses_its_own_installation_token() {
    let s = Setup::demo().await;
    assert_eq!(
        s.client.outside_collaborators("globex").await.unwrap()[0].login,
        "dependabot-fan"
    );
    assert_eq!(
        s.client.outside_collaborators("acme").await.unwrap().len(),
        2
    );
    assert_eq!(s.token_calls(), 2);
}

#[tokio::test]
async fn failed_deliveries_are_listed_and_redelivered_with_the_same_guid() {
    let receiver = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&receiver)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(202))
        .mount(&receiver)
        .await;
    let s = Setup::minimal().await;
    let spec = github_fake::MemberSpec::new("added", "acme", "octocat", "widgets");
    let payload = s.fake.member_payload(&spec).unwrap();
    let url = format!("{}/github/webhook", receiver.uri());
    let sent = s
        .fake
        .send_webhook(&url, "member", Some("guid-1"), &payload)
        .await
        .unwrap();
    assert_eq!(sent.status, 500);

    let deliveries = s.client.hook_deliveries("acme", 3).await.unwrap();
    let failed: Vec<_> = deliveries.iter().filter(|d| d.is_failed()).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].guid, "guid-1");
    s.client.redeliver("acme", failed[0].id).await.unwrap();

    let received = receiver.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[1].headers.get("x-github-delivery").unwrap(),
        "guid-1"
    );
    assert_eq!(received[0].body, received[1].body);
    let secrets = [secrecy::SecretString::from(s.fake.webhook_secret())];
    let sig = received[1]
        .headers
        .get("x-hub-signature-256")
        .unwrap()
        .to_str()
        .unwrap();
    github_app::verify_webhook_signature(&secrets, Some(sig), &received[1].body).unwrap();
}

#[tokio::test]
async fn no_token_key_or_jwt_reaches_logs_debug_output_or_errors() {
    let logs = lambda_kit::tracing_init::capture_logs();
    let s = Setup::minimal().await;
    let token = s.client.installation_token("acme").await.unwrap();
    s.fault("GET", "/orgs/acme/members/*", None, json!({"status": 500}));
    let err = s.client.membership("acme", "alice").await.unwrap_err();
    let jwt = app_jwt(&test_creds(s.fake.app_id()), t0()).unwrap();
    let key_line = github_fake::TEST_APP_PRIVATE_KEY_PEM
        .lines()
        .nth(1)
        .unwrap();
    let needles = [token.expose_secret(), jwt.expose_secret(), key_line];
    logs.assert_absent(&needles).unwrap();
    let shown = format!("{:?} {err} {err:?} {:?}", s.client, test_creds(1));
    for needle in needles {
        assert!(!shown.contains(needle), "secret in {shown}");
    }
    assert!(
        logs.contents().contains("GitHub answered"),
        "the capture sees the client's logs"
    );
    let state = s.fake.state().to_string();
    assert!(!state.contains(token.expose_secret()) && !state.contains("test-only-webhook-secret"));
}

/// A public key unrelated to the committed test key (generated once with openssl, test-only).
const OTHER_PUBLIC_KEY: &str = include_str!("../fixtures/other-public-key.pem");

async fn token_with_key(private_key_pem: String) -> Result<(), GithubError> {
    let fake = GithubFake::minimal().unwrap();
    fake.kit().set_time(t0());
    let server = fake.spawn().await.unwrap();
    let creds = github_app::AppCredentials {
        app_id: fake.app_id(),
        private_key_pem: secrecy::SecretString::from(private_key_pem),
        webhook_secrets: vec![],
    };
    let client = github_app::GithubClient::builder(
        server.base_url(),
        Arc::new(lambda_kit::FixedClock::new(t0())),
    )
    .installation("acme", 14988838, creds)
    .build()?;
    client.installation_token("acme").await.map(|_| ())
}

#[tokio::test]
async fn the_key_is_accepted_as_pkcs1_pkcs8_or_base64_of_the_pem() {
    use base64::Engine as _;
    let pkcs1 = github_fake::TEST_APP_PRIVATE_KEY_PEM.to_owned();
    let pkcs8 = include_str!("../fixtures/test-app-key.pkcs8.pem").to_owned();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&pkcs1);
    token_with_key(pkcs1).await.unwrap();
    token_with_key(pkcs8).await.unwrap();
    token_with_key(b64).await.unwrap();
    let err = token_with_key("not a key".to_owned()).await.unwrap_err();
    assert!(matches!(err, GithubError::InvalidKey { .. }), "{err:?}");
}

#[tokio::test]
async fn the_token_request_is_retried_on_a_server_error() {
    let s = Setup::minimal().await;
    s.fault(
        "POST",
        "/app/installations/*/access_tokens",
        Some(1),
        json!({"status": 502}),
    );
    assert_eq!(
        s.client.membership("acme", "alice").await.unwrap(),
        Membership::Member
    );
    assert_eq!(s.token_calls(), 2);
    assert_eq!(s.fake.tokens_issued(), 1);
}

#[tokio::test]
async fn concurrent_first_calls_mint_a_single_token() {
    let s = Setup::minimal().await;
    let calls = (0..5).map(|_| s.client.membership("acme", "alice"));
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap(), Membership::Member);
    }
    assert_eq!(s.token_calls(), 1);
}

#[tokio::test]
async fn the_installation_shows_its_permissions_and_what_cls_still_needs() {
    let s = Setup::demo().await;
    s.fake.set_permission("acme", "members", "read").unwrap();
    let acme = s.client.installation("acme").await.unwrap().unwrap();
    assert_eq!(acme.id, 14988838);
    assert_eq!(acme.account.as_ref().unwrap().login, "acme");
    assert_eq!(acme.app_id, Some(s.fake.app_id()));
    assert_eq!(
        acme.permission("members"),
        Some(github_app::PermissionLevel::Read)
    );
    assert!(!acme.is_suspended());
    assert_eq!(
        acme.missing(&[github_app::MEMBERS_WRITE, github_app::AUDIT_LOG_READ]),
        vec![github_app::MEMBERS_WRITE]
    );
    let globex = s.client.installation("globex").await.unwrap().unwrap();
    assert!(
        globex
            .missing(&[github_app::MEMBERS_WRITE, github_app::AUDIT_LOG_READ])
            .is_empty()
    );
    assert_eq!(
        s.calls("GET", "/orgs/acme/installation"),
        1,
        "one JWT call, no installation token needed"
    );
    assert_eq!(s.token_calls(), 0);
}

#[tokio::test]
async fn an_org_without_the_app_installed_has_no_installation_and_a_suspended_one_says_so() {
    let s = Setup::demo().await;
    s.fake.set_installed("globex", false).unwrap();
    assert_eq!(s.client.installation("globex").await.unwrap(), None);
    s.fake.set_suspended("acme", true).unwrap();
    let acme = s.client.installation("acme").await.unwrap().unwrap();
    assert!(acme.is_suspended());
    let err = s.client.installation("initech").await.unwrap_err();
    assert!(matches!(err, GithubError::UnknownOrg { .. }), "{err:?}");
}

#[tokio::test]
async fn a_removal_by_an_app_without_members_write_is_forbidden_and_removes_nobody() {
    let s = Setup::minimal().await;
    s.fake.set_permission("acme", "members", "read").unwrap();
    let err = s
        .client
        .remove_outside_collaborator("acme", "octocat")
        .await
        .unwrap_err();
    match &err {
        GithubError::Forbidden { message, .. } => assert_eq!(
            message.as_deref(),
            Some("Resource not accessible by integration")
        ),
        other => panic!("expected Forbidden, got {other:?}"),
    }
    assert!(!err.is_transient(), "no rate-limit signs: permanent");
    assert!(err.is_removal_forbidden());
    assert_eq!(
        s.calls("DELETE", "/orgs/acme/outside_collaborators/octocat"),
        1,
        "a permission 403 is not retried"
    );
    assert!(s.fake.is_outside_collaborator("acme", "octocat"));
    assert_eq!(
        s.client.membership("acme", "octocat").await.unwrap(),
        Membership::NotMember
    );
}
