//! spoke-client integration tests: the SPK-1…SPK-15 acceptance items of docs/requirements/spoke-client.md
//! against spoke-fake over HTTP, and wiremock for odd responses and timeouts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod acceptance;
mod contract;
mod odd_responses;
mod pacing;
mod rotation;
mod support;
