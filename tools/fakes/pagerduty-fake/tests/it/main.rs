//! pagerduty-fake's one integration-test binary: the behaviour of its README over HTTP on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod behaviour;
mod support;
