//! The flows the demo replays on a stack started with [`crate::services::Handlers`], each step reported as a
//! summary row. Each flow checks its effect in the stand-ins' state and in moto.

pub mod byods;
pub mod cls;
pub mod cls_lifecycle;
pub mod handoff;
pub mod pagerduty;

use std::sync::Arc;

use anyhow::{Result, anyhow};
use devstack::Stack;
use lambda_kit::SystemClock;
use secrecy::SecretString;
use secrets::{SecretStore, SecretsClient};
use serde_json::{Value, json};
use spoke_client::{SpokeApi, SpokeClient, TeamQuery};

use crate::report::Row;
use crate::services::{USER_AGENT, slack_webhook};

/// Replays every flow and returns one row per step.
pub async fn replay(stack: &Stack) -> Vec<Row> {
    let mut rows = platform(stack).await;
    rows.extend(handoff::replay(stack).await);
    rows.extend(pagerduty::replay(stack).await);
    rows.extend(cls::replay(stack).await);
    rows.extend(cls_lifecycle::replay(stack).await);
    rows.extend(byods::replay(stack).await);
    rows
}

/// The shared crates against the stand-ins and moto: a Spoke read, a Slack webhook post, a secret rotation.
pub async fn platform(stack: &Stack) -> Vec<Row> {
    vec![
        spoke_team_read(stack).await,
        slack_webhook_post(stack).await,
        secret_round_trip(stack).await,
    ]
}

async fn spoke_team_read(stack: &Stack) -> Row {
    let step = "spoke-client lists teams from spoke-fake";
    let result = async {
        let client = SpokeClient::builder(
            lambda_kit::http::http_client(USER_AGENT)?,
            SecretString::from(stack.dev_secrets.spoke_api_key.clone()),
        )
        .base_url(stack.endpoints["spoke"].clone())
        .build()?;
        let page = client.list_teams(&TeamQuery::default()).await?;
        let first = page
            .results
            .first()
            .map(|t| format!("{} ({})", t.name.clone().unwrap_or_default(), t.id))
            .unwrap_or_else(|| "none".to_owned());
        anyhow::Ok(format!("{} teams, first {first}", page.results.len()))
    }
    .await;
    Row::from_result("platform", step, result)
}

async fn slack_webhook_post(stack: &Stack) -> Row {
    let step = "slack-notify posts to an incoming webhook";
    let result = async {
        let url = SecretString::from(slack_webhook(&stack.wiring(), "alerts_it")?);
        let before = stack.fakes.slack.messages("alerts_it").len();
        slack_notify::WebhookClient::new(lambda_kit::http::http_client(USER_AGENT)?)
            .post(
                &url,
                &slack_notify::Message::text("devstack demo: hello from slack-notify"),
            )
            .await?;
        let after = stack.fakes.slack.messages("alerts_it").len();
        anyhow::ensure!(
            after == before + 1,
            "slack-fake recorded {after} messages, expected {}",
            before + 1
        );
        anyhow::Ok(format!("#alerts_it now has {after} message(s)"))
    }
    .await;
    Row::from_result("platform", step, result)
}

async fn secret_round_trip(stack: &Stack) -> Row {
    let step = "secrets writes and re-reads a secret in moto";
    let result = async {
        let name = "demo/round-trip";
        devstack::aws::put_secret(&stack.secrets, name, &json!({"generation": 0})).await?;
        let store = SecretsClient::new(stack.secrets.clone(), Arc::new(SystemClock));
        let version = store
            .put_value(
                name,
                &json!({"generation": 1}),
                &uuid::Uuid::new_v4().to_string(),
            )
            .await?;
        let fresh = store.get_fresh(name).await?;
        anyhow::ensure!(
            fresh.version_id.as_deref() == Some(version.as_str()),
            "read back another version"
        );
        anyhow::ensure!(fresh.value["generation"] == 1, "read back another value");
        anyhow::Ok(format!("AWSCURRENT version {}", short(&version)))
    }
    .await;
    Row::from_result("platform", step, result)
}

/// The first 8 characters of an id, for evidence columns.
pub fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

/// A function's response, or why there is none.
fn invoked(result: Option<Result<Value, String>>) -> Result<Value> {
    match result {
        None => Err(anyhow!("the function is not registered")),
        Some(Err(message)) => Err(anyhow!("function error: {message}")),
        Some(Ok(response)) => Ok(response),
    }
}
