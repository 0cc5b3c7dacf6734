//! fake-kit over real HTTP: journal, faults, rate limits, clock, reset, loopback-only binding.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod app;
