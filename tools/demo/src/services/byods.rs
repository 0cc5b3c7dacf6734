//! `byods-extender`: its Webex credentials and Slack alert secrets, and its handler.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use devstack::Wiring;
use devstack::lambda::{Registry, json_handler};
use lambda_kit::{Clock, MemorySink, SystemClock};
use serde_json::{Value, json};

use super::{USER_AGENT, lookup, secret_names, secret_store, slack_webhook};

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

/// `byods-extender`'s dependencies over `env`, as the demo builds them.
pub fn deps(wiring: &Wiring<'_>, env: &BTreeMap<String, String>) -> Result<byods_extender::Deps> {
    let config =
        byods_extender::Config::from_lookup(lookup(env)).context("byods-extender config")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = secret_store(wiring, Arc::clone(&clock));
    let poster: Arc<dyn slack_notify::WebhookPoster> = Arc::new(slack_notify::WebhookClient::new(
        lambda_kit::http::http_client(USER_AGENT)?,
    ));
    let alerter: Arc<dyn byods_extender::Alerter> = Arc::new(byods_extender::SlackAlerter::new(
        poster,
        Arc::clone(&store),
        secret_names::BYODS_SLACK,
    ));
    byods_extender::Deps::with_webex_client(
        config,
        store,
        alerter,
        clock,
        Arc::new(MemorySink::default()),
        Arc::new(byods_extender::TokioSleeper),
    )
    .map_err(|e| anyhow!("byods-extender dependencies: {e}"))
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
    let deps = Arc::new(deps(wiring, &env(wiring, secret_names::BYODS))?);
    registry.register(
        FUNCTION,
        json_handler(move |event, _ctx| {
            let deps = Arc::clone(&deps);
            async move {
                let summary = byods_extender::handle(event, &deps)
                    .await
                    .map_err(|e| e.to_string())?;
                serde_json::to_value(summary).map_err(|e| e.to_string())
            }
        }),
    );
    Ok(())
}
