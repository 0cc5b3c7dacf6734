//! The CLS path: signed `member` webhooks into `cls-webhook`, and the FIFO queue drained into `cls-queue`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use demo::Stack;
use devstack::lambda::{InvokeContext, JsonHandler};
use devstack::sqs::EventSource;
use github_fake::MemberSpec;
use lambda_kit::{Clock, Invocation, SystemClock};
use secrecy::SecretString;
use serde_json::Value;

use super::Plan;
use super::results::Entry;
use super::stats::Summary;

/// The organisation and repository the deliveries are about.
struct Target {
    org: String,
    repo: String,
}

/// The first configured CLS organisation (`cls_orgs` in `endpoints.json`) and one of its repositories in
/// github-fake.
fn target(stack: &Stack) -> Target {
    let org = stack
        .endpoints
        .get("cls_orgs")
        .and_then(|orgs| {
            orgs.split([',', ' '])
                .map(str::trim)
                .find(|o| !o.is_empty())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "acme".to_owned());
    let state = stack.fakes.github.state();
    let repo = state["orgs"]
        .as_array()
        .and_then(|orgs| orgs.iter().find(|o| o["login"] == org.as_str()))
        .and_then(|o| o["repos"].as_array())
        .and_then(|repos| repos.first())
        .and_then(|r| r["name"].as_str())
        .unwrap_or("widgets")
        .to_owned();
    Target { org, repo }
}

fn member_spec(target: &Target, action: &str, login: &str, role: &str, apply: bool) -> MemberSpec {
    MemberSpec {
        action: action.to_owned(),
        org: target.org.clone(),
        login: login.to_owned(),
        repo: target.repo.clone(),
        role_name: Some(role.to_owned()),
        sender: None,
        apply: Some(apply),
    }
}

/// The API Gateway v2 event GitHub's delivery of `payload` becomes, signed with the fake App's secret.
fn signed_event(stack: &Stack, payload: &Value) -> Result<Value> {
    let body = serde_json::to_vec(payload)?;
    let secret = SecretString::from(stack.fakes.github.webhook_secret());
    let signature = github_app::sign_webhook_body(&secret, &body);
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| -> Result<()> {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value)?,
        );
        Ok(())
    };
    put("content-type", "application/json".to_owned())?;
    put("user-agent", "GitHub-Hookshot/bench".to_owned())?;
    put("x-github-event", "member".to_owned())?;
    put("x-github-delivery", uuid::Uuid::new_v4().to_string())?;
    put(
        "x-github-hook-installation-target-id",
        stack.fakes.github.app_id().to_string(),
    )?;
    put("x-hub-signature-256", signature)?;
    let uri: Uri = "/github/webhook".parse()?;
    Ok(devstack::apigw::request_event(
        &Method::POST,
        &uri,
        &headers,
        &Bytes::from(body),
        "127.0.0.1",
        SystemClock.now(),
    ))
}

/// Invokes the webhook handler in-process; `Ok(status)` of the HTTP answer.
async fn deliver_in_process(handler: &JsonHandler, event: Value) -> Result<u16> {
    let response = devstack::lambda::invoke(handler, event, InvokeContext::new("cls-webhook"))
        .await
        .map_err(|e| anyhow!("cls-webhook failed: {e}"))?;
    let status = response["statusCode"].as_u64().unwrap_or(0);
    Ok(u16::try_from(status).unwrap_or(0))
}

/// Webhook latency: in-process (signature + parse + trim + SendMessage to moto, event JSON round trip) and
/// over HTTP (github-fake signs and POSTs to the API Gateway emulator, which invokes the same handler).
pub(crate) async fn webhook(stack: &Stack, plan: &Plan) -> Result<Vec<Entry>> {
    let Some(handler) = stack.registry.get("cls-webhook") else {
        return Ok(vec![Entry::skipped(
            "webhook",
            "member",
            "Signed `member` delivery through `cls-webhook`",
            "`cls-webhook` is not registered in the demo stack yet",
        )]);
    };
    let target = target(stack);
    let payload = stack
        .fakes
        .github
        .member_payload(&member_spec(
            &target,
            "added",
            "bench-webhook",
            "write",
            true,
        ))
        .map_err(|e| anyhow!("{e}"))?;
    let body_bytes = serde_json::to_vec(&payload)?.len();
    let mut entries = Vec::new();

    let mut times = Vec::new();
    for i in 0..plan.webhook {
        let event = signed_event(stack, &payload)?;
        let started = Instant::now();
        let status = deliver_in_process(&handler, event).await?;
        times.push(started.elapsed());
        if status != 202 {
            bail!("in-process delivery {i} answered {status}, expected 202 (queued)");
        }
    }
    entries.push(
        Entry::timed(
            "webhook",
            "in_process_moto",
            "Signed `member` → `cls-webhook` handler → SendMessage to moto (in-process)",
            Summary::of_millis(&times),
        )
        .with("body_bytes", body_bytes as u64)
        .with("org", target.org.clone())
        .note("JSON round trip of the API Gateway v2 event as in Lambda; secret cache warm after the first call; moto is a local Python server"),
    );

    match stack.endpoints.get("cls_webhook") {
        Some(url) => {
            let mut times = Vec::new();
            for i in 0..plan.webhook {
                let started = Instant::now();
                let outcome = stack
                    .fakes
                    .github
                    .send_webhook(url, "member", None, &payload)
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                times.push(started.elapsed());
                if outcome.status != 202 {
                    bail!(
                        "HTTP delivery {i} answered {}, expected 202",
                        outcome.status
                    );
                }
            }
            entries.push(
                Entry::timed(
                    "webhook",
                    "http_moto",
                    "Same, over HTTP: github-fake signs and POSTs → API Gateway emulator → handler",
                    Summary::of_millis(&times),
                )
                .note("adds loopback HTTP, the emulator's event mapping and github-fake's signing"),
            );
        }
        None => entries.push(Entry::skipped(
            "webhook",
            "http_moto",
            "Same, over HTTP",
            "the demo stack exposes no `cls_webhook` route",
        )),
    }
    // The typed handler over `Deps::new` as production builds it (moto, the production secret TTL): the
    // event's JSON round trip and the registry left out.
    let deps = demo::services::cls::webhook_deps(
        &stack.wiring(),
        &demo::services::cls_env(&stack.wiring()),
    )
    .await?;
    let mut times = Vec::new();
    for i in 0..plan.webhook {
        let event: ApiGatewayV2httpRequest =
            serde_json::from_value(signed_event(stack, &payload)?)?;
        let started = Instant::now();
        let Ok(response) =
            cls_webhook::handle(event, &Invocation::new(format!("bench-{i}")), &deps).await;
        times.push(started.elapsed());
        // 202 only once `SendMessage` succeeded (an enqueue failure answers 503).
        if response.status_code != 202 {
            bail!(
                "typed delivery {i} answered {}, expected 202",
                response.status_code
            );
        }
    }
    entries.push(
        Entry::timed(
            "webhook",
            "in_process_typed",
            "Same, typed handler call on `Deps::new` (production secret TTL), SendMessage to moto",
            Summary::of_millis(&times),
        )
        .note("the Deps the benchmark measures are built as `main` builds them (no in-memory stand-ins)"),
    );
    Ok(entries)
}

/// Removes every message from the CLS queue (left over by the webhook benchmark).
async fn purge(stack: &Stack) -> Result<()> {
    stack
        .sqs
        .purge_queue()
        .queue_url(&stack.queues.url)
        .send()
        .await
        .map_err(|e| anyhow!("PurgeQueue failed: {e:?}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while devstack::aws::queue_depth(&stack.sqs, &stack.queues.url)
        .await
        .map_err(|e| anyhow!(e))?
        > 0
    {
        if Instant::now() > deadline {
            bail!("the queue is not empty 10 s after PurgeQueue");
        }
        tokio::task::yield_now().await;
    }
    Ok(())
}

/// `plan.queue_events` member events for `plan.queue_collaborators` collaborators, enqueued by the real webhook
/// handler, then drained batch by batch through the SQS event-source emulator into `cls-queue`.
pub(crate) async fn queue_drain(stack: &Stack, plan: &Plan) -> Result<Vec<Entry>> {
    let (Some(webhook), Some(consumer)) = (
        stack.registry.get("cls-webhook"),
        stack.registry.get("cls-queue"),
    ) else {
        return Ok(vec![Entry::skipped(
            "queue",
            "drain",
            "Queue drain through `cls-queue`",
            "`cls-webhook` and `cls-queue` are not both registered in the demo stack yet",
        )]);
    };
    purge(stack)
        .await
        .context("emptying the queue before the drain")?;
    let target = target(stack);
    let run = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let collaborators = plan.queue_collaborators.max(1);
    for i in 0..plan.queue_events {
        let login = format!("bench-{run}-{:02}", i % collaborators);
        let round = i / collaborators;
        let (action, role) = match round {
            0 => ("added", "write"),
            r if r % 2 == 1 => ("edited", "maintain"),
            _ => ("edited", "write"),
        };
        let payload = stack
            .fakes
            .github
            .member_payload(&member_spec(&target, action, &login, role, true))
            .map_err(|e| anyhow!("{e}"))?;
        let status = deliver_in_process(&webhook, signed_event(stack, &payload)?).await?;
        if status != 202 {
            bail!("enqueueing event {i} ({action} {login}) answered {status}");
        }
    }

    let source = EventSource::new(stack.sqs.clone(), &stack.queues.url, "cls-queue", consumer);
    let mut batches = Vec::new();
    let mut sizes = Vec::new();
    let mut deleted = 0usize;
    let mut failed = 0usize;
    let mut batch_errors = 0usize;
    let deadline = Instant::now() + plan.group_timeout;
    let drain_started = Instant::now();
    while deleted < plan.queue_events && Instant::now() < deadline {
        let started = Instant::now();
        let Some(outcome) = source.poll_once().await.map_err(|e| anyhow!("{e}"))? else {
            if failed > 0 || batch_errors > 0 {
                // Failed messages stay invisible for the visibility timeout; do not wait for redelivery.
                break;
            }
            tokio::task::yield_now().await;
            continue;
        };
        batches.push(started.elapsed());
        sizes.push(outcome.message_ids.len());
        deleted += outcome.deleted.len();
        failed += outcome.failed.len();
        batch_errors += usize::from(outcome.batch_error.is_some());
    }
    let drain = drain_started.elapsed();
    let mut per_message = Vec::new();
    for (time, size) in batches.iter().zip(&sizes) {
        if *size > 0 {
            per_message.push(time.div_f64(*size as f64));
        }
    }
    let mut size_counts: BTreeMap<usize, u64> = BTreeMap::new();
    for size in &sizes {
        *size_counts.entry(*size).or_default() += 1;
    }
    let throughput = deleted as f64 / drain.as_secs_f64().max(f64::EPSILON);
    let mut entries = vec![
        Entry::value("queue", "throughput", "Drain throughput (messages deleted / drain wall time)", "msg/s", throughput)
            .with("events", plan.queue_events as u64)
            .with("collaborators", collaborators as u64)
            .with("deleted", deleted as u64)
            .with("failed", failed as u64)
            .with("batch_errors", batch_errors as u64)
            .with("drain_secs", (drain.as_secs_f64() * 100.0).round() / 100.0)
            .note("one consumer, batches of ≤ 10 as the mapping delivers them (receive, handler, delete); Lambda would run up to 2 in parallel"),
        Entry::timed(
            "queue",
            "batch",
            "Per-batch latency (ReceiveMessage + cls-queue handler + DeleteMessage)",
            Summary::of_millis(&batches),
        )
        .with(
            "batch_sizes",
            size_counts
                .iter()
                .map(|(size, n)| format!("{n}×{size}"))
                .collect::<Vec<_>>()
                .join(" "),
        )
        .note("the first batch runs with cls-queue's caches cold (e.g. no GitHub installation token yet)"),
        Entry::timed("queue", "per_message", "Per-message share of each batch", Summary::of_millis(&per_message)),
    ];
    if failed > 0 || batch_errors > 0 || deleted < plan.queue_events {
        entries.push(Entry::failed(
            "queue",
            "complete",
            "Every enqueued event processed",
            &format!(
                "{deleted} of {} deleted, {failed} reported failed, {batch_errors} whole-batch error(s)",
                plan.queue_events
            ),
        ));
    }
    Ok(entries)
}
