//! `oncall-spoke`: its secret (the run's Spoke key, slack-fake's webhooks) and its handler.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use devstack::Wiring;
use devstack::lambda::Registry;
use lambda_kit::{MemorySink, SystemClock};
use serde_json::json;

use super::{lookup, register_handler, secret_names, slack_webhook};

/// The function name.
pub const FUNCTION: &str = "oncall-spoke";

/// The environment `oncall-spoke` gets locally.
pub fn env(wiring: &Wiring<'_>) -> BTreeMap<String, String> {
    wiring.env(&[
        ("ONCALL_SECRET_ID", secret_names::ONCALL.to_owned()),
        ("ONCALL_SPOKE_ORG", "example".to_owned()),
        // The demo's events are replayed long after their `time`; the staleness guard is tested in the service.
        ("ONCALL_MAX_EVENT_AGE_SECS", "0".to_owned()),
    ])
}

/// `oncall-spoke`'s dependencies over `env`, through its one constructor with the local platform (moto).
pub async fn deps(
    wiring: &Wiring<'_>,
    env: &BTreeMap<String, String>,
) -> Result<oncall_spoke::Deps> {
    let config = oncall_spoke::Config::from_lookup(lookup(env)).context("oncall-spoke config")?;
    let platform = lambda_kit::Platform::local(
        &wiring.moto_endpoint,
        oncall_spoke::USER_AGENT,
        Arc::new(SystemClock),
        Arc::new(MemorySink::default()),
    )?;
    oncall_spoke::Deps::new(config, &platform)
        .await
        .context("oncall-spoke dependencies")
}

/// Creates the `oncall-spoke` secret and registers the handler.
pub async fn register(wiring: &Wiring<'_>, registry: &Registry) -> Result<()> {
    let legacy = wiring
        .fakes
        .slack
        .default_webhook_path()
        .map(|p| format!("{}/slack{p}", wiring.devstack_url))
        .ok_or_else(|| anyhow!("the slack demo seed has no legacy webhook"))?;
    wiring
        .secret(
            secret_names::ONCALL,
            &json!({
                "spokeApiKey": wiring.dev_secrets.spoke_api_key,
                "slack": {
                    "defaultWebhookUrl": legacy,
                    "channelWebhooks": {
                        "#alerts_it": slack_webhook(wiring, "alerts_it")?,
                        "#it-team": slack_webhook(wiring, "it-team")?,
                    }
                }
            }),
        )
        .await?;
    let deps = Arc::new(deps(wiring, &env(wiring)).await?);
    register_handler(registry, FUNCTION, deps, |event, invocation, deps| {
        Box::pin(oncall_spoke::handle(event, invocation, deps))
    });
    Ok(())
}
