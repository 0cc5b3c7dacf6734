//! The real `cls-sweep` binary refuses the test clock in production before it reads a secret (CLS-35).

use std::process::Command;

#[test]
fn the_binary_refuses_cls_fake_today_in_production_at_start() {
    let run = |stage: &str| {
        Command::new(env!("CARGO_BIN_EXE_cls-sweep"))
            .env_clear()
            .env("CLS_STAGE", stage)
            .env(
                "CLS_QUEUE_URL",
                "http://127.0.0.1:9/000000000000/cls-events.fifo",
            )
            .env("CLS_FAKE_TODAY", "2027-01-10")
            .env("CLS_SWEEP_MAX_ACTIONS", "zero")
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    // Both starts fail; what they print says why.
    let text = |stage: &str| {
        let out = run(stage);
        let text = [out.stdout.as_slice(), out.stderr.as_slice()]
            .map(String::from_utf8_lossy)
            .concat();
        assert!(!out.status.success(), "{text}");
        text
    };
    let text_production = text("production");
    assert!(
        text_production.contains("CLS_FAKE_TODAY") && text_production.contains("production"),
        "{text_production}"
    );
    // Outside production the clock is accepted and the start fails on the next bad setting instead: the
    // refusal above is the stage's, not a parse error.
    let text_staging = text("staging");
    assert!(
        text_staging.contains("CLS_SWEEP_MAX_ACTIONS") && !text_staging.contains("CLS_FAKE_TODAY"),
        "{text_staging}"
    );
}
