#![doc = include_str!("../README.md")]

pub mod alert;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod deps;
pub mod error;
pub mod handler;
pub mod oauth;
pub mod session;
pub mod sleep;
pub mod sweep;
pub mod webex;

/// The `User-Agent` of every outbound call: `byods-extender/<version>`.
pub const USER_AGENT: &str = concat!("byods-extender/", env!("CARGO_PKG_VERSION"));

pub use alert::{Alert, AlertKind, Alerter, NoAlerts, RecordingAlerter, SlackAlerter};
pub use config::Config;
pub use deps::Deps;
pub use error::{Failure, FailureClass, StartupError, SweepError};
pub use handler::handle;
pub use sleep::{RecordingSleeper, Sleeper, TokioSleeper};
pub use sweep::{Overrides, SweepSummary, run_sweep};
pub use webex::{WebexClient, WebexError};
