//! One error type for the commands, and the exit code each failure maps to.

use github_app::GithubError;
use lambda_kit::config::ConfigError;
use spoke_client::SpokeError;

use crate::deps::StartupError;
use crate::queue::QueueError;

/// Exit codes (also in the README and `--help`).
pub mod exit {
    /// Everything succeeded.
    pub const OK: u8 = 0;
    /// The command ran but something failed: a `doctor` check, a bad input row, a message not sent.
    pub const FAILED: u8 = 1;
    /// Usage or input error (bad arguments, unreadable or malformed file, unknown org or collaborator).
    pub const USAGE: u8 = 2;
    /// Configuration error: an environment variable or a secret is missing or invalid.
    pub const CONFIG: u8 = 3;
    /// An upstream API (Spoke, GitHub, SQS) failed; nothing after the failure was done.
    pub const UPSTREAM: u8 = 4;
}

/// Why a command stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// Bad arguments or input.
    #[error("{0}")]
    Usage(String),
    /// An environment variable is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A secret is unreadable or invalid, or a client could not be built (the commands' or the sweep's:
    /// both read the secrets through `cls_wiring`).
    #[error("configuration is not usable")]
    Startup(#[from] StartupError),
    /// Spoke failed.
    #[error("Spoke call failed")]
    Spoke(#[from] SpokeError),
    /// GitHub failed.
    #[error("GitHub call failed")]
    Github(#[from] GithubError),
    /// SQS failed.
    #[error("queue call failed")]
    Queue(#[from] QueueError),
    /// The sweep failed.
    #[error("the sweep failed")]
    Sweep(#[from] cls_sweep::SweepError),
}

impl AdminError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => exit::USAGE,
            Self::Config(_) | Self::Startup(_) => exit::CONFIG,
            Self::Sweep(cls_sweep::SweepError::TestClockRefused) => exit::CONFIG,
            Self::Spoke(_) | Self::Github(_) | Self::Queue(_) | Self::Sweep(_) => exit::UPSTREAM,
        }
    }

    /// The error and its causes on one line (`a: b: c`), never a secret (no error in the chain carries one).
    pub fn chain(&self) -> String {
        lambda_kit::error::chain(self)
    }
}
