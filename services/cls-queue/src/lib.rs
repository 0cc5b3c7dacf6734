#![doc = include_str!("../README.md")]

pub mod config;
pub mod deps;
pub mod error;
pub mod handler;
pub mod identity;
pub mod member;

pub use config::Config;
pub use deps::{Alerter, Deps, Settings, SlackAlerter, StartupError};
pub use error::RecordError;
pub use handler::handle;

/// This function's name in alerts.
pub const COMPONENT: &str = "cls-queue";
