//! webex-fake's one integration-test binary: the contract with the vendored OpenAPI subset and the
//! behaviour of the README's "Behaviour" table, over HTTP on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod behaviour;
mod contract;
mod strict;
mod support;
