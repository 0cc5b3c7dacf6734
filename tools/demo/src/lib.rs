#![doc = include_str!("../README.md")]

pub mod binaries;
pub mod flows;
pub mod report;
pub mod services;

pub use devstack::{DevSecrets, Stack, StackOptions};
pub use report::Row;

/// Starts the local stack ([`devstack::Stack`]) with every service's real handler ([`services::Handlers`]).
pub async fn start(options: StackOptions) -> anyhow::Result<Stack> {
    Stack::start(options, &services::Handlers).await
}

/// Starts the local stack with every service as its real binary ([`binaries::Binaries`], built in
/// `profile`) behind a Runtime API emulator; the processes live as long as the returned [`binaries::Binaries`].
pub async fn start_binaries(
    options: StackOptions,
    profile: devstack::function_process::Profile,
    output: devstack::function_process::Output,
) -> anyhow::Result<(Stack, binaries::Binaries)> {
    let binaries = binaries::Binaries::build(profile, output).await?;
    let stack = Stack::start(options, &binaries).await?;
    Ok((stack, binaries))
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
