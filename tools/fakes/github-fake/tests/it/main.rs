//! The GitHub stand-in over HTTP: auth, pagination, state changes, webhook sending, control routes.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod api;
mod control;
mod permissions;
mod strict;
mod support;
