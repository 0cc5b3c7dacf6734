//! spoke-fake integration tests: behaviour over HTTP and the contract against the vendored OpenAPI file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod behaviour;
mod contract;
mod strict;
mod support;
