//! `cls-sweep` in the local stack: the real sweep over the stack's Spoke, GitHub and Slack stand-ins and the
//! moto FIFO queue that the `cls-queue` mapping drains. `cargo xtask invoke cls-sweep '{"today":"…"}'` runs a
//! sweep as of that date; a continuation is invoked through the registry, asynchronously, as Lambda's
//! `InvocationType: Event` would.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use devstack::Wiring;
use devstack::lambda::{Registry, json_handler};
use futures::future::BoxFuture;
use lambda_kit::Invocation;

use super::lookup;

/// The function name.
pub const FUNCTION: &str = "cls-sweep";

/// [`cls_sweep::Continuation`] through the stack's registry: the next invocation runs in the background.
struct RegistryContinuation {
    registry: Registry,
}

impl cls_sweep::Continuation for RegistryContinuation {
    fn start<'a>(&'a self, event: &'a cls_sweep::SweepEvent) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let event = serde_json::to_value(event).map_err(|e| e.to_string())?;
            if self.registry.get(FUNCTION).is_none() {
                return Err(format!("{FUNCTION} is not registered"));
            }
            let registry = self.registry.clone();
            tokio::spawn(async move {
                if let Some(Err(error)) = registry.invoke(FUNCTION, event).await {
                    tracing::warn!(%error, "the sweep continuation failed");
                }
            });
            Ok(())
        })
    }
}

/// Registers `cls-sweep` (after [`super::cls::register`], which creates the CLS secrets it reads).
pub async fn register(wiring: &Wiring<'_>, registry: &Registry) -> Result<()> {
    let config = cls_sweep::Config::from_lookup(lookup(&super::cls_env(wiring)))
        .map_err(|e| anyhow!("cls-sweep config: {e}"))?;
    let continuation = Arc::new(RegistryContinuation {
        registry: registry.clone(),
    });
    // Lambda's self-invocation cannot reach the stack's registry: the one client replaced.
    let deps = cls_sweep::Deps::new(
        config,
        &super::cls::platform(wiring, cls_sweep::USER_AGENT)?,
    )
    .await
    .map_err(|e| anyhow!("cls-sweep start-up: {e}"))?
    .with_continuation(continuation);
    let deps = Arc::new(deps);
    registry.register(
        FUNCTION,
        json_handler(move |event, ctx| {
            let deps = Arc::clone(&deps);
            async move {
                let report = cls_sweep::handle(event, &Invocation::new(ctx.request_id), &deps)
                    .await
                    .map_err(|e| e.chain())?;
                serde_json::to_value(report).map_err(|e| e.to_string())
            }
        }),
    );
    Ok(())
}
