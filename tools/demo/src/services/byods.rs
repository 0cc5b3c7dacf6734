//! `byods-extender`: its Webex credentials and Slack alert secrets, and its handler.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use devstack::Wiring;
use devstack::lambda::{Registry, json_handler};
use lambda_kit::{MemorySink, SystemClock};
use serde_json::{Value, json};

use super::{lookup, secret_names, slack_webhook};

/// The function name.
pub const FUNCTION: &str = "byods-extender";

/// The BYODS credentials matching `webex-fake/fixtures/demo.json` (test-only values): an expired integration
/// access token and the refresh token `refresh_token`.
pub fn secret(refresh_token: &str) -> Value {
    json!({
        "schemaVersion": 2,
        "serviceApp": {
            "clientId": "C-demo-service-app",
            "clientSecret": "demo-service-app-secret",
            "targetOrgId": "demo-org"
        },
        "tokenManager": {
            "clientId": "C-demo-integration",
            "clientSecret": "demo-integration-secret",
            "accessToken": "demo-int-access-expired",
            "accessTokenExpiresAt": "2020-01-01T00:00:00Z",
            "refreshToken": refresh_token
        }
    })
}

/// The environment `byods-extender` gets locally, reading its credentials from the secret `secret_id`.
pub fn env(wiring: &Wiring<'_>, secret_id: &str) -> BTreeMap<String, String> {
    wiring.env(&[
        ("BYODS_SECRET_ID", secret_id.to_owned()),
        (
            "BYODS_SLACK_SECRET_ID",
            secret_names::BYODS_SLACK.to_owned(),
        ),
        ("BYODS_MAX_RETRY_AFTER_SECONDS", "2".to_owned()),
    ])
}

/// `byods-extender`'s dependencies over `env`, as the demo builds them: `Deps::new` over moto, the
/// system clock and metrics kept in memory.
pub async fn deps(
    wiring: &Wiring<'_>,
    env: &BTreeMap<String, String>,
) -> Result<byods_extender::Deps> {
    let config =
        byods_extender::Config::from_lookup(lookup(env)).context("byods-extender config")?;
    let platform = lambda_kit::Platform::local(
        &wiring.moto_endpoint,
        byods_extender::USER_AGENT,
        Arc::new(SystemClock),
        Arc::new(MemorySink::default()),
    )?;
    byods_extender::Deps::new(config, &platform)
        .await
        .context("byods-extender dependencies")
}

/// Creates the BYODS secrets and registers the handler.
pub async fn register(wiring: &Wiring<'_>, registry: &Registry) -> Result<()> {
    wiring
        .secret(secret_names::BYODS, &secret("demo-int-refresh"))
        .await?;
    wiring
        .secret(
            secret_names::BYODS_SLACK,
            &json!({"webhookUrl": slack_webhook(wiring, "alerts_it")?}),
        )
        .await?;
    let deps = Arc::new(deps(wiring, &env(wiring, secret_names::BYODS)).await?);
    registry.register(
        FUNCTION,
        json_handler(move |event, ctx| {
            let deps = Arc::clone(&deps);
            async move {
                let invocation = lambda_kit::Invocation::new(ctx.request_id);
                let summary = byods_extender::handle(event, &invocation, &deps)
                    .await
                    .map_err(|e| e.to_string())?;
                serde_json::to_value(summary).map_err(|e| e.to_string())
            }
        }),
    );
    Ok(())
}
