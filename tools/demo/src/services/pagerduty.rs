//! `oncall-pagerduty`: its secret (the run's PagerDuty key, slack-fake's IT webhook), its team mapping over
//! pagerduty-fake's demo seed, and its handler.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use devstack::Wiring;
use devstack::lambda::Registry;
use lambda_kit::{MemorySink, SystemClock};
use serde_json::json;

use super::{lookup, register_handler, secret_names, slack_webhook};

/// The function name.
pub const FUNCTION: &str = "oncall-pagerduty";

/// The environment `oncall-pagerduty` gets locally: the demo seed's two escalation policies mapped to the Spoke
/// teams of spoke-fake's demo seed, the handoff bus in moto (`PAGERDUTY_API_URL` is the wiring's).
pub fn env(wiring: &Wiring<'_>) -> BTreeMap<String, String> {
    let teams = json!([
        {"escalation_policy_id": "PEPIT01", "team": "it", "spoke_team": "IT", "slack_channel": "#it-team"},
        {"escalation_policy_id": "PEPFAC1", "team": "facilities", "spoke_team": "Facilities", "slack_channel": "#it-team"}
    ]);
    wiring.env(&[
        ("ONCALL_PD_SECRET_ID", secret_names::PAGERDUTY.to_owned()),
        ("ONCALL_PD_TEAMS", teams.to_string()),
        (
            "ONCALL_EVENT_BUS_NAME",
            devstack::stack::HANDOFF_BUS.to_owned(),
        ),
    ])
}

/// `oncall-pagerduty`'s dependencies over `env`, through its one constructor with the local platform (moto).
pub async fn deps(
    wiring: &Wiring<'_>,
    env: &BTreeMap<String, String>,
) -> Result<oncall_pagerduty::Deps> {
    let config =
        oncall_pagerduty::Config::from_lookup(lookup(env)).context("oncall-pagerduty config")?;
    let platform = lambda_kit::Platform::local(
        &wiring.moto_endpoint,
        oncall_pagerduty::USER_AGENT,
        Arc::new(SystemClock),
        Arc::new(MemorySink::default()),
    )?;
    oncall_pagerduty::Deps::new(config, &platform)
        .await
        .context("oncall-pagerduty dependencies")
}

/// Creates the `oncall-pagerduty` secret and registers the handler.
pub async fn register(wiring: &Wiring<'_>, registry: &Registry) -> Result<()> {
    wiring
        .secret(
            secret_names::PAGERDUTY,
            &json!({
                "api_key": wiring.dev_secrets.pagerduty_api_key,
                "webhookUrl": slack_webhook(wiring, "alerts_it")?,
            }),
        )
        .await?;
    let deps = Arc::new(deps(wiring, &env(wiring)).await?);
    register_handler(registry, FUNCTION, deps, |event, invocation, deps| {
        Box::pin(oncall_pagerduty::handle(event, invocation, deps))
    });
    Ok(())
}
