//! The ticket search under spoke-fake's strict privacy (tools/fakes/spoke-fake/README.md, "Privacy"): CLS
//! tickets are private to the CLS team, so the search finds one that a person filed (neither requested nor
//! owned by the service user) only because the key's user is an agent of that team (README, "Secrets").

use serde_json::{Value, json};

use crate::support::*;

/// A ticket IT filed by hand for octocat in acme: requested by the default owner, owned by Alice.
const FILED_BY_HAND: &str = "62c0000000000000000f0001";
/// A user on no team, and their key.
const OUTSIDER: &str = "5f0c3a9e2b7d4c0012ab0009";
const OUTSIDER_KEY: &str = "cls-outsider-key";

/// The CLS seed with strict privacy on, an outsider's key and the hand-filed private ticket; with
/// `service_user_is_agent` false the service user is taken off the CLS team.
fn strict_seed(stack: &Stack, service_user_is_agent: bool) -> Value {
    let mut seed = cls_testkit::spoke_seed();
    seed["strictPrivacy"] = json!(true);
    seed["users"].as_array_mut().unwrap().push(json!(
        {"id": OUTSIDER, "email": "dora@example.com", "displayName": "Dora HR", "role": "MEMBER"}
    ));
    seed["apiKeys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": OUTSIDER_KEY, "user": OUTSIDER}));
    if !service_user_is_agent {
        seed["teams"][0]["agents"]
            .as_array_mut()
            .unwrap()
            .retain(|a| a["user"] != SERVICE_USER);
    }
    let answers: Vec<Value> = [
        (1, "2027-05-01".to_owned()),
        (2, "octocat".to_owned()),
        (3, stack.user_id("octocat").to_string()),
        (4, ORG.to_owned()),
        (5, "octocat@example.org".to_owned()),
        (
            6,
            "acme/widgets: write (added by alice 2026-05-01)".to_owned(),
        ),
        (7, "alice".to_owned()),
    ]
    .into_iter()
    .map(|(n, value)| json!({"fieldId": field(n), "value": value}))
    .collect();
    seed["requests"] = json!([{
        "id": FILED_BY_HAND, "subject": "octocat Collaborator Access (acme)", "privacyLevel": "private",
        "requester": DEFAULT_OWNER, "owner": ALICE, "team": TEAM, "requestType": "61b000000000000000000001",
        "answers": answers, "createdAt": "2026-05-01T10:00:00.000Z"
    }]);
    seed
}

/// The status of `GET /requests/{FILED_BY_HAND}` with `key`.
async fn status_of_the_ticket_for(stack: &Stack, key: &str) -> u16 {
    lambda_kit::http::default_client()
        .get(format!(
            "{}/requests/{FILED_BY_HAND}",
            stack.deps.config.api.spoke
        ))
        .header("Api-Key", key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_private_ticket_filed_by_someone_else_is_found_when_the_keys_user_is_a_cls_agent() {
    let stack = spawn().await;
    stack.spoke.reset(Some(strict_seed(&stack, true))).unwrap();
    assert_eq!(
        status_of_the_ticket_for(&stack, OUTSIDER_KEY).await,
        404,
        "strict privacy hides the ticket from a key not involved"
    );

    stack.process(&Event::octocat_by_alice("gadgets")).await;

    assert_eq!(stack.requests().len(), 1, "no second ticket");
    let ticket = stack.spoke.request(FILED_BY_HAND).unwrap();
    let repositories = Stack::answer(&ticket, 6).unwrap();
    assert!(
        repositories.contains("acme/widgets") && repositories.contains("acme/gadgets"),
        "{repositories}"
    );
    assert_eq!(stack.messages(FILED_BY_HAND).len(), 1);
    assert_eq!(stack.dlq_depth().await, 0);
}

#[tokio::test]
async fn a_key_whose_user_is_not_a_cls_agent_cannot_see_that_ticket_and_files_a_duplicate() {
    let stack = spawn().await;
    stack.spoke.reset(Some(strict_seed(&stack, false))).unwrap();
    assert_eq!(status_of_the_ticket_for(&stack, SPOKE_KEY).await, 404);

    stack.process(&Event::octocat_by_alice("gadgets")).await;

    assert_eq!(
        stack.requests().len(),
        2,
        "the search missed the hidden ticket: why the key's user must be an agent of the CLS team"
    );
    let untouched = stack.spoke.request(FILED_BY_HAND).unwrap();
    assert!(!Stack::answer(&untouched, 6).unwrap().contains("gadgets"));
}
