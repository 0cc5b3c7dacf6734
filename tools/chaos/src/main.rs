//! `cargo xtask chaos`: the chaos suite on the local stack (tools/chaos/README.md).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// The chaos suite: the real handlers on the local stack under injected faults. Prints one verdict line per
/// scenario and writes a JSON report; exits non-zero when a scenario fails.
#[derive(Debug, Parser)]
#[command(name = "chaos")]
struct Args {
    /// The CI scale: 40 CLS deliveries for 4 collaborators and short timeouts (the default is 2,000 for 200).
    #[arg(long, conflicts_with = "scale")]
    quick: bool,
    /// CLS deliveries of the `faults` scenario (collaborators = deliveries / 10).
    #[arg(long)]
    scale: Option<usize>,
    /// Concurrent queue pollers (default 8; the deployed mapping allows 2).
    #[arg(long)]
    pollers: Option<usize>,
    /// Run only this scenario (repeatable).
    #[arg(long = "only", value_parser = clap::builder::PossibleValuesParser::new(chaos::SCENARIOS))]
    only: Vec<String>,
    /// Where the report goes.
    #[arg(long, default_value = "target/chaos/report.json")]
    report: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut scale = match (args.quick, args.scale) {
        (true, _) => chaos::Scale::quick(),
        (false, Some(events)) => chaos::Scale::events(events),
        (false, None) => chaos::Scale::full(),
    };
    if let Some(pollers) = args.pollers {
        scale.pollers = pollers.max(1);
    }
    let options = chaos::Options {
        scale,
        only: args.only,
        report: args.report,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("chaos: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(chaos::run(&options, |line| println!("{line}"))) {
        Ok(report) => {
            println!("chaos: report written to {}", options.report.display());
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("chaos: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
