//! `cargo xtask ci`: the local CI pipeline (docs/architecture.md "Tests and CI"), steps in order, stop at the first
//! failure.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::setup::{self, LAMBDAS};
use crate::summary::{
    StepCounts, TestsFailed, Totals, cargo_line, closing_line, node_output, step_tests,
};
use crate::util::{at, cmd, fmt_duration, root, run, show};

type Step = Box<dyn Fn() -> Result<Option<Totals>>>;

/// Runs the preflight and every step; prints the step durations, `tests: N passed, N failed` and, last, one line:
/// `ci: N tests passed, N failed; steps: N passed, N failed[, N not run]`.
pub(crate) fn ci() -> Result<ExitCode> {
    let mut steps: Vec<(String, Step)> = vec![
        step("preflight: install what is missing", || {
            setup::preflight()?;
            Ok(None)
        }),
        step("cargo fmt --check", || {
            plain(cargo(&["fmt", "--all", "--check"]))
        }),
        step("cargo clippy", || {
            plain(cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ]))
        }),
        step("cargo test", || {
            counted_cargo(cargo(&[
                "test",
                "--workspace",
                "--locked",
                "--no-fail-fast",
            ]))
        }),
        step("cargo deny (licenses, bans, sources)", || {
            let mut command = tool("cargo-deny")?;
            command.args([
                "--manifest-path",
                "Cargo.toml",
                "check",
                "licenses",
                "bans",
                "sources",
            ]);
            plain(command)
        }),
    ];
    steps.extend(workflow_steps());
    if at("infra/package.json").is_file() {
        steps.extend(infra_steps());
    } else {
        println!("infra: not present");
    }

    let mut tests = Totals::default();
    let mut step_counts = StepCounts {
        not_run: steps.len() as u64,
        ..StepCounts::default()
    };
    let mut failed_step = None;
    let started = Instant::now();
    let mut timings = Vec::new();
    for (name, run_step) in &steps {
        println!("\n==> ci: {name}");
        let step_started = Instant::now();
        let result = run_step();
        let took = step_started.elapsed();
        timings.push((name.clone(), took, result.is_ok()));
        step_counts.not_run -= 1;
        if let Some(counts) = step_tests(&result) {
            tests.add(counts);
        }
        match result {
            Ok(_) => {
                step_counts.passed += 1;
                println!("==> ci: {name}: ok ({})", fmt_duration(took));
            }
            Err(error) => {
                step_counts.failed += 1;
                println!("==> ci: {name}: FAILED ({}): {error:#}", fmt_duration(took));
                failed_step = Some(name.clone());
                break;
            }
        }
    }

    println!("\nci: step durations");
    let width = timings
        .iter()
        .map(|(n, _, _)| n.len())
        .max()
        .unwrap_or(0)
        .max(5);
    for (name, took, ok) in &timings {
        let verdict = if *ok { "ok" } else { "FAILED" };
        println!("  {name:<width$}  {:>8}  {verdict}", fmt_duration(*took));
    }
    println!(
        "  {:<width$}  {:>8}",
        "total",
        fmt_duration(started.elapsed())
    );
    if let Some(name) = &failed_step {
        println!("ci: stopped at `{name}`");
    }
    // The plain `N passed, N failed` form that generic CI log readers look for, then the summary.
    println!("tests: {} passed, {} failed", tests.passed, tests.failed);
    println!("{}", closing_line(tests, step_counts));
    Ok(if failed_step.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn step(name: &str, f: impl Fn() -> Result<Option<Totals>> + 'static) -> (String, Step) {
    (name.to_owned(), Box::new(f))
}

fn infra_steps() -> Vec<(String, Step)> {
    vec![
        step("infra: npm run build", || plain(npm(&["run", "build"]))),
        step("infra: npm test", || {
            let output = streamed(npm(&["test"]))?;
            let totals =
                node_output(&output).context("npm test printed no `pass`/`fail` summary")?;
            if totals.passed == 0 && totals.failed == 0 {
                bail!("npm test ran no test");
            }
            Ok(Some(totals))
        }),
        step("infra: cdk synth (fake assets)", || {
            let assets = fake_assets()?;
            let mut command = npm_like("npx");
            command.args([
                "--no-install",
                "cdk",
                "synth",
                "--quiet",
                "--no-notices",
                "-c",
            ]);
            command.arg(format!("lambdaAssetDir={}", assets.display()));
            plain(command)
        }),
        step("infra: cfn-lint", || {
            let templates = templates()?;
            let mut command = tool("cfn-lint")?;
            command.args(["-i", "W3005", "--"]).args(&templates);
            plain(command)
        }),
        step("infra: checkov", || {
            let mut command = tool("checkov")?;
            command.args([
                "--quiet",
                "--compact",
                "--skip-download",
                "--framework",
                "cloudformation",
                "--config-file",
                "infra/.checkov.yaml",
            ]);
            for template in templates()? {
                command.arg("-f").arg(template);
            }
            plain(command)
        }),
    ]
}

/// actionlint (with shellcheck on every `run:` script), zizmor and check-jsonschema over `.github/workflows`,
/// all from `.venv-tools`: the preflight installs them, so none of them can be skipped.
fn workflow_steps() -> Vec<(String, Step)> {
    vec![
        step("workflows: actionlint + shellcheck", || {
            let mut command = tool("actionlint")?;
            command
                .arg("-no-color")
                .arg("-shellcheck")
                .arg(at(".venv-tools/bin/shellcheck"))
                // No workflow runs Python inline; an empty path turns the pyflakes integration off explicitly
                // instead of depending on whether pyflakes happens to be on PATH.
                .arg("-pyflakes=")
                .args(workflows()?);
            plain(command)
        }),
        step("workflows: zizmor", || {
            let mut command = tool("zizmor")?;
            command.args([
                "--offline",
                "--no-progress",
                "--config",
                ".github/zizmor.yml",
                ".github",
            ]);
            plain(command)
        }),
        step("workflows: check-jsonschema", || {
            let mut command = tool("check-jsonschema")?;
            command
                .args(["--builtin-schema", "vendor.github-workflows"])
                .args(workflows()?);
            plain(command)
        }),
    ]
}

/// `.github/workflows/*.yml`, sorted; an error when there is none (a linter with no input checks nothing).
fn workflows() -> Result<Vec<PathBuf>> {
    let dir = at(".github/workflows");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    found.sort();
    if found.is_empty() {
        bail!("no workflow in {}", dir.display());
    }
    Ok(found)
}

/// `target/ci/lambda-assets/<fn>/bootstrap`, each file naming its function (identical files would collapse
/// into one asset).
fn fake_assets() -> Result<PathBuf> {
    let dir = at("target/ci/lambda-assets");
    for function in LAMBDAS {
        let fn_dir = dir.join(function);
        std::fs::create_dir_all(&fn_dir)
            .with_context(|| format!("creating {}", fn_dir.display()))?;
        std::fs::write(
            fn_dir.join("bootstrap"),
            format!("#!/bin/sh\n# fake asset for {function}; built by `cargo xtask lambda-build` for real\n"),
        )
        .context("writing a fake asset")?;
    }
    Ok(dir)
}

fn templates() -> Result<Vec<PathBuf>> {
    let out = at("infra/cdk.out");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&out)
        .with_context(|| format!("reading {} (did synth run?)", out.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".template.json"))
        .collect();
    found.sort();
    if found.is_empty() {
        bail!("no *.template.json in {}", out.display());
    }
    Ok(found)
}

/// A linter from `.venv-tools`.
fn tool(name: &str) -> Result<Command> {
    let path = at(&format!(".venv-tools/bin/{name}"));
    if !path.is_file() {
        bail!("{name} is not installed in .venv-tools; run `cargo xtask setup`");
    }
    let mut command = Command::new(path);
    command.current_dir(root());
    Ok(with_env(command))
}

fn cargo(args: &[&str]) -> Command {
    with_env(cmd("cargo", args))
}

fn npm(args: &[&str]) -> Command {
    let mut command = npm_like("npm");
    command.args(args);
    command
}

fn npm_like(program: &str) -> Command {
    let mut command = Command::new(program);
    command.current_dir(at("infra"));
    with_env(command)
}

/// The CI environment (also exported by `.ci/run`), plus the absolute moto path for the tests.
fn with_env(mut command: Command) -> Command {
    command
        .env("CARGO_INCREMENTAL", "0")
        .env("CDK_DISABLE_CLI_TELEMETRY", "true")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("DEVSTACK_MOTO_BIN", at(".venv/bin/moto_server"));
    command
}

fn plain(mut command: Command) -> Result<Option<Totals>> {
    run(&mut command)?;
    Ok(None)
}

/// Runs `cargo test`, echoing its stdout and summing every `test result:` line.
fn counted_cargo(command: Command) -> Result<Option<Totals>> {
    let mut totals = Totals::default();
    let mut saw_result = false;
    let outcome = stream_lines(command, |line| {
        if let Some(t) = cargo_line(line) {
            totals.add(t);
            saw_result = true;
        }
    });
    println!(
        "cargo test: {} passed, {} failed",
        totals.passed, totals.failed
    );
    if let Err(error) = outcome {
        if saw_result && totals.failed > 0 {
            return Err(anyhow::Error::new(TestsFailed(totals)).context(format!("{error:#}")));
        }
        return Err(error);
    }
    if !saw_result {
        bail!("cargo test printed no `test result:` line");
    }
    Ok(Some(totals))
}

/// Runs a command, echoing and returning its stdout; an error when it fails.
fn streamed(command: Command) -> Result<String> {
    let mut all = String::new();
    stream_lines(command, |line| {
        all.push_str(line);
        all.push('\n');
    })?;
    Ok(all)
}

fn stream_lines(mut command: Command, mut on_line: impl FnMut(&str)) -> Result<()> {
    let shown = show(&command);
    println!("$ {shown}");
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{shown}`"))?;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.context("reading output")?;
            println!("{line}");
            on_line(&line);
        }
    }
    let status = child.wait().context("waiting for the child")?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}
