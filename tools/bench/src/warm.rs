//! Resident memory of one release process per function over many warm invocations: RSS after a warm-up,
//! RSS at the end, the growth between them and the peak. `cls-queue` is fed real member events through an
//! SQS event-source mapping (one message per batch), the others the events of the cold-start subjects.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use demo::Stack;
use demo::binaries::READY_TIMEOUT;
use devstack::function_process::FunctionProcess;
use devstack::sqs::EventSource;

use super::Plan;
use super::cls::{enqueue_member_events, fresh_queue};
use super::coldstart::{Subject, subjects};
use super::release::Release;
use super::results::Entry;

/// Invocations before the first reading (caches filled, tokens minted, lazy set-up done).
const WARM_UP: usize = 10;
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the queue may stay empty before the run gives up.
const IDLE: Duration = Duration::from_secs(10);
/// Collaborators the `cls-queue` events are spread over.
const COLLABORATORS: usize = 10;

/// One entry per function (the floor included).
pub(crate) async fn warm_memory(
    stack: &Stack,
    plan: &Plan,
    release: &Release,
) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let total = WARM_UP + plan.warm_invocations;
    for subject in subjects(stack, release)? {
        let name = subject.spec.name.clone();
        let mut process = FunctionProcess::spawn(&subject.spec).await?;
        process.wait_ready(READY_TIMEOUT).await?;
        let started = Instant::now();
        let rss = if name == "cls-queue" {
            let queue = fresh_queue(stack, "warm").await?;
            let prefix = format!("warm-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
            let rounds = total.div_ceil(COLLABORATORS);
            enqueue_member_events(stack, release, &queue.url, &prefix, COLLABORATORS, rounds)
                .await?;
            through_the_queue(stack, &queue.url, &process, total).await
        } else {
            invoked(&subject, &process, total).await
        };
        let elapsed = started.elapsed();
        let end_kib = process.rss_kib().unwrap_or(0);
        let peak_kib = process.peak_rss_kib().unwrap_or(0);
        process.stop().await;
        let start_kib = rss.with_context(|| format!("{name}: warm invocations"))?;
        let growth = end_kib as f64 - start_kib as f64;
        entries.push(
            Entry::value(
                "warm_memory",
                &name.replace('-', "_"),
                &format!(
                    "`{name}`: RSS growth over {} warm invocations",
                    plan.warm_invocations
                ),
                "KiB",
                growth,
            )
            .with("rss_after_warm_up_kib", start_kib)
            .with("rss_end_kib", end_kib)
            .with("peak_rss_kib", peak_kib)
            .with("invocations", plan.warm_invocations as u64)
            .with("wall_secs", (elapsed.as_secs_f64() * 10.0).round() / 10.0),
        );
    }
    Ok(entries)
}

/// `total` invocations with the subject's events; the RSS after the warm-up, KiB.
async fn invoked(subject: &Subject<'_>, process: &FunctionProcess, total: usize) -> Result<u64> {
    let mut start_kib = 0;
    for i in 0..total {
        let answer = process
            .invoke((subject.event)(i)?, INVOKE_TIMEOUT)
            .await
            .with_context(|| format!("invocation {i}"))?;
        (subject.check)(&answer).with_context(|| format!("invocation {i}"))?;
        if i + 1 == WARM_UP {
            start_kib = process.rss_kib().unwrap_or(0);
        }
    }
    Ok(start_kib)
}

/// `total` batches of one queued message each; the RSS after the warm-up, KiB.
async fn through_the_queue(
    stack: &Stack,
    queue_url: &str,
    process: &FunctionProcess,
    total: usize,
) -> Result<u64> {
    let source = EventSource::new(
        stack.sqs.clone(),
        queue_url,
        "cls-queue",
        process.api().handler(INVOKE_TIMEOUT),
    )
    .batch_size(1);
    let mut start_kib = 0;
    let mut handled = 0;
    let mut progress = Instant::now();
    while handled < total {
        match source.poll_once().await.map_err(|e| anyhow!("{e}"))? {
            Some(outcome) if outcome.is_success() => {
                handled += 1;
                progress = Instant::now();
            }
            Some(outcome) => bail!("batch {handled} failed: {outcome:?}"),
            None if progress.elapsed() > IDLE => {
                bail!("only {handled} of {total} messages arrived")
            }
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
        if handled == WARM_UP && start_kib == 0 {
            start_kib = process.rss_kib().unwrap_or(0);
        }
    }
    Ok(start_kib)
}
