//! cls-queue integration tests: the real handler behind the devstack SQS event-source emulator, over a moto
//! FIFO queue with DLQ, against spoke-fake, github-fake and slack-fake on loopback ports.

// Helpers outside #[test] functions unwrap too; clippy.toml only exempts the test functions themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit_lifecycle;
mod audit_review;
mod audit_slack;
mod audit_start;
mod batches;
mod hostile;
mod import;
mod life;
mod privacy;
mod review;
mod slack_action;
mod support;
mod tickets;
