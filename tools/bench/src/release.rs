//! The release binaries the benchmark runs: every function and the hello-world floor, built once per run in
//! the release profile (what is deployed, natively), each started in its own process behind a Runtime API
//! emulator (`devstack::function_process`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use demo::binaries::{FUNCTIONS, READY_TIMEOUT};
use devstack::function_process::{FunctionProcess, FunctionSpec, Output, Profile, build_binaries};
use devstack::stack::workspace_root;

/// The floor's binary (in devstack): a hello-world `lambda_runtime` function.
pub(crate) const FLOOR: &str = "hello-lambda";

/// The built executables by binary name.
#[derive(Debug, Clone)]
pub(crate) struct Release {
    executables: BTreeMap<String, PathBuf>,
}

impl Release {
    /// Builds every function's binary and the floor in the release profile (a no-op of seconds when up to
    /// date; minutes from cold).
    pub(crate) async fn build() -> Result<Self> {
        let root = workspace_root();
        let executables = tokio::task::spawn_blocking(move || {
            let mut pairs: Vec<(&str, &str)> = FUNCTIONS.iter().map(|f| (*f, *f)).collect();
            pairs.push(("devstack", FLOOR));
            build_binaries(&root, Profile::Release, &pairs)
        })
        .await
        .context("the build task panicked")?
        .context("building the release binaries")?;
        Ok(Self { executables })
    }

    /// The executable of `name`.
    pub(crate) fn executable(&self, name: &str) -> Result<&Path> {
        self.executables
            .get(name)
            .map(PathBuf::as_path)
            .ok_or_else(|| anyhow!("no release executable for {name}"))
    }

    /// The cargo target directory the binaries were built in (`<target>/release/<bin>`), where
    /// `cargo xtask lambda-build` leaves the arm64 artifacts too (`<target>/lambda/<fn>/bootstrap`).
    pub(crate) fn target_dir(&self) -> Option<PathBuf> {
        let floor = self.executables.get(FLOOR)?;
        Some(floor.parent()?.parent()?.to_path_buf())
    }

    /// The spec of `name` with `env`, its output discarded.
    pub(crate) fn spec(&self, name: &str, env: BTreeMap<String, String>) -> Result<FunctionSpec> {
        Ok(FunctionSpec::new(name, self.executable(name)?, env).output(Output::Discard))
    }

    /// Starts `name` with `env` and waits for its first `/next`.
    pub(crate) async fn start(
        &self,
        name: &str,
        env: BTreeMap<String, String>,
    ) -> Result<FunctionProcess> {
        let spec = self.spec(name, env)?;
        let mut process = FunctionProcess::spawn(&spec).await?;
        process
            .wait_ready(READY_TIMEOUT)
            .await
            .with_context(|| format!("starting {name}"))?;
        Ok(process)
    }

    /// Starts `count` processes of `name` with `env`, one after the other.
    pub(crate) async fn start_many(
        &self,
        name: &str,
        env: &BTreeMap<String, String>,
        count: usize,
    ) -> Result<Vec<FunctionProcess>> {
        let mut processes = Vec::with_capacity(count);
        for _ in 0..count {
            processes.push(self.start(name, env.clone()).await?);
        }
        Ok(processes)
    }
}

/// Stops every process.
pub(crate) async fn stop_all(processes: Vec<FunctionProcess>) {
    for process in processes {
        process.stop().await;
    }
}
