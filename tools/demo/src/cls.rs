//! CLS: `cls-webhook` behind the API Gateway emulator and `cls-queue` behind the SQS event source.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::event::sqs::SqsEvent;
use devstack::lambda::{Registry, typed_handler};
use github_fake::MemberSpec;
use lambda_kit::{Clock, MemorySink, SystemClock};
use secrets::SecretsClient;
use serde_json::{Value, json};

use crate::flows::USER_AGENT;
use crate::report::Row;
use crate::stack::{Stack, Wiring};

/// The GitHub organisation of the CLS flow (github-fake demo seed).
pub const ORG: &str = "acme";
/// The Spoke team that owns CLS tickets (the IT team of the spoke-fake demo seed).
pub const TEAM_ID: &str = "5cb65407f38ee4000743e945";
/// The CLS request type the demo adds to the spoke-fake demo seed.
pub const REQUEST_TYPE_ID: &str = "61b000000000000000000c15";
/// Default ticket owner (IT Admin in the spoke-fake demo seed).
pub const DEFAULT_OWNER: &str = "5f0c3a9e2b7d4c0012ab3410";
/// The CLS answered fields, in the order of `cls.md` §11.
pub const FIELD_KEYS: [&str; 8] = [
    "expires_on",
    "github_login",
    "github_user_id",
    "github_org",
    "collaborator_email",
    "repositories",
    "added_by",
    "cls_state",
];
/// The CLS tags, in the order of `cls.md` §11.
pub const TAG_KEYS: [&str; 5] = [
    "access_granted",
    "access_removed",
    "expired",
    "inactive",
    "needs_attention",
];

fn field_uuid(index: usize) -> String {
    format!("00000000-0000-4000-8000-0000000c15{index:02}")
}

/// The Spoke id of the CLS tag `key`.
pub fn tag_id(key: &str) -> String {
    let index = TAG_KEYS.iter().position(|k| *k == key).unwrap_or(99);
    format!("63d0000000000000000c15{index:02}")
}

/// The spoke-fake demo seed plus what CLS needs: its request type with the eight answered fields and its
/// five tags (test-only ids). The seed's API key is replaced by `api_key` (same user); any further keys of
/// the fixture get `api_key` with a `-<n>` suffix, so no fixed key stays valid.
pub fn spoke_seed(api_key: &str) -> Result<Value> {
    let mut seed: Value =
        serde_json::from_str(spoke_fake::DEMO_SEED).context("spoke-fake demo seed")?;
    let keys = seed["apiKeys"]
        .as_array_mut()
        .filter(|keys| !keys.is_empty())
        .ok_or_else(|| anyhow!("the spoke seed has no apiKeys"))?;
    for (index, key) in keys.iter_mut().enumerate() {
        let value = if index == 0 {
            api_key.to_owned()
        } else {
            format!("{api_key}-{index}")
        };
        key.as_object_mut()
            .ok_or_else(|| anyhow!("a spoke seed apiKeys entry is not an object"))?
            .insert("key".to_owned(), Value::String(value));
    }
    let labels = [
        "Access expiration date",
        "Collaborator GitHub username",
        "Collaborator GitHub user id",
        "GitHub organisation",
        "Collaborator email",
        "Repositories and permissions",
        "Added by",
        "CLS state (do not edit)",
    ];
    let fields: Vec<Value> = labels
        .iter()
        .enumerate()
        .map(|(i, label)| json!({"uuid": field_uuid(i), "type": "TEXT", "label": label}))
        .collect();
    let tags: Vec<Value> = [
        "access granted",
        "access removed",
        "cls-expired",
        "cls-inactive",
        "cls-needs-attention",
    ]
    .iter()
    .zip(TAG_KEYS)
    .map(|(text, key)| json!({"id": tag_id(key), "text": text, "color": "grey"}))
    .collect();
    let request_types = seed["requestTypes"]
        .as_array_mut()
        .ok_or_else(|| anyhow!("the spoke seed has no requestTypes"))?;
    request_types.push(json!({
        "id": REQUEST_TYPE_ID,
        "title": "Collaborator Access",
        "team": TEAM_ID,
        "form": {"fields": fields},
    }));
    seed["tags"]
        .as_array_mut()
        .ok_or_else(|| anyhow!("the spoke seed has no tags"))?
        .extend(tags);
    Ok(seed)
}

/// Creates the CLS secrets and registers `cls-webhook` and `cls-queue`. Returns the `endpoints.json` entries.
pub async fn register(wiring: &Wiring<'_>, registry: &Registry) -> Result<Vec<(String, String)>> {
    let github = &wiring.fakes.github;
    let slack = &wiring.fakes.slack;
    let alert_url = format!(
        "{}/slack{}",
        wiring.devstack_url,
        slack
            .webhook_path("alerts_it")
            .ok_or_else(|| anyhow!("no alerts_it webhook in the slack seed"))?
    );
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

    let env = wiring.env(&[
        ("CLS_STAGE", "testing".to_owned()),
        ("CLS_QUEUE_URL", wiring.queue_url.clone()),
    ]);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store: Arc<dyn secrets::SecretStore> = Arc::new(SecretsClient::new(
        wiring.secrets.clone(),
        Arc::clone(&clock),
    ));
    let http = lambda_kit::http::http_client(USER_AGENT)?;

    let webhook_config = cls_webhook::Config::from_lookup({
        let env = env.clone();
        move |name: &str| env.get(name).cloned()
    })
    .context("cls-webhook config")?;
    let poster: Arc<dyn slack_notify::WebhookPoster> =
        Arc::new(slack_notify::WebhookClient::new(http.clone()));
    let webhook_deps = cls_webhook::Deps::new(
        webhook_config,
        Arc::clone(&store),
        Arc::new(cls_webhook::SqsQueueSender::new(
            devstack::aws::sqs_client(&wiring.moto_endpoint),
            &wiring.queue_url,
        )),
        Arc::new(cls_webhook::SlackAlerter::from_ids(
            poster,
            Arc::clone(&store),
            &cls_core::settings::SecretIds::default(),
            Arc::clone(&clock),
        )),
        Arc::clone(&clock),
        Arc::new(MemorySink::default()),
    );
    let webhook_deps = Arc::new(webhook_deps);
    registry.register(
        "cls-webhook",
        typed_handler(move |event: ApiGatewayV2httpRequest, _ctx| {
            let deps = Arc::clone(&webhook_deps);
            async move { Ok::<_, Infallible>(cls_webhook::handle(event, &deps).await) }
        }),
    );

    let queue_config = cls_queue::Config::from_lookup(move |name: &str| env.get(name).cloned())
        .context("cls-queue config")?;
    let queue_deps = cls_queue::Deps::build(
        queue_config,
        store,
        http,
        clock,
        Arc::new(MemorySink::default()),
    )
    .await
    .map_err(|e| anyhow!("cls-queue start-up: {e}"))?;
    let queue_deps = Arc::new(queue_deps);
    registry.register(
        "cls-queue",
        typed_handler(move |event: SqsEvent, _ctx| {
            let deps = Arc::clone(&queue_deps);
            async move { Ok::<_, Infallible>(cls_queue::handle(event, &deps).await) }
        }),
    );

    Ok(vec![
        ("github_webhook_secret".to_owned(), github.webhook_secret()),
        ("slack_signing_secret".to_owned(), slack.signing_secret()),
        ("cls_orgs".to_owned(), ORG.to_owned()),
    ])
}

/// The CLS flow: signed `member` deliveries from github-fake through the API emulator, the FIFO queue and
/// `cls-queue` to one Spoke ticket.
pub async fn replay(stack: &Stack) -> Vec<Row> {
    let flow = "cls";
    let mut rows = Vec::new();
    let Some(url) = stack.endpoints.get("cls_webhook").cloned() else {
        return vec![Row::failed(
            flow,
            "cls-webhook behind the API emulator",
            "not registered",
        )];
    };
    let Some(source) = stack.event_source.as_ref() else {
        return vec![Row::failed(
            flow,
            "cls-queue behind the event source",
            "not running",
        )];
    };
    let spoke = &stack.fakes.spoke;
    let github = &stack.fakes.github;
    let spec = |action: &str, login: &str, role: Option<&str>| MemberSpec {
        action: action.to_owned(),
        org: ORG.to_owned(),
        login: login.to_owned(),
        repo: "widgets".to_owned(),
        role_name: role.map(str::to_owned),
        sender: Some("alice".to_owned()),
        apply: Some(true),
    };
    let deliver = |spec: MemberSpec, guid: &'static str| {
        let url = url.clone();
        async move {
            let payload = github
                .member_payload(&spec)
                .map_err(|e| anyhow!("member payload: {e}"))?;
            let before = source.outcomes().len();
            let outcome = github
                .send_webhook(&url, "member", Some(guid), &payload)
                .await
                .map_err(|e| anyhow!("delivery: {e}"))?;
            anyhow::ensure!(
                outcome.status == 202,
                "cls-webhook answered {}",
                outcome.status
            );
            wait_for_batches(source, before + 1).await?;
            anyhow::Ok(())
        }
    };

    let tickets_before = spoke.request_count();
    let ids_before = request_ids(stack);
    let added = async {
        deliver(spec("added", "mona", Some("write")), "demo-delivery-added").await?;
        let new: Vec<String> = request_ids(stack)
            .into_iter()
            .filter(|id| !ids_before.contains(id))
            .collect();
        let [id] = new.as_slice() else {
            anyhow::bail!("{} tickets were created", new.len());
        };
        let ticket = ticket(stack, id)?;
        anyhow::ensure!(
            has_tag(&ticket, "access_granted"),
            "the ticket lacks `access granted`"
        );
        let expires = answer(&ticket, 0).ok_or_else(|| anyhow!("the ticket has no expiry"))?;
        Ok((id.clone(), format!("ticket {id}, expires {expires}")))
    }
    .await;
    let ticket_id = match added {
        Ok((id, evidence)) => {
            rows.push(Row::ok(
                flow,
                "signed member.added creates one ticket with an expiry",
                evidence,
            ));
            id
        }
        Err(error) => {
            rows.push(Row::failed(
                flow,
                "signed member.added creates one ticket with an expiry",
                format!("{error:#}"),
            ));
            return rows;
        }
    };

    let duplicate = async {
        let messages = spoke.messages(&ticket_id).len();
        deliver(spec("added", "mona", Some("write")), "demo-delivery-added").await?;
        anyhow::ensure!(
            spoke.request_count() == tickets_before + 1,
            "a second ticket appeared"
        );
        let after = spoke.messages(&ticket_id).len();
        anyhow::ensure!(after == messages, "the duplicate posted a message");
        Ok("same delivery id: no new ticket, no message".to_owned())
    }
    .await;
    rows.push(Row::from_result(
        flow,
        "the same delivery again changes nothing",
        duplicate,
    ));

    let edited = async {
        let messages = spoke.messages(&ticket_id).len();
        deliver(
            spec("edited", "mona", Some("admin")),
            "demo-delivery-edited",
        )
        .await?;
        let after = spoke.messages(&ticket_id).len();
        anyhow::ensure!(
            after == messages + 1,
            "{} update messages",
            after.saturating_sub(messages)
        );
        Ok(format!("ticket {ticket_id}: one update message"))
    }
    .await;
    rows.push(Row::from_result(
        flow,
        "a permission edit posts one update message",
        edited,
    ));

    let removed = async {
        deliver(spec("removed", "mona", None), "demo-delivery-removed").await?;
        let ticket = ticket(stack, &ticket_id)?;
        anyhow::ensure!(
            has_tag(&ticket, "access_removed"),
            "no `access removed` tag"
        );
        anyhow::ensure!(
            !has_tag(&ticket, "access_granted"),
            "`access granted` is still there"
        );
        Ok(format!(
            "ticket {ticket_id}: access granted → access removed"
        ))
    }
    .await;
    rows.push(Row::from_result(flow, "a removal swaps the tags", removed));

    let member = async {
        let before = spoke.request_count();
        deliver(spec("added", "bob", Some("write")), "demo-delivery-member").await?;
        anyhow::ensure!(
            spoke.request_count() == before,
            "a ticket was created for an org member"
        );
        Ok("bob is an org member: no ticket".to_owned())
    }
    .await;
    rows.push(Row::from_result(
        flow,
        "an org member added gets no ticket",
        member,
    ));
    rows
}

/// Waits until the event source has handled `count` batches in total and the queue is empty.
async fn wait_for_batches(source: &devstack::sqs::EventSourceHandle, count: usize) -> Result<()> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let outcomes = source.outcomes();
        if outcomes.len() >= count {
            let last = &outcomes[outcomes.len() - 1];
            anyhow::ensure!(
                last.is_success(),
                "cls-queue did not acknowledge the batch: {:?}",
                last.batch_error.as_deref().unwrap_or("batch item failures")
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(anyhow!("cls-queue handled no batch within 30 s"))
}

fn request_ids(stack: &Stack) -> Vec<String> {
    stack.fakes.spoke.state_json()["requests"]
        .as_array()
        .map(|requests| {
            requests
                .iter()
                .filter_map(|r| r["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn ticket(stack: &Stack, id: &str) -> Result<Value> {
    stack
        .fakes
        .spoke
        .request(id)
        .ok_or_else(|| anyhow!("spoke-fake has no request {id}"))
}

/// True when the ticket carries the CLS tag `key` (`access_granted`, `expired`, …).
pub(crate) fn has_tag(ticket: &Value, key: &str) -> bool {
    let id = tag_id(key);
    ticket["tags"].as_array().is_some_and(|tags| {
        tags.iter()
            .any(|t| t == &Value::String(id.clone()) || t["id"] == id.as_str())
    })
}

/// The answer of the CLS field `key` (`expires_on`, …) on a spoke-fake ticket.
pub(crate) fn answer_of(ticket: &Value, key: &str) -> Option<String> {
    answer(ticket, FIELD_KEYS.iter().position(|k| *k == key)?)
}

fn answer(ticket: &Value, field: usize) -> Option<String> {
    let uuid = field_uuid(field);
    let fields = ticket
        .get("requestTypeInfo")?
        .get("answeredFields")?
        .as_array()?;
    fields
        .iter()
        .find(|f| f["field"]["uuid"] == uuid.as_str())
        .and_then(|f| f["simpleValue"].as_str().map(str::to_owned))
}
