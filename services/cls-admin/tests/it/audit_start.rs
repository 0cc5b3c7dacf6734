//! The real `cls-admin` binary refuses the test clock in production before it reads a secret or sends
//! anything (CLS-35).

use std::process::Command;

#[test]
fn the_binary_refuses_cls_fake_today_in_production() {
    for args in [
        &["expiring"][..],
        &["sweep", "--dry-run"],
        &["extend", "acme/octocat", "--days", "10"],
    ] {
        let attempt = |stage: &str| {
            let out = Command::new(env!("CARGO_BIN_EXE_cls-admin"))
                .args(args)
                .env_clear()
                .env("CLS_STAGE", stage)
                .env("CLS_FAKE_TODAY", "2027-01-02")
                .env("RUST_LOG", "error")
                .output()
                .unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let (code, stderr) = attempt("production");
        assert_ne!(code, Some(0), "{args:?}: {stderr}");
        assert!(
            stderr.contains("CLS_FAKE_TODAY") && stderr.contains("production"),
            "{args:?}: {stderr}"
        );
        // In testing the clock is accepted; the start then stops at the missing queue URL.
        let (code, stderr) = attempt("testing");
        assert_ne!(code, Some(0), "{args:?}: {stderr}");
        assert!(
            stderr.contains("CLS_QUEUE_URL") && !stderr.contains("CLS_FAKE_TODAY"),
            "{args:?}: {stderr}"
        );
    }
}
