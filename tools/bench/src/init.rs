//! Cold-start proxy: building each service's `Config` and `Deps` in-process, as its `main` does before the
//! runtime loop, and the first invocation on freshly built dependencies (empty secret cache).

use std::time::Instant;

use anyhow::{Result, anyhow};
use demo::Stack;
use demo::flows::handoff::{HANDOFF_TEAM, handoff_event};
use demo::services::{byods, cls, cls_env, oncall, secret_names};
use devstack::Wiring;

use super::Plan;
use super::results::Entry;
use super::stats::Summary;

const NOTE: &str = "in-process: config parse, SDK client for moto (static credentials; production loads the default credential chain), HTTP client, Deps; excludes process start and the Lambda runtime";

/// Runs the init measurements.
pub(crate) async fn run(stack: &Stack, plan: &Plan) -> Result<Vec<Entry>> {
    let wiring = stack.wiring();
    let oncall_env = oncall::env(&wiring);
    let moto = stack.moto.endpoint();
    // Each build gets a fresh Secrets Manager client, as a cold start would.
    let fresh = || Wiring {
        secrets: devstack::aws::secrets_client(&moto),
        ..stack.wiring()
    };
    let mut entries = Vec::new();

    let mut build = Vec::new();
    let mut first = Vec::new();
    for i in 0..plan.init {
        let started = Instant::now();
        let deps = oncall::deps(&fresh(), &oncall_env).await?;
        build.push(started.elapsed());
        let event = handoff_event(
            &format!("bench-init-{i}-{}", uuid::Uuid::new_v4()),
            HANDOFF_TEAM,
            "dave@example.com",
        );
        let started = Instant::now();
        let response = oncall_spoke::handle(
            event,
            &lambda_kit::Invocation::new(format!("bench-init-{i}")),
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

    let byods_env = byods::env(&wiring, secret_names::BYODS);
    let mut build = Vec::new();
    for _ in 0..plan.init {
        let started = Instant::now();
        let deps = byods::deps(&fresh(), &byods_env).await?;
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
        let client = lambda_kit::http::http_client(demo::services::USER_AGENT)?;
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

    let cls_env = cls_env(&wiring);
    let mut webhook = Vec::new();
    let mut queue = Vec::new();
    for _ in 0..plan.init {
        let started = Instant::now();
        let deps = cls::webhook_deps(&fresh(), &cls_env).await?;
        webhook.push(started.elapsed());
        drop(deps);
        let started = Instant::now();
        let deps = cls::queue_deps(&fresh(), &cls_env).await?;
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
        .note("Deps::new loads cls/github, cls/spoke, cls/identity at cold start"),
    );
    Ok(entries)
}
