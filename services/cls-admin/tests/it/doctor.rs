//! `doctor` against complete and broken installations.

use crate::support::spawn;

fn line<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("no line for {name} in\n{text}"))
}

#[tokio::test]
async fn doctor_passes_when_everything_is_in_place() {
    let stack = spawn().await;
    let outcome = stack.run(&["doctor"]).await.unwrap();
    assert!(outcome.ok, "{}", outcome.text);
    assert_eq!(outcome.exit_code(), 0);
    assert!(!outcome.text.contains("FAIL"), "{}", outcome.text);
    for name in [
        "(github)",
        "(spoke)",
        "(slack)",
        "(alerts)",
        "(identity)",
        "queue",
        "spoke api key",
        "spoke request type",
        "spoke field cls_state",
        "spoke field expires_on",
        "spoke tag needs_attention",
        "github acme installation",
        "github acme permission members: write",
        "github acme permission organization_administration: read",
        "github globex permission members: write",
    ] {
        assert!(
            line(&outcome.text, name).starts_with("ok"),
            "{name}: {}",
            outcome.text
        );
    }
    assert!(
        !outcome
            .text
            .contains("github globex permission organization_administration"),
        "globex's activity_source is off: no audit-log permission needed"
    );
    assert!(
        !outcome.text.contains("xoxb-test-only"),
        "no secret value is printed"
    );
    assert!(!outcome.text.contains(crate::support::SPOKE_KEY));
}

#[tokio::test]
async fn doctor_fails_when_the_app_lacks_members_write() {
    let stack = spawn().await;
    stack
        .github
        .set_permission("acme", "members", "read")
        .unwrap();
    let outcome = stack.run(&["doctor"]).await.unwrap();
    assert!(!outcome.ok);
    assert_eq!(outcome.exit_code(), 1);
    let members = line(&outcome.text, "github acme permission members: write");
    assert!(members.starts_with("FAIL"), "{members}");
    assert!(members.contains("has read"), "{members}");
    assert!(line(&outcome.text, "github globex permission members: write").starts_with("ok"));
    assert_eq!(outcome.document["failed"], 1, "{}", outcome.text);
}

async fn doctor_with_spoke_secret(
    change: impl FnOnce(&mut serde_json::Value),
) -> cls_admin::Outcome {
    let stack = spawn().await;
    let spoke_id = &stack.vars["CLS_SPOKE_SECRET_ID"];
    let (mut secret, _) = devstack::aws::get_secret(&stack.secrets_sdk, spoke_id)
        .await
        .unwrap();
    change(&mut secret);
    devstack::aws::put_secret(&stack.secrets_sdk, spoke_id, &secret)
        .await
        .unwrap();
    stack.run(&["doctor"]).await.unwrap()
}

#[tokio::test]
async fn doctor_fails_on_a_tag_id_that_does_not_exist_in_spoke() {
    let outcome =
        doctor_with_spoke_secret(|s| s["tags"]["expired"] = "63d0000000000000000000ff".into())
            .await;
    let tag = line(&outcome.text, "spoke tag expired");
    assert!(
        tag.starts_with("FAIL") && tag.contains("63d0000000000000000000ff"),
        "{}",
        outcome.text
    );
    assert!(line(&outcome.text, "spoke tag access_granted").starts_with("ok"));
    assert!(!outcome.ok);
}

#[tokio::test]
async fn doctor_fails_on_a_spoke_secret_without_a_field_id_naming_the_key() {
    let outcome = doctor_with_spoke_secret(|s| {
        s["fields"].as_object_mut().unwrap().remove("added_by");
    })
    .await;
    let secret = line(&outcome.text, "(spoke)");
    assert!(
        secret.starts_with("FAIL") && secret.contains("fields.added_by"),
        "{}",
        outcome.text
    );
    assert!(!outcome.ok);
}

#[tokio::test]
async fn doctor_fails_on_a_field_id_missing_from_the_request_type() {
    let outcome = doctor_with_spoke_secret(|s| {
        s["fields"]["repositories"] = "00000000-0000-4000-8000-0000000000ff".into();
    })
    .await;
    assert!(
        line(&outcome.text, "spoke field repositories").starts_with("FAIL"),
        "{}",
        outcome.text
    );
    assert!(line(&outcome.text, "spoke field added_by").starts_with("ok"));
}
