//! The real `cls-queue` binary refuses the test clock in production before it reads a secret (CLS-35).

use std::process::{Command, Output};

fn start(stage: &str) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cls-queue"))
        .env_clear()
        .env("CLS_STAGE", stage)
        .env("CLS_FAKE_TODAY", "2027-04-21")
        .env("CLS_EXTENSION_DAYS", "ninety")
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let text = [out.stdout.as_slice(), out.stderr.as_slice()]
        .map(String::from_utf8_lossy)
        .concat();
    (out, text)
}

#[test]
fn the_binary_refuses_cls_fake_today_in_production_at_start() {
    let (out, text) = start("production");
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("CLS_FAKE_TODAY"), "{text}");
    assert!(text.contains("production"), "{text}");
    // In staging the clock passes and the next bad setting is the one named.
    let (out, text) = start("staging");
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("CLS_EXTENSION_DAYS"), "{text}");
    assert!(!text.contains("CLS_FAKE_TODAY"), "{text}");
}

/// `Deps::new` (what `main` runs at cold start) over moto, after the Spoke secret lost an id.
async fn start_with_spoke_secret(edit: impl Fn(&mut serde_json::Value)) -> String {
    let stack = crate::support::spawn().await;
    let mut secret = stack.spoke_secret.clone();
    edit(&mut secret);
    devstack::aws::put_secret(&stack.secrets_sdk, &stack.spoke_secret_id, &secret)
        .await
        .unwrap();
    let err = cls_queue::Deps::new(stack.deps.config.as_ref().clone(), &stack.platform)
        .await
        .err()
        .expect("the start must fail");
    err.to_string()
}

#[tokio::test]
async fn a_spoke_secret_without_a_field_or_tag_id_fails_the_start_naming_the_key() {
    let err = start_with_spoke_secret(|s| {
        s["fields"].as_object_mut().unwrap().remove("repositories");
    })
    .await;
    assert!(err.contains("fields.repositories"), "{err}");
    let err = start_with_spoke_secret(|s| s["tags"]["inactive"] = serde_json::json!("")).await;
    assert!(err.contains("tags.inactive"), "{err}");
}
