//! The queue drain against Spoke's rate limit: member events for many collaborators, enqueued by the real
//! webhook handler, drained by the real `cls-queue` release binary (one process per concurrent execution,
//! each fed by its own SQS event-source mapping) against spoke-fake with added latency and an enforced
//! per-key budget. Measures the Spoke requests per minute achieved as a fraction of the budget, the 429s
//! received, redeliveries, and whether every collaborator's events were applied in the order sent.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use demo::Stack;
use devstack::seed::answer_of;
use devstack::sqs::{BatchOutcome, EventSource};
use fake_kit::{FaultRule, RateLimitConfig};
use serde_json::{Value, json};

use super::cls::{Deliveries, cls_env_on, enqueue_member_events, fresh_queue};
use super::plan::{
    DRAIN_LIMIT_PER_MIN, DRAIN_SPOKE_LATENCY, Mapping, Plan, stack_mapping, with_stack_mapping,
};
use super::release::{Release, stop_all};
use super::results::Entry;
use super::stats::Summary;

/// Member events per collaborator.
const ROUNDS: usize = 10;

/// What one drain measured.
#[derive(Debug, Clone)]
pub(crate) struct Drain {
    /// The mapping setting.
    pub(crate) mapping: Mapping,
    /// Events enqueued.
    pub(crate) events: usize,
    /// Collaborators.
    pub(crate) collaborators: usize,
    /// Messages deleted (handled).
    pub(crate) deleted: usize,
    /// Messages moved to the DLQ.
    pub(crate) dead_lettered: u64,
    /// From the first receive to the last deletion.
    pub(crate) wall: Duration,
    /// Spoke answers other than 429 during the drain.
    pub(crate) spoke_ok: usize,
    /// Spoke 429s during the drain.
    pub(crate) spoke_429: usize,
    /// Receives of a message after its first.
    pub(crate) redeliveries: usize,
    /// Records reported failed.
    pub(crate) failed_records: usize,
    /// Collaborators whose events were all applied, in the order sent.
    pub(crate) in_order: usize,
    /// The rate limit's window, seconds.
    pub(crate) window_secs: u64,
    /// Spoke requests answered (not 429) in each rate-limit window of the drain, by the fake's clock.
    pub(crate) per_window: Vec<usize>,
    /// Per batch: receive + handler + delete.
    pub(crate) batches: Vec<Duration>,
}

impl Drain {
    /// Spoke requests answered per minute: over the windows the drain used whole (all but its first and
    /// last, which it joined or left part-way), else over its wall time.
    pub(crate) fn rate(&self) -> f64 {
        let per_minute = 60.0 / self.window_secs as f64;
        if self.per_window.len() >= 3 {
            let whole = &self.per_window[1..self.per_window.len() - 1];
            whole.iter().sum::<usize>() as f64 / whole.len() as f64 * per_minute
        } else {
            self.spoke_ok as f64 / (self.wall.as_secs_f64() / 60.0).max(f64::EPSILON)
        }
    }

    /// The answered requests of each window, as requests per minute.
    pub(crate) fn per_minute(&self) -> Vec<u32> {
        let scale = 60 / self.window_secs.max(1);
        self.per_window
            .iter()
            .map(|n| u32::try_from(*n as u64 * scale).unwrap_or(u32::MAX))
            .collect()
    }

    /// The rate as a fraction of the budget.
    pub(crate) fn fraction(&self) -> f64 {
        self.rate() / f64::from(DRAIN_LIMIT_PER_MIN)
    }
}

/// Compares `plan.drain_candidates` on a slice of the events, then drains the full set with the best of them
/// (the stack's default when none is compared).
pub(crate) async fn run(stack: &Stack, plan: &Plan, release: &Release) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut candidates = Vec::new();
    let stack_default = stack_mapping()?;
    for mapping in &with_stack_mapping(&plan.drain_candidates, stack_default) {
        let events = plan.drain_candidate_events;
        println!("bench: drain candidate batch {mapping} …");
        let window = plan.drain_candidate_window_secs;
        let drain = drain(stack, release, *mapping, events / ROUNDS, window, plan).await?;
        entries.push(candidate_entry(&drain));
        candidates.push(drain);
    }
    let picked = pick(&candidates);
    let chosen = picked.unwrap_or(stack_default);
    println!(
        "bench: drain of {} events with batch {chosen} …",
        plan.drain_events
    );
    let window = plan.drain_window_secs;
    let full = drain(
        stack,
        release,
        chosen,
        plan.drain_collaborators,
        window,
        plan,
    )
    .await?;
    entries.extend(full_entries(&full, plan));
    if !candidates.is_empty() {
        entries.push(pick_entry(picked, stack_default));
    }
    Ok(entries)
}

/// Rates within this many points (percent of the limit) of the fastest candidate's count as equal: a
/// candidate's rate is read over about four whole windows of 200 requests, so a point or two is noise.
pub(crate) const TIE_POINTS: f64 = 2.0;

/// The candidate that keeps every collaborator's order, draws no more 429s than 1 % of its requests and
/// reaches the highest rate, rates within [`TIE_POINTS`] counting as equal. Among equals: fewer concurrent
/// executions (less pressure on the shared budget), then larger batches (fewer invocations), then fewer 429s.
pub(crate) fn pick(candidates: &[Drain]) -> Option<Mapping> {
    let fit: Vec<&Drain> = candidates
        .iter()
        .filter(|d| d.in_order == d.collaborators && d.deleted == d.events)
        .filter(|d| d.spoke_429 * 100 <= d.spoke_ok)
        .collect();
    let best = fit.iter().map(|d| d.fraction()).reduce(f64::max)?;
    fit.into_iter()
        .filter(|d| (best - d.fraction()) * 100.0 <= TIE_POINTS)
        .min_by(|a, b| {
            a.mapping
                .concurrency
                .cmp(&b.mapping.concurrency)
                .then(b.mapping.batch.cmp(&a.mapping.batch))
                .then(a.spoke_429.cmp(&b.spoke_429))
        })
        .map(|d| d.mapping)
}

/// One drain of `collaborators` × [`ROUNDS`] events with `mapping`, the budget counted in windows of
/// `window_secs`.
async fn drain(
    stack: &Stack,
    release: &Release,
    mapping: Mapping,
    collaborators: usize,
    window_secs: u64,
    plan: &Plan,
) -> Result<Drain> {
    let spoke = &stack.fakes.spoke;
    let queue = fresh_queue(stack, "drain").await?;
    let prefix = format!("drain-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let sent = enqueue_member_events(stack, release, &queue.url, &prefix, collaborators, ROUNDS)
        .await
        .context("enqueueing the drain's events")?;
    let events = collaborators * ROUNDS;

    let processes = release
        .start_many(
            "cls-queue",
            &cls_env_on(stack, &queue.url),
            mapping.concurrency,
        )
        .await?;
    spoke.kit().clear_journal();
    // Every call, every time (no method, path, count or rate).
    spoke.kit().add_fault(FaultRule {
        id: 0,
        method: None,
        path: None,
        times: None,
        rate: None,
        action: json!({"delayMs": DRAIN_SPOKE_LATENCY.as_millis()}),
    });
    spoke.set_rate_limit(RateLimitConfig {
        limit: DRAIN_LIMIT_PER_MIN * u32::try_from(window_secs).unwrap_or(60) / 60,
        window_secs,
        ..RateLimitConfig::default()
    });
    let deleted = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + plan.timeout("drain");
    let started = Instant::now();
    let queue = &queue;
    let workers = processes.iter().map(|process| {
        let source = EventSource::new(
            stack.sqs.clone(),
            &queue.url,
            "cls-queue",
            process.api().handler(Duration::from_secs(60)),
        )
        .batch_size(mapping.batch);
        let deleted = Arc::clone(&deleted);
        async move {
            let mut outcomes: Vec<(BatchOutcome, Duration)> = Vec::new();
            let mut last_deletion = Duration::ZERO;
            while deleted.load(Ordering::Relaxed) < events && Instant::now() < deadline {
                let polled = Instant::now();
                match source.poll_once().await.map_err(|e| anyhow!("{e}"))? {
                    Some(outcome) => {
                        if !outcome.deleted.is_empty() {
                            deleted.fetch_add(outcome.deleted.len(), Ordering::Relaxed);
                            last_deletion = started.elapsed();
                        }
                        outcomes.push((outcome, polled.elapsed()));
                    }
                    // Nothing visible: the other groups are in flight elsewhere or wait out their visibility
                    // timeout after a failure (or went to the DLQ, which ends the drain below).
                    None => {
                        if dead_lettered(stack, &queue.dlq_url).await?
                            + deleted.load(Ordering::Relaxed) as u64
                            >= events as u64
                        {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            Ok::<_, anyhow::Error>((outcomes, last_deletion))
        }
    });
    let results = futures::future::join_all(workers).await;
    spoke.kit().clear_faults();
    spoke.set_rate_limit(RateLimitConfig::default());
    stop_all(processes).await;
    let mut outcomes = Vec::new();
    let mut wall = Duration::ZERO;
    for result in results {
        let (list, last) = result?;
        outcomes.extend(list);
        wall = wall.max(last);
    }
    let journal = spoke.kit().journal();
    let spoke_429 = journal.iter().filter(|e| e.status == 429).count();
    let spoke_ok = journal.len() - spoke_429;
    let per_window = per_window(&journal, window_secs);
    let dead_lettered = dead_lettered(stack, &queue.dlq_url).await?;
    let in_order = in_order(&spoke.state_json(), &sent);
    Ok(Drain {
        mapping,
        events,
        collaborators,
        deleted: deleted.load(Ordering::Relaxed),
        dead_lettered,
        wall,
        spoke_ok,
        spoke_429,
        redeliveries: outcomes
            .iter()
            .flat_map(|(o, _)| &o.receive_counts)
            .filter(|c| **c > 1)
            .count(),
        failed_records: outcomes.iter().map(|(o, _)| o.failed.len()).sum(),
        in_order,
        window_secs,
        per_window,
        batches: outcomes.iter().map(|(_, d)| *d).collect(),
    })
}

async fn dead_lettered(stack: &Stack, dlq_url: &str) -> Result<u64> {
    devstack::aws::queue_depth(&stack.sqs, dlq_url)
        .await
        .map_err(|e| anyhow!(e))
}

/// Answered (not 429) Spoke requests in each rate-limit window of `window_secs` (aligned as spoke-fake
/// aligns them), from the first window with a request to the last.
fn per_window(journal: &[fake_kit::JournalEntry], window_secs: u64) -> Vec<usize> {
    let window = i64::try_from(window_secs.max(1)).unwrap_or(60);
    let minute = |e: &fake_kit::JournalEntry| {
        chrono::DateTime::parse_from_rfc3339(&e.at)
            .ok()
            .map(|t| t.timestamp().div_euclid(window))
    };
    let minutes: Vec<i64> = journal
        .iter()
        .filter(|e| e.status != 429)
        .filter_map(minute)
        .collect();
    let (Some(first), Some(last)) = (minutes.iter().min(), minutes.iter().max()) else {
        return Vec::new();
    };
    let mut counts = vec![0; usize::try_from(last - first + 1).unwrap_or(0)];
    for m in &minutes {
        if let Some(slot) = usize::try_from(m - first)
            .ok()
            .and_then(|i| counts.get_mut(i))
        {
            *slot += 1;
        }
    }
    counts
}

/// How many collaborators had every event applied, in the order sent: each ticket's `cls_state` lists the
/// delivery ids it applied, oldest first.
pub(crate) fn in_order(spoke_state: &Value, sent: &[Deliveries]) -> usize {
    let mut owner: HashMap<&str, (usize, usize)> = HashMap::new();
    for (collaborator, deliveries) in sent.iter().enumerate() {
        for (index, (id, _)) in deliveries.iter().enumerate() {
            owner.insert(id.as_str(), (collaborator, index));
        }
    }
    let mut applied: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let requests = spoke_state["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for request in &requests {
        let Some(state) = answer_of(request, "cls_state")
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        else {
            continue;
        };
        for id in state["deliveries"].as_array().into_iter().flatten() {
            if let Some((collaborator, index)) = id.as_str().and_then(|id| owner.get(id)) {
                applied.entry(*collaborator).or_default().push(*index);
            }
        }
    }
    sent.iter()
        .enumerate()
        .filter(|(collaborator, deliveries)| {
            applied
                .get(collaborator)
                .is_some_and(|order| order.len() == deliveries.len() && order.is_sorted())
        })
        .count()
}

fn candidate_entry(drain: &Drain) -> Entry {
    let m = drain.mapping;
    Entry::value(
        "drain",
        &format!("candidate_b{}_c{}", m.batch, m.concurrency),
        &format!(
            "Candidate: batch {m} concurrent, {} events / {} collaborators",
            drain.events, drain.collaborators
        ),
        "% of limit",
        drain.fraction() * 100.0,
    )
    .with("spoke_req_per_min", drain.rate().round())
    .with("spoke_429", drain.spoke_429 as u64)
    .with("redeliveries", drain.redeliveries as u64)
    .with(
        "in_order",
        format!("{}/{}", drain.in_order, drain.collaborators),
    )
    .with(
        "wall_secs",
        (drain.wall.as_secs_f64() * 10.0).round() / 10.0,
    )
}

/// The candidates' pick next to the stack's default (`infra/lib/queue-mapping.json`); value 1 when they agree.
fn pick_entry(picked: Option<Mapping>, stack_default: Mapping) -> Entry {
    let agree = picked == Some(stack_default);
    Entry::value(
        "drain",
        "pick",
        "The candidates' pick is the stack's mapping (infra/lib/queue-mapping.json)",
        "agrees",
        if agree { 1.0 } else { 0.0 },
    )
    .with(
        "picked",
        picked.map_or_else(|| "none".to_owned(), |m| m.to_string()),
    )
    .with("stack", stack_default.to_string())
}

fn full_entries(drain: &Drain, plan: &Plan) -> Vec<Entry> {
    let m = drain.mapping;
    let how = if plan.drain_candidates.is_empty() {
        "the stack's default mapping"
    } else {
        "the best candidate"
    };
    let mut entries = vec![
        Entry::value(
            "drain",
            "fraction",
            &format!(
                "Spoke requests/min as a share of the {DRAIN_LIMIT_PER_MIN}/min budget: {} events, {} collaborators, batch {m} concurrent",
                drain.events, drain.collaborators
            ),
            "% of limit",
            drain.fraction() * 100.0,
        )
        .with("spoke_req_per_min", drain.rate().round())
        .with("spoke_requests", drain.spoke_ok as u64)
        .with("spoke_429", drain.spoke_429 as u64)
        .with("wall_secs", (drain.wall.as_secs_f64() * 10.0).round() / 10.0)
        .with("events_per_sec", (drain.deleted as f64 / drain.wall.as_secs_f64().max(f64::EPSILON) * 100.0).round() / 100.0)
        .with("window_secs", drain.window_secs)
        .with("per_minute", drain.per_minute().iter().map(ToString::to_string).collect::<Vec<_>>().join(" "))
        .note(&format!("{how}; spoke-fake adds {} ms to every call", DRAIN_SPOKE_LATENCY.as_millis())),
        Entry::value(
            "drain",
            "order",
            "Collaborators whose events were all applied in the order sent",
            "collaborators",
            drain.in_order as f64,
        )
        .with("of", drain.collaborators as u64)
        .with("deleted", drain.deleted as u64)
        .with("dead_lettered", drain.dead_lettered)
        .with("redeliveries", drain.redeliveries as u64)
        .with("failed_records", drain.failed_records as u64),
        Entry::timed(
            "drain",
            "batch",
            "Per batch: ReceiveMessage + `cls-queue` + DeleteMessageBatch",
            Summary::of_millis(&drain.batches),
        ),
    ];
    if drain.deleted + usize::try_from(drain.dead_lettered).unwrap_or(0) < drain.events {
        entries.push(Entry::failed(
            "drain",
            "complete",
            "Every enqueued event handled",
            &format!(
                "{} of {} deleted, {} dead-lettered",
                drain.deleted, drain.events, drain.dead_lettered
            ),
        ));
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    /// spoke-fake's state with one ticket per list of applied deliveries, rendered as the API renders it.
    fn state_with(deliveries: &[&[&str]]) -> Value {
        let field = devstack::seed::field_uuid(devstack::seed::FIELD_KEYS.len() - 1);
        let requests: Vec<Value> = deliveries
            .iter()
            .map(|ids| {
                let state = json!({"v": 1, "deliveries": ids}).to_string();
                json!({"requestTypeInfo": {"answeredFields": [
                    {"simpleValue": "x", "field": {"uuid": "other"}},
                    {"simpleValue": state, "field": {"uuid": field}},
                ]}})
            })
            .collect();
        json!({"requests": requests})
    }

    fn sent(ids: &[&[&str]]) -> Vec<Deliveries> {
        ids.iter()
            .map(|list| {
                list.iter()
                    .map(|id| ((*id).to_owned(), "write".to_owned()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_collaborator_is_in_order_only_when_every_event_was_applied_in_the_order_sent() {
        let sent = sent(&[&["a1", "a2", "a3"], &["b1", "b2"], &["c1", "c2"]]);
        let state = state_with(&[&["old", "a1", "a2", "a3"], &["b2", "b1"], &["c1"]]);
        assert_eq!(in_order(&state, &sent), 1);
    }

    fn drain(batch: u8, concurrency: usize, ok: usize, too_many: usize, in_order: usize) -> Drain {
        Drain {
            mapping: Mapping { batch, concurrency },
            events: 100,
            collaborators: 10,
            deleted: 100,
            dead_lettered: 0,
            wall: Duration::from_secs(60),
            spoke_ok: ok,
            spoke_429: too_many,
            redeliveries: 0,
            failed_records: 0,
            in_order,
            window_secs: 60,
            per_window: Vec::new(),
            batches: Vec::new(),
        }
    }

    #[test]
    fn the_pick_is_the_fastest_candidate_that_keeps_order_without_a_429_storm() {
        let candidates = [
            drain(10, 1, 1_000, 0, 10),
            drain(10, 2, 1_190, 5, 10),
            drain(10, 3, 1_199, 300, 10),
            drain(5, 4, 1_199, 0, 9),
        ];
        assert_eq!(
            pick(&candidates),
            Some(Mapping {
                batch: 10,
                concurrency: 2
            })
        );
        assert_eq!(pick(&candidates[2..]), None);
    }

    #[test]
    fn rates_within_the_tie_go_to_fewer_executions_then_larger_batches() {
        let m = |batch, concurrency| Some(Mapping { batch, concurrency });
        // 100.0 %, 100.2 %, 100.3 %: equal; concurrency 2 before 3, batch 10 before 5.
        let close = [
            drain(10, 3, 1_204, 10, 10),
            drain(5, 2, 1_202, 0, 10),
            drain(10, 2, 1_200, 1, 10),
        ];
        assert_eq!(pick(&close), m(10, 2));
        // More than the tie apart: the faster wins even with more executions.
        let apart = [drain(10, 2, 1_100, 0, 10), drain(10, 3, 1_200, 5, 10)];
        assert_eq!(pick(&apart), m(10, 3));
    }

    #[test]
    fn the_pick_entry_says_whether_the_stack_agrees() {
        let stack = Mapping {
            batch: 10,
            concurrency: 2,
        };
        assert_eq!(pick_entry(Some(stack), stack).value, Some(1.0));
        let other = Mapping {
            batch: 5,
            concurrency: 2,
        };
        let entry = pick_entry(Some(other), stack);
        assert_eq!(entry.value, Some(0.0));
        assert_eq!(
            entry.extra.get("picked").and_then(|v| v.as_str()),
            Some("5 × 2")
        );
        assert_eq!(pick_entry(None, stack).value, Some(0.0));
    }
}
