#![doc = include_str!("../README.md")]

pub mod flows;
pub mod report;
pub mod services;

pub use devstack::{DevSecrets, Stack, StackOptions};
pub use report::Row;

/// Starts the local stack ([`devstack::Stack`]) with every service's real handler ([`services::Handlers`]).
pub async fn start(options: StackOptions) -> anyhow::Result<Stack> {
    Stack::start(options, &services::Handlers).await
}

/// Logs to stderr through `tracing`, filtered by `RUST_LOG` or else by `default` (`off`, `warn`, …).
pub fn init_logs(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
