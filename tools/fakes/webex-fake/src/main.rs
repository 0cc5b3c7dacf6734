//! `webex-fake --port 8804`: the fake Webex on loopback, seeded from a fixture.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context as _;
use clap::Parser;

/// Serves the fake Webex (API under /v1, control under /__fake/) on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "webex-fake", version, about)]
struct Args {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 8804)]
    port: u16,
    /// Seed file (default: the built-in demo seed).
    #[arg(long)]
    seed: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let fake = match &args.seed {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            webex_fake::WebexFake::new(serde_json::from_str(&text).context("seed is not JSON")?)?
        }
        None => webex_fake::WebexFake::demo()?,
    };
    let server = fake_kit::serve(
        fake.router(),
        SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)),
    )
    .await?;
    tracing::info!(url = %format!("{}/v1", server.base_url()), "webex-fake listening");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    server.stop().await;
    Ok(())
}
