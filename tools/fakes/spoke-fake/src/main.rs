//! `spoke-fake --seed <file> --port 8801`: the fake Spoke server, standalone. Prints the API base URL on
//! stdout and logs one line per request (method, route, status) to stderr.

#![allow(clippy::print_stdout)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use clap::Parser;
use spoke_fake::SpokeFake;

/// The fake Spoke server.
#[derive(Debug, Parser)]
#[command(name = "spoke-fake", version, about)]
struct Args {
    /// Seed JSON file (README, "Seeds"); the built-in demo seed when absent.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8801)]
    port: u16,
}

async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "<unmatched>".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    tracing::info!(method = %method, route = %route, http_status = response.status().as_u16(), "request");
    response
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false)
        .init();
    let args = Args::parse();
    let fake = match &args.seed {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading seed {}", path.display()))?;
            SpokeFake::from_json(&text).context("loading seed")?
        }
        None => SpokeFake::demo().context("loading the demo seed")?,
    };
    let router = fake.router().layer(axum::middleware::from_fn(log_request));
    let server = fake_kit::serve(router, SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)))
        .await
        .context("starting the server")?;
    println!("{}", spoke_fake::api_base_url(&server));
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    server.stop().await;
    Ok(())
}
