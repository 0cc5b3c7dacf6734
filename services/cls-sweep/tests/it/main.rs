//! cls-sweep integration tests: the real sweep over HTTP against spoke-fake (tickets seeded through its
//! control API), github-fake (audit log) and slack-fake (alert webhook), with moto's FIFO queue and secrets.

// Helpers outside #[test] functions unwrap too; clippy.toml only exempts the test functions themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod activity;
mod large;
mod start;
mod support;
mod sweep;
