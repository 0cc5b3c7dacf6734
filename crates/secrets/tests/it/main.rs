//! Integration tests of the `secrets` crate against a real moto server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod moto_store;
