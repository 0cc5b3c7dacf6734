//! devstack's integration tests: the SQS event-source emulator and the API Gateway emulator against real
//! servers on loopback (moto for SQS), and the aggregate control API.

// Helpers outside #[test] functions unwrap too; clippy.toml only exempts the test functions themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod apigw;
mod moto_fifo;
mod runtime_api;
mod server;
mod sqs;
mod stack;
mod support;
