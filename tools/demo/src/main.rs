//! `demo up | demo [--keep-running] [--ephemeral] | invoke <function> <event.json|->` (run through
//! `cargo xtask`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use demo::{Stack, StackOptions, flows, report};
use devstack::function_process::{Output, Profile};
use devstack::stack::endpoints_path;
use serde_json::Value;

const USAGE: &str = "usage: demo up [--ephemeral] [--binaries] | demo demo [--keep-running] [--ephemeral] | demo invoke <function> <event.json|-|JSON>";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The demo provokes failures on purpose; its table is the output. `up` shows warnings. RUST_LOG wins.
    demo::init_logs(if args.first().is_some_and(|a| a == "demo") {
        "off"
    } else {
        "warn"
    });
    match run(&args).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("demo: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &[String]) -> Result<ExitCode> {
    let Some((command, rest)) = args.split_first() else {
        bail!("{USAGE}");
    };
    let flag = |name: &str| rest.iter().any(|a| a == name);
    match command.as_str() {
        "up" => {
            let (stack, binaries) = if flag("--binaries") {
                println!("up: building the release binaries (the first build takes minutes)…");
                let (stack, binaries) = demo::start_binaries(
                    options(flag("--ephemeral"))?,
                    Profile::Release,
                    Output::Inherit,
                )
                .await?;
                (stack, Some(binaries))
            } else {
                (demo::start(options(flag("--ephemeral"))?).await?, None)
            };
            write_endpoints(&stack)?;
            print_endpoints(&stack);
            if binaries.is_some() {
                println!(
                    "  {:<22} each its release binary behind a Runtime API emulator",
                    "mode"
                );
            }
            println!("\nup: running; Ctrl-C or SIGTERM stops every process");
            wait_for_signal().await?;
            stack.shutdown().await;
            if let Some(binaries) = binaries {
                binaries.stop().await;
            }
            println!("up: stopped");
            Ok(ExitCode::SUCCESS)
        }
        "demo" => {
            let stack = start(flag("--ephemeral")).await?;
            println!("demo: replaying the flows…\n");
            let rows = flows::replay(&stack).await;
            print!("{}", report::table(&rows));
            println!();
            print!("{}", report::inspection(&stack.endpoints));
            let failed = rows.iter().filter(|r| !r.ok).count();
            if flag("--keep-running") {
                println!(
                    "\ndemo: still running (--keep-running); Ctrl-C or SIGTERM stops every process"
                );
                wait_for_signal().await?;
            }
            stack.shutdown().await;
            println!(
                "\ndemo: {} step(s) ok, {failed} failed",
                rows.len() - failed
            );
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        "invoke" => {
            let [function, source] = rest else {
                bail!("{USAGE}");
            };
            invoke(function, source).await
        }
        other => bail!("unknown command `{other}`; {USAGE}"),
    }
}

async fn start(ephemeral: bool) -> Result<Stack> {
    let stack = demo::start(options(ephemeral)?).await?;
    write_endpoints(&stack)?;
    Ok(stack)
}

fn options(ephemeral: bool) -> Result<StackOptions> {
    if ephemeral {
        Ok(StackOptions::ephemeral())
    } else {
        StackOptions::from_lookup(lambda_kit::env_lookup())
    }
}

fn write_endpoints(stack: &Stack) -> Result<()> {
    let path = endpoints_path();
    stack.write_endpoints(&path)?;
    println!("endpoints: {}", path.display());
    Ok(())
}

fn print_endpoints(stack: &Stack) {
    for (key, value) in &stack.endpoints {
        if is_secret_key(key) {
            println!("  {key:<22} (in endpoints.json)");
        } else {
            println!("  {key:<22} {value}");
        }
    }
    println!(
        "  {:<22} {}",
        "functions",
        stack.registry.names().join(", ")
    );
}

fn is_secret_key(key: &str) -> bool {
    key.ends_with("_secret") || key.ends_with("_key")
}

async fn wait_for_signal() -> Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("waiting for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}

/// `invoke <function> <event.json|-|JSON>`: POSTs the event to the running stack's invoke endpoint.
async fn invoke(function: &str, source: &str) -> Result<ExitCode> {
    let event_text = if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the event from stdin")?;
        text
    } else if source.trim_start().starts_with('{') {
        // An inline event: `cargo xtask invoke cls-sweep '{"today":"2027-01-10"}'`.
        source.to_owned()
    } else {
        std::fs::read_to_string(source).with_context(|| format!("reading {source}"))?
    };
    let event: Value = serde_json::from_str(&event_text).context("the event is not JSON")?;
    let path = endpoints_path();
    let endpoints: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).with_context(|| {
            format!("reading {} (is `cargo xtask up` running?)", path.display())
        })?)
        .context("endpoints.json is not JSON")?;
    let base = endpoints["invoke"]
        .as_str()
        .context("endpoints.json has no `invoke` entry")?;
    let response = lambda_kit::http::default_client()
        .post(format!("{base}/{function}"))
        .json(&event)
        .send()
        .await
        .context("the stack does not answer (is `cargo xtask up` running?)")?;
    let status = response.status();
    let body: Value = response.json().await.context("the answer is not JSON")?;
    println!("{}", serde_json::to_string_pretty(&body)?);
    if !status.is_success() {
        eprintln!("invoke: {function} failed ({status})");
        return Ok(ExitCode::FAILURE);
    }
    if devstack::lambda::lists_batch_failures(&body) {
        eprintln!("invoke: {function} reported batch item failures");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
