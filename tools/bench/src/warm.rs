//! Resident memory of one release process per function over many warm invocations: RSS after a warm-up,
//! RSS at the end, the growth between them and the peak, and the RSS at every tenth of the run (a leak grows
//! in both halves of the run; a runtime or allocator settling in grows in the first and stops). `cls-queue` is fed real member events through an
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
/// RSS readings after the warm-up: one per tenth of the warm invocations.
const TENTHS: usize = 10;

/// RSS readings (KiB) taken as invocations complete: after the warm-up, then at every tenth of the rest.
#[derive(Debug, Default)]
struct Trace {
    warm: usize,
    readings: Vec<u64>,
}

impl Trace {
    fn new(warm: usize) -> Self {
        Self {
            warm,
            readings: Vec::with_capacity(TENTHS + 1),
        }
    }

    /// Takes a reading with `read` when `done` (invocations completed, warm-up included) is a checkpoint.
    fn after(&mut self, done: usize, read: impl FnOnce() -> u64) {
        let Some(measured) = done.checked_sub(WARM_UP) else {
            return;
        };
        let step = self.warm.div_ceil(TENTHS).max(1);
        if (measured % step == 0 || measured == self.warm) && self.readings.len() <= TENTHS {
            self.readings.push(read());
        }
    }

    /// The RSS after the warm-up.
    fn start(&self) -> Option<u64> {
        self.readings.first().copied()
    }

    /// The growth over the second half of the warm invocations, KiB.
    fn second_half_growth(&self) -> Option<f64> {
        let last = *self.readings.last()?;
        let half = *self.readings.get(self.readings.len() / 2)?;
        #[allow(clippy::cast_precision_loss)]
        Some(last as f64 - half as f64)
    }

    /// The readings, space-separated (for the report).
    fn trajectory(&self) -> String {
        self.readings
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

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
        let mut trace = Trace::new(plan.warm_invocations);
        let done = if name == "cls-queue" {
            let queue = fresh_queue(stack, "warm").await?;
            let prefix = format!("warm-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
            let rounds = total.div_ceil(COLLABORATORS);
            enqueue_member_events(stack, release, &queue.url, &prefix, COLLABORATORS, rounds)
                .await?;
            through_the_queue(stack, &queue.url, &process, total, &mut trace).await
        } else {
            invoked(&subject, &process, total, &mut trace).await
        };
        let elapsed = started.elapsed();
        let end_kib = process.rss_kib().unwrap_or(0);
        let peak_kib = process.peak_rss_kib().unwrap_or(0);
        process.stop().await;
        done.with_context(|| format!("{name}: warm invocations"))?;
        let start_kib = trace.start().context("no RSS reading after the warm-up")?;
        #[allow(clippy::cast_precision_loss)]
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
            .with(
                "second_half_growth_kib",
                trace.second_half_growth().unwrap_or(0.0),
            )
            .with("rss_every_tenth_kib", trace.trajectory())
            .with("invocations", plan.warm_invocations as u64)
            .with("wall_secs", (elapsed.as_secs_f64() * 10.0).round() / 10.0),
        );
    }
    Ok(entries)
}

/// `total` invocations with the subject's events, the RSS read into `trace`.
async fn invoked(
    subject: &Subject<'_>,
    process: &FunctionProcess,
    total: usize,
    trace: &mut Trace,
) -> Result<()> {
    for i in 0..total {
        let answer = process
            .invoke((subject.event)(i)?, INVOKE_TIMEOUT)
            .await
            .with_context(|| format!("invocation {i}"))?;
        (subject.check)(&answer).with_context(|| format!("invocation {i}"))?;
        trace.after(i + 1, || process.rss_kib().unwrap_or(0));
    }
    Ok(())
}

/// `total` batches of one queued message each, the RSS read into `trace`.
async fn through_the_queue(
    stack: &Stack,
    queue_url: &str,
    process: &FunctionProcess,
    total: usize,
    trace: &mut Trace,
) -> Result<()> {
    let source = EventSource::new(
        stack.sqs.clone(),
        queue_url,
        "cls-queue",
        process.api().handler(INVOKE_TIMEOUT),
    )
    .batch_size(1);
    let mut handled = 0;
    let mut progress = Instant::now();
    while handled < total {
        match source.poll_once().await.map_err(|e| anyhow!("{e}"))? {
            Some(outcome) if outcome.is_success() => {
                handled += 1;
                progress = Instant::now();
                trace.after(handled, || process.rss_kib().unwrap_or(0));
            }
            Some(outcome) => bail!("batch {handled} failed: {outcome:?}"),
            None if progress.elapsed() > IDLE => {
                bail!("only {handled} of {total} messages arrived")
            }
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traced(warm: usize, rss: impl Fn(usize) -> u64) -> Trace {
        let mut trace = Trace::new(warm);
        for done in 1..=WARM_UP + warm {
            trace.after(done, || rss(done));
        }
        trace
    }

    #[test]
    fn the_trace_reads_after_the_warm_up_and_at_every_tenth() {
        let trace = traced(1_000, |done| done as u64);
        assert_eq!(trace.readings.len(), TENTHS + 1);
        assert_eq!(trace.start(), Some(WARM_UP as u64));
        assert_eq!(trace.readings[5], (WARM_UP + 500) as u64);
        assert_eq!(trace.readings.last(), Some(&((WARM_UP + 1_000) as u64)));
    }

    #[test]
    fn a_leak_grows_in_the_second_half_and_settling_does_not() {
        let leak = traced(1_000, |done| 4_000 + done as u64);
        assert_eq!(leak.second_half_growth(), Some(500.0));
        let settling = traced(1_000, |done| 4_000 + done.min(300) as u64);
        assert_eq!(settling.second_half_growth(), Some(0.0));
        assert_eq!(settling.trajectory().split(' ').count(), TENTHS + 1);
    }

    #[test]
    fn a_short_run_still_ends_with_its_last_invocation() {
        let trace = traced(7, |done| done as u64);
        assert_eq!(trace.readings.last(), Some(&((WARM_UP + 7) as u64)));
        assert!(trace.readings.len() <= TENTHS + 1);
    }
}
