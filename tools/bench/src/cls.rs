//! The CLS deliveries the benchmark sends (signed `member` webhooks through the real `cls-webhook`), and the
//! fresh FIFO queues each measurement uses.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use demo::Stack;
use devstack::aws::{FifoQueueSpec, FifoQueues, create_fifo_queue_with_dlq};
use devstack::function_process::FunctionProcess;
use devstack::stack::LOCAL_VISIBILITY_SECS;
use github_fake::MemberSpec;
use lambda_kit::{Clock, SystemClock};
use secrecy::SecretString;
use serde_json::Value;

use super::release::{Release, stop_all};

const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);

/// The organisation and repository the deliveries are about.
pub(crate) struct Target {
    org: String,
    repo: String,
}

/// The first configured CLS organisation (`cls_orgs` in `endpoints.json`) and one of its repositories in
/// github-fake.
pub(crate) fn target(stack: &Stack) -> Target {
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

/// A `member` event of github-fake about `login` on the target repository.
pub(crate) fn member_spec(
    target: &Target,
    action: &str,
    login: &str,
    role: &str,
    apply: bool,
) -> MemberSpec {
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

/// The API Gateway v2 event of GitHub's delivery `delivery` of `event_name` with `payload`, signed with the
/// fake App's secret.
pub(crate) fn signed_delivery(
    stack: &Stack,
    event_name: &str,
    delivery: &str,
    payload: &Value,
) -> Result<Value> {
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
    put("x-github-event", event_name.to_owned())?;
    put("x-github-delivery", delivery.to_owned())?;
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

/// A new FIFO queue with its DLQ (the stack's local visibility timeout and receive count), so that one
/// measurement's messages never meet another's (moto allows one `PurgeQueue` a minute).
pub(crate) async fn fresh_queue(stack: &Stack, purpose: &str) -> Result<FifoQueues> {
    let name = format!(
        "bench-{purpose}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let spec = FifoQueueSpec::new(&name).visibility_timeout_secs(LOCAL_VISIBILITY_SECS);
    create_fifo_queue_with_dlq(&stack.sqs, &spec)
        .await
        .with_context(|| format!("creating the queue {name}"))
}

/// The CLS functions' local environment with `queue_url` as their queue.
pub(crate) fn cls_env_on(stack: &Stack, queue_url: &str) -> BTreeMap<String, String> {
    let mut env = demo::services::cls_env(&stack.wiring());
    env.insert("CLS_QUEUE_URL".to_owned(), queue_url.to_owned());
    env
}

/// The events of one collaborator, in the order they were enqueued: (delivery id, role).
pub(crate) type Deliveries = Vec<(String, String)>;

/// Webhook processes that enqueue the member events.
const ENQUEUERS: usize = 8;

/// Enqueues `rounds` member events for each of `collaborators` new collaborators (logins `{prefix}-NNN`) on
/// `queue_url` through the real `cls-webhook` binary, in order per collaborator (first `added` with
/// `write`, then `edited` alternating `maintain` and `write`): a round is sent, [`ENQUEUERS`] at a time,
/// before the next starts. Returns each collaborator's deliveries.
pub(crate) async fn enqueue_member_events(
    stack: &Stack,
    release: &Release,
    queue_url: &str,
    prefix: &str,
    collaborators: usize,
    rounds: usize,
) -> Result<Vec<Deliveries>> {
    let processes = release
        .start_many("cls-webhook", &cls_env_on(stack, queue_url), ENQUEUERS)
        .await?;
    let sent = send_rounds(stack, &processes, prefix, collaborators, rounds).await;
    stop_all(processes).await;
    sent
}

async fn send_rounds(
    stack: &Stack,
    processes: &[FunctionProcess],
    prefix: &str,
    collaborators: usize,
    rounds: usize,
) -> Result<Vec<Deliveries>> {
    let target = target(stack);
    let mut sent: Vec<Deliveries> = vec![Vec::new(); collaborators];
    for round in 0..rounds {
        let (action, role) = match round {
            0 => ("added", "write"),
            r if r % 2 == 1 => ("edited", "maintain"),
            _ => ("edited", "write"),
        };
        let mut events = Vec::with_capacity(collaborators);
        for (n, deliveries) in sent.iter_mut().enumerate() {
            let login = format!("{prefix}-{n:03}");
            let payload = stack
                .fakes
                .github
                .member_payload(&member_spec(&target, action, &login, role, true))
                .map_err(|e| anyhow!("{e}"))?;
            let delivery = uuid::Uuid::new_v4().to_string();
            events.push(signed_delivery(stack, "member", &delivery, &payload)?);
            deliveries.push((delivery, role.to_owned()));
        }
        for chunk in events.chunks(processes.len()) {
            let answers = futures::future::join_all(
                chunk
                    .iter()
                    .zip(processes)
                    .map(|(event, process)| process.invoke(event.clone(), INVOKE_TIMEOUT)),
            )
            .await;
            for answer in answers {
                let answer = answer.map_err(|e| anyhow!("cls-webhook: {e}"))?;
                if answer["statusCode"] != 202 {
                    bail!("enqueueing a round-{round} `{action}` delivery answered {answer}");
                }
            }
        }
    }
    Ok(sent)
}
