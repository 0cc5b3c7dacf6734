//! The leak check of the CLS integration-test stacks fails a test on a seeded secret or an `Authorization`
//! header in a log line, an error or CLI output. Its own test binary: the leak it provokes would fail every
//! other test of a shared process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cls_testkit::TestAws;
use serde_json::json;

#[tokio::test]
async fn a_seeded_secret_or_an_authorization_header_fails_the_stack_that_saw_it() {
    let aws = TestAws::new("leak").await;
    aws.put_secrets([(
        "spoke",
        &json!({"api_key": "leak-test-spoke-key-0123", "team_id": "5cb65407f38ee4000743e001"}),
    )])
    .await;
    let guard = aws.leak_guard();
    tracing::info!(team_id = "5cb65407f38ee4000743e001", "ids are not secrets");
    guard.check().expect("an id is not a leak");

    tracing::warn!(key = "leak-test-spoke-key-0123", "a key in a log line");
    let message = guard.check().expect_err("the key in a log line");
    assert!(message.contains("[cls/spoke api_key]"), "{message}");
    assert!(!message.contains("leak-test-spoke-key-0123"), "{message}");

    guard.scan(
        "cli",
        "request headers: {\"authorization\": \"Bearer ghs_0123456789abcdef\"}",
    );
    let message = guard
        .check()
        .expect_err("an Authorization header in CLI output");
    assert!(message.contains("authorization header in cli"), "{message}");
    assert!(!message.contains("ghs_0123456789abcdef"), "{message}");

    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(guard)));
    assert!(dropped.is_err(), "dropping the guard did not fail the test");
}
