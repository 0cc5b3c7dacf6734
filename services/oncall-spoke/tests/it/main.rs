//! Integration tests: the real handler against spoke-fake and slack-fake over HTTP, with the secret in moto.

// Test helpers outside `#[test]` functions panic on broken fixtures on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod acceptance;
mod demo_events;
mod hostile;
mod paging;
mod secret;
mod spoke_steps;
mod support;
