//! Integration tests of the GitHub client over HTTP: against `github-fake` and wiremock.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod against_fake;
mod against_wiremock;
mod hostile;
mod support;
