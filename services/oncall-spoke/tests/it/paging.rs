//! Listings follow `total` (issue 14): a page shorter than asked is not the last one while `total` says
//! more exist. spoke-fake's `capLimit` fault serves such pages; the old loop stopped after the first one.

use oncall_spoke::HandoffResponse;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn teams_are_listed_past_short_pages_until_total_is_reached() {
    let stack = spawn().await;
    // One team per page: Design, Helpdesk, IT, Security (by name).
    stack.spoke_fault("GET", "/teams", None, json!({"capLimit": 1}));
    let r = stack.invoke(event()).await.unwrap();
    assert_eq!(r.result, "updated");
    assert_eq!(r.team_id.unwrap().as_str(), IT);
    let pages = stack.spoke_calls("GET", "/teams");
    assert!(pages.len() >= 3, "{} pages", pages.len());
    assert!(
        pages
            .iter()
            .any(|c| c.query.as_deref().unwrap_or_default().contains("start=2"))
    );
}

#[tokio::test]
async fn the_user_search_reads_past_short_pages_until_total_is_reached() {
    let (stack, r) = search_for_ann(1).await;
    assert_eq!((r.result, r.reason), ("updated", "updated"));
    assert_eq!(r.user_id.unwrap().as_str(), ANN);
    assert!(stack.spoke_calls("GET", "/users").len() >= 2);
}

#[tokio::test]
async fn the_user_search_reads_at_most_five_pages() {
    let (stack, r) = search_for_ann(6).await;
    assert_eq!((r.result, r.reason), ("permanent_error", "user_not_found"));
    assert_eq!(stack.spoke_calls("GET", "/users").len(), 5);
}

/// The handoff to `ann@example.com` (Helpdesk) when the e-mail lookup finds nothing, the search serves one
/// user a page, and `lookalikes` users sort before Ann in the search results.
async fn search_for_ann(lookalikes: usize) -> (Stack, HandoffResponse) {
    let stack = spawn_with(Options::default().seed(seed_with_anns(lookalikes))).await;
    stack.spoke_fault("GET", "/users/email/*", None, json!({"status": 404}));
    stack.spoke_fault("GET", "/users", None, json!({"capLimit": 1}));
    let r = stack
        .invoke(event_for("ann@example.com", "Helpdesk"))
        .await
        .unwrap();
    (stack, r)
}

/// The test seed plus `n` users whose e-mails contain `ann@example.com` and sort before it, so that the
/// exact match is on page `n + 1` when pages hold one user.
fn seed_with_anns(n: usize) -> Value {
    let mut seed = spoke_seed();
    let users = seed["users"].as_array_mut().unwrap();
    for i in 0..n {
        users.push(json!({"id": format!("5f0c3a9e2b7d4c0012ab35{i:02}"), "email": format!("{i}-ann@example.com"),
                          "displayName": format!("Ann {i}"), "role": "MEMBER"}));
    }
    seed
}
