#![doc = include_str!("../README.md")]

pub mod activity;
pub mod config;
pub mod continuation;
pub mod deps;
pub mod error;
pub mod event;
pub mod handler;
pub mod listing;
pub mod plan;
pub mod report;
pub mod scan;
pub mod sweep;

pub use config::Config;
pub use continuation::{Continuation, LambdaContinuation, NoContinuation};
pub use deps::{AlertChannel, Deps, Settings, StartupError, WebhookChannel};
pub use error::SweepError;
pub use event::{RunOptions, SweepEvent};
pub use handler::handle;
pub use plan::{Plan, plan};
pub use report::SweepReport;
pub use sweep::{run, run_to_completion};

/// This function's name in alerts.
pub const COMPONENT: &str = "cls-sweep";

/// The `User-Agent` of every HTTP call the sweep makes.
pub const USER_AGENT: &str = concat!("cls-sweep/", env!("CARGO_PKG_VERSION"));
