//! cls-webhook integration tests: real API Gateway v2 event JSON into `handle`, and real HTTP through the
//! devstack API Gateway emulator, against a moto FIFO queue and Secrets Manager and slack-fake.

// Helpers outside #[test] functions unwrap too; clippy.toml only exempts the test functions themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod hostile;
mod org_binding;
mod routes;
mod secrets_ttl;
mod slack;
mod support;
