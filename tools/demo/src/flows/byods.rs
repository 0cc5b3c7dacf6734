//! The BYODS flow: `byods-extender` refreshes the expired integration token and stores it, extends the data
//! source near expiry, skips the one not due, and alerts when the refresh token is revoked.

use anyhow::{Result, anyhow};
use aws_sdk_secretsmanager::error::ProvideErrorMetadata as _;
use devstack::Stack;
use serde_json::json;

use super::{invoked, short};
use crate::report::Row;
use crate::services::{byods, secret_names};

/// Replays the BYODS flow.
pub async fn replay(stack: &Stack) -> Vec<Row> {
    let flow = "byods";
    let mut rows = Vec::new();
    let before = devstack::aws::get_secret(&stack.secrets, secret_names::BYODS).await;

    let sweep = stack.registry.invoke(byods::FUNCTION, json!({})).await;
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
            &byods::secret("demo-int-refresh-revoked"),
        )
        .await?;
        let result = stack.registry.invoke(byods::FUNCTION, json!({})).await;
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
