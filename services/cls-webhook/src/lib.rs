#![doc = include_str!("../README.md")]

pub mod config;
pub mod deps;
mod github;
pub mod handler;
mod slack;

pub use config::Config;
pub use deps::{
    Alerter, Deps, EnqueueError, OutgoingMessage, QueueSender, SlackAlerter, SqsQueueSender,
};
pub use handler::{GITHUB_ROUTE, SLACK_ROUTE, handle};

/// The `User-Agent` of every HTTP call the webhook makes.
pub const USER_AGENT: &str = concat!("cls-webhook/", env!("CARGO_PKG_VERSION"));
