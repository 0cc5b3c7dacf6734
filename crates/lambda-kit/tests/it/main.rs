//! lambda-kit over real loopback sockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aws_http;
mod http_client;
mod tls;
