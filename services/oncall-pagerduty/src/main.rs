//! The `oncall-pagerduty` Lambda: wiring only (docs/architecture.md, "One service shape").

use lambda_kit::Platform;
use oncall_pagerduty::{Config, Deps, USER_AGENT, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_kit::init_tracing();
    let config = Config::from_env()?;
    let platform = Platform::from_env(USER_AGENT).await?;
    let deps = Deps::new(config, &platform).await?;
    let deps = &deps;
    lambda_kit::serve(
        move |event, invocation| async move { handle(event, &invocation, deps).await },
    )
    .await
}
