#![doc = include_str!("../README.md")]

pub mod cls_events;
pub mod harness;
pub mod recording;
pub mod report;
pub mod secrets_outage;
pub mod slack_down;
pub mod sweep;

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use lambda_kit::LeakCheck;
use serde::Serialize;

use crate::harness::{Consumers, Harness};
use crate::report::{Report, ScenarioResult};

/// The scenarios, in run order.
pub const SCENARIOS: [&str; 6] = [
    "faults",
    "redelivery",
    "secrets",
    "slack_down",
    "kill",
    "sweep",
];

/// How big a run is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scale {
    /// CLS deliveries of scenario `faults`.
    pub events: usize,
    /// Collaborators they are spread over.
    pub collaborators: usize,
    /// Fraction of Spoke and GitHub calls that fail in `faults`.
    pub fault_rate: f64,
    /// Deliveries of the smaller scenarios (`redelivery`, `kill`).
    pub small_events: usize,
    /// Concurrent queue pollers.
    pub pollers: usize,
    /// The queue's visibility timeout, seconds.
    pub visibility_secs: u64,
    /// The consumer's function timeout, seconds.
    pub function_timeout_secs: u64,
    /// How long a scenario may wait for the queue to drain, seconds.
    pub drain_limit_secs: u64,
}

impl Scale {
    /// 2,000 deliveries for 200 collaborators, 30 % of the calls failing, 8 pollers; visibility 20 s and a
    /// function timeout of 15 s, so a stall beyond the clients' 10 s request timeout is a client timeout.
    pub fn full() -> Self {
        Self::events(2000)
    }

    /// The CI scale (`cargo xtask chaos --quick`, `tests/quick.rs`): 40 deliveries for 4 collaborators, 12 in
    /// the smaller scenarios, 4 pollers, visibility 6 s and a function timeout of 5 s (a stalled call is then
    /// cut by the function timeout), so every scenario ends within a minute or two on two cores.
    pub fn quick() -> Self {
        Self {
            events: 40,
            collaborators: 4,
            small_events: 12,
            pollers: 4,
            visibility_secs: 6,
            function_timeout_secs: 5,
            drain_limit_secs: 600,
            ..Self::full()
        }
    }

    /// `events` deliveries for `events / 10` collaborators, with the timings of [`Scale::full`].
    pub fn events(events: usize) -> Self {
        let events = events.max(10);
        Self {
            events,
            collaborators: (events / 10).max(1),
            fault_rate: 0.3,
            small_events: (events / 10).clamp(30, 150),
            pollers: 8,
            visibility_secs: 20,
            function_timeout_secs: 15,
            drain_limit_secs: 3600,
        }
    }

    fn consumers(&self) -> Consumers {
        Consumers {
            pollers: self.pollers,
            visibility: Duration::from_secs(self.visibility_secs),
            function_timeout: Duration::from_secs(self.function_timeout_secs),
        }
    }

    fn drain_limit(&self) -> Duration {
        Duration::from_secs(self.drain_limit_secs)
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The scale.
    pub scale: Scale,
    /// Only these scenarios (all when empty).
    pub only: Vec<String>,
    /// Where the report goes.
    pub report: PathBuf,
}

/// Installs the leak-checking log writer (once per process) and returns the process's leak check: every
/// log line of the run is scanned by it.
pub fn leak_check() -> &'static LeakCheck {
    let _ = LeakCheck::install(harness::LOG_FILTER);
    LeakCheck::global()
}

/// Runs the scenarios, printing each verdict line through `print` as it completes, and writes the report.
pub async fn run(options: &Options, print: impl Fn(&str)) -> Result<Report> {
    let leaks = leak_check().clone();
    let scale = options.scale;
    let wanted = |name: &str| options.only.is_empty() || options.only.iter().any(|o| o == name);
    let mut scenarios = Vec::new();
    let consumers = scale.consumers();
    let limit = scale.drain_limit();
    let small = scale.small_events;
    let small_collaborators = (small / 3).max(1);
    // The faults scenario's batch trace goes next to the report.
    let trace = options.report.with_file_name("trace-faults.jsonl");
    for name in SCENARIOS.into_iter().filter(|name| wanted(name)) {
        let trace = trace.clone();
        let result = scenario(name, &leaks, |mut h| async move {
            let r = match name {
                "faults" => {
                    cls_events::faults(
                        &mut h,
                        &trace,
                        scale.collaborators,
                        scale.events,
                        scale.fault_rate,
                        consumers,
                        limit,
                    )
                    .await
                }
                "redelivery" => {
                    cls_events::redelivery(&mut h, small_collaborators, small, consumers, limit)
                        .await
                }
                "secrets" => secrets_outage::outage(&mut h, consumers, limit).await,
                "slack_down" => slack_down::slack_down(&mut h).await,
                "kill" => {
                    let kill_consumers = Consumers {
                        visibility: Duration::from_secs(5),
                        function_timeout: Duration::from_secs(4),
                        ..consumers
                    };
                    cls_events::kill(&mut h, small_collaborators, small, kill_consumers, limit)
                        .await
                }
                "sweep" => sweep::interrupted(&mut h, small_collaborators, consumers, limit).await,
                other => Err(anyhow::anyhow!("unknown scenario {other}")),
            };
            (h, r)
        })
        .await;
        print(&result.line());
        scenarios.push(result);
    }
    let report = Report { scale, scenarios };
    report.write(&options.report)?;
    Ok(report)
}

/// Runs one scenario on a fresh stack, then fills in its leak count, duration and verdict.
async fn scenario<F, Fut>(name: &str, leaks: &LeakCheck, body: F) -> ScenarioResult
where
    F: FnOnce(Harness) -> Fut,
    Fut: Future<Output = (Harness, Result<ScenarioResult>)>,
{
    let started = Instant::now();
    let harness = match Harness::start().await {
        Ok(h) => h,
        Err(error) => {
            return ScenarioResult::aborted(name, &error, started.elapsed().as_secs_f64());
        }
    };
    let (harness, result) = body(harness).await;
    let leaked = harness.leaked();
    for leak in leaks
        .leaks()
        .iter()
        .rev()
        .take(usize::try_from(leaked).unwrap_or(0))
    {
        tracing::warn!(target: "chaos", leak = %leak, "leak found");
    }
    harness.shutdown().await;
    let seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(mut result) => {
            result.leaked_secrets = leaked;
            result.seconds = seconds;
            result.finish()
        }
        Err(error) => {
            let mut result = ScenarioResult::aborted(name, &error, seconds);
            result.leaked_secrets = leaked;
            result
        }
    }
}
