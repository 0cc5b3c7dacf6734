//! A Lambda function run as its real binary behind a [`RuntimeApi`] emulator, the way `cargo lambda watch`
//! runs it: its own process, the Lambda environment variables plus the function's configuration, and
//! nothing inherited from the caller's environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::process::{Child, Command};

use crate::runtime_api::{InvokeError, RuntimeApi};

/// How much of the process's output is kept (the tail) when it is captured.
pub const CAPTURED_OUTPUT_BYTES: usize = 64 * 1024;

/// Starting or watching a function process failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// The emulator could not bind.
    #[error("starting the Runtime API emulator")]
    Serve(#[source] fake_kit::ServeError),
    /// The binary could not be started.
    #[error("starting {path}")]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The process ended before asking for its first event.
    #[error("{function} exited ({status}) before its first /next; output:\n{output}")]
    Exited {
        /// The function.
        function: String,
        /// The exit status.
        status: String,
        /// The captured output's tail.
        output: String,
    },
    /// The runtime reported an init error.
    #[error("{function} reported an init error: {error}; output:\n{output}")]
    Init {
        /// The function.
        function: String,
        /// The error.
        error: InvokeError,
        /// The captured output's tail.
        output: String,
    },
    /// No `/next` within the timeout.
    #[error("{function} did not ask for an event within {timeout:?}; output:\n{output}")]
    NotReady {
        /// The function.
        function: String,
        /// The timeout.
        timeout: Duration,
        /// The captured output's tail.
        output: String,
    },
}

/// Where the process's stdout and stderr go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The caller's terminal (`cargo xtask up --binaries`).
    Inherit,
    /// Kept in memory, the last [`CAPTURED_OUTPUT_BYTES`] (tests: shown when something fails).
    Capture,
    /// Discarded (benchmarks).
    Discard,
}

/// What a function process is started with.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// The function name (`AWS_LAMBDA_FUNCTION_NAME`).
    pub name: String,
    /// The binary.
    pub binary: PathBuf,
    /// The function's own configuration (its `Config::from_env` variables, AWS settings, log format).
    pub env: BTreeMap<String, String>,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    pub memory_mb: u32,
    /// The configured timeout: each invocation's deadline.
    pub timeout: Duration,
    /// Where the output goes.
    pub output: Output,
}

impl FunctionSpec {
    /// A spec with 128 MB, a 60 s timeout and captured output.
    pub fn new(name: &str, binary: impl Into<PathBuf>, env: BTreeMap<String, String>) -> Self {
        Self {
            name: name.to_owned(),
            binary: binary.into(),
            env,
            memory_mb: 128,
            timeout: Duration::from_secs(60),
            output: Output::Capture,
        }
    }

    /// Sets where the output goes.
    pub fn output(mut self, output: Output) -> Self {
        self.output = output;
        self
    }
}

/// A running function process and its emulator. The process is killed when this is dropped.
#[derive(Debug)]
pub struct FunctionProcess {
    name: String,
    api: RuntimeApi,
    child: Child,
    pid: Option<u32>,
    started: Instant,
    output: Arc<Mutex<Vec<u8>>>,
}

impl FunctionProcess {
    /// Starts the emulator and then the binary of `spec` against it, with a cleared environment: the Lambda
    /// variables from [`RuntimeApi::lambda_env`] and `spec.env` (which wins), nothing else.
    pub async fn spawn(spec: &FunctionSpec) -> Result<Self, ProcessError> {
        let api = RuntimeApi::start(&spec.name, spec.timeout)
            .await
            .map_err(ProcessError::Serve)?;
        let mut command = Command::new(&spec.binary);
        command
            .env_clear()
            .envs(api.lambda_env(spec.memory_mb))
            .envs(spec.env.iter())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let (stdout, stderr) = match spec.output {
            Output::Inherit => (Stdio::inherit(), Stdio::inherit()),
            Output::Capture => (Stdio::piped(), Stdio::piped()),
            Output::Discard => (Stdio::null(), Stdio::null()),
        };
        command.stdout(stdout).stderr(stderr);
        let started = Instant::now();
        let mut child = command.spawn().map_err(|source| ProcessError::Spawn {
            path: spec.binary.clone(),
            source,
        })?;
        let output = Arc::new(Mutex::new(Vec::new()));
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(capture(stdout, Arc::clone(&output)));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(capture(stderr, Arc::clone(&output)));
        }
        Ok(Self {
            name: spec.name.clone(),
            pid: child.id(),
            api,
            child,
            started,
            output,
        })
    }

    /// Waits for the first `/next` and returns the time from process start to it (the cold start). Fails
    /// when the process exits, reports an init error or stays silent for `timeout`.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<Duration, ProcessError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(at) = self.api.first_next() {
                return Ok(at.saturating_duration_since(self.started));
            }
            if let Some(error) = self.api.init_error() {
                return Err(ProcessError::Init {
                    function: self.name.clone(),
                    error,
                    output: self.output(),
                });
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the output readers a moment to drain the pipes.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Err(ProcessError::Exited {
                    function: self.name.clone(),
                    status: status.to_string(),
                    output: self.output(),
                });
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(ProcessError::NotReady {
                    function: self.name.clone(),
                    timeout,
                    output: self.output(),
                });
            }
            let step = (deadline - now).min(Duration::from_millis(20));
            let _ = self.api.wait_first_next(step).await;
        }
    }

    /// Invokes the function with `event` through the emulator.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Result<Value, InvokeError> {
        self.api.invoke(event, timeout).await
    }

    /// The emulator.
    pub fn api(&self) -> &RuntimeApi {
        &self.api
    }

    /// When the process was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Peak resident set size so far, in KiB (`VmHWM` in `/proc/<pid>/status`; Linux only).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.pid?, "VmHWM")
    }

    /// Current resident set size, in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.pid?, "VmRSS")
    }

    /// How long the process's live threads have run on a CPU and waited for one so far
    /// (`/proc/<pid>/task/*/schedstat`; Linux only). Between invocations the runtime waits in `/next` and
    /// uses no CPU, so the difference of two readings around an invocation is that invocation's.
    pub fn cpu_time(&self) -> Option<CpuTime> {
        proc_cpu_time(self.pid?)
    }

    /// The tail of the captured output (empty unless [`Output::Capture`]).
    pub fn output(&self) -> String {
        let bytes = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Kills the process and stops the emulator.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
        self.api.stop().await;
    }
}

async fn capture(mut reader: impl AsyncRead + Unpin, into: Arc<Mutex<Vec<u8>>>) {
    let mut buffer = [0_u8; 8192];
    while let Ok(read) = reader.read(&mut buffer).await {
        if read == 0 {
            break;
        }
        let mut kept = into.lock().unwrap_or_else(PoisonError::into_inner);
        kept.extend_from_slice(&buffer[..read]);
        if kept.len() > CAPTURED_OUTPUT_BYTES {
            let excess = kept.len() - CAPTURED_OUTPUT_BYTES;
            kept.drain(..excess);
        }
    }
}

/// Time on a CPU and time runnable but waiting for one, summed over threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTime {
    /// Time spent running.
    pub on_cpu: Duration,
    /// Time spent runnable in a run queue, waiting for a CPU (what a shared machine adds).
    pub waiting: Duration,
}

impl CpuTime {
    /// `self - earlier`, field by field (zero where a thread has exited meanwhile).
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            on_cpu: self.on_cpu.saturating_sub(earlier.on_cpu),
            waiting: self.waiting.saturating_sub(earlier.waiting),
        }
    }
}

/// [`CpuTime`] of process `pid`: the first two fields of each `/proc/<pid>/task/<tid>/schedstat`
/// (nanoseconds on the CPU, nanoseconds waiting in a run queue), summed over its live threads.
pub fn proc_cpu_time(pid: u32) -> Option<CpuTime> {
    let tasks = std::fs::read_dir(Path::new("/proc").join(pid.to_string()).join("task")).ok()?;
    let mut total = CpuTime::default();
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
        if let (Some(Some(on_cpu)), Some(Some(waiting))) = (fields.next(), fields.next()) {
            total.on_cpu += Duration::from_nanos(on_cpu);
            total.waiting += Duration::from_nanos(waiting);
        }
    }
    Some(total)
}

/// A `kB` field of `/proc/<pid>/status`.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status =
        std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// The cargo profile to build function binaries in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `dev` (tests: the same `main.rs`, quick to build).
    Dev,
    /// `release` (what is deployed; the benchmark).
    Release,
}

/// Building the binaries failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// cargo could not be run.
    #[error("running cargo")]
    Run(#[source] std::io::Error),
    /// cargo failed.
    #[error("cargo build failed ({status}):\n{stderr}")]
    Failed {
        /// The exit status.
        status: String,
        /// cargo's stderr.
        stderr: String,
    },
    /// cargo did not report one of the binaries.
    #[error("cargo built no executable `{0}`")]
    Missing(String),
}

/// Builds `binaries` (`(package, bin)` pairs) with `cargo build --locked` in `profile`, from the workspace
/// at `root`, and returns each bin's executable path, as cargo reports it (so `CARGO_TARGET_DIR` and the
/// profile directory are cargo's business). Up to date binaries make this a no-op of a second or two; it
/// blocks, so call it from a blocking context or `spawn_blocking`.
pub fn build_binaries(
    root: &Path,
    profile: Profile,
    binaries: &[(&str, &str)],
) -> Result<BTreeMap<String, PathBuf>, BuildError> {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let mut command = std::process::Command::new(cargo);
    command.current_dir(root).args([
        "build",
        "--locked",
        "--message-format=json-render-diagnostics",
    ]);
    if profile == Profile::Release {
        command.arg("--release");
    }
    for (package, bin) in binaries {
        command.args(["--package", package, "--bin", bin]);
    }
    let output = command
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .map_err(BuildError::Run)?;
    if !output.status.success() {
        return Err(BuildError::Failed {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let mut built = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let (Some(name), Some(executable)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) else {
            continue;
        };
        built.insert(name.to_owned(), PathBuf::from(executable));
    }
    for (_, bin) in binaries {
        if !built.contains_key(*bin) {
            return Err(BuildError::Missing((*bin).to_owned()));
        }
    }
    Ok(built)
}
