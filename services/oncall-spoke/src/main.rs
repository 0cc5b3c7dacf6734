//! The oncall-spoke Lambda binary: wiring only (platform spec §4).

use std::sync::Arc;

use anyhow::Context as _;
use lambda_kit::{Clock, StdoutSink, SystemClock};
use lambda_runtime::{LambdaEvent, service_fn};
use oncall_spoke::{Config, Invocation, SecretLocation, build_deps, handle};
use serde_json::Value;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lambda_kit::init_tracing();
    let config = Config::from_env().context("invalid configuration")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let http =
        lambda_kit::http::http_client(oncall_spoke::adapters::USER_AGENT).context("HTTP client")?;
    let store: Option<Arc<dyn secrets::SecretStore>> = match &config.secret {
        SecretLocation::SecretsManager(_) => {
            let sdk = lambda_kit::aws_sdk_config(None).await;
            let client = aws_sdk_secretsmanager::Client::new(&sdk);
            Some(Arc::new(
                secrets::SecretsClient::new(client, clock.clone()).with_ttl(config.secret_ttl),
            ))
        }
        SecretLocation::File(_) => None,
    };
    let deps =
        build_deps(config, http, store, clock.clone(), Arc::new(StdoutSink)).context("wiring")?;
    let deps = &deps;
    let clock = &clock;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let invocation = Invocation::from_context(&event.context, clock.as_ref());
        handle(event.payload, &invocation, deps).await
    }))
    .await
    .map_err(|e| anyhow::anyhow!("Lambda runtime failed: {e}"))
}
