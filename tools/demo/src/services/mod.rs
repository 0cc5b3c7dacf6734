//! The real service handlers, wired to the local stack as Lambda would run them.
//!
//! [`Handlers`] is the demo's [`devstack::Services`]: each service registers its handler under its function
//! name, with its `Config` built from the local environment ([`Wiring::env`], through `Config::from_lookup`,
//! never the process environment) and its secrets created in moto with the run's dev-only credentials
//! ([`devstack::DevSecrets`]) and the test-only values of the fakes' demo seeds. Each service's dependencies
//! are built by one function here (`oncall::deps`, `pagerduty::deps`, `byods::deps`, `cls::webhook_deps`, `cls::queue_deps`),
//! which the bench calls too. This module knows nothing of the flows.

pub mod byods;
pub mod cls;
pub mod cls_sweep;
pub mod oncall;
pub mod pagerduty;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Result, anyhow};
use devstack::Wiring;
use devstack::lambda::{Registry, json_handler};
use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;

/// The `User-Agent` of the demo's own calls and of the handlers it wires.
pub const USER_AGENT: &str = concat!("devstack-demo/", env!("CARGO_PKG_VERSION"));

/// The secret names the services read (their production defaults, docs/operations/deploy.md).
pub mod secret_names {
    /// oncall-spoke's credentials.
    pub const ONCALL: &str = "oncall-spoke";
    /// byods-extender's Webex credentials.
    pub const BYODS: &str = "webex-byods-credentials";
    /// byods-extender's Slack alert webhook.
    pub const BYODS_SLACK: &str = "byods/slack";
    /// oncall-pagerduty's PagerDuty key and IT alert webhook.
    pub const PAGERDUTY: &str = "oncall-pagerduty";
}

/// Every service's real handler: `oncall-spoke`, `oncall-pagerduty`, `byods-extender`, `cls-webhook`, `cls-queue`, `cls-sweep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Handlers;

impl devstack::Services for Handlers {
    async fn register(
        &self,
        wiring: &Wiring<'_>,
        registry: &Registry,
    ) -> Result<BTreeMap<String, String>> {
        oncall::register(wiring, registry).await?;
        pagerduty::register(wiring, registry).await?;
        byods::register(wiring, registry).await?;
        let endpoints = cls::register(wiring, registry).await?;
        cls_sweep::register(wiring, registry).await?;
        Ok(endpoints)
    }
}

/// A service's `handle` as a function the registry can call for any borrowed invocation and dependencies.
pub type Handle<D, R, E> =
    for<'a> fn(Value, &'a lambda_kit::Invocation, &'a D) -> BoxFuture<'a, Result<R, E>>;

/// Registers `name` in `registry` as `handle(event, &Invocation, &deps)` with the invocation's request id: the
/// response as JSON, an error as its text (a function error).
pub fn register_handler<D, R, E>(
    registry: &Registry,
    name: &str,
    deps: Arc<D>,
    handle: Handle<D, R, E>,
) where
    D: Send + Sync + 'static,
    R: Serialize + 'static,
    E: std::fmt::Display + 'static,
{
    registry.register(
        name,
        json_handler(move |event, ctx| {
            let deps = Arc::clone(&deps);
            async move {
                let invocation = lambda_kit::Invocation::new(ctx.request_id.clone());
                let response = handle(event, &invocation, &deps)
                    .await
                    .map_err(|e| e.to_string())?;
                serde_json::to_value(response).map_err(|e| e.to_string())
            }
        }),
    );
}

/// The URL of slack-fake's incoming webhook for `channel`, through devstack.
pub fn slack_webhook(wiring: &Wiring<'_>, channel: &str) -> Result<String> {
    let path = wiring
        .fakes
        .slack
        .webhook_path(channel)
        .ok_or_else(|| anyhow!("the slack demo seed has no webhook for {channel}"))?;
    Ok(format!("{}/slack{path}", wiring.devstack_url))
}

fn lookup(env: &BTreeMap<String, String>) -> impl Fn(&str) -> Option<String> + use<> {
    let env = env.clone();
    move |name| env.get(name).cloned()
}

/// The environment the CLS functions get locally: [`Wiring::env`] plus the stage and the queue.
pub fn cls_env(wiring: &Wiring<'_>) -> BTreeMap<String, String> {
    wiring.env(&[
        ("CLS_STAGE", "testing".to_owned()),
        ("CLS_QUEUE_URL", wiring.queue_url.clone()),
    ])
}
