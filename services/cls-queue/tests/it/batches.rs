//! Batch semantics (README, "What one batch does"; CLS-11, CLS-17, CLS-21 and the load cases).

use std::collections::HashMap;
use std::time::Duration;

use cls_core::MemberAction;

use crate::support::*;

#[tokio::test]
async fn twenty_copies_of_one_delivery_make_exactly_one_ticket() {
    let stack = spawn().await;
    let event = Event::octocat_by_alice("widgets");
    let sends = (0..20).map(|i| {
        let dedup = if i % 2 == 0 {
            event.delivery.clone()
        } else {
            format!("copy-{i}")
        };
        let stack = &stack;
        let event = &event;
        async move { stack.send_with_dedup(event, &dedup).await }
    });
    futures::future::join_all(sends).await;
    stack.drain(Duration::from_secs(60)).await;
    assert_eq!(stack.requests().len(), 1);
    assert_eq!(stack.spoke_calls("POST", "/requests"), 1);
    assert_eq!(stack.spoke_calls("POST", "/messages"), 0);
}

#[tokio::test]
async fn a_hundred_events_for_ten_collaborators_keep_each_collaborators_order() {
    let stack = spawn().await;
    let logins: Vec<String> = (0..10).map(|i| format!("collab{i}")).collect();
    // Per collaborator: added, then 9 edits with increasing permission names; interleaved across collaborators.
    for step in 0..10 {
        for login in &logins {
            let event = if step == 0 {
                Event::added(login, "widgets")
                    .sender("alice")
                    .permission("p0")
            } else {
                Event::new(MemberAction::Edited, login, "widgets")
                    .sender("alice")
                    .permission(&format!("p{step}"))
                    .previous(&format!("p{}", step - 1))
            };
            stack.send(&event).await;
        }
    }
    stack.drain(Duration::from_secs(120)).await;
    let requests = stack.requests();
    assert_eq!(requests.len(), 10);
    for r in &requests {
        let login = Stack::answer(r, 2).unwrap();
        assert!(
            Stack::answer(r, 6).unwrap().contains(": p9 "),
            "{login} ends on the last permission"
        );
        let messages = stack.messages(r["id"].as_str().unwrap());
        assert_eq!(messages.len(), 9, "{login}: {messages:?}");
        for (i, m) in messages.iter().enumerate() {
            assert!(
                m.contains(&format!("from p{i} to p{}", i + 1)),
                "{login} message {i} out of order: {m}"
            );
        }
    }
}

#[tokio::test]
async fn a_spoke_500_retries_that_record_and_its_groups_later_records_while_others_succeed() {
    let stack = spawn().await;
    // octocat's create fails once with 500 (never committed); bob's events are unaffected.
    stack.spoke.add_fault(
        Some("POST"),
        "/requests",
        Some(1),
        serde_json::json!({"status": 500}),
    );
    let first = Event::octocat_by_alice("widgets");
    stack.send(&first).await;
    stack.send(&Event::octocat_by_alice("gadgets")).await;
    stack
        .send(&Event::added("bob", "widgets").sender("alice"))
        .await;
    let outcome = stack.source.poll_once().await.unwrap().expect("a batch");
    assert_eq!(outcome.message_ids.len(), 3, "one batch of three");
    assert_eq!(
        outcome.failed.len(),
        2,
        "octocat's two records are reported failed"
    );
    assert_eq!(outcome.deleted.len(), 1, "bob's record succeeded");
    assert_eq!(stack.requests().len(), 1);
    stack.drain(Duration::from_secs(60)).await;
    let by_login: HashMap<String, serde_json::Value> = stack
        .requests()
        .into_iter()
        .map(|r| (Stack::answer(&r, 2).unwrap(), r))
        .collect();
    assert_eq!(by_login.len(), 2, "nothing lost");
    let octocat = &by_login["octocat"];
    assert!(
        Stack::answer(octocat, 6).unwrap().contains("acme/gadgets"),
        "the later record applied after the first"
    );
    assert_eq!(stack.messages(octocat["id"].as_str().unwrap()).len(), 1);
}

#[tokio::test]
async fn a_record_that_keeps_failing_retryably_ends_in_the_dlq() {
    let stack = spawn_with(Options {
        visibility_secs: 1,
        max_receive_count: 5,
        ..Options::default()
    })
    .await;
    stack.spoke.add_fault(
        Some("GET"),
        "/requests",
        None,
        serde_json::json!({"status": 500}),
    );
    stack.send(&Event::octocat_by_alice("widgets")).await;
    stack.drain(Duration::from_secs(60)).await;
    let dlq = stack.dlq_depth_reaching(1).await;
    assert_eq!(
        dlq, 1,
        "the message is dead-lettered after maxReceiveCount receives"
    );
    let receives: Vec<u32> = stack.receive_counts();
    assert_eq!(
        receives,
        vec![1, 2, 3, 4, 5],
        "handled on each of the 5 receives, then moved"
    );
    assert!(stack.requests().is_empty());
    let alerts = stack.alerts();
    assert_eq!(
        alerts.len(),
        1,
        "retries alert only on the last receive: {alerts:?}"
    );
    assert!(
        alerts[0].contains("RetriesExhausted")
            && alerts[0].contains("receive 5 of 5")
            && alerts[0].contains("collaborator: octocat"),
        "{alerts:?}"
    );
    assert_eq!(stack.metrics.total("RetriesExhausted"), 1.0);
}

#[tokio::test]
async fn a_permanently_bad_record_is_acknowledged_with_one_alert_and_others_proceed() {
    let stack = spawn().await;
    stack
        .send_raw("gh-38302899-1", "bad-1", "this is not json")
        .await;
    stack.send(&Event::octocat_by_alice("widgets")).await;
    let outcome = stack.source.poll_once().await.unwrap().expect("a batch");
    assert!(
        outcome.is_success(),
        "nothing is left for retry: {outcome:?}"
    );
    assert_eq!(stack.requests().len(), 1);
    let alerts = stack.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("PermanentFailure"));
    assert_eq!(stack.metrics.total("PermanentFailure"), 1.0);
    let line = stack
        .metrics
        .lines()
        .into_iter()
        .find(|l| l.contains("\"PermanentFailure\""))
        .unwrap();
    let emf: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["Stage"], ["Stage", "kind", "reason"]]),
        "alarmable per stage, broken down by kind and reason"
    );
    assert_eq!(
        (emf["kind"].as_str(), emf["reason"].as_str()),
        (Some("unknown"), Some("not_json"))
    );
    assert_eq!(stack.dlq_depth().await, 0);
}

#[tokio::test]
async fn a_hidden_membership_fails_the_record_until_it_is_dead_lettered() {
    let stack = spawn_with(Options {
        visibility_secs: 1,
        max_receive_count: 5,
        ..Options::default()
    })
    .await;
    stack.github.kit().add_fault(fake_kit::FaultRule::new(
        Some("GET"),
        "/orgs/acme/members/*",
        None,
        serde_json::json!({"status": 302}),
    ));
    stack.send(&Event::octocat_by_alice("widgets")).await;
    stack.drain(Duration::from_secs(60)).await;
    assert_eq!(stack.dlq_depth_reaching(1).await, 1);
    assert!(stack.spoke.kit().journal().is_empty());
}

#[tokio::test]
async fn unknown_kinds_are_retried_and_kept_in_the_dlq_for_a_redrive() {
    let stack = spawn_with(Options {
        visibility_secs: 1,
        max_receive_count: 2,
        ..Options::default()
    })
    .await;
    let mut env: serde_json::Value = serde_json::from_str(
        &stack
            .envelope(&Event::added("octocat", "widgets"))
            .to_json(),
    )
    .unwrap();
    // A kind a later deployment may add: retried, then kept in the DLQ for a redrive after that deployment.
    env["kind"] = "renewal".into();
    env["renewal"] = serde_json::json!({"ticket_id": "x"});
    env.as_object_mut().unwrap().remove("member_event");
    stack
        .send_raw("gh-38302899-39652351", "review-x", &env.to_string())
        .await;
    stack.drain(Duration::from_secs(60)).await;
    assert_eq!(stack.dlq_depth_reaching(1).await, 1, "kept for a redrive");
    let alerts = stack.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("RetriesExhausted") && alerts[0].contains("unknown_kind"));
}

#[tokio::test]
async fn a_real_sqs_event_fixture_is_handled_record_by_record() {
    let stack = spawn().await;
    let event: aws_lambda_events::sqs::SqsEvent =
        serde_json::from_str(include_str!("../fixtures/sqs-member-added-and-bad.json")).unwrap();
    let response = stack.handle(event).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "the good record applied, the bad one acknowledged"
    );
    assert_eq!(stack.requests().len(), 1);
    assert_eq!(stack.alerts().len(), 1);
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(json, serde_json::json!({"batchItemFailures": []}));
}

#[tokio::test]
async fn when_the_second_of_three_records_fails_retryably_records_two_and_three_are_reported_and_one_is_not()
 {
    let stack = spawn().await;
    let original = Event::octocat_by_alice("widgets");
    stack.send(&original).await;
    stack.drain(Duration::from_secs(30)).await;
    stack.spoke.add_fault(
        Some("PATCH"),
        "/requests/*",
        None,
        serde_json::json!({"status": 503}),
    );
    // Record 1: a redelivery of the applied event (acknowledged without any write).
    stack.send_with_dedup(&original, "redelivered-1").await;
    stack.send(&Event::octocat_by_alice("gadgets")).await;
    stack.send(&Event::octocat_by_alice("tools")).await;
    stack
        .send(&Event::added("bob", "widgets").sender("alice"))
        .await;
    let outcome = stack.source.poll_once().await.unwrap().expect("a batch");
    assert_eq!(outcome.message_ids.len(), 4);
    assert_eq!(
        outcome.failed,
        outcome.message_ids[1..3].to_vec(),
        "records 2 and 3 of the group, not record 1"
    );
    assert!(outcome.deleted.contains(&outcome.message_ids[0]));
    assert!(
        outcome.deleted.contains(&outcome.message_ids[3]),
        "the other collaborator is processed"
    );
    stack.spoke.kit().clear_faults();
    stack.drain(Duration::from_secs(60)).await;
    let octocat = stack
        .requests()
        .into_iter()
        .find(|r| Stack::answer(r, 2).as_deref() == Some("octocat"))
        .unwrap();
    let repos = Stack::answer(&octocat, 6).unwrap();
    assert!(
        repos.contains("acme/gadgets") && repos.contains("acme/tools"),
        "nothing lost: {repos}"
    );
    let messages = stack.messages(octocat["id"].as_str().unwrap());
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages[0].contains("acme/gadgets") && messages[1].contains("acme/tools"),
        "in order: {messages:?}"
    );
}

#[tokio::test]
async fn a_refused_spoke_key_is_retried_and_a_rotated_key_is_picked_up_without_losing_the_record() {
    let stack = spawn_with(Options {
        spoke_key: Some("revoked-key".to_owned()),
        ..Options::default()
    })
    .await;
    stack.send(&Event::octocat_by_alice("widgets")).await;
    let outcome = stack.source.poll_once().await.unwrap().expect("a batch");
    assert_eq!(outcome.failed.len(), 1, "retried, not acknowledged");
    assert_eq!(stack.alerts().len(), 1, "IT is told the key is refused");
    // The operator rotates the key in the secret; the next attempt re-reads it.
    let mut secret = stack.spoke_secret.clone();
    secret["api_key"] = SPOKE_KEY.into();
    devstack::aws::put_secret(&stack.secrets_sdk, &stack.spoke_secret_id, &secret)
        .await
        .unwrap();
    stack.drain(Duration::from_secs(30)).await;
    assert_eq!(stack.requests().len(), 1);
    assert_eq!(stack.dlq_depth().await, 0);
}

/// How a test breaks the GitHub side, and how the operator fixes it.
enum Breakage {
    Fault(&'static str, &'static str, serde_json::Value),
    MembersPermissionRemoved,
    Suspended,
    Uninstalled,
}

impl Breakage {
    fn apply(&self, github: &github_fake::GithubFake) {
        match self {
            Self::Fault(method, path, action) => {
                github.kit().add_fault(fake_kit::FaultRule::new(
                    Some(method),
                    path,
                    None,
                    action.clone(),
                ));
            }
            Self::MembersPermissionRemoved => {
                github.set_permission(ORG, "members", "none").unwrap()
            }
            Self::Suspended => github.set_suspended(ORG, true).unwrap(),
            Self::Uninstalled => github.set_installed(ORG, false).unwrap(),
        }
    }

    fn fix(&self, github: &github_fake::GithubFake) {
        match self {
            Self::Fault(..) => github.kit().clear_faults(),
            Self::MembersPermissionRemoved => {
                github.set_permission(ORG, "members", "read").unwrap()
            }
            Self::Suspended => github.set_suspended(ORG, false).unwrap(),
            Self::Uninstalled => github.set_installed(ORG, true).unwrap(),
        }
    }
}

/// Only the permanent failures the README lists ("What one batch does") may be dropped. A 401 after the token refresh,
/// a 403 without rate-limit signs on the membership check (the App lost "Members: read"), and a token mint refused
/// because the App key is wrong (401), the installation is suspended (403) or the App was uninstalled (404) are
/// retried, dead-lettered with one alert on the last receive, and the collaborator gets a ticket once the cause is
/// fixed and the DLQ redriven.
#[tokio::test]
async fn github_refusals_that_are_not_permanent_are_retried_dead_lettered_alerted_and_redrivable() {
    let cases = [
        (
            "membership 401 after the token refresh",
            Breakage::Fault(
                "GET",
                "/orgs/acme/members/*",
                serde_json::json!({"status": 401, "body": {"message": "Bad credentials"}}),
            ),
        ),
        (
            "membership 403: the App lost Members: read",
            Breakage::MembersPermissionRemoved,
        ),
        (
            "token mint 401: the App key is refused",
            Breakage::Fault(
                "POST",
                "/app/installations/*/access_tokens",
                serde_json::json!({"status": 401, "body": {"message": "A JSON web token could not be decoded"}}),
            ),
        ),
        (
            "token mint 403: installation suspended",
            Breakage::Suspended,
        ),
        ("token mint 404: App uninstalled", Breakage::Uninstalled),
    ];
    let runs = cases.into_iter().map(|(case, breakage)| async move {
        let stack = spawn_with(Options {
            visibility_secs: 1,
            max_receive_count: 2,
            ..Options::default()
        })
        .await;
        breakage.apply(&stack.github);
        stack.send(&Event::octocat_by_alice("widgets")).await;
        stack.drain(Duration::from_secs(60)).await;
        assert_eq!(
            stack.dlq_depth_reaching(1).await,
            1,
            "{case}: dead-lettered, not dropped"
        );
        let receives: Vec<u32> = stack.receive_counts();
        assert_eq!(
            receives,
            vec![1, 2],
            "{case}: reported failed on each receive"
        );
        assert!(stack.requests().is_empty(), "{case}");
        assert_eq!(stack.metrics.total("PermanentFailure"), 0.0, "{case}");
        let alerts = stack.alerts();
        assert_eq!(alerts.len(), 1, "{case}: {alerts:?}");
        assert!(
            alerts[0].contains("RetriesExhausted")
                && alerts[0].contains("receive 2 of 2")
                && alerts[0].contains("org: acme")
                && alerts[0].contains("collaborator: octocat"),
            "{case}: {alerts:?}"
        );
        // The operator fixes the cause and redrives: the collaborator gets the ticket.
        breakage.fix(&stack.github);
        assert_eq!(stack.redrive().await, 1);
        stack.drain(Duration::from_secs(60)).await;
        assert_eq!(
            stack.requests().len(),
            1,
            "{case}: ticket after the redrive (DLQ {})",
            stack.dlq_depth().await
        );
        assert_eq!(stack.dlq_depth().await, 0, "{case}");
    });
    futures::future::join_all(runs).await;
}

/// README, "Secrets": the secrets are re-read on their TTL (`CLS_SECRETS_TTL_SECONDS`), so an org added to
/// `cls/github` and a changed App credential are used by the next record without a redeploy, and a changed
/// secret that does not validate keeps the last good settings with one alert.
#[tokio::test]
async fn changed_github_secrets_are_used_after_the_ttl_without_a_restart() {
    let stack = spawn_with(Options {
        demo_github: true,
        secrets_ttl_secs: 1,
        orgs: &["acme"],
        ..Options::default()
    })
    .await;
    let ttl = Duration::from_millis(1500);
    let put = |value: serde_json::Value| {
        let stack = &stack;
        async move {
            devstack::aws::put_secret(&stack.secrets_sdk, &stack.github_secret_id, &value)
                .await
                .unwrap();
        }
    };
    let globex = || {
        Event::added("dependabot-fan", "reactor")
            .org("globex")
            .sender("it-admin")
    };
    // globex is not configured yet: its event is acknowledged as an unknown org.
    stack.send(&globex()).await;
    stack.drain(Duration::from_secs(30)).await;
    assert!(stack.requests().is_empty());
    assert_eq!(stack.metrics.total("UnknownOrg"), 1.0);

    // The operator adds globex to cls/github; after the TTL the next record uses it.
    put(github_secret(&stack.github, &["acme", "globex"], false)).await;
    tokio::time::sleep(ttl).await;
    stack.send(&globex()).await;
    stack.drain(Duration::from_secs(30)).await;
    let requests = stack.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(Stack::answer(&requests[0], 4).as_deref(), Some("globex"));

    // A changed App credential is picked up too: a wrong App id makes GitHub refuse the token (retried) …
    let mut wrong = github_secret(&stack.github, &["acme", "globex"], false);
    wrong["orgs"][0]["app_id"] = 999_999.into();
    put(wrong).await;
    tokio::time::sleep(ttl).await;
    stack.send(&Event::octocat_by_alice("widgets")).await;
    let outcome = stack.source.poll_once().await.unwrap().expect("a batch");
    assert_eq!(
        outcome.failed.len(),
        1,
        "the refused App credential is in use"
    );
    // … and the corrected one is used on the redelivery after the TTL, without a restart.
    put(github_secret(&stack.github, &["acme", "globex"], false)).await;
    tokio::time::sleep(ttl).await;
    stack.drain(Duration::from_secs(30)).await;
    assert_eq!(stack.requests().len(), 2);

    // A changed secret that does not validate keeps the last good settings, with one alert.
    let mut invalid = github_secret(&stack.github, &["acme", "globex"], false);
    invalid["orgs"][1]["org_id"] = invalid["orgs"][0]["org_id"].clone();
    put(invalid).await;
    tokio::time::sleep(ttl).await;
    stack.send(&Event::octocat_by_alice("gadgets")).await;
    stack.drain(Duration::from_secs(30)).await;
    let octocat = stack
        .requests()
        .into_iter()
        .find(|r| Stack::answer(r, 2).as_deref() == Some("octocat"))
        .unwrap();
    assert!(Stack::answer(&octocat, 6).unwrap().contains("acme/gadgets"));
    let alerts = stack.alerts();
    let invalid_alerts: Vec<&String> = alerts
        .iter()
        .filter(|a| a.contains("SettingsInvalid"))
        .collect();
    assert_eq!(invalid_alerts.len(), 1, "{alerts:?}");
    assert!(
        invalid_alerts[0].contains("orgs[1].org_id"),
        "{invalid_alerts:?}"
    );
}

/// The per-function layout: cls-queue reads the alert URL from `cls/alerts` and needs no webhook or signing
/// secret (the default stack has neither); while `cls/alerts` does not exist, the old `cls/slack` still
/// carries the URL.
#[tokio::test]
async fn alerts_use_the_alerts_secret_and_fall_back_to_the_old_slack_secret() {
    for legacy_layout in [false, true] {
        let stack = spawn_with(Options {
            legacy_layout,
            ..Options::default()
        })
        .await;
        stack
            .send_raw("gh-38302899-1", "bad-1", "this is not json")
            .await;
        stack.drain(Duration::from_secs(30)).await;
        let alerts = stack.alerts();
        assert_eq!(alerts.len(), 1, "legacy {legacy_layout}: {alerts:?}");
        assert!(alerts[0].contains("PermanentFailure"));
    }
}
