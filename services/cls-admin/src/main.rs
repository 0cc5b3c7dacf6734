//! `cls-admin` entry point: parse, configure, run, print, exit. Tables and JSON go to stdout, logs and
//! progress bars to stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::Parser as _;
use cls_admin::{Cli, Env, Progress, exit, run};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    lambda_kit::init_tracing();
    let json = cli.global.json;
    let result = async {
        let env = Env::from_env().await?;
        run(&cli, &env, &Progress::for_terminal(json)).await
    };
    match result.await {
        Ok(outcome) => {
            if json {
                println!("{}", outcome.document);
            } else {
                print!("{}", outcome.text);
            }
            ExitCode::from(outcome.exit_code())
        }
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"error": e.chain(), "exit_code": e.exit_code()})
                );
            }
            eprintln!("cls-admin: {}", e.chain());
            ExitCode::from(if e.exit_code() == 0 {
                exit::FAILED
            } else {
                e.exit_code()
            })
        }
    }
}
