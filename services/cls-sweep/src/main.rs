//! `cls-sweep` Lambda entry point: wiring only.

use cls_sweep::{Config, Deps, handle};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_kit::init_tracing();
    let config = Config::from_env()?;
    let sdk = lambda_kit::aws_sdk_config(None).await;
    let http = lambda_kit::http::http_client(cls_sweep::deps::USER_AGENT)?;
    // A bad secret fails the cold start with a message naming the secret and key.
    let deps = Deps::from_aws(config, &sdk, http).await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let span = lambda_kit::invocation_span(&event.context.request_id);
            handle(event.payload, deps)
                .instrument(span)
                .await
                .map_err(Diagnostic::from)
        },
    ))
    .await
}
