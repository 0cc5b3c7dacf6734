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
