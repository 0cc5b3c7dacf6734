//! `pagerduty-fake --seed <file> --port 8805`: the fake PagerDuty REST API, standalone. Prints its base URL on
//! stdout.

#![allow(clippy::print_stdout)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use pagerduty_fake::PagerDutyFake;

/// The fake PagerDuty REST API.
#[derive(Debug, Parser)]
#[command(name = "pagerduty-fake", version, about)]
struct Args {
    /// Seed JSON file; the built-in demo seed when absent.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8805)]
    port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let seed = args
        .seed
        .as_deref()
        .map(std::fs::read_to_string)
        .transpose()
        .context("reading the seed")?;
    let fake = seed.map_or_else(PagerDutyFake::demo, |text| PagerDutyFake::from_json(&text))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let server = fake_kit::serve(fake.router(), addr).await?;
    println!("{}", server.base_url());
    tokio::signal::ctrl_c().await?;
    server.stop().await;
    Ok(())
}
