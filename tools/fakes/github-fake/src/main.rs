//! `github-fake --port 8803 [--seed FILE]`: the GitHub stand-in as a standalone process (loopback only).
#![allow(clippy::print_stdout)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use github_fake::GithubFake;

/// Command line.
#[derive(Parser)]
#[command(about = "Stateful stand-in for the GitHub REST API used by CLS")]
struct Args {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 8803)]
    port: u16,
    /// Seed file (JSON); `fixtures/demo.json` when omitted.
    #[arg(long)]
    seed: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lambda_free_tracing();
    let args = Args::parse();
    let fake = match &args.seed {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            GithubFake::new(serde_json::from_str(&text).context("seed is not JSON")?)?
        }
        None => GithubFake::demo()?,
    };
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), args.port);
    let server = fake_kit::serve(fake.router(), addr).await?;
    println!(
        "github-fake listening on {} (control API at {}/__fake/)",
        server.base_url(),
        server.base_url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    server.stop().await;
    Ok(())
}

fn lambda_free_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .try_init();
}
