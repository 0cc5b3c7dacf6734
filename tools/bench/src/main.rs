//! `bench [--quick] [--only <group>,…]` (run through `cargo xtask bench [--quick]`).
#![allow(clippy::print_stderr)]

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Warnings only (the bench provokes failures on purpose); RUST_LOG wins.
    demo::init_logs("warn");
    match bench::run(&args).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("bench: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
