//! The Spoke steps beyond the acceptance items: the team-id cache, name matching, closed teams, ambiguous
//! users, the read-back after a PATCH answer without delegation, and the handler on a spawned task.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::support::*;

/// The test seed plus one more team and one more user.
fn seed_with(team: Option<Value>, user: Option<Value>) -> Value {
    let mut seed = spoke_seed();
    seed["teams"].as_array_mut().unwrap().extend(team);
    seed["users"].as_array_mut().unwrap().extend(user);
    seed
}

fn team(id: &str, name: &str, status: &str) -> Value {
    json!({"id": id, "name": name, "slug": name.to_lowercase(), "status": status,
           "agents": [{"user": ALICE}], "settings": {"delegation": {"strategy": "SPECIFIC_USER", "specificUser": BOB}}})
}

#[tokio::test]
async fn the_team_id_is_cached_between_invocations() {
    let stack = spawn().await;
    assert_eq!(stack.invoke(event()).await.unwrap().result, "updated");
    let listings = stack.spoke_calls("GET", "/teams").len();
    assert!(listings > 0);
    assert_eq!(stack.invoke(event()).await.unwrap().result, "noop");
    assert_eq!(
        stack.spoke_calls("GET", "/teams").len(),
        listings,
        "no second listing"
    );
    assert_eq!(stack.spoke_calls("GET", &format!("/teams/{IT}")).len(), 1);
}

#[tokio::test]
async fn an_exact_case_match_wins_and_two_other_case_matches_are_ambiguous() {
    let lower = team("5cb65407f38ee4000743e9a1", "it", "ACTIVE");
    let options = Options::default()
        .seed(seed_with(Some(lower), None))
        .env("ONCALL_TEAM_CACHE_TTL_SECS", "0");
    let stack = spawn_with(options).await;
    let r = stack
        .invoke(event_for("alice@example.com", "IT"))
        .await
        .unwrap();
    assert_eq!(r.team_id.unwrap().as_str(), IT);
    let r = stack
        .invoke(event_for("alice@example.com", "It"))
        .await
        .unwrap();
    assert_eq!((r.result, r.reason), ("permanent_error", "team_ambiguous"));
    assert!(stack.it_text(0).contains("`team_ambiguous`"));
}

#[tokio::test]
async fn a_closed_team_is_a_permanent_error_without_patch() {
    let closed = team("5cb65407f38ee4000743e9a2", "Old", "CLOSED");
    let stack = spawn_with(Options::default().seed(seed_with(Some(closed), None))).await;
    let r = stack
        .invoke(event_for("alice@example.com", "Old"))
        .await
        .unwrap();
    assert_eq!((r.result, r.reason), ("permanent_error", "team_closed"));
    assert!(stack.patches().is_empty());
    assert_eq!(stack.post_counts(), (1, 1));
}

#[tokio::test]
async fn two_users_with_the_same_email_are_ambiguous() {
    let twin = json!({"id": "5f0c3a9e2b7d4c0012ab34a1", "email": "Ann@Example.com", "displayName": "Ann Again", "role": "MEMBER"});
    let stack = spawn_with(Options::default().seed(seed_with(None, Some(twin)))).await;
    stack.spoke_fault("GET", "/users/email/*", None, json!({"status": 405}));
    let r = stack
        .invoke(event_for("ann@example.com", "Helpdesk"))
        .await
        .unwrap();
    assert_eq!((r.result, r.reason), ("permanent_error", "user_ambiguous"));
    assert!(
        stack
            .it_text(0)
            .contains("exact lookup unsupported (HTTP 405)")
    );
    assert!(stack.patches().is_empty());
}

#[tokio::test]
async fn a_patch_answer_without_delegation_is_checked_by_reading_the_team_again() {
    let stack = spawn().await;
    stack.spoke_fault(
        "PATCH",
        "/teams/*",
        Some(1),
        json!({"status": 200, "body": {"id": IT, "name": "IT"}}),
    );
    let err = stack.invoke(event()).await.unwrap_err();
    assert_eq!(err.response().reason, "update_not_applied");
    let reads = stack.spoke_calls("GET", &format!("/teams/{IT}"));
    assert!(!reads.is_empty(), "the team is read back");
    assert!(
        stack
            .it_text(0)
            .contains(&format!("Spoke returned SPECIFIC_USER → {BOB}")),
        "{}",
        stack.it_text(0)
    );
}

#[tokio::test]
async fn the_handler_runs_on_a_spawned_task_with_shared_deps() {
    let stack = Arc::new(spawn().await);
    let shared = Arc::clone(&stack);
    let task = tokio::spawn(async move { shared.invoke(event()).await });
    assert_eq!(task.await.unwrap().unwrap().result, "updated");
}
