//! `cls-queue` Lambda entry point: wiring only.

use aws_lambda_events::sqs::SqsEvent;
use cls_queue::{Config, Deps, handle};
use lambda_runtime::{LambdaEvent, service_fn};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_kit::init_tracing();
    let config = Config::from_env()?;
    let sdk = lambda_kit::aws_sdk_config(None).await;
    let http = lambda_kit::http::http_client(concat!("cls-queue/", env!("CARGO_PKG_VERSION")))?;
    // A bad secret fails the cold start with a message naming the secret and key.
    let deps = Deps::from_aws(config, &sdk, http).await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let span = lambda_kit::invocation_span(&event.context.request_id);
        Ok::<_, std::convert::Infallible>(handle(event.payload, deps).instrument(span).await)
    }))
    .await
}
