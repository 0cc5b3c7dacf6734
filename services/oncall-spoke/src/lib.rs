#![doc = include_str!("../README.md")]

pub mod alert;
pub mod config;
pub mod delivery;
pub mod deps;
pub mod error;
pub mod event;
pub mod handler;
pub mod handoff;
pub mod outcome;
pub mod secret;

pub use config::{Config, StrategyPolicy};
pub use deps::{Deps, StartupError};
pub use error::ServiceError;
pub use handler::{HandoffResponse, handle};
pub use outcome::{AlertKind, HandoffResult};

/// The `User-Agent` of every outbound call.
pub const USER_AGENT: &str = concat!("oncall-spoke/", env!("CARGO_PKG_VERSION"));
