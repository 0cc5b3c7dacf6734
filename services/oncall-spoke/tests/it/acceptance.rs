//! The acceptance items ONC-1 … ONC-32 (one test or more each) against spoke-fake and slack-fake over HTTP.

use std::time::{Duration, Instant};

use fake_kit::RateLimitConfig;
use lambda_kit::tracing_init::capture_logs;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn onc_1_the_spec_sample_event_updates_the_seeded_team_with_exactly_the_delegation() {
    let logs = capture_logs();
    let stack = spawn().await;
    let event = event();
    let id = id_of(&event);
    let response = stack.invoke(event).await.unwrap();
    assert_eq!((response.result, response.reason), ("updated", "updated"));
    let patches = stack.patches();
    assert_eq!(patches.len(), 1);
    assert!(patches[0].path.ends_with(&format!("/teams/{IT}")));
    assert_eq!(
        patches[0].json_body().unwrap(),
        json!({"settings": {"delegation": {"strategy": "SPECIFIC_USER", "specificUser": ALICE}}})
    );
    assert_eq!(stack.team_delegation(IT)["specificUser"], ALICE);
    assert!(stack.slack_posts().is_empty());
    let summary = summary_lines(&logs.contents(), &id);
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0]["result"], "updated");
    assert_eq!(summary[0]["previous_user_id"], BOB);
}

#[tokio::test]
async fn onc_2_a_second_identical_event_makes_no_patch() {
    let logs = capture_logs();
    let stack = spawn().await;
    let event = event();
    let id = id_of(&event);
    stack.invoke(event.clone()).await.unwrap();
    let again = stack.invoke(event).await.unwrap();
    assert_eq!((again.result, again.reason), ("noop", "already_assigned"));
    assert_eq!(stack.patches().len(), 1);
    let summaries = summary_lines(&logs.contents(), &id);
    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[1]["result"], "noop");
    assert_eq!(summaries[1]["reason"], "already_assigned");
}

#[tokio::test]
async fn onc_3_a_team_that_has_not_opted_in_makes_no_call() {
    let stack = spawn().await;
    let mut absent = event();
    absent["detail"]["Team"]
        .as_object_mut()
        .unwrap()
        .remove("spoke");
    let mut null = event();
    null["detail"]["Team"]["spoke"] = Value::Null;
    for e in [absent, null] {
        let r = stack.invoke(e).await.unwrap();
        assert_eq!((r.result, r.reason), ("skipped", "not_opted_in"));
    }
    assert_eq!(stack.spoke_call_count(), 0);
    assert!(stack.slack_posts().is_empty());
}

#[tokio::test]
async fn onc_4_an_empty_spoke_name_alerts_the_team_and_it_without_calling_spoke() {
    let stack = spawn().await;
    let mut e = event();
    e["detail"]["Team"]["spoke"] = json!("");
    let r = stack.invoke(e).await.unwrap();
    assert_eq!(r.reason, "team_key_empty");
    assert_eq!(stack.spoke_call_count(), 0);
    let (team, it) = (stack.posts_to("#it-team"), stack.posts_to("#alerts_it"));
    assert_eq!((team.len(), it.len()), (1, 1));
    assert!(text(&it[0]).contains("`team_key_empty`"));
}

#[tokio::test]
async fn onc_5_level_two_only_or_no_handoffs_are_skipped_silently() {
    let stack = spawn().await;
    let mut level_two = event();
    level_two["detail"]["PagerdutyHandoffs"][1]["escalationLevel"] = json!("2");
    let mut empty = event();
    empty["detail"]["PagerdutyHandoffs"] = json!([]);
    for e in [level_two, empty] {
        let r = stack.invoke(e).await.unwrap();
        assert_eq!((r.result, r.reason), ("skipped", "not_top_level"));
    }
    assert_eq!(stack.spoke_call_count(), 0);
    assert!(stack.slack_posts().is_empty());
}

#[tokio::test]
async fn onc_6_two_level_one_handoffs_make_at_most_one_patch() {
    let stack = spawn().await;
    let mut e = event();
    let second = e["detail"]["PagerdutyHandoffs"][1].clone();
    e["detail"]["PagerdutyHandoffs"]
        .as_array_mut()
        .unwrap()
        .push(second);
    stack.invoke(e).await.unwrap();
    assert_eq!(stack.patches().len(), 1);
}

#[tokio::test]
async fn onc_7_a_missing_empty_or_invalid_email_alerts_once_per_channel() {
    for value in [None, Some(json!("")), Some(json!("not-an-email"))] {
        let stack = spawn().await;
        let mut e = event();
        match value {
            None => {
                e["detail"].as_object_mut().unwrap().remove("OnCallEmail");
            }
            Some(v) => e["detail"]["OnCallEmail"] = v,
        }
        let r = stack.invoke(e).await.unwrap();
        assert_eq!(
            (r.result, r.reason),
            ("permanent_error", "on_call_email_missing")
        );
        assert_eq!(stack.spoke_call_count(), 0);
        assert_eq!(stack.post_counts(), (1, 1));
        assert!(stack.it_text(0).contains("`malformed_event`"));
    }
}

#[tokio::test]
async fn onc_8_bot_accounts_are_skipped_whatever_their_letter_case() {
    let stack =
        spawn_with(Options::default().env("ONCALL_BOT_EMAILS", "svc-bot@example.com")).await;
    let mut previous = event();
    previous["detail"]["PreviouslyOnCall"] = json!("SVC-Bot@Example.com");
    let mut current = event();
    current["detail"]["OnCallEmail"] = json!("Svc-Bot@EXAMPLE.com");
    for e in [previous, current] {
        let r = stack.invoke(e).await.unwrap();
        assert_eq!((r.result, r.reason), ("skipped", "bot_account"));
    }
    assert_eq!(stack.spoke_call_count(), 0);
    assert!(stack.slack_posts().is_empty());
}

#[tokio::test]
async fn onc_9_a_stale_event_is_not_applied_and_only_it_is_told() {
    let stack = spawn_with(Options::default().env("ONCALL_MAX_EVENT_AGE_SECS", "30")).await;
    let r = stack.invoke(event()).await.unwrap();
    assert_eq!((r.result, r.reason), ("skipped", "stale_event"));
    assert!(stack.patches().is_empty());
    assert!(stack.posts_to("#it-team").is_empty());
    let it = stack.posts_to("#alerts_it");
    assert_eq!(it.len(), 1);
    assert!(text(&it[0]).contains("`stale_event`"));
}

#[tokio::test]
async fn onc_10_a_team_name_differing_only_in_case_resolves_and_updates() {
    let stack = spawn().await;
    let r = stack
        .invoke(event_for("alice@example.com", "it"))
        .await
        .unwrap();
    assert_eq!(r.result, "updated");
    assert_eq!(stack.team_delegation(IT)["specificUser"], ALICE);
}

#[tokio::test]
async fn onc_11_teams_are_paged_at_one_hundred_to_find_a_team_on_the_second_page() {
    let mut seed = spoke_seed();
    let teams = seed["teams"].as_array_mut().unwrap();
    for i in 0..150 {
        teams.push(json!({
            "id": format!("6aa0000000000000000{i:05}"), "name": format!("Filler {i:03}"), "slug": format!("filler-{i:03}"),
            "status": "ACTIVE", "agents": [], "settings": {"delegation": {"strategy": "ROUND_ROBIN"}}
        }));
    }
    let stack = spawn_with(Options::default().seed(seed)).await;
    let r = stack.invoke(event()).await.unwrap();
    assert_eq!(r.result, "updated");
    let lists = stack.spoke_calls("GET", "/teams");
    assert!(lists.len() >= 2, "{} list calls", lists.len());
    for call in stack.spoke.kit().journal() {
        let query = call.query.unwrap_or_default();
        for pair in query.split('&') {
            if let Some(limit) = pair.strip_prefix("limit=") {
                assert!(
                    limit.parse::<u32>().unwrap() <= 100,
                    "limit {limit} on {}",
                    call.path
                );
            }
        }
    }
    assert!(
        lists
            .iter()
            .any(|c| c.query.as_deref().unwrap_or_default().contains("start=100"))
    );
}

#[tokio::test]
async fn onc_12_a_configured_id_skips_the_list_and_a_stale_one_falls_back_to_it() {
    let stack =
        spawn_with(Options::default().env("ONCALL_TEAM_IDS", &format!(r#"{{"IT": "{IT}"}}"#)))
            .await;
    assert_eq!(stack.invoke(event()).await.unwrap().result, "updated");
    assert!(stack.spoke_calls("GET", "/teams").is_empty());

    let stale = spawn_with(
        Options::default().env("ONCALL_TEAM_IDS", r#"{"IT": "5cb65407f38ee40007430000"}"#),
    )
    .await;
    assert_eq!(stale.invoke(event()).await.unwrap().result, "updated");
    assert_eq!(
        stale
            .spoke_calls("GET", "/teams/5cb65407f38ee40007430000")
            .len(),
        1
    );
    assert!(!stale.spoke_calls("GET", "/teams").is_empty());
}

#[tokio::test]
async fn onc_12_a_cached_id_that_became_stale_falls_back_to_the_list() {
    let stack = spawn().await;
    stack.invoke(event()).await.unwrap();
    // The team is re-created under a new id: the cached id now answers 404.
    let mut seed = spoke_seed();
    seed["teams"][0]["id"] = json!("5cb65407f38ee4000743e999");
    stack.spoke.reset(Some(seed)).unwrap();
    let r = stack.invoke(event()).await.unwrap();
    assert_eq!(r.result, "updated");
    assert_eq!(r.team_id.unwrap().as_str(), "5cb65407f38ee4000743e999");
    assert_eq!(stack.spoke_calls("GET", &format!("/teams/{IT}")).len(), 1);
}

#[tokio::test]
async fn onc_13_an_unknown_team_alerts_both_channels_without_patch() {
    let stack = spawn().await;
    let r = stack
        .invoke(event_for("alice@example.com", "Nonexistent"))
        .await
        .unwrap();
    assert_eq!((r.result, r.reason), ("permanent_error", "team_not_found"));
    assert!(stack.patches().is_empty());
    assert_eq!(stack.post_counts(), (1, 1));
    assert!(stack.it_text(0).contains("`team_not_found`"));
}

#[tokio::test]
async fn onc_14_the_search_fallback_uses_only_the_exact_email_match() {
    let stack = spawn().await;
    stack.spoke_fault("GET", "/users/email/*", Some(1), json!({"status": 404, "body": {"code": 11003, "message": "The requested item could not be found."}}));
    let r = stack
        .invoke(event_for("ann@example.com", "Helpdesk"))
        .await
        .unwrap();
    assert_eq!(r.result, "updated");
    assert_eq!(r.user_id.unwrap().as_str(), ANN);
    assert_eq!(stack.team_delegation(HELPDESK)["specificUser"], ANN);
    let searches = stack.spoke_calls("GET", "/users");
    assert_eq!(searches.len(), 1);
    assert!(
        searches[0]
            .query
            .as_deref()
            .unwrap()
            .contains("q=ann%40example.com")
    );
}

#[tokio::test]
async fn onc_15_a_search_without_exact_match_alerts_user_not_found() {
    let stack = spawn().await;
    let r = stack
        .invoke(event_for("nn@example.com", "IT"))
        .await
        .unwrap();
    assert_eq!((r.result, r.reason), ("permanent_error", "user_not_found"));
    assert!(stack.patches().is_empty());
    assert_eq!(stack.post_counts(), (1, 1));
}

#[tokio::test]
async fn onc_16_a_user_who_is_not_a_member_alerts_once() {
    let stack = spawn().await;
    let e = event_for("carol@example.com", "IT");
    let r = stack.invoke(e.clone()).await.unwrap();
    assert_eq!((r.result, r.reason), ("permanent_error", "not_team_member"));
    assert!(stack.patches().is_empty());
    stack.invoke(e).await.unwrap();
    let (team, it) = (stack.posts_to("#it-team"), stack.posts_to("#alerts_it"));
    assert_eq!(
        (team.len(), it.len()),
        (1, 1),
        "one alert per channel, not repeated"
    );
    assert!(text(&team[0]).contains("is not a member of the IT Spoke team"));
}

#[tokio::test]
async fn onc_17_round_robin_is_respected_by_default_and_overridden_on_request() {
    let stack = spawn().await;
    let r = stack
        .invoke(event_for("alice@example.com", "Security"))
        .await
        .unwrap();
    assert_eq!((r.result, r.reason), ("skipped", "strategy_respected"));
    assert!(stack.patches().is_empty());
    assert!(stack.slack_posts().is_empty());

    let stack = spawn_with(Options::default().env("ONCALL_STRATEGY_POLICY", "override")).await;
    let r = stack
        .invoke(event_for("alice@example.com", "Security"))
        .await
        .unwrap();
    assert_eq!(r.result, "updated");
    assert_eq!(stack.team_delegation(SECURITY)["strategy"], "SPECIFIC_USER");
    assert_eq!(stack.team_delegation(SECURITY)["specificUser"], ALICE);
}

#[tokio::test]
async fn onc_18_a_dry_run_reads_logs_the_body_and_writes_nothing() {
    let logs = capture_logs();
    let stack = spawn_with(Options::default().env("ONCALL_DRY_RUN", "true")).await;
    let e = event();
    let id = id_of(&e);
    let r = stack.invoke(e).await.unwrap();
    assert_eq!((r.result, r.reason), ("dry_run", "would_update"));
    assert!(!stack.spoke_calls("GET", "/teams").is_empty());
    assert!(stack.patches().is_empty());
    let line = logs
        .contents()
        .lines()
        .find(|l| l.contains(&id) && l.contains("would PATCH"))
        .map(str::to_owned)
        .expect("the intended PATCH is logged");
    assert!(
        line.contains(r#"\"specificUser\":\"5f0c3a9e2b7d4c0012ab3401\""#),
        "{line}"
    );
    // A failing case renders its alerts to the log but posts nothing; the outcome is as in a real run.
    let r = stack
        .invoke(event_for("carol@example.com", "IT"))
        .await
        .unwrap();
    assert_eq!(r.result, "permanent_error");
    assert!(stack.slack_posts().is_empty());
}

#[tokio::test]
async fn onc_19_a_patch_answered_503_twice_then_200_succeeds_in_one_invocation() {
    let logs = capture_logs();
    let stack = spawn().await;
    stack.spoke_fault("PATCH", "/teams/*", Some(2), json!({"status": 503}));
    let e = event();
    let id = id_of(&e);
    let r = stack.invoke(e).await.unwrap();
    assert_eq!(r.result, "updated");
    assert_eq!(stack.patches().len(), 3);
    assert!(stack.slack_posts().is_empty());
    assert_eq!(summary_lines(&logs.contents(), &id)[0]["spoke_retries"], 2);
    assert!((stack.metrics.total("SpokeRetries") - 2.0).abs() < f64::EPSILON);
}

#[tokio::test]
async fn onc_20_spoke_down_fails_the_invocation_and_sends_exactly_one_alert_per_channel() {
    let stack = spawn().await;
    stack.spoke_fault("PATCH", "/teams/*", None, json!({"status": 503}));
    let err = stack.invoke(event()).await.unwrap_err();
    assert_eq!(err.response().reason, "spoke_unavailable");
    assert_eq!(
        lambda_runtime::Diagnostic::from(err).error_type,
        "Retryable"
    );
    let (team, it) = (stack.posts_to("#it-team"), stack.posts_to("#alerts_it"));
    assert_eq!((team.len(), it.len()), (1, 1));
    assert!(text(&it[0]).contains("`spoke_unavailable`"));
}

#[tokio::test]
async fn onc_21_replays_do_not_repeat_the_alert_and_the_recovery_is_noted_once() {
    let stack = spawn().await;
    stack.spoke_fault("PATCH", "/teams/*", None, json!({"status": 503}));
    let e = event();
    stack.invoke(e.clone()).await.unwrap_err();
    stack.invoke(e.clone()).await.unwrap_err();
    assert_eq!(stack.slack_posts().len(), 2);
    stack.spoke.kit().clear_faults();
    let r = stack.invoke(e.clone()).await.unwrap();
    assert_eq!(r.result, "updated");
    let it = stack.posts_to("#alerts_it");
    assert_eq!(it.len(), 2);
    assert!(text(&it[1]).contains("`recovered`"));
    assert_eq!(stack.posts_to("#it-team").len(), 1);
    stack.invoke(e).await.unwrap();
    assert_eq!(stack.slack_posts().len(), 3);
}

#[tokio::test]
async fn onc_22_a_rate_limit_resetting_in_one_second_is_waited_out() {
    let stack = spawn().await;
    stack.spoke.set_rate_limit(RateLimitConfig {
        reject_next: 1,
        reset_in_secs: 1,
        ..RateLimitConfig::default()
    });
    let started = Instant::now();
    let r = stack.invoke(event()).await.unwrap();
    assert_eq!(r.result, "updated");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert!(stack.slack_posts().is_empty());
}

#[tokio::test]
async fn onc_22_a_rate_limit_resetting_in_a_minute_fails_the_invocation_at_once() {
    let stack = spawn().await;
    stack.spoke.set_rate_limit(RateLimitConfig {
        reject_next: 1,
        reset_in_secs: 60,
        ..RateLimitConfig::default()
    });
    let started = Instant::now();
    let err = stack.invoke(event()).await.unwrap_err();
    assert_eq!(err.response().reason, "spoke_unavailable");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn onc_23_a_refused_key_is_reread_once_and_a_rotated_key_is_used_at_once() {
    // Two keys of the service account: the cached one is revoked, the secret already holds the new one.
    let mut seed = spoke_seed();
    seed["apiKeys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "test-key-rotated", "user": "5f0c3a9e2b7d4c0012ab34cd"}));
    let stack = spawn_with(Options::default().seed(seed.clone())).await;
    assert_eq!(stack.invoke(event()).await.unwrap().result, "updated");
    seed["apiKeys"].as_array_mut().unwrap().remove(0);
    stack.spoke.reset(Some(seed)).unwrap();
    stack.put_key("test-key-rotated").await;
    let r = stack.invoke(event()).await.unwrap();
    assert_eq!(
        r.result, "updated",
        "the re-read key works in the same invocation"
    );
    assert_eq!(refused_calls(&stack), 1);
    assert!(stack.slack_posts().is_empty());
}

#[tokio::test]
async fn onc_23_a_key_refused_again_after_the_reread_alerts_spoke_auth() {
    let stack = spawn().await;
    stack.put_key("not-the-key").await;
    let err = stack.invoke(event()).await.unwrap_err();
    assert_eq!(err.response().reason, "spoke_auth");
    assert_eq!(
        refused_calls(&stack),
        2,
        "one call per key read: read, then re-read once"
    );
    assert_eq!(stack.post_counts(), (1, 1));
    assert!(stack.it_text(0).contains("`spoke_auth`"));

    stack.put_key(API_KEY).await;
    let r = stack.invoke(event()).await.unwrap();
    assert_eq!(r.result, "updated");
}

/// Spoke calls refused for the key (403, code 11038).
fn refused_calls(stack: &Stack) -> usize {
    stack
        .spoke
        .kit()
        .journal()
        .iter()
        .filter(|e| e.status == 403)
        .count()
}

#[tokio::test]
async fn onc_24_a_patch_refused_because_the_account_is_not_in_the_team_alerts_the_fix() {
    let stack = spawn().await;
    let r = stack
        .invoke(event_for("alice@example.com", "Design"))
        .await
        .unwrap();
    assert_eq!((r.result, r.reason), ("permanent_error", "update_rejected"));
    assert_eq!(stack.patches().len(), 1);
    let it = stack.posts_to("#alerts_it");
    assert_eq!((stack.posts_to("#it-team").len(), it.len()), (1, 1));
    assert!(
        text(&it[0]).contains("add the service account to the team"),
        "{}",
        text(&it[0])
    );
    assert_eq!(stack.team_delegation(DESIGN)["specificUser"], BOB);
}

#[tokio::test]
async fn onc_25_a_patch_that_changes_nothing_is_retryable_and_alerted() {
    let stack = spawn().await;
    stack.spoke_fault("PATCH", "/teams/*", None, json!({"ignoreWrite": true}));
    let err = stack.invoke(event()).await.unwrap_err();
    assert_eq!(err.response().reason, "update_not_applied");
    assert_eq!(stack.post_counts(), (1, 1));
    assert!(stack.it_text(0).contains("`update_not_applied`"));
}

#[tokio::test]
async fn onc_26_slack_failing_fails_a_permanent_outcome_and_the_retry_delivers_once() {
    let stack = spawn().await;
    stack.slack_fault(None, json!({"status": 500}));
    let e = event_for("carol@example.com", "IT");
    let err = stack.invoke(e.clone()).await.unwrap_err();
    assert_eq!(
        (err.response().result, err.response().reason),
        ("retryable_error", "not_team_member")
    );
    assert!(stack.slack_posts().is_empty());
    stack.slack.fake.kit().clear_faults();
    let r = stack.invoke(e).await.unwrap();
    assert_eq!(r.result, "permanent_error");
    assert_eq!(stack.post_counts(), (1, 1));
}

#[tokio::test]
async fn onc_26_a_webhook_that_times_out_once_is_retried_and_delivered() {
    let stack = spawn_with(Options::default().request_timeout(Duration::from_millis(500))).await;
    stack.slack_fault(Some(1), json!({"delayMs": 2000}));
    let r = stack
        .invoke(event_for("carol@example.com", "IT"))
        .await
        .unwrap();
    assert_eq!((r.result, r.reason), ("permanent_error", "not_team_member"));
    assert_eq!(
        stack.post_counts(),
        (1, 1),
        "the timed-out post was sent again"
    );
    assert_eq!(r.alerts_sent, 2);
}

#[tokio::test]
async fn onc_27_a_webhook_answering_no_service_leaves_the_outcome_and_counts_a_failure() {
    let stack = spawn().await;
    let mut secret = secret_for(&stack.slack, API_KEY);
    secret["slack"]["channelWebhooks"]["#it-team"] = json!(format!(
        "{}/services/T0TEST0001/B0GONE/gone",
        stack.slack.base_url()
    ));
    stack.put_secret(secret).await;
    let r = stack
        .invoke(event_for("carol@example.com", "IT"))
        .await
        .unwrap();
    assert_eq!(r.result, "permanent_error");
    assert_eq!(stack.posts_to("#alerts_it").len(), 1);
    assert!((stack.metrics.total("AlertFailures") - 1.0).abs() < f64::EPSILON);
}

#[tokio::test]
async fn onc_28_channels_are_routed_by_own_webhook_default_webhook_or_merged() {
    let stack = spawn().await;
    stack
        .invoke(event_for("carol@example.com", "IT"))
        .await
        .unwrap();
    let team = stack.posts_to("#it-team");
    assert_eq!(team.len(), 1);
    assert!(
        team[0].get("channel").is_none(),
        "own webhook: no channel field"
    );
    assert_eq!(team[0]["username"], "oncall-spoke alerts");
    assert_eq!(team[0]["icon_emoji"], ":atspoke:");

    let mut default_only = event_for("carol@example.com", "IT");
    default_only["detail"]["Team"]["slack"] = json!("#design-team");
    stack.invoke(default_only).await.unwrap();
    let default = stack.default_posts();
    assert_eq!(default.len(), 1);
    assert_eq!(default[0]["channel"], "#design-team");
    assert_eq!(stack.slack.fake.messages("design-team").len(), 1);

    let shared = spawn_with(Options::default().env("ONCALL_IT_CHANNEL", "#it-team")).await;
    let mut secret = secret_for(&shared.slack, API_KEY);
    secret["slack"]["channelWebhooks"] =
        json!({"#it-team": shared.slack.webhook_url("#it-team").unwrap()});
    shared.put_secret(secret).await;
    shared
        .invoke(event_for("carol@example.com", "IT"))
        .await
        .unwrap();
    assert_eq!(shared.slack_posts().len(), 1);
}

#[tokio::test]
async fn onc_29_alerts_carry_link_team_and_person_and_nothing_secret_is_logged_or_posted() {
    let logs = capture_logs();
    let stack = spawn().await;
    let e = event_for("carol@example.com", "IT");
    let id = id_of(&e);
    stack.invoke(e).await.unwrap();
    stack.spoke_fault("PATCH", "/teams/*", None, json!({"status": 503}));
    stack.invoke(event()).await.unwrap_err();
    for post in stack
        .slack_posts()
        .iter()
        .filter_map(fake_kit::JournalEntry::json_body)
    {
        let t = text(&post);
        assert!(
            t.contains("<https://example.askspoke.com/teams/it|IT team Spoke settings>"),
            "{t}"
        );
        assert!(
            t.contains("*Alice Example*") || t.contains("*Carol Example*"),
            "{t}"
        );
        assert!(!t.contains(API_KEY));
        for s in WEBHOOK_SECRETS {
            assert!(!t.contains(s));
        }
    }
    let it = stack.posts_to("#alerts_it");
    assert!(text(&it[0]).contains(&id));
    assert!(text(&it[0]).contains("`not_team_member`"));
    let mut needles = vec![API_KEY];
    needles.extend(WEBHOOK_SECRETS);
    logs.assert_absent(&needles).unwrap();
}

#[tokio::test]
async fn onc_30_every_invocation_writes_one_summary_line_and_one_handoffs_metric() {
    let logs = capture_logs();
    let stack = spawn().await;
    let mut ids = Vec::new();
    let mut skipped = event();
    skipped["detail"]["Team"]["spoke"] = Value::Null;
    for e in [event(), skipped, event_for("carol@example.com", "IT")] {
        ids.push(id_of(&e));
        stack.invoke(e).await.unwrap();
    }
    let expected = ["updated", "skipped", "permanent_error"];
    for (id, result) in ids.iter().zip(expected) {
        let lines = summary_lines(&logs.contents(), id);
        assert_eq!(lines.len(), 1, "{id}");
        assert_eq!(lines[0]["result"], result);
    }
    let metrics = stack.handoff_metrics();
    assert_eq!(metrics.len(), 3);
    for (m, result) in metrics.iter().zip(expected) {
        assert_eq!(m["Result"], result);
        assert_eq!(m["Handoffs"], 1.0);
    }
}

#[tokio::test]
async fn onc_31_the_secret_is_read_at_most_once_across_ten_invocations() {
    let stack = spawn().await;
    stack.invoke(event()).await.unwrap();
    // A new version that Spoke would refuse: unseen while the cached value is younger than the TTL.
    stack.put_key("not-the-key").await;
    for _ in 0..9 {
        stack.invoke(event()).await.unwrap();
    }
    assert_eq!(refused_calls(&stack), 0, "the cached key was used");
    stack.clock.advance(chrono::Duration::seconds(901));
    let err = stack.invoke(event()).await.unwrap_err();
    assert_eq!(err.response().reason, "spoke_auth");
    assert!(
        refused_calls(&stack) > 0,
        "after the TTL the new version is read"
    );
}

#[tokio::test]
async fn onc_32_a_spoke_slower_than_the_deadline_still_leaves_time_to_alert() {
    let stack = spawn().await;
    stack
        .spoke
        .add_fault(None, "/**", None, json!({"delayMs": 8000}));
    let started = Instant::now();
    let err = stack
        .invoke_within(event(), Some(Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.response().reason, "spoke_unavailable");
    assert_eq!(stack.post_counts(), (1, 1));
}
