//! The real service handlers, wired to the stack as Lambda would run them.
//!
//! Each service registers its handler under its function name, with its `Config` built from the local
//! environment of platform spec §5 (through `Config::from_lookup`, never the process environment), its
//! secrets created in moto with the run's dev-only credentials ([`crate::stack::DevSecrets`]) and the
//! test-only values of the fakes' demo seeds, and contributes the steps of its flow to the summary.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use aws_sdk_secretsmanager::error::ProvideErrorMetadata as _;
use devstack::lambda::{Registry, json_handler};
use lambda_kit::{Clock, MemorySink, MetricSink, SystemClock};
use secrets::{SecretStore, SecretsClient};
use serde_json::{Value, json};

use crate::flows::{USER_AGENT, short};
use crate::report::Row;
use crate::stack::{Stack, Wiring};

/// The secret names the services read (production defaults, platform spec §9).
pub mod secret_names {
    /// oncall-spoke's credentials.
    pub const ONCALL: &str = "oncall-spoke";
    /// byods-extender's Webex credentials.
    pub const BYODS: &str = "webex-byods-credentials";
    /// byods-extender's Slack alert webhook.
    pub const BYODS_SLACK: &str = "byods/slack";
}

/// The Spoke team of the handoff flow (SPECIFIC_USER delegation in the spoke-fake demo seed).
pub const HANDOFF_TEAM: &str = "Facilities";
/// The Spoke team id of [`HANDOFF_TEAM`].
pub const HANDOFF_TEAM_ID: &str = "5cb65407f38ee4000743e946";
/// A team agent who is not the current delegate (erin@example.com).
pub const HANDOFF_ON_CALL_EMAIL: &str = "erin@example.com";
/// Erin's Spoke user id.
pub const HANDOFF_ON_CALL_USER_ID: &str = "5f0c3a9e2b7d4c0012ab3405";

/// What the services added to the stack.
#[derive(Debug, Default)]
pub struct Registered {
    /// Extra `endpoints.json` entries (secrets for signing requests, org names, …).
    pub endpoints: BTreeMap<String, String>,
}

/// Registers every service that exists.
pub async fn register_all(wiring: &Wiring<'_>, registry: &Registry) -> Result<Registered> {
    let mut registered = Registered::default();
    register_oncall_spoke(wiring, registry).await?;
    register_byods_extender(wiring, registry).await?;
    for (key, value) in crate::cls::register(wiring, registry).await? {
        registered.endpoints.insert(key, value);
    }
    crate::cls_sweep::register(wiring, registry).await?;
    registered.endpoints.insert(
        "spoke_api_key".to_owned(),
        wiring.dev_secrets.spoke_api_key.clone(),
    );
    Ok(registered)
}

/// Replays the flows of the registered services.
pub async fn replay(stack: &Stack) -> Vec<Row> {
    let mut rows = Vec::new();
    rows.extend(handoff(stack).await);
    rows.extend(crate::cls::replay(stack).await);
    rows.extend(crate::cls_lifecycle::replay(stack).await);
    rows.extend(byods(stack).await);
    rows
}

fn slack_webhook(wiring: &Wiring<'_>, channel: &str) -> Result<String> {
    let path = wiring
        .fakes
        .slack
        .webhook_path(channel)
        .ok_or_else(|| anyhow!("the slack demo seed has no webhook for {channel}"))?;
    Ok(format!("{}/slack{path}", wiring.devstack_url))
}

fn secret_store(wiring: &Wiring<'_>, clock: Arc<dyn Clock>) -> Arc<dyn SecretStore> {
    Arc::new(SecretsClient::new(wiring.secrets.clone(), clock))
}

fn lookup(env: BTreeMap<String, String>) -> impl Fn(&str) -> Option<String> {
    move |name| env.get(name).cloned()
}

// ---------------------------------------------------------------------------------------------- oncall-spoke

async fn register_oncall_spoke(wiring: &Wiring<'_>, registry: &Registry) -> Result<()> {
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
    let env = wiring.env(&[
        ("ONCALL_SECRET_ID", secret_names::ONCALL.to_owned()),
        ("ONCALL_SPOKE_ORG", "example".to_owned()),
        // The demo's events are replayed long after their `time`; the staleness guard is tested in the service.
        ("ONCALL_MAX_EVENT_AGE_SECS", "0".to_owned()),
    ]);
    let config = oncall_spoke::Config::from_lookup(lookup(env)).context("oncall-spoke config")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics: Arc<dyn MetricSink> = Arc::new(MemorySink::default());
    let deps = oncall_spoke::build_deps(
        config,
        lambda_kit::http::http_client(oncall_spoke::adapters::USER_AGENT)?,
        Some(secret_store(wiring, Arc::clone(&clock))),
        clock,
        metrics,
    )
    .context("oncall-spoke dependencies")?;
    let deps = Arc::new(deps);
    registry.register(
        "oncall-spoke",
        json_handler(move |event, ctx| {
            let deps = Arc::clone(&deps);
            async move {
                let invocation = oncall_spoke::Invocation::new(ctx.request_id.clone());
                let response = oncall_spoke::handle(event, &invocation, &deps)
                    .await
                    .map_err(|e| e.to_string())?;
                serde_json::to_value(response).map_err(|e| e.to_string())
            }
        }),
    );
    Ok(())
}

/// The handoff event of the demo: `on_call` takes over escalation level 1 of the Spoke team `team`.
pub fn handoff_event(id: &str, team: &str, on_call: &str) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": "On-call Handoff Event",
        "source": "on-call/handoff",
        "account": "123456789012",
        "time": "2026-01-05T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "PagerdutyHandoffs": [{
                "escalationLevel": 1,
                "scheduleName": "Facilities",
                "scheduleUrl": "https://example.pagerduty.com/schedules/PFAC001",
                "goingOff": {"id": "PU00004", "type": "user_reference", "summary": "Dave Example"},
                "goingOn": {"id": "PU00005", "type": "user_reference", "summary": "On Call"}
            }],
            "Team": {"name": "facilities", "service": "PFAC001", "slack": "#it-team", "spoke": team},
            "OnCallEmail": on_call,
            "PreviouslyOnCall": "dave@example.com"
        }
    })
}

async fn handoff(stack: &Stack) -> Vec<Row> {
    let flow = "handoff";
    let mut rows = Vec::new();
    let event = handoff_event("demo-handoff-1", HANDOFF_TEAM, HANDOFF_ON_CALL_EMAIL);

    let first = stack.registry.invoke("oncall-spoke", event.clone()).await;
    rows.push(Row::from_result(
        flow,
        "seed event sets the team's delegate",
        async {
            let response = invoked(first)?;
            anyhow::ensure!(
                response["result"] == "updated",
                "result {}",
                response["result"]
            );
            let delegation = team_delegation(stack)?;
            anyhow::ensure!(
                delegation["specificUser"] == HANDOFF_ON_CALL_USER_ID,
                "the team's delegation is {delegation}"
            );
            Ok(format!(
                "team {HANDOFF_TEAM_ID}: SPECIFIC_USER → {HANDOFF_ON_CALL_USER_ID}"
            ))
        }
        .await,
    ));

    let patches_before = stack
        .fakes
        .spoke
        .kit()
        .calls("PATCH", "/api/v1/teams/*")
        .len();
    let second = stack.registry.invoke("oncall-spoke", event).await;
    rows.push(Row::from_result(
        flow,
        "the same event again is a no-op",
        async {
            let response = invoked(second)?;
            anyhow::ensure!(
                response["result"] == "noop",
                "result {}",
                response["result"]
            );
            let patches = stack
                .fakes
                .spoke
                .kit()
                .calls("PATCH", "/api/v1/teams/*")
                .len();
            anyhow::ensure!(patches == patches_before, "a second PATCH was sent");
            Ok(format!(
                "reason {}, no PATCH",
                response["reason"].as_str().unwrap_or("?")
            ))
        }
        .await,
    ));

    let alerts_before = stack.fakes.slack.messages("alerts_it").len();
    let third = stack
        .registry
        .invoke(
            "oncall-spoke",
            handoff_event("demo-handoff-3", HANDOFF_TEAM, "carol@example.com"),
        )
        .await;
    rows.push(Row::from_result(
        flow,
        "an on-call person outside the team alerts",
        async {
            let response = invoked(third)?;
            anyhow::ensure!(
                response["result"] == "permanent_error",
                "result {}",
                response["result"]
            );
            let alerts = stack.fakes.slack.messages("alerts_it").len();
            anyhow::ensure!(alerts > alerts_before, "no alert reached #alerts_it");
            Ok(format!(
                "reason {}, {} alert(s) sent",
                response["reason"].as_str().unwrap_or("?"),
                response["alerts_sent"]
            ))
        }
        .await,
    ));
    rows
}

fn invoked(result: Option<Result<Value, String>>) -> Result<Value> {
    match result {
        None => Err(anyhow!("the function is not registered")),
        Some(Err(message)) => Err(anyhow!("function error: {message}")),
        Some(Ok(response)) => Ok(response),
    }
}

fn team_delegation(stack: &Stack) -> Result<Value> {
    let team = stack
        .fakes
        .spoke
        .team(HANDOFF_TEAM_ID)
        .ok_or_else(|| anyhow!("team {HANDOFF_TEAM_ID} is not in spoke-fake"))?;
    Ok(team["settings"]["delegation"].clone())
}

// -------------------------------------------------------------------------------------------- byods-extender

/// The BYODS credentials matching `webex-fake/fixtures/demo.json` (test-only values): an expired integration
/// access token and a valid refresh token.
pub fn byods_secret(refresh_token: &str) -> Value {
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

async fn register_byods_extender(wiring: &Wiring<'_>, registry: &Registry) -> Result<()> {
    wiring
        .secret(secret_names::BYODS, &byods_secret("demo-int-refresh"))
        .await?;
    wiring
        .secret(
            secret_names::BYODS_SLACK,
            &json!({"webhookUrl": slack_webhook(wiring, "alerts_it")?}),
        )
        .await?;
    let env = wiring.env(&[
        ("BYODS_SECRET_ID", secret_names::BYODS.to_owned()),
        (
            "BYODS_SLACK_SECRET_ID",
            secret_names::BYODS_SLACK.to_owned(),
        ),
        ("BYODS_MAX_RETRY_AFTER_SECONDS", "2".to_owned()),
    ]);
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
    let deps = byods_extender::Deps::with_webex_client(
        config,
        store,
        alerter,
        clock,
        Arc::new(MemorySink::default()),
        Arc::new(byods_extender::TokioSleeper),
    )
    .map_err(|e| anyhow!("byods-extender dependencies: {e}"))?;
    let deps = Arc::new(deps);
    registry.register(
        "byods-extender",
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

async fn byods(stack: &Stack) -> Vec<Row> {
    let flow = "byods";
    let mut rows = Vec::new();
    let before = devstack::aws::get_secret(&stack.secrets, secret_names::BYODS).await;

    let sweep = stack.registry.invoke("byods-extender", json!({})).await;
    let sweep = invoked(sweep);
    rows.push(Row::from_result(
        flow,
        "expired integration token is refreshed and saved",
        async {
            let (_, old_version) = before.map_err(|e| anyhow!("{e}"))?;
            sweep.as_ref().map_err(|e| anyhow!("{e:#}"))?;
            let (value, version) =
                devstack::aws::get_secret(&stack.secrets, secret_names::BYODS).await?;
            anyhow::ensure!(version != old_version, "the secret was not rotated");
            anyhow::ensure!(
                value["tokenManager"]["accessToken"] != "demo-int-access-expired",
                "the access token was not replaced"
            );
            // Every write-back moves AWSPREVIOUS along; it is an older version than the current one.
            let previous = previous_version(stack, secret_names::BYODS).await?;
            anyhow::ensure!(previous != version, "AWSPREVIOUS is the current version");
            Ok(format!(
                "AWSCURRENT {}, AWSPREVIOUS {}",
                short(&version),
                short(&previous)
            ))
        }
        .await,
    ));
    rows.push(Row::from_result(
        flow,
        "a data source near expiry gets a new nonce",
        async {
            let summary = sweep.as_ref().map_err(|e| anyhow!("{e:#}"))?;
            let (puts, expiry) = stack
                .fakes
                .webex
                .data_source_updates("demo-ds-near-expiry")
                .ok_or_else(|| anyhow!("webex-fake knows no demo-ds-near-expiry"))?;
            anyhow::ensure!(puts == 1, "{puts} PUTs reached the data source");
            Ok(format!(
                "{puts} PUT, token now expires {expiry}; summary: {} extended",
                summary["counts"]["extended"]
            ))
        }
        .await,
    ));
    rows.push(Row::from_result(
        flow,
        "a data source not yet due is skipped",
        async {
            let (puts, _) = stack
                .fakes
                .webex
                .data_source_updates("demo-ds-not-due")
                .ok_or_else(|| anyhow!("webex-fake knows no demo-ds-not-due"))?;
            anyhow::ensure!(puts == 0, "it was extended ({puts} PUTs)");
            Ok("no PUT".to_owned())
        }
        .await,
    ));

    let alerts_before = stack.fakes.slack.messages("alerts_it").len();
    let revoked = async {
        devstack::aws::put_secret(
            &stack.secrets,
            secret_names::BYODS,
            &byods_secret("demo-int-refresh-revoked"),
        )
        .await?;
        let result = stack.registry.invoke("byods-extender", json!({})).await;
        let message = match result {
            Some(Err(message)) => message,
            Some(Ok(_)) => anyhow::bail!("the sweep succeeded with a revoked refresh token"),
            None => anyhow::bail!("byods-extender is not registered"),
        };
        anyhow::ensure!(message.contains("ReauthRequired"), "error: {message}");
        let alerts = stack.fakes.slack.messages("alerts_it").len();
        anyhow::ensure!(
            alerts > alerts_before,
            "no re-auth alert reached #alerts_it"
        );
        Ok("ReauthRequired, alert in #alerts_it".to_owned())
    }
    .await;
    rows.push(Row::from_result(
        flow,
        "a revoked refresh token raises the re-auth alert",
        revoked,
    ));
    rows
}

async fn previous_version(stack: &Stack, name: &str) -> Result<String> {
    let listed = stack
        .secrets
        .list_secret_version_ids()
        .secret_id(name)
        .send()
        .await
        .map_err(|e| anyhow!("ListSecretVersionIds failed: {:?}", e.code()))?;
    listed
        .versions()
        .iter()
        .find(|v| v.version_stages().iter().any(|s| s == "AWSPREVIOUS"))
        .and_then(|v| v.version_id().map(str::to_owned))
        .ok_or_else(|| anyhow!("no AWSPREVIOUS version"))
}
