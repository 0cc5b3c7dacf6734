#![doc = include_str!("../README.md")]
#![allow(clippy::print_stdout)]

mod cls;
mod crypto;
mod handlers;
mod init;
mod results;
mod stats;
mod system;

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use demo::{Stack, StackOptions};
use devstack::stack::workspace_root;

use crate::results::{Entry, Results};

/// Every group, in run order.
const GROUPS: &[&str] = &[
    "crypto",
    "init",
    "webhook",
    "queue",
    "oncall",
    "byods",
    "sweep",
    "memory",
    "artifacts",
    "build",
];

/// How much work each group does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// `--quick`.
    pub(crate) quick: bool,
    /// Iterations of each signature check.
    pub(crate) crypto: usize,
    /// Iterations of each init measurement.
    pub(crate) init: usize,
    /// Webhook deliveries per variant.
    pub(crate) webhook: usize,
    /// Member events drained through the queue.
    pub(crate) queue_events: usize,
    /// Distinct collaborators among them.
    pub(crate) queue_collaborators: usize,
    /// Handoff invocations per path.
    pub(crate) oncall: usize,
    /// Data sources in the BYODS run.
    pub(crate) byods_sources: usize,
    /// BYODS runs.
    pub(crate) byods_runs: usize,
    /// `cargo build` repetitions per service (0: not measured).
    pub(crate) build: usize,
    /// Upper bound for one group.
    pub(crate) group_timeout: Duration,
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                quick,
                crypto: 100,
                init: 30,
                webhook: 100,
                queue_events: 100,
                queue_collaborators: 10,
                oncall: 100,
                byods_sources: 20,
                byods_runs: 10,
                build: 0,
                group_timeout: Duration::from_secs(60),
            }
        } else {
            Self {
                quick,
                crypto: 300,
                init: 100,
                webhook: 300,
                queue_events: 300,
                queue_collaborators: 30,
                oncall: 300,
                byods_sources: 100,
                byods_runs: 20,
                build: 2,
                group_timeout: Duration::from_secs(300),
            }
        }
    }

    /// The `cargo xtask` command of this plan.
    pub(crate) fn command(&self) -> &'static str {
        if self.quick {
            "cargo xtask bench --quick"
        } else {
            "cargo xtask bench"
        }
    }

    /// The command that reruns one group only.
    pub(crate) fn group_command(&self, group: &str) -> String {
        let quick = if self.quick { " --quick" } else { "" };
        format!("cargo run -p bench --{quick} --only {group}")
    }
}

/// Runs the benchmarks. `args` are the words after `bench`.
pub async fn run(args: &[String]) -> Result<ExitCode> {
    let mut quick = false;
    let mut only: Option<Vec<String>> = None;
    let mut words = args.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "--quick" => quick = true,
            "--only" => {
                let list = words.next().context("--only needs a group list")?;
                let groups: Vec<String> = list.split(',').map(|g| g.trim().to_owned()).collect();
                if let Some(bad) = groups.iter().find(|g| !GROUPS.contains(&g.as_str())) {
                    bail!("unknown group `{bad}`; groups: {}", GROUPS.join(", "));
                }
                only = Some(groups);
            }
            other => {
                bail!("unexpected argument `{other}`; usage: bench [--quick] [--only <group>,…]")
            }
        }
    }
    let plan = Plan::new(quick);
    let wanted = |group: &str| only.as_ref().is_none_or(|g| g.iter().any(|x| x == group));
    let started = Instant::now();
    let mut machine = system::machine();
    println!(
        "bench: {} on {} CPU(s), commit {}, load {}",
        if quick { "quick" } else { "full" },
        machine.nproc,
        machine.git_commit,
        machine.load_avg_start
    );
    let mut entries: Vec<Entry> = Vec::new();

    if wanted("crypto") {
        let iterations = plan.crypto;
        let mut group = tokio::task::spawn_blocking(move || crypto::run(iterations))
            .await
            .context("the signature benchmarks panicked")?;
        stamp(&mut group, &plan, "crypto");
        report(&mut entries, group);
    }

    let needs_stack = ["init", "webhook", "queue", "oncall", "byods"]
        .iter()
        .any(|g| wanted(g));
    if needs_stack {
        println!("bench: starting the local stack (moto, devstack, handlers) on ephemeral ports…");
        let stack_started = Instant::now();
        let mut stack = demo::start(StackOptions::ephemeral())
            .await
            .context("starting the local stack (run `cargo xtask setup` if moto is missing)")?;
        let stack_secs = stack_started.elapsed().as_secs_f64();
        println!(
            "bench: stack up in {stack_secs:.1} s; functions: {}",
            stack.registry.names().join(", ")
        );
        if wanted("init") {
            let mut entry = vec![
                Entry::value(
                    "init",
                    "stack",
                    "Local stack start: moto, devstack with four fakes, secrets, queues, every handler registered",
                    "s",
                    stack_secs,
                )
                .with("functions", stack.registry.names().join(" ")),
            ];
            stamp(&mut entry, &plan, "init");
            report(&mut entries, entry);
        }
        // The benchmarks drive cls-queue themselves; the background mapping would compete for messages.
        if let Some(source) = stack.event_source.take() {
            source.stop().await;
        }
        for group in ["init", "webhook", "queue", "oncall", "byods"] {
            if !wanted(group) {
                continue;
            }
            let result = bounded(&plan, group, run_group(group, &stack, &plan)).await;
            let mut group_entries = match result {
                Ok(list) => list,
                Err(error) => vec![Entry::failed(
                    group,
                    "run",
                    &format!("{group} benchmarks"),
                    &format!("{error:#}"),
                )],
            };
            stamp(&mut group_entries, &plan, group);
            report(&mut entries, group_entries);
        }
        stack.shutdown().await;
    }

    if wanted("sweep") {
        let reason = if workspace_root()
            .join("services/cls-sweep/Cargo.toml")
            .is_file()
        {
            "`services/cls-sweep` exists but the bench does not drive it yet; no number is reported"
        } else {
            "`services/cls-sweep` does not exist yet, so there is nothing to measure; no number is reported"
        };
        let mut group = vec![Entry::skipped(
            "sweep",
            "scale",
            "Sweep over many tickets (`cls-sweep`)",
            reason,
        )];
        stamp(&mut group, &plan, "sweep");
        report(&mut entries, group);
    }
    if wanted("memory") {
        let mut group = system::memory();
        stamp(&mut group, &plan, "memory");
        report(&mut entries, group);
    }
    if wanted("artifacts") {
        let group = system::artifacts();
        report(&mut entries, group);
    }
    if wanted("build") {
        let mut group = if plan.build == 0 {
            vec![
                Entry::skipped(
                    "build",
                    "services",
                    "`cargo build -p <service>` on a warm target/",
                    "measured only without --quick (`cargo xtask bench`)",
                )
                .command_line("cargo xtask bench"),
            ]
        } else {
            println!("bench: timing warm `cargo build -p <service>`…");
            let iterations = plan.build;
            tokio::task::spawn_blocking(move || {
                system::build_cost(iterations, Duration::from_secs(300))
            })
            .await
            .context("the build benchmark panicked")?
        };
        for entry in &mut group {
            if entry.command.is_empty() {
                entry.command = plan.command().to_owned();
            }
        }
        report(&mut entries, group);
    }

    machine.load_avg_end = system::load_avg();
    let results = Results {
        schema: 1,
        mode: if quick { "quick" } else { "full" }.to_owned(),
        command: match &only {
            None => plan.command().to_owned(),
            Some(groups) => plan.group_command(&groups.join(",")),
        },
        machine,
        wall_secs: started.elapsed().as_secs_f64(),
        entries,
    };
    let failures = results.failures();
    write_outputs(&results, only.is_none())?;
    println!(
        "bench: done in {:.0} s; {} measurement(s), {failures} failed",
        results.wall_secs,
        results.entries.len()
    );
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn run_group(group: &str, stack: &Stack, plan: &Plan) -> Result<Vec<Entry>> {
    println!("bench: {group}…");
    match group {
        "init" => init::run(stack, plan).await,
        "webhook" => cls::webhook(stack, plan).await,
        "queue" => cls::queue_drain(stack, plan).await,
        "oncall" => handlers::oncall(stack, plan).await,
        "byods" => handlers::byods(stack, plan).await,
        other => bail!("no such group {other}"),
    }
}

async fn bounded<T>(plan: &Plan, group: &str, work: impl Future<Output = Result<T>>) -> Result<T> {
    match tokio::time::timeout(plan.group_timeout, work).await {
        Ok(result) => result,
        Err(_) => bail!(
            "{group} did not finish within {} s (bounded run); stopped",
            plan.group_timeout.as_secs()
        ),
    }
}

/// Fills in the reproduce command where a group left it empty.
fn stamp(entries: &mut [Entry], plan: &Plan, group: &str) {
    for entry in entries {
        if entry.command.is_empty() {
            entry.command = plan.group_command(group);
        }
    }
}

fn report(all: &mut Vec<Entry>, group: Vec<Entry>) {
    for entry in &group {
        println!("{}", entry.console_line());
    }
    all.extend(group);
}

fn write_outputs(results: &Results, regenerate_doc: bool) -> Result<()> {
    let dir = workspace_root().join("target/bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = if regenerate_doc {
        "results.json"
    } else {
        "results-partial.json"
    };
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(results)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("bench: wrote {}", path.display());
    if regenerate_doc {
        let doc = doc_path();
        let existing = std::fs::read_to_string(&doc).unwrap_or_else(|_| DOC_HEADER.to_owned());
        let text = results::splice(&existing, &results::render(results));
        std::fs::write(&doc, text).with_context(|| format!("writing {}", doc.display()))?;
        println!("bench: regenerated {}", doc.display());
    }
    Ok(())
}

fn doc_path() -> PathBuf {
    workspace_root().join("docs/performance.md")
}

/// The head of `docs/performance.md` when the file does not exist yet (the committed file has more).
const DOC_HEADER: &str = "# Performance\n";
