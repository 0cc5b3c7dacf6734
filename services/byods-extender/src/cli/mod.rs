//! `byods`: the operator CLI of byods-extender (README, "Set-up"). Tables and JSON go to stdout,
//! diagnostics to stderr. Exit codes: 0 ok, 1 warnings, 2 usage/ConfigInvalid, 3 re-auth/denied/state
//! mismatch, 4 transient, 5 Secrets Manager, 6 Webex rejected. `src/bin/byods.rs` only calls [`main`].
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod extend;
pub mod list;
mod setup;
mod status;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::Parser as _;
use lambda_kit::{MemorySink, Platform, SystemClock};
use serde_json::{Value, json};

use self::args::{Cli, Command, Global};
use crate::config::Config;
use crate::error::{Failure, FailureClass};
use crate::session::Session;
use crate::webex::CallCtx;
use crate::{Deps, USER_AGENT};

/// A CLI failure: an exit code and a message for stderr.
pub(crate) struct Exit {
    code: u8,
    message: String,
}

impl From<Failure> for Exit {
    fn from(f: Failure) -> Self {
        Self {
            code: exit_code(f.class),
            message: format!("{f}\naction: {}", f.class.action()),
        }
    }
}

impl Exit {
    fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

fn usage(message: impl Into<String>) -> Exit {
    Exit::new(2, message)
}

/// The exit code of a failure class (README, "CLI exit codes").
fn exit_code(class: FailureClass) -> u8 {
    u8::try_from(class.exit_code()).unwrap_or(1)
}

/// What a command printed: its exit code, its JSON document (`--json`) and its text.
type Report = (u8, Value, String);

/// Parses the command line, runs the command and prints its report. Ctrl-C exits 130.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.global.verbose {
        lambda_kit::tracing_init::init_tracing_with_filter("info,byods_extender=debug");
    } else if !cli.global.quiet {
        lambda_kit::init_tracing();
    }
    let json = cli.global.json;
    let outcome = tokio::select! {
        outcome = run(cli) => outcome,
        _ = tokio::signal::ctrl_c() => Err(Exit::new(130, "interrupted")),
    };
    match outcome {
        Ok((code, doc, text)) => {
            if json {
                println!("{doc}");
            } else if !text.is_empty() {
                println!("{text}");
            }
            ExitCode::from(code)
        }
        Err(exit) => {
            if json {
                println!("{}", json!({"error": exit.message, "exitCode": exit.code}));
            }
            eprintln!("byods: {}", exit.message);
            ExitCode::from(exit.code)
        }
    }
}

/// The service configuration from the flags, else the Lambda's environment variables.
fn config(global: &Global) -> Result<Config, Exit> {
    let env = lambda_kit::env_lookup();
    let mut flags: HashMap<&str, String> = HashMap::new();
    if let Some(s) = &global.secret_id {
        flags.insert("BYODS_SECRET_ID", s.clone());
    }
    if let Some(u) = &global.api_base_url {
        flags.insert("WEBEX_API_BASE_URL", u.clone());
    }
    Config::from_lookup(|k| flags.get(k).cloned().or_else(|| env(k)))
        .map_err(|e| usage(format!("{e}")))
}

/// The platform of an operator's machine: the AWS default chain (with `--region`), the system clock, and
/// EMF kept off stdout.
async fn platform(global: &Global) -> Result<Platform, Exit> {
    let mut loader = lambda_kit::aws_http::with_aws_http_client(aws_config::defaults(
        aws_config::BehaviorVersion::latest(),
    ));
    if let Some(region) = &global.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    Ok(Platform {
        sdk: loader.load().await,
        http: lambda_kit::http::http_client(USER_AGENT)
            .map_err(|e| Exit::new(4, e.without_url().to_string()))?,
        clock: Arc::new(SystemClock),
        metrics: Arc::new(MemorySink::default()),
    })
}

async fn run(cli: Cli) -> Result<Report, Exit> {
    let config = config(&cli.global)?;
    let platform = platform(&cli.global).await?;
    let deps = Deps::new(config, &platform)
        .await
        .map_err(|e| Exit::new(4, lambda_kit::error::chain(&e)))?;
    match cli.command {
        Command::SetupOauth(args) => setup::setup_oauth(&deps, &platform.sdk, args).await,
        Command::List {
            ids,
            window_minutes,
            claims,
        } => list::list(&deps, &ids, window_minutes, claims).await,
        Command::Extend(args) => extend::extend(&deps, args).await,
        Command::Status { check_write } => status::status(&deps, check_write).await,
        Command::Doctor => status::doctor(&deps).await,
        Command::Sweep { dry_run, mode, ids } => extend::sweep(&deps, dry_run, mode, ids).await,
    }
}

/// A call context for one CLI run: tracking ids `byods_cli<random>_<n>`, no deadline.
fn ctx() -> CallCtx {
    CallCtx::new(
        &format!("cli{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        None,
    )
}

fn fmt_time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

async fn open_session(deps: &Deps) -> Result<Session<'_>, Exit> {
    Session::open(deps, ctx()).await.map_err(Exit::from)
}

/// The exit code of the most severe failure, else `otherwise`.
fn exit_for(failures: &[Failure], otherwise: u8) -> u8 {
    failures
        .iter()
        .map(|f| f.class)
        .min()
        .map_or(otherwise, exit_code)
}
