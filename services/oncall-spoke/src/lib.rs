#![doc = include_str!("../README.md")]

pub mod adapters;
pub mod alert;
pub mod config;
pub mod error;
pub mod event;
pub mod handler;
pub mod handoff;
pub mod outcome;
pub mod ports;
pub mod secret;

#[cfg(test)]
mod testing;

pub use adapters::build_deps;
pub use config::{Config, SecretLocation, StrategyPolicy};
pub use error::ServiceError;
pub use handler::{Deps, HandoffResponse, Invocation, handle};
pub use outcome::{AlertKind, HandoffResult};
