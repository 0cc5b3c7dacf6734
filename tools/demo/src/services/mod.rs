//! The real service handlers, wired to the local stack as Lambda would run them.
//!
//! [`Handlers`] is the demo's [`devstack::Services`]: each service registers its handler under its function
//! name, with its `Config` built from the local environment ([`Wiring::env`], through `Config::from_lookup`,
//! never the process environment) and its secrets created in moto with the run's dev-only credentials
//! ([`devstack::DevSecrets`]) and the test-only values of the fakes' demo seeds. Each service's dependencies
//! are built by one function here (`oncall::deps`, `byods::deps`, `cls::webhook_deps`, `cls::queue_deps`),
//! which the bench calls too. This module knows nothing of the flows.

pub mod byods;
pub mod cls;
pub mod cls_sweep;
pub mod oncall;

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use devstack::Wiring;
use devstack::lambda::Registry;

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
}

/// Every service's real handler: `oncall-spoke`, `byods-extender`, `cls-webhook`, `cls-queue`, `cls-sweep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Handlers;

impl devstack::Services for Handlers {
    async fn register(
        &self,
        wiring: &Wiring<'_>,
        registry: &Registry,
    ) -> Result<BTreeMap<String, String>> {
        oncall::register(wiring, registry).await?;
        byods::register(wiring, registry).await?;
        let endpoints = cls::register(wiring, registry).await?;
        cls_sweep::register(wiring, registry).await?;
        Ok(endpoints)
    }
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
