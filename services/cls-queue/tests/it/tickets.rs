//! Ticket behaviour (README, `member_event`; CLS-8 … CLS-20).

use std::time::Duration;

use cls_core::MemberAction;
use serde_json::Value;

use crate::support::*;

const DRAIN: Duration = Duration::from_secs(30);

fn only_request(stack: &Stack) -> Value {
    let requests = stack.requests();
    assert_eq!(
        requests.len(),
        1,
        "exactly one ticket expected: {requests:#?}"
    );
    requests[0].clone()
}

fn tags(request: &Value) -> Vec<String> {
    request["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_outside_collaborator_added_gets_one_complete_ticket_tagged_access_granted() {
    let stack = spawn().await;
    stack
        .process(&Event::octocat_by_alice("widgets").permission("maintain"))
        .await;

    let r = only_request(&stack);
    assert_eq!(r["subject"], "octocat Collaborator Access (acme)");
    assert_eq!(
        r["body"],
        "'octocat' was added with maintain permissions to acme/widgets by 'alice' at UTC 2026-05-12T14:03:11Z. Access expires on 2027-05-12."
    );
    assert_eq!(r["privacyLevel"], "private");
    assert_eq!(r["requestType"], "61b000000000000000000001");
    assert_eq!(r["requester"], SERVICE_USER);
    assert_eq!(r["owner"], ALICE, "the adder's Spoke user owns the ticket");
    assert_eq!(r["team"], TEAM);
    assert_eq!(Stack::answer(&r, 1).as_deref(), Some("2027-05-12"));
    assert_eq!(Stack::answer(&r, 2).as_deref(), Some("octocat"));
    assert_eq!(
        Stack::answer(&r, 3),
        Some(stack.user_id("octocat").to_string())
    );
    assert_eq!(Stack::answer(&r, 4).as_deref(), Some("acme"));
    assert_eq!(Stack::answer(&r, 5).as_deref(), Some("octocat@example.org"));
    assert_eq!(
        Stack::answer(&r, 6).as_deref(),
        Some("acme/widgets: maintain (added by alice 2026-05-12)")
    );
    assert_eq!(Stack::answer(&r, 7).as_deref(), Some("alice"));
    let state: Value = serde_json::from_str(&Stack::answer(&r, 8).unwrap()).unwrap();
    assert_eq!(state["access"], "granted");
    assert_eq!(state["expires_on"], "2027-05-12");
    assert_eq!(tags(&r), vec![TAG_GRANTED.to_owned()]);
    assert!(
        stack.messages(r["id"].as_str().unwrap()).is_empty(),
        "a new ticket gets no message"
    );
    assert_eq!(stack.spoke_calls("POST", "/requests"), 1);
}

#[tokio::test]
async fn a_29_february_receipt_expires_on_28_february_next_year() {
    let stack = spawn().await;
    stack
        .process(&Event::octocat_by_alice("widgets").at("2028-02-29T09:00:00Z"))
        .await;
    assert_eq!(
        Stack::answer(&only_request(&stack), 1).as_deref(),
        Some("2029-02-28")
    );
}

#[tokio::test]
async fn an_org_member_gets_no_ticket_and_no_spoke_call() {
    let stack = spawn().await;
    stack
        .process(&Event::added("alice", "widgets").sender("it-admin"))
        .await;
    assert!(stack.requests().is_empty());
    assert!(
        stack.spoke.kit().journal().is_empty(),
        "no Spoke call at all"
    );
    assert_eq!(stack.metrics.total("IgnoredOrgMember"), 1.0);
}

#[tokio::test]
async fn an_unresolved_adder_falls_back_to_the_default_owner_and_unknown() {
    let stack = spawn().await;
    // sender = the invitee, and the org has no audit log (not Enterprise Cloud): unresolved.
    stack.process(&Event::added("octocat", "widgets")).await;
    let r = only_request(&stack);
    assert_eq!(r["owner"], DEFAULT_OWNER);
    assert_eq!(Stack::answer(&r, 7).as_deref(), Some("unknown"));
    assert_eq!(stack.metrics.total("AdderUnresolved"), 1.0);
}

#[tokio::test]
async fn a_second_repository_keeps_the_expiry_and_posts_one_message() {
    let stack = spawn().await;
    stack.process(&Event::octocat_by_alice("widgets")).await;
    stack
        .process(&Event::octocat_by_alice("gadgets").at("2026-07-01T10:00:00Z"))
        .await;
    let r = only_request(&stack);
    assert_eq!(Stack::answer(&r, 1).as_deref(), Some("2027-05-12"));
    assert_eq!(
        Stack::answer(&r, 6).as_deref(),
        Some(
            "acme/gadgets: write (added by alice 2026-07-01)\nacme/widgets: write (added by alice 2026-05-12)"
        )
    );
    let messages = stack.messages(r["id"].as_str().unwrap());
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("to acme/gadgets by 'alice'"));
}

#[tokio::test]
async fn an_edit_posts_one_message_with_old_and_new_permission() {
    let stack = spawn().await;
    stack.process(&Event::octocat_by_alice("widgets")).await;
    let edit = Event::new(MemberAction::Edited, "octocat", "widgets")
        .sender("alice")
        .permission("admin")
        .previous("write");
    stack.process(&edit).await;
    let r = only_request(&stack);
    assert_eq!(
        Stack::answer(&r, 6).as_deref(),
        Some("acme/widgets: admin (added by alice 2026-05-12)")
    );
    let messages = stack.messages(r["id"].as_str().unwrap());
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("changed from write to admin in acme/widgets"),
        "{}",
        messages[0]
    );
}

#[tokio::test]
async fn removing_the_last_repository_resolves_the_ticket_and_swaps_the_tags() {
    let stack = spawn().await;
    stack.process(&Event::octocat_by_alice("widgets")).await;
    stack
        .process(&Event::new(MemberAction::Removed, "octocat", "widgets").sender("alice"))
        .await;
    let r = only_request(&stack);
    assert_eq!(r["status"], "RESOLVED");
    assert_eq!(tags(&r), vec![TAG_REMOVED.to_owned()]);
    assert!(
        stack.messages(r["id"].as_str().unwrap())[0]
            .contains("No repositories left; access closed.")
    );
}

#[tokio::test]
async fn a_readd_reopens_the_same_ticket_with_a_new_expiry() {
    let stack = spawn().await;
    stack.process(&Event::octocat_by_alice("widgets")).await;
    stack
        .process(&Event::new(MemberAction::Removed, "octocat", "widgets").sender("alice"))
        .await;
    stack
        .process(&Event::octocat_by_alice("widgets").at("2026-09-01T08:00:00Z"))
        .await;
    let r = only_request(&stack);
    assert_eq!(r["status"], "OPEN");
    assert_eq!(Stack::answer(&r, 1).as_deref(), Some("2027-09-01"));
    assert_eq!(tags(&r), vec![TAG_GRANTED.to_owned()]);
    let state: Value = serde_json::from_str(&Stack::answer(&r, 8).unwrap()).unwrap();
    assert_eq!(state["notified"], Value::Null);
    assert_eq!(stack.metrics.total("TicketReopened"), 1.0);
}

#[tokio::test]
async fn the_same_delivery_processed_again_after_the_dedup_window_writes_nothing() {
    let stack = spawn().await;
    let event = Event::octocat_by_alice("widgets");
    stack.process(&event).await;
    let edit = Event::new(MemberAction::Edited, "octocat", "widgets")
        .sender("alice")
        .permission("admin");
    stack.process(&edit).await;
    let (posts, patches, messages) = (
        stack.spoke_calls("POST", "/requests"),
        stack.spoke_calls("PATCH", "/requests"),
        stack.spoke_calls("POST", "/messages"),
    );
    // The queue's dedup is bypassed with new dedup ids: only the ticket's delivery log can stop them.
    stack.send_with_dedup(&event, "bypass-1").await;
    stack.send_with_dedup(&edit, "bypass-2").await;
    stack.drain(DRAIN).await;
    assert_eq!(stack.requests().len(), 1);
    assert_eq!(
        stack.spoke_calls("POST", "/requests"),
        posts,
        "no second ticket"
    );
    assert_eq!(
        stack.spoke_calls("PATCH", "/requests"),
        patches,
        "no second PATCH"
    );
    assert_eq!(
        stack.spoke_calls("POST", "/messages"),
        messages,
        "no second message"
    );
    assert_eq!(stack.metrics.total("DuplicateDeliverySkipped"), 2.0);
}

#[tokio::test]
async fn a_crash_after_create_is_recovered_by_the_newest_tickets_scan_without_a_second_ticket() {
    let stack = spawn().await;
    // The create is committed but its answer never arrives (outcome unknown), and the search index lags.
    stack.spoke.add_fault(
        Some("POST"),
        "/requests",
        Some(1),
        serde_json::json!({"commitThenDelayMs": 8000}),
    );
    // The lookup before the create (login, id, newest) and the login and id searches after it see nothing:
    // only the newest-tickets scan finds the ticket the lost POST created.
    stack.spoke.add_fault(
        Some("GET"),
        "/requests",
        Some(5),
        serde_json::json!({"status": 200, "body": {"results": [], "total": 0, "start": 0, "limit": 100}}),
    );
    stack.send(&Event::octocat_by_alice("widgets")).await;
    stack.drain(Duration::from_secs(60)).await;
    let r = only_request(&stack);
    assert_eq!(tags(&r), vec![TAG_GRANTED.to_owned()]);
    let scans = stack.spoke.kit().journal().into_iter().filter(|e| {
        e.method == "GET"
            && e.query
                .as_deref()
                .is_some_and(|q| q.contains("createdLast"))
    });
    assert!(
        scans.count() >= 2,
        "the newest-tickets scan ran before and after the lost create"
    );
}

#[tokio::test]
async fn two_matching_tickets_use_the_oldest_tag_the_other_and_alert_once() {
    let stack = spawn().await;
    stack.process(&Event::octocat_by_alice("widgets")).await;
    // A second ticket for the same collaborator appears (e.g. created by hand with the same fields).
    let first = only_request(&stack);
    let mut answers = Vec::new();
    for n in 1..=8 {
        answers.push(
            serde_json::json!({"fieldId": field(n), "value": Stack::answer(&first, n).unwrap()}),
        );
    }
    let http = lambda_kit::http::default_client();
    let created: Value = http
        .post(format!("{}/requests", stack.deps.config.api.spoke))
        .header("Api-Key", SPOKE_KEY)
        .json(&serde_json::json!({"subject": "dup", "requester": SERVICE_USER, "team": TEAM,
            "requestType": "61b000000000000000000001", "requestTypeInfo": {"answeredFields": answers}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stack.send(&Event::octocat_by_alice("gadgets")).await;
    stack.process(&Event::octocat_by_alice("tools")).await;
    let dup = stack
        .spoke
        .request(created["id"].as_str().unwrap())
        .unwrap();
    assert!(tags(&dup).contains(&TAG_ATTENTION.to_owned()));
    let kept = stack.spoke.request(first["id"].as_str().unwrap()).unwrap();
    assert!(
        Stack::answer(&kept, 6).unwrap().contains("acme/tools"),
        "the oldest ticket is used"
    );
    let alerts: Vec<String> = stack
        .alerts()
        .into_iter()
        .filter(|a| a.contains("DuplicateTicketsFound"))
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
}

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let capture = lambda_kit::tracing_init::capture_logs();
    let stack = spawn().await;
    stack.send(&Event::octocat_by_alice("widgets")).await;
    stack.send_raw("gh-1-2", "bad-body", "not json").await;
    stack.drain(DRAIN).await;
    let mut needles: Vec<&str> = stack.secret_values.iter().map(String::as_str).collect();
    needles.push("BEGIN RSA PRIVATE KEY");
    needles.push("BEGIN PRIVATE KEY");
    capture.assert_absent(&needles).unwrap();
    assert!(
        capture.contents().contains("record failed permanently"),
        "the capture saw the run"
    );
}

#[tokio::test]
async fn the_adder_comes_from_the_audit_log_when_the_sender_is_the_invitee() {
    let stack = spawn_with(Options {
        demo_github: true,
        ..Options::default()
    })
    .await;
    stack.process(&Event::added("octocat", "widgets")).await;
    let r = only_request(&stack);
    assert_eq!(
        Stack::answer(&r, 7).as_deref(),
        Some("alice"),
        "the inviter in the audit log"
    );
    assert_eq!(r["owner"], ALICE);
    assert_eq!(stack.metrics.total("AdderUnresolved"), 0.0);
}

#[tokio::test]
async fn every_configured_org_gets_its_own_tickets() {
    let stack = spawn_with(Options {
        demo_github: true,
        ..Options::default()
    })
    .await;
    stack
        .send(
            &Event::added("dependabot-fan", "reactor")
                .org("globex")
                .sender("it-admin"),
        )
        .await;
    stack.process(&Event::octocat_by_alice("widgets")).await;
    let mut orgs: Vec<String> = stack
        .requests()
        .iter()
        .map(|r| Stack::answer(r, 4).unwrap())
        .collect();
    orgs.sort();
    assert_eq!(orgs, vec!["acme", "globex"]);
}

#[tokio::test]
async fn a_ticket_on_the_third_page_of_the_search_is_found_and_near_matches_are_ignored() {
    let stack = spawn().await;
    stack.process(&Event::octocat_by_alice("widgets")).await;
    let mine = only_request(&stack)["id"].as_str().unwrap().to_owned();
    // 240 other tickets the text search also returns: near-match logins and the same login in another org.
    let http = lambda_kit::http::default_client();
    for i in 0..240 {
        let (login, org, uid) = if i % 2 == 0 {
            (format!("octocat{i}"), "acme", 1_000 + i)
        } else {
            ("octocat".to_owned(), "globex", stack.user_id("octocat"))
        };
        let answers = serde_json::json!([
            {"fieldId": field(2), "value": login}, {"fieldId": field(3), "value": uid.to_string()},
            {"fieldId": field(4), "value": org}
        ]);
        let response = http
            .post(format!("{}/requests", stack.deps.config.api.spoke))
            .header("Api-Key", SPOKE_KEY)
            .json(&serde_json::json!({"subject": format!("octocat lookalike {i}"), "requester": SERVICE_USER,
                "team": TEAM, "requestType": "61b000000000000000000001", "requestTypeInfo": {"answeredFields": answers}}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
    let lists_before = stack.spoke_calls("GET", "/requests");
    stack.process(&Event::octocat_by_alice("gadgets")).await;
    assert_eq!(stack.requests().len(), 241, "no new ticket");
    let r = stack.spoke.request(&mine).unwrap();
    assert!(Stack::answer(&r, 6).unwrap().contains("acme/gadgets"));
    let lists = stack.spoke_calls("GET", "/requests") - lists_before;
    assert!(lists >= 3, "all pages read ({lists} list calls)");
    let query = stack
        .spoke
        .kit()
        .journal()
        .into_iter()
        .rfind(|e| e.method == "GET" && e.path.ends_with("/requests"))
        .unwrap();
    let q = query.query.unwrap_or_default();
    assert!(
        q.contains("OPEN")
            && q.contains("PENDING")
            && q.contains("LOCKED")
            && q.contains("AUTO_RESOLVED"),
        "{q}"
    );
}

#[tokio::test]
async fn a_message_that_cannot_be_posted_is_counted_and_never_repeated() {
    let stack = spawn().await;
    stack.process(&Event::octocat_by_alice("widgets")).await;
    stack.spoke.add_fault(
        Some("POST"),
        "/requests/*/messages",
        None,
        serde_json::json!({"status": 500}),
    );
    stack.process(&Event::octocat_by_alice("gadgets")).await;
    let r = only_request(&stack);
    assert!(
        Stack::answer(&r, 6).unwrap().contains("acme/gadgets"),
        "the PATCH was applied"
    );
    assert_eq!(stack.metrics.total("MessageMaybeLost"), 1.0);
    assert_eq!(
        stack.spoke_calls("POST", "/messages"),
        1,
        "posted once, not retried"
    );
}

#[tokio::test]
async fn a_permanent_spoke_refusal_on_a_ticket_tags_it_and_alerts_once() {
    let stack = spawn().await;
    stack.process(&Event::octocat_by_alice("widgets")).await;
    stack.spoke.add_fault(Some("PATCH"), "/requests/*", Some(1), serde_json::json!({"status": 400, "body": {"code": 11008, "message": "The request was malformed."}}));
    stack.process(&Event::octocat_by_alice("gadgets")).await;
    let r = only_request(&stack);
    assert!(tags(&r).contains(&TAG_ATTENTION.to_owned()));
    let alerts = stack.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("PermanentFailure") && alerts[0].contains("octocat"));
}

#[tokio::test]
async fn an_employee_is_skipped_when_the_org_says_so() {
    let stack = spawn().await;
    stack
        .process(&Event::added("staffer", "widgets").sender("alice"))
        .await;
    assert!(stack.requests().is_empty());
    assert_eq!(stack.metrics.total("IgnoredEmployee"), 1.0);
}

#[tokio::test]
async fn the_http_identity_directory_supplies_e_mails_with_a_bearer_token() {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let directory = MockServer::start().await;
    for (login, email, employee) in [
        ("octocat", "octo@corp.example", false),
        ("alice", "alice@example.com", true),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/people/github/{login}")))
            .and(header("authorization", "Bearer id-token-123"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"email": email, "employee": employee})),
            )
            .mount(&directory)
            .await;
    }
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&directory)
        .await;
    let stack = spawn_with(Options {
        identity: Some(serde_json::json!({"source": "http", "http": {"url": format!("{}/people", directory.uri()), "token": "id-token-123"}})),
        ..Options::default()
    })
    .await;
    stack.process(&Event::octocat_by_alice("widgets")).await;
    let r = only_request(&stack);
    assert_eq!(Stack::answer(&r, 5).as_deref(), Some("octo@corp.example"));
    assert_eq!(
        r["owner"], ALICE,
        "the adder's e-mail from the directory finds the Spoke user"
    );
}

/// Rewrites the ticket's `repositories` field as a human editing it in Spoke would (every other answer kept).
async fn edit_repositories(stack: &Stack, request: &Value, text: &str) {
    let mut patch = spoke_client::RequestPatch::default();
    for n in 1..=8u8 {
        let value = if n == 6 {
            text.to_owned()
        } else {
            Stack::answer(request, n).unwrap_or_default()
        };
        patch = patch.answer(spoke_client::FieldId::new(field(n)), value);
    }
    let id = spoke_client::RequestId::new(request["id"].as_str().unwrap());
    stack
        .deps
        .spoke()
        .update_request(&id, &patch)
        .await
        .expect("human edit");
}

#[tokio::test]
async fn a_removal_on_a_ticket_with_an_empty_or_unreadable_repository_list_keeps_it_open_and_asks_a_human()
 {
    for (case, text) in [("empty", ""), ("unreadable", "see the access spreadsheet")] {
        let stack = spawn().await;
        stack.process(&Event::octocat_by_alice("widgets")).await;
        edit_repositories(&stack, &only_request(&stack), text).await;
        stack
            .process(&Event::new(MemberAction::Removed, "octocat", "widgets").sender("alice"))
            .await;
        let r = only_request(&stack);
        assert_eq!(r["status"], "OPEN", "{case}: not closed as access removed");
        let state: Value = serde_json::from_str(&Stack::answer(&r, 8).unwrap()).unwrap();
        assert_eq!(
            state["access"], "granted",
            "{case}: the sweep still expires it"
        );
        assert_eq!(
            Stack::answer(&r, 1).as_deref(),
            Some("2027-05-12"),
            "{case}: expiry kept"
        );
        let t = tags(&r);
        assert!(
            t.contains(&TAG_GRANTED.to_owned()) && t.contains(&TAG_ATTENTION.to_owned()),
            "{case}: {t:?}"
        );
        assert!(!t.contains(&TAG_REMOVED.to_owned()), "{case}: {t:?}");
        let messages = stack.messages(r["id"].as_str().unwrap());
        assert_eq!(messages.len(), 1, "{case}: {messages:?}");
        assert!(
            messages[0].contains("was removed from acme/widgets")
                && !messages[0].contains("access closed"),
            "{case}: {messages:?}"
        );
        let alerts = stack.alerts();
        assert_eq!(alerts.len(), 1, "{case}: {alerts:?}");
        assert!(
            alerts[0].contains("RepositoriesUnreadable")
                && alerts[0].contains("collaborator: octocat"),
            "{case}: {alerts:?}"
        );
        assert_eq!(stack.metrics.total("NeedsAttention"), 1.0, "{case}");
    }
}

/// A stack on github-fake's demo seed (acme with an audit log) whose audit log answers with `action`.
async fn audit_log_answering(action: Value) -> Stack {
    let stack = spawn_with(Options {
        demo_github: true,
        ..Options::default()
    })
    .await;
    stack.github.kit().add_fault(fake_kit::FaultRule::new(
        Some("GET"),
        "/orgs/acme/audit-log",
        None,
        action,
    ));
    stack
}

#[tokio::test]
async fn a_transient_audit_log_failure_retries_the_record_instead_of_recording_unknown() {
    for (case, action) in [
        ("502", serde_json::json!({"status": 502})),
        (
            "429",
            serde_json::json!({"status": 429, "headers": {"retry-after": "0"}}),
        ),
    ] {
        let stack = audit_log_answering(action).await;
        stack.send(&Event::added("octocat", "widgets")).await;
        let outcome = stack.source.poll_once().await.unwrap().expect("a batch");
        assert_eq!(
            outcome.failed.len(),
            1,
            "{case}: reported failed for a retry"
        );
        assert!(
            stack.requests().is_empty(),
            "{case}: no ticket with `unknown`"
        );
        // The audit log answers again: the redelivery resolves the inviter.
        stack.github.kit().clear_faults();
        stack.drain(DRAIN).await;
        let r = only_request(&stack);
        assert_eq!(Stack::answer(&r, 7).as_deref(), Some("alice"), "{case}");
        assert_eq!(r["owner"], ALICE, "{case}");
        assert_eq!(stack.metrics.total("AdderUnresolved"), 0.0, "{case}");
    }
}

#[tokio::test]
async fn an_audit_log_the_app_may_not_read_falls_back_to_the_default_owner() {
    let stack = audit_log_answering(serde_json::json!({"status": 403, "body": {"message": "Resource not accessible by integration"}})).await;
    stack.process(&Event::added("octocat", "widgets")).await;
    let r = only_request(&stack);
    assert_eq!(Stack::answer(&r, 7).as_deref(), Some("unknown"));
    assert_eq!(r["owner"], DEFAULT_OWNER);
    assert_eq!(stack.metrics.total("AdderUnresolved"), 1.0);
}

#[tokio::test]
async fn a_readd_whose_adder_cannot_be_resolved_keeps_the_existing_owner() {
    let stack = spawn().await;
    stack.process(&Event::octocat_by_alice("widgets")).await;
    assert_eq!(only_request(&stack)["owner"], ALICE);
    stack
        .process(&Event::new(MemberAction::Removed, "octocat", "widgets").sender("alice"))
        .await;
    // Re-added with the invitee as sender and no audit log: the adder is unresolved.
    stack
        .process(&Event::added("octocat", "widgets").at("2026-09-01T08:00:00Z"))
        .await;
    let r = only_request(&stack);
    assert_eq!(r["status"], "OPEN");
    assert_eq!(Stack::answer(&r, 1).as_deref(), Some("2027-09-01"));
    assert_eq!(r["owner"], ALICE, "not handed to the default owner");
    assert_eq!(Stack::answer(&r, 7).as_deref(), Some("alice"));
    assert_eq!(stack.metrics.total("AdderUnresolved"), 1.0);
}
