#![doc = include_str!("../README.md")]
#![allow(clippy::print_stdout)]

mod artifact;
mod aws_stub;
mod chart;
mod cls;
mod coldstart;
mod crypto;
mod drain;
mod handlers;
mod plan;
mod release;
mod results;
mod stats;
mod sweep;
mod system;
mod targets;
mod warm;
mod webhook;

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use demo::{Stack, StackOptions};
use devstack::stack::workspace_root;

use crate::plan::{Plan, group_names, is_group, release_groups, stack_groups};
use crate::release::Release;
use crate::results::{Entry, Results};

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
                if let Some(bad) = groups.iter().find(|g| !is_group(g)) {
                    bail!("unknown group `{bad}`; groups: {}", group_names());
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

    let release = if release_groups().any(&wanted) {
        println!(
            "bench: building the release binaries (a no-op when up to date; minutes from cold)…"
        );
        let built = Instant::now();
        let release = Release::build().await;
        println!(
            "bench: release binaries ready in {:.1} s",
            built.elapsed().as_secs_f64()
        );
        Some(release)
    } else {
        None
    };
    let release: Option<Result<&Release, String>> = release
        .as_ref()
        .map(|r| r.as_ref().map_err(|e| format!("{e:#}")));

    if stack_groups().any(&wanted) {
        println!("bench: starting the local stack (moto, devstack, handlers) on ephemeral ports…");
        let stack_started = Instant::now();
        let mut stack = demo::start(StackOptions::ephemeral())
            .await
            .context("starting the local stack (run `cargo xtask setup` if moto is missing)")?;
        println!(
            "bench: stack up in {:.1} s; functions: {}",
            stack_started.elapsed().as_secs_f64(),
            stack.registry.names().join(", ")
        );
        // The benchmarks drive cls-queue themselves; the background mapping would compete for messages.
        if let Some(source) = stack.event_source.take() {
            source.stop().await;
        }
        for group in stack_groups().filter(|g| wanted(g)) {
            println!("bench: {group}…");
            let group_started = Instant::now();
            let result = bounded(
                &plan,
                group,
                run_group(group, &stack, &plan, release.clone()),
            )
            .await;
            println!(
                "bench: {group} took {:.1} s",
                group_started.elapsed().as_secs_f64()
            );
            let mut group_entries = result.unwrap_or_else(|error| {
                vec![Entry::failed(
                    group,
                    "run",
                    &format!("{group} benchmarks"),
                    &format!("{error:#}"),
                )]
            });
            stamp(&mut group_entries, &plan, group);
            report(&mut entries, group_entries);
        }
        stack.shutdown().await;
    }

    if wanted("memory") {
        let mut group = system::memory();
        stamp(&mut group, &plan, "memory");
        report(&mut entries, group);
    }
    if wanted("artifacts") {
        let mut group = match release {
            Some(Ok(binaries)) => artifact::entries(binaries),
            Some(Err(error)) => vec![Entry::failed(
                "artifacts",
                "build",
                "Zipped artifacts",
                &error,
            )],
            None => Vec::new(),
        };
        stamp(&mut group, &plan, "artifacts");
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
            let budget = plan.timeout("build");
            tokio::task::spawn_blocking(move || system::build_cost(iterations, budget))
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
        schema: 2,
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

async fn run_group(
    group: &str,
    stack: &Stack,
    plan: &Plan,
    release: Option<Result<&Release, String>>,
) -> Result<Vec<Entry>> {
    let binaries = || match &release {
        Some(Ok(release)) => Ok(*release),
        Some(Err(error)) => bail!("the release build failed: {error}"),
        None => bail!("the release binaries were not built"),
    };
    match group {
        "coldstart" => coldstart::cold_starts(stack, plan, binaries()?).await,
        "warm_memory" => warm::warm_memory(stack, plan, binaries()?).await,
        "webhook" => webhook::concurrency(stack, plan, binaries()?).await,
        "drain" => drain::run(stack, plan, binaries()?).await,
        "oncall" => handlers::oncall(stack, plan).await,
        "sweep" => sweep::run(stack, plan, binaries()?).await,
        "byods" => handlers::byods(stack, plan, binaries()?).await,
        other => bail!("no such group {other}"),
    }
}

async fn bounded<T>(plan: &Plan, group: &str, work: impl Future<Output = Result<T>>) -> Result<T> {
    let limit = plan.timeout(group);
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => bail!(
            "{group} did not finish within {} s (bounded run); stopped",
            limit.as_secs()
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
        for (name, svg) in chart::render_all(results)? {
            let path = workspace_root().join("docs").join(name);
            std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
            println!("bench: rendered {}", path.display());
        }
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
