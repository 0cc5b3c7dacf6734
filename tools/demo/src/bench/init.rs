//! Cold-start proxy: building each service's `Config` and `Deps` in-process, as its `main` does before the
//! runtime loop, and the first invocation on freshly built dependencies (empty secret cache).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use demo::Stack;
use demo::services::{HANDOFF_TEAM, handoff_event, secret_names};
use lambda_kit::{Clock, MemorySink, MetricSink, SystemClock};
use secrets::{SecretStore, SecretsClient};

use super::Plan;
use super::handlers::{byods_deps, wiring};
use super::results::Entry;
use super::stats::Summary;

const NOTE: &str = "in-process: config parse, SDK client for moto (static credentials; production loads the default credential chain), HTTP client, Deps; excludes process start and the Lambda runtime";

/// Runs the init measurements.
pub(crate) async fn run(stack: &Stack, plan: &Plan) -> Result<Vec<Entry>> {
    let wiring = wiring(stack);
    let oncall_env = wiring.env(&[
        ("ONCALL_SECRET_ID", secret_names::ONCALL.to_owned()),
        ("ONCALL_SPOKE_ORG", "example".to_owned()),
        ("ONCALL_MAX_EVENT_AGE_SECS", "0".to_owned()),
    ]);
    let moto = stack.moto.endpoint();
    let mut entries = Vec::new();

    let mut build = Vec::new();
    let mut first = Vec::new();
    for i in 0..plan.init {
        let started = Instant::now();
        let deps = oncall_deps(&oncall_env, &moto)?;
        build.push(started.elapsed());
        let event = handoff_event(
            &format!("bench-init-{i}-{}", uuid::Uuid::new_v4()),
            HANDOFF_TEAM,
            "dave@example.com",
        );
        let started = Instant::now();
        let response = oncall_spoke::handle(
            event,
            &oncall_spoke::Invocation::new(format!("bench-init-{i}")),
            &deps,
        )
        .await
        .map_err(|e| anyhow!("oncall-spoke first invocation: {e}"))?;
        first.push(started.elapsed());
        let result = response.result;
        if result != "noop" && result != "updated" {
            return Err(anyhow!("oncall-spoke first invocation answered `{result}`"));
        }
    }
    entries.push(
        Entry::timed(
            "init",
            "oncall_spoke",
            "`oncall-spoke` Config + Deps",
            Summary::of_millis(&build),
        )
        .note(NOTE),
    );
    entries.push(Entry::timed(
        "init",
        "oncall_spoke_first",
        "`oncall-spoke` first handoff on fresh Deps (secret read from moto, Spoke calls)",
        Summary::of_millis(&first),
    ));

    let byods_env = wiring.env(&[
        ("BYODS_SECRET_ID", secret_names::BYODS.to_owned()),
        (
            "BYODS_SLACK_SECRET_ID",
            secret_names::BYODS_SLACK.to_owned(),
        ),
    ]);
    let mut build = Vec::new();
    for _ in 0..plan.init {
        let started = Instant::now();
        let client = devstack::aws::secrets_client(&moto);
        let wiring = demo::stack::Wiring {
            secrets: client,
            ..super::handlers::wiring(stack)
        };
        let deps = byods_deps(&wiring, &byods_env)?;
        build.push(started.elapsed());
        drop(deps);
    }
    entries.push(Entry::timed(
        "init",
        "byods_extender",
        "`byods-extender` Config + Deps",
        Summary::of_millis(&build),
    ));
    let mut http = Vec::new();
    let mut sdk = Vec::new();
    for _ in 0..plan.init {
        let started = Instant::now();
        let client = lambda_kit::http::http_client(demo::flows::USER_AGENT)?;
        http.push(started.elapsed());
        drop(client);
        let started = Instant::now();
        let client = devstack::aws::secrets_client(&moto);
        sdk.push(started.elapsed());
        drop(client);
    }
    entries.insert(
        0,
        Entry::timed(
            "init",
            "http_client",
            "Part of the rows below: one `lambda_kit::http::http_client` (reqwest + rustls)",
            Summary::of_millis(&http),
        ),
    );
    entries.insert(
        1,
        Entry::timed(
            "init",
            "sdk_client",
            "Part of the rows below: one Secrets Manager SDK client (static config)",
            Summary::of_millis(&sdk),
        ),
    );

    let cls_env = wiring.env(&[
        ("CLS_STAGE", "testing".to_owned()),
        ("CLS_QUEUE_URL", stack.queues.url.clone()),
    ]);
    let mut webhook = Vec::new();
    let mut queue = Vec::new();
    for _ in 0..plan.init {
        let started = Instant::now();
        let deps = cls_webhook_deps(&cls_env, &moto)?;
        webhook.push(started.elapsed());
        drop(deps);
        let started = Instant::now();
        let deps = cls_queue_deps(&cls_env, &moto).await?;
        queue.push(started.elapsed());
        drop(deps);
    }
    entries.push(Entry::timed(
        "init",
        "cls_webhook",
        "`cls-webhook` Config + Deps",
        Summary::of_millis(&webhook),
    ));
    entries.push(
        Entry::timed(
            "init",
            "cls_queue",
            "`cls-queue` Config + Deps (reads and validates 3 secrets from moto)",
            Summary::of_millis(&queue),
        )
        .note("Deps::build loads cls/github, cls/spoke, cls/identity at cold start"),
    );
    Ok(entries)
}

fn lookup(env: &BTreeMap<String, String>) -> impl Fn(&str) -> Option<String> + use<> {
    let env = env.clone();
    move |name: &str| env.get(name).cloned()
}

fn cls_webhook_deps(env: &BTreeMap<String, String>, moto: &str) -> Result<cls_webhook::Deps> {
    let config = cls_webhook::Config::from_lookup(lookup(env)).context("cls-webhook config")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store: Arc<dyn SecretStore> = Arc::new(SecretsClient::new(
        devstack::aws::secrets_client(moto),
        Arc::clone(&clock),
    ));
    let http = lambda_kit::http::http_client(demo::flows::USER_AGENT)?;
    let poster: Arc<dyn slack_notify::WebhookPoster> =
        Arc::new(slack_notify::WebhookClient::new(http));
    let queue_url = config.queue_url.clone();
    Ok(cls_webhook::Deps::new(
        config,
        Arc::clone(&store),
        Arc::new(cls_webhook::SqsQueueSender::new(
            devstack::aws::sqs_client(moto),
            &queue_url,
        )),
        Arc::new(cls_webhook::SlackAlerter::new(
            poster,
            store,
            "cls/slack",
            Arc::clone(&clock),
        )),
        clock,
        Arc::new(MemorySink::default()),
    ))
}

async fn cls_queue_deps(env: &BTreeMap<String, String>, moto: &str) -> Result<cls_queue::Deps> {
    let config = cls_queue::Config::from_lookup(lookup(env)).context("cls-queue config")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store: Arc<dyn SecretStore> = Arc::new(SecretsClient::new(
        devstack::aws::secrets_client(moto),
        Arc::clone(&clock),
    ));
    cls_queue::Deps::build(
        config,
        store,
        lambda_kit::http::http_client(demo::flows::USER_AGENT)?,
        clock,
        Arc::new(MemorySink::default()),
    )
    .await
    .map_err(|e| anyhow!("cls-queue start-up: {e}"))
}

fn oncall_deps(env: &BTreeMap<String, String>, moto: &str) -> Result<oncall_spoke::Deps> {
    let env = env.clone();
    let config = oncall_spoke::Config::from_lookup(move |name| env.get(name).cloned())
        .context("oncall-spoke config")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store: Arc<dyn SecretStore> = Arc::new(SecretsClient::new(
        devstack::aws::secrets_client(moto),
        Arc::clone(&clock),
    ));
    let metrics: Arc<dyn MetricSink> = Arc::new(MemorySink::default());
    oncall_spoke::build_deps(
        config,
        lambda_kit::http::http_client(oncall_spoke::adapters::USER_AGENT)?,
        Some(store),
        clock,
        metrics,
    )
    .context("oncall-spoke dependencies")
}
