//! The real binaries in the release profile, each in its own process behind the Runtime API emulator
//! (`devstack::function_process`), next to a hello-world `lambda_runtime` binary built in the same run (the
//! floor): cold start (process start → first `/next`), the first invocation and peak RSS (`VmHWM`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use demo::Stack;
use demo::binaries::{FUNCTIONS, READY_TIMEOUT};
use demo::flows::handoff::{HANDOFF_TEAM, handoff_event};
use devstack::function_process::{FunctionProcess, FunctionSpec};
use lambda_kit::{Clock, SystemClock};
use serde_json::{Value, json};

use super::Plan;
use super::cls::{member_spec, signed_delivery, target};
use super::release::{FLOOR, Release};
use super::results::Entry;
use super::stats::Summary;

const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
/// The sweep's date: a day on which the demo seed's tickets are not due, so each sweep only reads.
const SWEEP_DAY: &str = "2026-01-10";

/// One function to measure: its spec and an event it answers correctly, with the check of that answer.
pub(crate) struct Subject<'a> {
    pub(crate) spec: FunctionSpec,
    pub(crate) event: EventFn<'a>,
    pub(crate) check: CheckFn,
}

/// The `i`-th event of a run.
pub(crate) type EventFn<'a> = Box<dyn Fn(usize) -> Result<Value> + Send + Sync + 'a>;
/// Whether an answer is the correct one.
pub(crate) type CheckFn = fn(&Value) -> Result<()>;

/// The medians of one subject's cold starts, for the report and the chart.
#[derive(Debug, Clone)]
pub(crate) struct ColdMedians {
    /// The function (or `hello-lambda` for the floor).
    pub(crate) function: String,
    /// Process start → first `/next`, ms.
    pub(crate) ready_ms: f64,
    /// CPU time until the first `/next`, ms.
    pub(crate) ready_cpu_ms: f64,
    /// The first invocation, ms.
    pub(crate) first_ms: f64,
    /// Peak RSS after the first invocation, MiB.
    pub(crate) peak_mib: f64,
}

/// The floor and every function, each with an event it answers correctly.
pub(crate) fn subjects<'a>(stack: &'a Stack, release: &Release) -> Result<Vec<Subject<'a>>> {
    let wiring = stack.wiring();
    let spec = |name: &str, env| release.spec(name, env);
    let mut list = vec![Subject {
        spec: spec(FLOOR, BTreeMap::new())?,
        event: Box::new(|_| Ok(json!({"name": "floor"}))),
        check: |r| {
            ensure!(r["hello"] == "floor", "answered {r}");
            Ok(())
        },
    }];
    for function in FUNCTIONS {
        let env = demo::binaries::env(&wiring, function)?;
        let (event, check): (EventFn<'a>, CheckFn) = match function {
            "oncall-spoke" => (
                Box::new(|i| {
                    Ok(handoff_event(
                        &format!("bench-cold-{i}-{}", uuid::Uuid::new_v4()),
                        HANDOFF_TEAM,
                        "dave@example.com",
                    ))
                }),
                |r| {
                    ensure!(
                        r["result"] == "noop" || r["result"] == "updated",
                        "answered {r}"
                    );
                    Ok(())
                },
            ),
            // A signed `member` delivery: signature check, parse, trim, `SendMessage` to moto.
            "cls-webhook" => {
                let target = target(stack);
                let payload = stack
                    .fakes
                    .github
                    .member_payload(&member_spec(&target, "added", "bench-cold", "write", true))
                    .map_err(|e| anyhow!("{e}"))?;
                (
                    Box::new(move |_| {
                        let delivery = uuid::Uuid::new_v4().to_string();
                        signed_delivery(stack, "member", &delivery, &payload)
                    }),
                    |r| {
                        ensure!(r["statusCode"] == 202, "answered {r}");
                        Ok(())
                    },
                )
            }
            // An empty batch: the first invocation is the runtime round trip; the secret reads happen
            // before the first `/next` and are in the cold start.
            "cls-queue" => (Box::new(|_| Ok(json!({"Records": []}))), |r| {
                ensure!(r["batchItemFailures"] == json!([]), "answered {r}");
                Ok(())
            }),
            "cls-sweep" => (Box::new(|_| Ok(json!({"today": SWEEP_DAY}))), |r| {
                ensure!(r.is_object(), "answered {r}");
                Ok(())
            }),
            // The schedule's event: who is on call in pagerduty-fake, handoff events put on the bus (moto).
            "oncall-pagerduty" => (
                Box::new(|_| {
                    Ok(json!({
                        "version": "0",
                        "id": uuid::Uuid::new_v4().to_string(),
                        "detail-type": "Scheduled Event",
                        "source": "aws.events",
                        "time": SystemClock.now().to_rfc3339(),
                        "region": "us-east-1",
                        "resources": [],
                        "detail": {}
                    }))
                }),
                |r| {
                    ensure!(r.is_object(), "answered {r}");
                    Ok(())
                },
            ),
            "byods-extender" => (
                Box::new(|_| Ok(json!({"byods": {"dryRun": true, "force": true}}))),
                |r| {
                    ensure!(r.is_object(), "answered {r}");
                    Ok(())
                },
            ),
            other => bail!("no benchmark event for `{other}`"),
        };
        list.push(Subject {
            spec: spec(function, env)?,
            event,
            check,
        });
    }
    Ok(list)
}

struct ColdRun {
    /// Process start → first `/next`.
    ready: Duration,
    /// Time on a CPU until then.
    ready_cpu: Duration,
    /// Time waiting for a CPU until then (the shared machine's share of `ready`).
    ready_waiting: Duration,
    first: Duration,
    peak_kib: u64,
}

async fn cold_run(subject: &Subject<'_>, i: usize) -> Result<ColdRun> {
    let name = &subject.spec.name;
    let mut process = FunctionProcess::spawn(&subject.spec).await?;
    let ready = process.wait_ready(READY_TIMEOUT).await?;
    // The runtime now waits in `/next`: what the process used so far is its initialisation.
    let init = process.cpu_time().unwrap_or_default();
    let started = Instant::now();
    let answer = process
        .invoke((subject.event)(i)?, INVOKE_TIMEOUT)
        .await
        .with_context(|| format!("{name}: the first invocation"))?;
    let first = started.elapsed();
    (subject.check)(&answer).with_context(|| format!("{name}: the first invocation"))?;
    let peak_kib = process
        .peak_rss_kib()
        .ok_or_else(|| anyhow!("{name}: no VmHWM in /proc (Linux only)"))?;
    process.stop().await;
    Ok(ColdRun {
        ready,
        ready_cpu: init.on_cpu,
        ready_waiting: init.waiting,
        first,
        peak_kib,
    })
}

/// Cold starts: `plan.cold_runs` fresh processes per subject, the floor first; each measurement notes how
/// far its median is over the floor's.
pub(crate) async fn cold_starts(
    stack: &Stack,
    plan: &Plan,
    release: &Release,
) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut floor: Vec<f64> = Vec::new();
    for subject in subjects(stack, release)? {
        let name = subject.spec.name.clone();
        let mut runs = Vec::new();
        for i in 0..plan.cold_runs {
            runs.push(cold_run(&subject, i).await?);
        }
        let millis = |f: fn(&ColdRun) -> Duration| {
            Summary::of_millis(&runs.iter().map(f).collect::<Vec<_>>())
        };
        let peak = Summary::of(
            &runs
                .iter()
                .map(|r| r.peak_kib as f64 / 1024.0)
                .collect::<Vec<_>>(),
        );
        let id = name.replace('-', "_");
        let rows = [
            (
                "ready",
                "process start → first `/next`",
                millis(|r| r.ready),
                "ms",
            ),
            (
                "ready_cpu",
                "CPU time until the first `/next`",
                millis(|r| r.ready_cpu),
                "ms",
            ),
            (
                "ready_waiting",
                "time waiting for a CPU until the first `/next` (shared machine)",
                millis(|r| r.ready_waiting),
                "ms",
            ),
            ("first", "first invocation", millis(|r| r.first), "ms"),
            (
                "peak_rss",
                "peak RSS after the first invocation",
                peak,
                "MiB",
            ),
        ];
        let is_floor = floor.is_empty();
        for (index, (suffix, what, stats, unit)) in rows.into_iter().enumerate() {
            let mut entry = Entry::timed(
                "coldstart",
                &format!("{id}_{suffix}"),
                &format!("`{name}` {what}"),
                stats,
            );
            entry.unit = unit.to_owned();
            let median = stats.map_or(f64::NAN, |s| s.median);
            if is_floor {
                floor.push(median);
            } else if let Some(base) = floor.get(index) {
                entry = entry.with(&format!("over_floor_{unit}").to_lowercase(), median - base);
            }
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// The medians of each subject's cold starts, the floor first, from a run's entries.
pub(crate) fn medians(entries: &[&Entry]) -> Vec<ColdMedians> {
    let median = |id: &str| {
        entries
            .iter()
            .find(|e| e.id == format!("coldstart.{id}"))
            .and_then(|e| e.stats)
            .map(|s| s.median)
    };
    std::iter::once(FLOOR)
        .chain(FUNCTIONS)
        .filter_map(|name| {
            let id = name.replace('-', "_");
            Some(ColdMedians {
                function: name.to_owned(),
                ready_ms: median(&format!("{id}_ready"))?,
                ready_cpu_ms: median(&format!("{id}_ready_cpu"))?,
                first_ms: median(&format!("{id}_first"))?,
                peak_mib: median(&format!("{id}_peak_rss"))?,
            })
        })
        .collect()
}

/// The "over the floor" table of the cold-start group (medians), with the chart, from its entries.
pub(crate) fn summary(entries: &[&Entry]) -> String {
    let medians = medians(entries);
    let Some(floor) = medians.first().filter(|m| m.function == FLOOR) else {
        return String::new();
    };
    let mut out = format!(
        "![Cold start per function against the floor]({})\n\n\
         Medians; the floor is `{FLOOR}`, a hello-world `lambda_runtime` binary built in the same run and \
         profile. Targets: cold start ≤ floor + 2 ms, peak RSS ≤ 6 MiB.\n\n\
         | Function | start → first `/next` (ms) | over the floor (ms) | CPU until then (ms) | over the floor (ms) | first invocation (ms) | peak RSS (MiB) | over the floor (MiB) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
        super::chart::COLD_START_CHART
    );
    for m in &medians {
        out.push_str(&format!(
            "| `{}` | {:.2} | {:+.2} | {:.2} | {:+.2} | {:.2} | {:.2} | {:+.2} |\n",
            m.function,
            m.ready_ms,
            m.ready_ms - floor.ready_ms,
            m.ready_cpu_ms,
            m.ready_cpu_ms - floor.ready_cpu_ms,
            m.first_ms,
            m.peak_mib,
            m.peak_mib - floor.peak_mib
        ));
    }
    out.push('\n');
    out
}
