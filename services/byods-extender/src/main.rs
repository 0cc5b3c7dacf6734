//! The `byods-extender` Lambda: wiring only (platform §4).

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use tracing::Instrument as _;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_kit::init_tracing();
    let config = byods_extender::Config::from_env()?;
    let deps = byods_extender::build_deps(config, None).await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let span = lambda_kit::invocation_span(&event.context.request_id);
            let deadline = chrono::DateTime::from_timestamp_millis(
                i64::try_from(event.context.deadline).unwrap_or(i64::MAX),
            );
            byods_extender::handle_with_deadline(event.payload, deps, deadline)
                .instrument(span)
                .await
                .map_err(Diagnostic::from)
        },
    ))
    .await
}
