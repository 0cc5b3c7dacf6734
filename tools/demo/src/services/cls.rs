//! CLS: the six CLS secrets over the stand-ins' demo seeds, `cls-webhook` (behind the API Gateway emulator)
//! and `cls-queue` (behind the SQS event source).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::event::sqs::SqsEvent;
use devstack::Wiring;
use devstack::lambda::{Registry, typed_handler};
use devstack::seed::{
    DEFAULT_OWNER, FIELD_KEYS, ORG, REQUEST_TYPE_ID, TAG_KEYS, TEAM_ID, field_uuid, tag_id,
};
use lambda_kit::{Invocation, MemorySink, Platform, SystemClock};
use serde_json::{Value, json};

use super::lookup;

/// Creates the CLS secrets and registers `cls-webhook` and `cls-queue`. Returns the `endpoints.json` entries.
pub async fn register(
    wiring: &Wiring<'_>,
    registry: &Registry,
) -> Result<BTreeMap<String, String>> {
    create_secrets(wiring).await?;
    let env = super::cls_env(wiring);
    let webhook_deps = Arc::new(webhook_deps(wiring, &env).await?);
    registry.register(
        "cls-webhook",
        typed_handler(move |event: ApiGatewayV2httpRequest, ctx| {
            let deps = Arc::clone(&webhook_deps);
            async move { cls_webhook::handle(event, &Invocation::new(ctx.request_id), &deps).await }
        }),
    );
    let queue_deps = Arc::new(queue_deps(wiring, &env).await?);
    registry.register(
        "cls-queue",
        typed_handler(move |event: SqsEvent, ctx| {
            let deps = Arc::clone(&queue_deps);
            async move { cls_queue::handle(event, &Invocation::new(ctx.request_id), &deps).await }
        }),
    );
    Ok(BTreeMap::from([("cls_orgs".to_owned(), ORG.to_owned())]))
}

/// The platform a CLS function's `Deps::new` is built from locally: moto, the function's user agent, the
/// system clock, metrics kept in memory.
pub fn platform(wiring: &Wiring<'_>, user_agent: &str) -> Result<Platform> {
    let platform = Platform::local(
        &wiring.moto_endpoint,
        user_agent,
        Arc::new(SystemClock),
        Arc::new(MemorySink::default()),
    )?;
    Ok(platform)
}

/// `cls-webhook`'s dependencies over `env` ([`super::cls_env`]), through its one constructor with the local
/// platform: the secrets cached with the production TTL, SQS on the stack's queue.
pub async fn webhook_deps(
    wiring: &Wiring<'_>,
    env: &BTreeMap<String, String>,
) -> Result<cls_webhook::Deps> {
    let config = cls_webhook::Config::from_lookup(lookup(env)).context("cls-webhook config")?;
    let platform = platform(wiring, cls_webhook::USER_AGENT)?;
    let Ok(deps) = cls_webhook::Deps::new(config, &platform).await;
    Ok(deps)
}

/// `cls-queue`'s dependencies over `env` ([`super::cls_env`]), through its one constructor with the local
/// platform: reads and validates its secrets.
pub async fn queue_deps(
    wiring: &Wiring<'_>,
    env: &BTreeMap<String, String>,
) -> Result<cls_queue::Deps> {
    let config = cls_queue::Config::from_lookup(lookup(env)).context("cls-queue config")?;
    let platform = platform(wiring, cls_queue::USER_AGENT)?;
    cls_queue::Deps::new(config, &platform)
        .await
        .map_err(|e| anyhow!("cls-queue start-up: {e}"))
}

/// Creates the CLS secrets in moto.
async fn create_secrets(wiring: &Wiring<'_>) -> Result<()> {
    let github = &wiring.fakes.github;
    let slack = &wiring.fakes.slack;
    let alert_url = super::slack_webhook(wiring, "alerts_it")?;
    let github_secret = json!({
        "orgs": [{
            "org": ORG,
            "org_id": github.org_id(ORG).ok_or_else(|| anyhow!("github-fake has no org {ORG}"))?,
            "app_id": github.app_id(),
            "installation_id": github.installation_id(ORG).ok_or_else(|| anyhow!("no installation"))?,
            "private_key_pem": github_fake::TEST_APP_PRIVATE_KEY_PEM,
            "default_owner": {"github_login": "it-admin", "spoke_user_id": DEFAULT_OWNER, "email": "it-admin@example.com"},
            "activity_source": "audit_log",
            "skip_employees": false
        }],
        "legacy_org": ORG
    });
    let fields: serde_json::Map<String, Value> = FIELD_KEYS
        .iter()
        .enumerate()
        .map(|(i, key)| ((*key).to_owned(), Value::String(field_uuid(i))))
        .collect();
    let tags: serde_json::Map<String, Value> = TAG_KEYS
        .iter()
        .map(|key| ((*key).to_owned(), Value::String(tag_id(key))))
        .collect();
    let spoke_secret = json!({
        "api_key": wiring.dev_secrets.spoke_api_key,
        "service_user_id": null,
        "team_id": TEAM_ID,
        "request_type_id": REQUEST_TYPE_ID,
        "web_base_url": "https://example.askspoke.com",
        "list_filter": null,
        "fields": fields,
        "tags": tags,
    });
    // The per-function layout (docs/operations/deploy.md): the bot token only where reminders are sent, the
    // webhook and signing secrets only in cls/webhook, the IT alert URL in cls/alerts.
    let slack_secret = json!({
        "bot_token": slack.bot_token(),
        "fallback_channel_id": "C0CLSFALLB",
        "admin_user_ids": ["U0ITADMIN1"],
    });
    let webhook_secret = json!({
        "orgs": [{
            "org": github_secret["orgs"][0]["org"],
            "org_id": github_secret["orgs"][0]["org_id"],
            "app_id": github_secret["orgs"][0]["app_id"],
            "webhook_secrets": [github.webhook_secret()],
        }],
        "slack_signing_secrets": [slack.signing_secret()],
    });
    let alerts_secret = json!({"alert_webhook_url": alert_url});
    let identity_secret = json!({"source": "static", "users": {
        "alice": {"email": "alice@example.com", "employee": true},
        "mona": {"email": "mona@example.org", "employee": false}
    }});
    for (name, value) in [
        ("cls/github", &github_secret),
        ("cls/spoke", &spoke_secret),
        ("cls/slack", &slack_secret),
        ("cls/identity", &identity_secret),
        ("cls/webhook", &webhook_secret),
        ("cls/alerts", &alerts_secret),
    ] {
        wiring.secret(name, value).await?;
    }
    Ok(())
}
