//! The performance targets (issue 13) checked against a run's entries: one row per target and subject with
//! what was measured, whether it is met and by how much it is missed.

use std::fmt::Write as _;

use demo::binaries::FUNCTIONS;

use super::release::FLOOR;
use super::results::{Entry, Status, num};
use serde_json::Value;

/// Cold start over the floor, ms.
const COLD_OVER_FLOOR_MS: f64 = 2.0;
/// Peak RSS, MiB.
const PEAK_RSS_MIB: f64 = 6.0;
/// Zipped arm64 artifact, MiB.
const ZIP_MIB: f64 = 2.0;
/// "Flat": RSS growth over the warm invocations, as a share of the RSS after the warm-up.
const FLAT_SHARE: f64 = 0.02;
/// The webhook handler's p99 at 64 concurrent without SQS, ms.
const WEBHOOK_P99_MS: f64 = 2.0;
/// The drain's share of the rate limit, %.
const DRAIN_SHARE: f64 = 90.0;
/// The 50,000-ticket sweep's function time, s.
const SWEEP_SECS: f64 = 300.0;

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    /// The target.
    pub(crate) target: String,
    /// What it applies to.
    pub(crate) subject: String,
    /// The measured value, with its unit.
    pub(crate) measured: String,
    /// `Some(true)` met, `Some(false)` missed, `None` not measured in this run.
    pub(crate) met: Option<bool>,
    /// By how much it is missed (empty when met).
    pub(crate) miss: String,
}

fn find<'a>(entries: &[&'a Entry], id: &str) -> Option<&'a Entry> {
    entries
        .iter()
        .copied()
        .find(|e| e.id == id && e.status == Status::Measured)
}

fn median(entries: &[&Entry], id: &str) -> Option<f64> {
    find(entries, id).and_then(|e| e.stats).map(|s| s.median)
}

fn verdict(
    target: &str,
    subject: &str,
    measured: Option<(f64, &str)>,
    limit: f64,
    lower_is_better: bool,
) -> Verdict {
    let Some((value, unit)) = measured else {
        return Verdict {
            target: target.to_owned(),
            subject: subject.to_owned(),
            measured: "not measured in this run".to_owned(),
            met: None,
            miss: String::new(),
        };
    };
    let met = if lower_is_better {
        value <= limit
    } else {
        value >= limit
    };
    Verdict {
        target: target.to_owned(),
        subject: subject.to_owned(),
        measured: format!("{} {unit}", num(value)),
        met: Some(met),
        miss: if met {
            String::new()
        } else {
            format!("{} {unit}", num((value - limit).abs()))
        },
    }
}

/// "Pick the batch size and mapping concurrency that come closest … and make them the stack's defaults":
/// met when the drain's pick among its candidates is `infra/lib/queue-mapping.json`.
fn mapping_verdict(pick: Option<&Entry>) -> Verdict {
    let target = "the stack's queue mapping is the drain's pick".to_owned();
    let subject = "cls-queue".to_owned();
    let text = |key: &str| {
        pick.and_then(|e| e.extra.get(key))
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_owned()
    };
    match pick.and_then(|e| e.value) {
        None => Verdict {
            target,
            subject,
            measured: "not measured in this run (candidates are compared in the full run)"
                .to_owned(),
            met: None,
            miss: String::new(),
        },
        Some(agrees) => {
            let (picked, stack) = (text("picked"), text("stack"));
            let met = agrees >= 1.0;
            Verdict {
                target,
                subject,
                measured: format!("picked {picked}; the stack has {stack}"),
                met: Some(met),
                miss: if met {
                    String::new()
                } else {
                    format!("set infra/lib/queue-mapping.json to {picked}, or explain why not")
                },
            }
        }
    }
}

/// Every target against `entries`.
pub(crate) fn verdicts(entries: &[&Entry]) -> Vec<Verdict> {
    let mut rows = Vec::new();
    let floor_id = FLOOR.replace('-', "_");
    // CPU time until the first `/next`: on a shared machine the wall time is mostly waiting for a core
    // (both are in the cold-start table).
    let floor_cpu = median(entries, &format!("coldstart.{floor_id}_ready_cpu"));
    for function in FUNCTIONS {
        let id = function.replace('-', "_");
        let over = median(entries, &format!("coldstart.{id}_ready_cpu"))
            .zip(floor_cpu)
            .map(|(cpu, floor)| (cpu - floor, "ms CPU over the floor"));
        rows.push(verdict(
            "cold start ≤ floor + 2 ms (CPU time to the first `/next`)",
            function,
            over,
            COLD_OVER_FLOOR_MS,
            true,
        ));
    }
    for function in FUNCTIONS {
        let id = function.replace('-', "_");
        let peak = median(entries, &format!("coldstart.{id}_peak_rss")).map(|v| (v, "MiB"));
        rows.push(verdict(
            "peak RSS ≤ 6 MiB",
            function,
            peak,
            PEAK_RSS_MIB,
            true,
        ));
    }
    for function in FUNCTIONS {
        let id = function.replace('-', "_");
        let entry = find(entries, &format!("artifacts.{id}_aarch64"));
        let mut row = verdict(
            "zipped arm64 artifact ≤ 2 MiB",
            function,
            entry.and_then(|e| e.value).map(|v| (v, "MiB")),
            ZIP_MIB,
            true,
        );
        // An artifact built before this run's code measures an older build: no verdict.
        if entry.is_some_and(|e| e.extra.get("stale").and_then(Value::as_bool) == Some(true)) {
            row.measured = format!(
                "{} from an older build: rerun `cargo xtask lambda-build`",
                row.measured
            );
            row.met = None;
            row.miss = String::new();
        }
        rows.push(row);
    }
    for function in FUNCTIONS {
        let id = function.replace('-', "_");
        let growth = find(entries, &format!("warm_memory.{id}")).and_then(|e| {
            let base = e.extra.get("rss_after_warm_up_kib")?.as_f64()?;
            Some((e.value? / base.max(1.0) * 100.0, "% growth"))
        });
        rows.push(verdict(
            "memory flat (growth ≤ 2 % of the warm RSS)",
            function,
            growth,
            FLAT_SHARE * 100.0,
            true,
        ));
    }
    for (id, what) in [("duration", "duration"), ("cpu", "CPU time")] {
        let p99 = find(entries, &format!("webhook.c64_handler_{id}"))
            .and_then(|e| e.stats)
            .map(|s| (s.p99, "ms p99"));
        rows.push(verdict(
            &format!("webhook handler p99 < 2 ms at 64 concurrent, SQS excluded ({what})"),
            "cls-webhook",
            p99,
            WEBHOOK_P99_MS,
            true,
        ));
    }
    let share = find(entries, "drain.fraction")
        .and_then(|e| e.value)
        .map(|v| (v, "% of the limit"));
    rows.push(verdict(
        "queue drain ≥ 90 % of the rate limit",
        "cls-queue",
        share,
        DRAIN_SHARE,
        false,
    ));
    let order = find(entries, "drain.order").and_then(|e| {
        let of = e.extra.get("of")?.as_f64()?;
        Some((of - e.value?, "collaborators out of order"))
    });
    rows.push(verdict(
        "queue drain keeps each collaborator's order",
        "cls-queue",
        order,
        0.0,
        true,
    ));
    rows.push(mapping_verdict(find(entries, "drain.pick")));
    let sweep = entries
        .iter()
        .find(|e| e.id.starts_with("sweep.t50000"))
        .map(|e| match (e.status, e.value) {
            (Status::Measured, Some(v)) => verdict(
                "50,000-ticket sweep < 5 min function time",
                "cls-sweep",
                Some((v, "s")),
                SWEEP_SECS,
                true,
            ),
            _ => Verdict {
                target: "50,000-ticket sweep < 5 min function time".to_owned(),
                subject: "cls-sweep".to_owned(),
                measured: format!("the run failed: {}", e.note),
                met: Some(false),
                miss: "does not complete".to_owned(),
            },
        })
        .unwrap_or_else(|| {
            verdict(
                "50,000-ticket sweep < 5 min function time",
                "cls-sweep",
                None,
                SWEEP_SECS,
                true,
            )
        });
    rows.push(sweep);
    rows
}

/// The targets table (Markdown).
pub(crate) fn table(entries: &[&Entry]) -> String {
    let mut out =
        String::from("| Target | Function | Measured | Met | Missed by |\n|---|---|---|---|---|\n");
    for v in verdicts(entries) {
        let met = match v.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {met} | {} |",
            v.target,
            v.subject,
            v.measured.replace('|', "\\|").replace('\n', " "),
            v.miss
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Summary;

    #[test]
    fn a_cold_start_is_judged_against_the_floor_and_a_missing_measurement_is_not_judged() {
        let floor = Entry::timed(
            "coldstart",
            "hello_lambda_ready_cpu",
            "floor",
            Summary::of(&[2.0]),
        );
        let fast = Entry::timed(
            "coldstart",
            "cls_webhook_ready_cpu",
            "w",
            Summary::of(&[3.5]),
        );
        let slow = Entry::timed("coldstart", "cls_queue_ready_cpu", "q", Summary::of(&[9.0]));
        let rows = verdicts(&[&floor, &fast, &slow]);
        let row = |subject: &str| {
            rows.iter()
                .find(|r| r.subject == subject && r.target.starts_with("cold"))
                .unwrap()
        };
        assert_eq!(row("cls-webhook").met, Some(true));
        assert_eq!(row("cls-queue").met, Some(false));
        assert_eq!(row("cls-queue").miss, "5.00 ms CPU over the floor");
        assert_eq!(row("oncall-spoke").met, None);
    }

    #[test]
    fn an_arm64_artifact_older_than_the_run_gets_no_verdict() {
        let row = |entry: &Entry| {
            verdicts(&[entry])
                .into_iter()
                .find(|r| r.target.starts_with("zipped arm64") && r.subject == "cls-queue")
                .unwrap()
        };
        let fresh = Entry::value("artifacts", "cls_queue_aarch64", "z", "MiB", 3.0);
        assert_eq!(row(&fresh).met, Some(false));
        let stale = fresh.clone().with("stale", true);
        let stale_row = row(&stale);
        assert_eq!(stale_row.met, None);
        assert!(
            stale_row.measured.contains("older build"),
            "{}",
            stale_row.measured
        );
    }

    #[test]
    fn the_mapping_row_reports_a_pick_that_differs_from_the_stack_as_missed() {
        let row = |entry: &Entry| {
            verdicts(&[entry])
                .into_iter()
                .find(|r| r.target.starts_with("the stack's queue mapping"))
                .unwrap()
        };
        let agree = Entry::value("drain", "pick", "p", "agrees", 1.0)
            .with("picked", "10 × 2")
            .with("stack", "10 × 2");
        assert_eq!(row(&agree).met, Some(true));
        let differ = Entry::value("drain", "pick", "p", "agrees", 0.0)
            .with("picked", "5 × 2")
            .with("stack", "10 × 2");
        let missed = row(&differ);
        assert_eq!(missed.met, Some(false));
        assert_eq!(missed.measured, "picked 5 × 2; the stack has 10 × 2");
        let other = Entry::value("drain", "fraction", "d", "% of limit", 93.0);
        assert_eq!(row(&other).met, None);
    }

    #[test]
    fn the_drain_share_is_a_floor_not_a_ceiling() {
        let drain = Entry::value("drain", "fraction", "d", "% of limit", 93.0);
        let rows = verdicts(&[&drain]);
        let row = rows
            .iter()
            .find(|r| r.target.starts_with("queue drain ≥"))
            .unwrap();
        assert_eq!(row.met, Some(true));
    }
}
