//! `cls-webhook` Lambda entry point: wiring only.

use cls_webhook::{Config, Deps, handle};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_kit::init_tracing();
    let config = Config::from_env()?;
    let sdk = lambda_kit::aws_sdk_config(None).await;
    let http = lambda_kit::http::http_client(concat!("cls-webhook/", env!("CARGO_PKG_VERSION")))?;
    let deps = Deps::from_aws(config, &sdk, http);
    let deps = &deps;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            Ok::<_, std::convert::Infallible>(handle(event.payload, deps).await)
        },
    ))
    .await
}
