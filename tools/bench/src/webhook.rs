//! The webhook path on the real `cls-webhook` release binary: signed `member` deliveries at 1, 8 and 64
//! concurrent executions (one process each, as Lambda runs one event per execution environment), with the
//! queue on moto and with the queue's service time taken out ([`AwsStub`]). For each: the function's own
//! time per delivery (the emulator's hand-out → answer, Lambda's `Duration`), the caller's latency, and the
//! throughput.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use demo::Stack;
use devstack::function_process::FunctionProcess;
use serde_json::Value;

use super::Plan;
use super::aws_stub::AwsStub;
use super::cls::{cls_env_on, fresh_queue, member_spec, signed_delivery, target};
use super::release::{FLOOR, Release, stop_all};
use super::results::Entry;
use super::stats::Summary;

/// The concurrency levels measured.
pub(crate) const LEVELS: [usize; 3] = [1, 8, 64];
const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the function's `SendMessage` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Queue {
    /// moto's `cls-events.fifo`: the whole path.
    Moto,
    /// [`AwsStub`]: the handler's own time.
    Stub,
}

/// What one run at one level measured.
struct Run {
    /// Per delivery: the emulator's hand-out → answer (Lambda's `Duration`).
    durations: Vec<Duration>,
    /// Per delivery: the process's time on a CPU.
    cpu: Vec<Duration>,
    /// Per delivery: the caller's send → answer.
    latencies: Vec<Duration>,
    wall: Duration,
}

/// Every level with both queues, and the floor at the same levels (the emulator's and runtime's share).
pub(crate) async fn concurrency(
    stack: &Stack,
    plan: &Plan,
    release: &Release,
) -> Result<Vec<Entry>> {
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
    let stub = AwsStub::start().await?;
    let queue = fresh_queue(stack, "webhook").await?;
    let moto_env = cls_env_on(stack, &queue.url);
    let mut stub_env = moto_env.clone();
    stub_env.insert("AWS_ENDPOINT_URL_SQS".to_owned(), stub.url());
    let mut entries = Vec::new();
    for level in LEVELS {
        let runs = [
            (Queue::Stub, &stub_env, plan.webhook),
            (Queue::Moto, &moto_env, plan.webhook_moto),
        ];
        for (queue, env, deliveries) in runs {
            if deliveries == 0 || (plan.quick && queue == Queue::Moto && level > 1) {
                continue;
            }
            let events = (0..deliveries + level)
                .map(|_| {
                    let delivery = uuid::Uuid::new_v4().to_string();
                    signed_delivery(stack, "member", &delivery, &payload)
                })
                .collect::<Result<Vec<Value>>>()?;
            let started = Instant::now();
            let processes = release.start_many("cls-webhook", env, level).await?;
            let run = drive(&processes, &events, level, |answer| {
                if answer["statusCode"] == 202 {
                    Ok(())
                } else {
                    bail!("answered {answer}")
                }
            })
            .await;
            stop_all(processes).await;
            let run = run?;
            println!(
                "bench: webhook ×{level} {queue:?}: {} deliveries in {:.1} s",
                run.latencies.len(),
                started.elapsed().as_secs_f64()
            );
            entries.extend(run_entries("cls-webhook", queue, level, &run));
        }
        let floor_events: Vec<Value> = (0..plan.webhook + level)
            .map(|i| serde_json::json!({"name": format!("floor-{i}")}))
            .collect();
        let processes = release
            .start_many(FLOOR, &std::collections::BTreeMap::new(), level)
            .await?;
        let run = drive(&processes, &floor_events, level, |answer| {
            if answer["hello"].is_string() {
                Ok(())
            } else {
                bail!("answered {answer}")
            }
        })
        .await;
        stop_all(processes).await;
        entries.extend(run_entries(FLOOR, Queue::Stub, level, &run?));
    }
    if stub.sent() == 0 {
        bail!("no SendMessage reached the SQS stub: AWS_ENDPOINT_URL_SQS was not honoured");
    }
    stub.stop().await;
    Ok(entries)
}

/// Sends `events` through `processes` (one worker per process, `level` of them), after one warm-up
/// delivery each (the first reads the secrets): each worker takes the next event until none is left.
async fn drive(
    processes: &[FunctionProcess],
    events: &[Value],
    level: usize,
    check: fn(&Value) -> Result<()>,
) -> Result<Run> {
    let (warm_up, measured) = events.split_at(level);
    for (process, event) in processes.iter().zip(warm_up) {
        let answer = process
            .invoke(event.clone(), INVOKE_TIMEOUT)
            .await
            .context("warm-up delivery")?;
        check(&answer).context("warm-up delivery")?;
        process.api().take_durations();
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers = processes.iter().map(|process| {
        let next = Arc::clone(&next);
        async move {
            let mut latencies = Vec::new();
            let mut cpu = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(event) = measured.get(i) else {
                    let durations = process.api().take_durations();
                    return Ok::<_, anyhow::Error>((latencies, cpu, durations));
                };
                let before = process.cpu_time().unwrap_or_default();
                let sent = Instant::now();
                let answer = process
                    .invoke(event.clone(), INVOKE_TIMEOUT)
                    .await
                    .with_context(|| format!("delivery {i}"))?;
                latencies.push(sent.elapsed());
                cpu.push(process.cpu_time().unwrap_or_default().since(before));
                check(&answer).with_context(|| format!("delivery {i}"))?;
            }
        }
    });
    let results = futures::future::join_all(workers).await;
    let wall = started.elapsed();
    let mut run = Run {
        durations: Vec::new(),
        cpu: Vec::new(),
        latencies: Vec::new(),
        wall,
    };
    for result in results {
        let (latencies, cpu, durations) = result?;
        run.cpu.extend(cpu.iter().map(|used| used.on_cpu));
        run.durations.extend(durations);
        run.latencies.extend(latencies);
    }
    Ok(run)
}

fn run_entries(function: &str, queue: Queue, level: usize, run: &Run) -> Vec<Entry> {
    let (suffix, what) = match (function == FLOOR, queue) {
        (true, _) => (
            "floor",
            "the floor (`hello-lambda`): the runtime and the emulator alone",
        ),
        (false, Queue::Stub) => ("handler", "without the SQS service time (queue stub)"),
        (false, Queue::Moto) => ("moto", "with `SendMessage` to moto"),
    };
    let id = format!("c{level}_{suffix}");
    let n = run.latencies.len();
    vec![
        Entry::timed(
            "webhook",
            &format!("{id}_duration"),
            &format!("{level} concurrent, {what}: function duration"),
            Summary::of_millis(&run.durations),
        )
        .with("concurrency", level as u64)
        .note("emulator hand-out → answer, as Lambda reports Duration"),
        Entry::timed(
            "webhook",
            &format!("{id}_cpu"),
            &format!("{level} concurrent, {what}: CPU time"),
            Summary::of_millis(&run.cpu),
        )
        .with("concurrency", level as u64)
        .note("the process's time on a CPU per delivery: what the machine's two cores shared by every process do not inflate"),
        Entry::timed(
            "webhook",
            &format!("{id}_latency"),
            &format!("{level} concurrent, {what}: caller latency"),
            Summary::of_millis(&run.latencies),
        )
        .with("concurrency", level as u64),
        Entry::value(
            "webhook",
            &format!("{id}_throughput"),
            &format!("{level} concurrent, {what}: throughput"),
            "deliveries/s",
            n as f64 / run.wall.as_secs_f64().max(f64::EPSILON),
        )
        .with("deliveries", n as u64)
        .with("concurrency", level as u64),
    ]
}
