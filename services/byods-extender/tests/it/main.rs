//! The one integration-test binary of byods-extender: every BYO-* acceptance requirement against the fake
//! Webex over HTTP and moto, through the real `secrets` crate (README, "Local run and tests").

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod failures;
mod refresh;
mod support;
mod sweep;
mod tokens;
