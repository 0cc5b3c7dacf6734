//! Integration tests: the CLI's library entry point (and, for a few cases, the real binary) over HTTP
//! against moto, spoke-fake and github-fake.

// Helpers outside #[test] functions unwrap too; clippy.toml only exempts the test functions themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit_start;
mod backfill;
mod binary;
mod doctor;
mod queue;
mod redeliver;
mod support;
mod tickets;
