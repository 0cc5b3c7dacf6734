#![doc = include_str!("../README.md")]

pub mod config;
pub mod deps;
pub mod handler;

pub use config::Config;
pub use deps::{
    Alerter, Deps, EnqueueError, OutgoingMessage, QueueSender, SlackAlerter, SqsQueueSender,
};
pub use handler::{GITHUB_ROUTE, SLACK_ROUTE, handle};
