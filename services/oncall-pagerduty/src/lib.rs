#![doc = include_str!("../README.md")]

pub mod alert;
pub mod bus;
pub mod config;
pub mod current;
pub mod decide;
pub mod deps;
pub mod error;
pub mod event;
pub mod handler;
pub mod memory;
pub mod pagerduty;

pub use config::{Config, Source, TeamMapping};
pub use deps::Deps;
pub use error::{ServiceError, StartupError};
pub use handler::{RunSummary, handle};

/// The `User-Agent` of every outbound call.
pub const USER_AGENT: &str = concat!("oncall-pagerduty/", env!("CARGO_PKG_VERSION"));
/// The function's name: the `Function` dimension of its metrics.
pub const FUNCTION: &str = "oncall-pagerduty";
/// The CloudWatch metric namespace.
pub const METRIC_NAMESPACE: &str = "OncallPagerDuty";
