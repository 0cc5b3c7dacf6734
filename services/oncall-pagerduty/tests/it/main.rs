//! oncall-pagerduty's one integration-test binary: runs against pagerduty-fake and slack-fake on loopback
//! and moto (Secrets Manager, and EventBridge with a rule delivering the bus's handoff events to a queue the
//! tests read back).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod handoffs;
mod resilience;
mod support;
