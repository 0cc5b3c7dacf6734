//! `--binaries`: every Lambda as its real binary in its own process behind a Runtime API emulator
//! ([`devstack::runtime_api`]), the way `cargo lambda watch` runs it, with the environment the in-process
//! handler gets ([`env`]). [`Binaries`] is a [`devstack::Services`]: it lets [`Handlers`] create the secrets,
//! then starts each binary and registers the emulator in the function's place, so the devstack invoke
//! endpoint (`cargo xtask invoke`), the API Gateway emulator and the SQS event source all drive the binaries.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use devstack::Wiring;
use devstack::function_process::{FunctionProcess, FunctionSpec, Output, Profile, build_binaries};
use devstack::lambda::Registry;

use crate::services::{Handlers, byods, cls_env, oncall, pagerduty, secret_names};

/// Every Lambda of the suite; each is the package and the binary of that name.
pub const FUNCTIONS: [&str; 6] = [
    "oncall-spoke",
    "oncall-pagerduty",
    "cls-webhook",
    "cls-queue",
    "cls-sweep",
    "byods-extender",
];

/// How long a binary may take from process start to its first `/next`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The environment `function` gets locally: the same map its in-process handler's `Config::from_lookup`
/// reads (moto as `AWS_ENDPOINT_URL` with dev keys, the fakes' base URLs, the function's own variables).
pub fn env(wiring: &Wiring<'_>, function: &str) -> Result<BTreeMap<String, String>> {
    match function {
        "oncall-spoke" => Ok(oncall::env(wiring)),
        "oncall-pagerduty" => Ok(pagerduty::env(wiring)),
        "byods-extender" => Ok(byods::env(wiring, secret_names::BYODS)),
        "cls-webhook" | "cls-queue" | "cls-sweep" => Ok(cls_env(wiring)),
        other => Err(anyhow!("no local environment for `{other}`")),
    }
}

/// Builds every function's binary in `profile` (a no-op when up to date) and returns the executables.
pub async fn build(profile: Profile) -> Result<BTreeMap<String, PathBuf>> {
    let root = devstack::stack::workspace_root();
    tokio::task::spawn_blocking(move || {
        let pairs: Vec<(&str, &str)> = FUNCTIONS.iter().map(|f| (*f, *f)).collect();
        build_binaries(&root, profile, &pairs)
    })
    .await
    .context("the build task panicked")?
    .context("building the function binaries")
}

/// The real binaries as the stack's functions. The processes live as long as this value.
#[derive(Debug)]
pub struct Binaries {
    executables: BTreeMap<String, PathBuf>,
    output: Output,
    processes: tokio::sync::Mutex<BTreeMap<String, FunctionProcess>>,
}

impl Binaries {
    /// Builds the binaries in `profile`; their output goes to `output`.
    pub async fn build(profile: Profile, output: Output) -> Result<Self> {
        Ok(Self {
            executables: build(profile).await?,
            output,
            processes: tokio::sync::Mutex::default(),
        })
    }

    /// How many events `function`'s process has taken from its emulator.
    pub async fn invocations(&self, function: &str) -> Option<u64> {
        let processes = self.processes.lock().await;
        processes.get(function).map(|p| p.api().invocations())
    }

    /// The captured output of `function`'s process (with [`Output::Capture`]).
    pub async fn output(&self, function: &str) -> Option<String> {
        let processes = self.processes.lock().await;
        processes.get(function).map(FunctionProcess::output)
    }

    /// Stops every process.
    pub async fn stop(&self) {
        let processes = std::mem::take(&mut *self.processes.lock().await);
        for (_, process) in processes {
            process.stop().await;
        }
    }
}

impl devstack::Services for Binaries {
    async fn register(
        &self,
        wiring: &Wiring<'_>,
        registry: &Registry,
    ) -> Result<BTreeMap<String, String>> {
        // The in-process wiring creates every secret; its handlers are then replaced by the binaries.
        let endpoints = devstack::Services::register(&Handlers, wiring, registry).await?;
        for function in FUNCTIONS {
            let executable = self
                .executables
                .get(function)
                .ok_or_else(|| anyhow!("no binary for {function}"))?;
            let spec =
                FunctionSpec::new(function, executable, env(wiring, function)?).output(self.output);
            let mut process = FunctionProcess::spawn(&spec).await?;
            process
                .wait_ready(READY_TIMEOUT)
                .await
                .with_context(|| format!("starting {function} ({})", executable.display()))?;
            registry.register(function, process.api().handler(spec.timeout));
            self.processes
                .lock()
                .await
                .insert(function.to_owned(), process);
        }
        Ok(endpoints)
    }
}
