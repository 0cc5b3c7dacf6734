#![doc = include_str!("../README.md")]

pub mod config;
pub mod deps;
pub mod error;
pub mod extend;
pub mod handler;
pub mod identity;
pub mod import;
pub mod lifecycle;
pub mod member;
pub mod notify;
pub mod remove;
pub mod review;
pub mod slack;
pub mod slack_action;

pub use config::Config;
pub use deps::{Alerter, Deps, Settings, SlackAlerter, StartupError};
pub use error::RecordError;
pub use handler::handle;

/// This function's name in alerts.
pub const COMPONENT: &str = "cls-queue";

/// The `User-Agent` of every HTTP call the consumer makes.
pub const USER_AGENT: &str = concat!("cls-queue/", env!("CARGO_PKG_VERSION"));
