//! `review` paths the other files do not reach (README, `review`): a collaborator who joined the org is closed as
//! `became_member` by the membership check, before any DELETE.

use cls_core::ticket::{Access, RemovalReason};

use crate::life::*;
use crate::support::*;

#[tokio::test]
async fn a_collaborator_who_became_an_org_member_is_closed_without_a_delete() {
    let stack = spawn().await;
    let id = seed_octocat(&stack).await;
    stack.github.add_member(ORG, "octocat").unwrap();

    review_on(&stack, &id, "2027-05-12").await;

    assert_eq!(
        github_calls(&stack, "DELETE", "/orgs/acme/outside_collaborators/*"),
        0,
        "the membership check comes first"
    );
    assert_eq!(github_calls(&stack, "GET", "/orgs/acme/members/octocat"), 1);
    let s = state(&stack, &id);
    assert_eq!(
        (s.access, s.reason),
        (Access::Removed, Some(RemovalReason::BecameMember))
    );
    assert_eq!(request(&stack, &id)["status"], "RESOLVED");
    assert_eq!(
        tags(&stack, &id),
        vec![TAG_REMOVED.to_owned()],
        "no cls-expired"
    );
    let messages = stack.messages(&id);
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("is now a member of acme"),
        "{messages:?}"
    );
    assert!(stack.alerts().is_empty(), "an expected outcome, no alert");
    assert_eq!(stack.metrics.total("CollaboratorRemoved"), 0.0);
}
