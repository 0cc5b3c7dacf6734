//! `slack-fake --port 8802 [--seed fixtures/demo.json]`: the Slack stand-in on its own, on loopback.
#![allow(clippy::print_stdout)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use slack_fake::{Seed, SlackFake};

/// Serves the Slack stand-in on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "slack-fake", version, about)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8802)]
    port: u16,
    /// Seed JSON file; the built-in `fixtures/demo.json` when absent.
    #[arg(long)]
    seed: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let seed = match &args.seed {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading seed {}", path.display()))?;
            Seed::from_json(&text).context("parsing the seed")?
        }
        None => Seed::demo(),
    };
    let fake = SlackFake::new(seed);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let server = fake_kit::serve(fake.router(), addr)
        .await
        .context("starting slack-fake")?;
    println!("slack-fake listening on {}", server.base_url());
    println!("  Web API  {}/api", server.base_url());
    println!("  control  {}/__fake/state", server.base_url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    server.stop().await;
    Ok(())
}
