//! The CLS path end to end: signed `member` deliveries from github-fake → the API Gateway emulator →
//! `cls-webhook` → the FIFO queue in moto → `cls-queue` behind the event-source emulator → Spoke tickets.
//! Scenarios `faults` (1), `redelivery` (2) and `kill` (5), and the counting they share.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use futures::StreamExt;
use github_fake::MemberSpec;
use serde_json::{Value, json};

use crate::harness::{Consumers, Harness, to_u64};
use crate::recording::{Recorder, Tracer};
use crate::report::ScenarioResult;

/// One `member` delivery of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `X-GitHub-Delivery` GUID.
    pub delivery: String,
    /// `added`, `edited`, `removed`.
    pub action: &'static str,
    /// The role for `added`/`edited`.
    pub role: Option<&'static str>,
}

/// One outside collaborator and the deliveries about them, in the order GitHub sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collaborator {
    /// GitHub login (unknown to github-fake until the first delivery creates it).
    pub login: String,
    /// Deliveries in sending order.
    pub events: Vec<Event>,
}

/// `events` deliveries spread over `collaborators` outside collaborators: each gets `added` (write), then
/// role edits alternating admin/write, and `removed` last when it has three or more. Every delivery after
/// the first changes the ticket and posts exactly one ticket message, so messages = processed − 1.
pub fn plan(run: &str, collaborators: usize, events: usize) -> Vec<Collaborator> {
    let collaborators = collaborators.max(1);
    (0..collaborators)
        .map(|c| {
            let count = events / collaborators + usize::from(c < events % collaborators);
            let events = (0..count)
                .map(|i| {
                    let (action, role) = match i {
                        0 => ("added", Some("write")),
                        i if i + 1 == count && count >= 3 => ("removed", None),
                        i if i % 2 == 1 => ("edited", Some("admin")),
                        _ => ("edited", Some("write")),
                    };
                    Event {
                        delivery: uuid::Uuid::new_v4().to_string(),
                        action,
                        role,
                    }
                })
                .collect();
            Collaborator {
                login: format!("chaos-{run}-{c:04}"),
                events,
            }
        })
        .collect()
}

/// The number of deliveries in a plan.
pub fn event_count(plan: &[Collaborator]) -> usize {
    plan.iter().map(|c| c.events.len()).sum()
}

/// How often a delivery the webhook refused is sent again before the next one of its collaborator (GitHub
/// shows a failed delivery, and it is redelivered).
pub const REDELIVERIES: usize = 3;

/// Sends every delivery of `plan` through the stack's webhook route (see [`deliver_to`]), a refused one again
/// up to [`REDELIVERIES`] times. Returns the number of deliveries the webhook still did not accept with 202.
pub async fn deliver(
    h: &Harness,
    plan: &[Collaborator],
    copies: usize,
    parallel: usize,
) -> Result<u64> {
    let url = h
        .stack
        .endpoints
        .get("cls_webhook")
        .cloned()
        .ok_or_else(|| anyhow!("cls-webhook is not behind the API emulator"))?;
    let statuses = deliver_to(h, &url, plan, copies, parallel, REDELIVERIES).await?;
    Ok(statuses
        .iter()
        .filter(|(status, _)| **status != 202)
        .map(|(_, n)| n)
        .sum())
}

/// Sends every delivery of `plan` to `url`, `copies` times each (the copies concurrently), with up to
/// `parallel` collaborators at once and each collaborator's deliveries in order, signed by github-fake as
/// GitHub signs them; a copy not answered 202 is sent again, up to `redeliveries` times, before the next
/// delivery. Returns how many last answers had each status (0: no answer).
pub async fn deliver_to(
    h: &Harness,
    url: &str,
    plan: &[Collaborator],
    copies: usize,
    parallel: usize,
    redeliveries: usize,
) -> Result<BTreeMap<u16, u64>> {
    let github = &h.stack.fakes.github;
    let answers = futures::stream::iter(plan)
        .map(|collaborator| async move {
            let mut statuses = Vec::new();
            for event in &collaborator.events {
                let spec = MemberSpec {
                    action: event.action.to_owned(),
                    org: devstack::seed::ORG.to_owned(),
                    login: collaborator.login.clone(),
                    repo: "widgets".to_owned(),
                    role_name: event.role.map(str::to_owned),
                    sender: Some("alice".to_owned()),
                    apply: Some(true),
                };
                let payload = github
                    .member_payload(&spec)
                    .map_err(|e| anyhow!("member payload: {e}"))?;
                let send = || async {
                    let mut status = 0;
                    for _ in 0..=redeliveries {
                        status = match github
                            .send_webhook(url, "member", Some(&event.delivery), &payload)
                            .await
                        {
                            Ok(o) => {
                                h.scan("webhook response", &o.body);
                                o.status
                            }
                            Err(_) => 0,
                        };
                        if status == 202 {
                            break;
                        }
                    }
                    status
                };
                let sends = (0..copies.max(1)).map(|_| send());
                statuses.extend(futures::future::join_all(sends).await);
            }
            anyhow::Ok(statuses)
        })
        .buffer_unordered(parallel.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut counts = BTreeMap::new();
    for status in answers
        .into_iter()
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
    {
        *counts.entry(status).or_insert(0) += 1;
    }
    Ok(counts)
}

/// What the stand-ins and the DLQ show about a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Deliveries recorded in a ticket's delivery log (the write that applied them happened).
    pub processed: u64,
    /// Deliveries whose message is in the DLQ.
    pub dead_lettered: u64,
    /// Deliveries both applied and dead-lettered (applied, then a later step failed on every receive).
    pub applied_and_dead_lettered: u64,
    /// Deliveries neither applied nor dead-lettered.
    pub lost: u64,
    /// Tickets beyond one per collaborator.
    pub duplicate_tickets: u64,
    /// Ticket messages beyond one per applied delivery after the first.
    pub duplicate_messages: u64,
    /// Ticket messages missing (a post that failed after its PATCH is logged, never retried: at most once).
    pub messages_missing: u64,
    /// Collaborators whose delivery log is not in sending order.
    pub order_violations: u64,
    /// Collaborators without a ticket although a delivery was applied.
    pub collaborators_without_ticket: u64,
    /// What went wrong for the first few collaborators, deliveries shown by their index in sending order.
    pub examples: Vec<String>,
    /// The delivery ids counted as lost.
    pub lost_deliveries: Vec<String>,
    /// Of those, the `removed` deliveries of a collaborator without a ticket (every earlier delivery
    /// dead-lettered): `cls-queue` acknowledges them with nothing to do and records them nowhere, so only the
    /// consumer's acknowledgement ([`settle_acknowledged_removals`]) shows they were handled.
    pub removed_without_ticket: Vec<String>,
}

/// The tickets of each collaborator of `plan` in spoke-fake, as the API renders them (matched by the login
/// among the ticket's answers).
pub fn tickets_by_login<'a>(
    h: &Harness,
    plan: &'a [Collaborator],
) -> BTreeMap<&'a str, Vec<Value>> {
    let spoke = &h.stack.fakes.spoke;
    let by_login: BTreeMap<&str, &Collaborator> =
        plan.iter().map(|c| (c.login.as_str(), c)).collect();
    let mut tickets: BTreeMap<&'a str, Vec<Value>> = BTreeMap::new();
    let ids: Vec<String> = spoke.state_json()["requests"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for id in ids {
        let Some(ticket) = spoke.request(&id) else {
            continue;
        };
        let answers = answers(&ticket);
        if let Some(collaborator) = answers.iter().find_map(|a| by_login.get(a.as_str())) {
            tickets
                .entry(collaborator.login.as_str())
                .or_default()
                .push(ticket);
        }
    }
    tickets
}

/// Counts a plan from spoke-fake's state and the DLQ bodies.
pub fn count(h: &Harness, plan: &[Collaborator], dlq_bodies: &[String]) -> Counts {
    let spoke = &h.stack.fakes.spoke;
    let tickets = tickets_by_login(h, plan);
    let dlq_text = dlq_bodies.join("\n");
    let mut counts = Counts::default();
    for collaborator in plan {
        let found = tickets
            .get(collaborator.login.as_str())
            .cloned()
            .unwrap_or_default();
        counts.duplicate_tickets += to_u64(found.len().saturating_sub(1));
        let mut applied: Vec<String> = Vec::new();
        let mut messages = 0usize;
        for ticket in &found {
            applied.extend(deliveries(ticket));
            messages += spoke
                .messages(ticket["id"].as_str().unwrap_or_default())
                .len();
        }
        let sent: Vec<&str> = collaborator
            .events
            .iter()
            .map(|e| e.delivery.as_str())
            .collect();
        let applied_set: BTreeSet<&str> = applied.iter().map(String::as_str).collect();
        let lost_here = sent
            .iter()
            .filter(|d| !applied_set.contains(**d) && !dlq_text.contains(**d))
            .count();
        if !is_subsequence(&applied, &sent) || lost_here > 0 {
            counts.order_violations += u64::from(!is_subsequence(&applied, &sent));
            if counts.examples.len() < 5 {
                let index = |d: &str| {
                    sent.iter()
                        .position(|s| *s == d)
                        .map_or_else(|| "?".to_owned(), |i| i.to_string())
                };
                let applied: Vec<String> = applied.iter().map(|d| index(d)).collect();
                let dead: Vec<String> = sent
                    .iter()
                    .filter(|d| dlq_text.contains(**d))
                    .map(|d| index(d))
                    .collect();
                counts.examples.push(format!(
                    "{}: {} sent, delivery log [{}], dead-lettered [{}]",
                    collaborator.login,
                    sent.len(),
                    applied.join(","),
                    dead.join(",")
                ));
            }
        }
        for event in &collaborator.events {
            let delivery = event.delivery.as_str();
            let is_applied = applied_set.contains(delivery);
            let is_dead = dlq_text.contains(delivery);
            counts.processed += u64::from(is_applied);
            counts.dead_lettered += u64::from(is_dead);
            counts.applied_and_dead_lettered += u64::from(is_applied && is_dead);
            counts.lost += u64::from(!is_applied && !is_dead);
            if !is_applied && !is_dead {
                counts.lost_deliveries.push(delivery.to_owned());
                if event.action == "removed" && found.is_empty() {
                    counts.removed_without_ticket.push(delivery.to_owned());
                }
            }
        }
        let applied_here = sent.iter().filter(|d| applied_set.contains(*d)).count();
        if found.is_empty() && applied_here > 0 {
            counts.collaborators_without_ticket += 1;
        }
        let expected = applied_here.saturating_sub(found.len().min(1));
        counts.duplicate_messages += to_u64(messages.saturating_sub(expected));
        counts.messages_missing += to_u64(expected.saturating_sub(messages));
    }
    counts
}

/// Every answered value of a ticket as the API renders it.
pub fn answers(ticket: &Value) -> Vec<String> {
    ticket["requestTypeInfo"]["answeredFields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| f["simpleValue"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The delivery log of a ticket: the `deliveries` of the answered value that is the CLS state.
fn deliveries(ticket: &Value) -> Vec<String> {
    answers(ticket)
        .iter()
        .filter_map(|a| serde_json::from_str::<Value>(a).ok())
        .find_map(|state| {
            state["deliveries"].as_array().map(|ds| {
                ds.iter()
                    .filter_map(|d| d.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// True when `part` appears in `whole` in the same order.
fn is_subsequence(part: &[String], whole: &[&str]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|p| rest.any(|w| *w == p.as_str()))
}

/// Counts as processed every `removed` delivery of a collaborator without a ticket that the consumer
/// acknowledged (`acked`: delivery ids): `cls-queue` handled it, and there was nothing to change. Returns how
/// many; one not acknowledged stays lost.
pub fn settle_acknowledged_removals(counts: &mut Counts, acked: &BTreeSet<String>) -> u64 {
    let settled: Vec<String> = counts
        .removed_without_ticket
        .iter()
        .filter(|d| acked.contains(*d))
        .cloned()
        .collect();
    counts.lost_deliveries.retain(|d| !settled.contains(d));
    let n = to_u64(settled.len());
    counts.lost -= n;
    counts.processed += n;
    n
}

/// Fills a result's shared fields from `counts`.
pub fn apply_counts(result: &mut ScenarioResult, counts: &Counts) {
    result.processed = counts.processed;
    result.dead_lettered = counts.dead_lettered;
    result.lost = counts.lost;
    result.duplicate_tickets = counts.duplicate_tickets;
    result.duplicate_messages = counts.duplicate_messages;
    result.detail(
        "applied_and_dead_lettered",
        counts.applied_and_dead_lettered,
    );
    result.detail("messages_missing", counts.messages_missing);
    result.detail("order_violations", counts.order_violations);
    result.check(counts.order_violations == 0, || {
        format!(
            "{} collaborator(s) with deliveries applied out of order",
            counts.order_violations
        )
    });
    for example in &counts.examples {
        crate::harness::progress(&result.name, example);
    }
    result.check(counts.collaborators_without_ticket == 0, || {
        format!(
            "{} collaborator(s) with applied deliveries but no ticket",
            counts.collaborators_without_ticket
        )
    });
}

/// Spoke and GitHub calls that fail, as a mix: 429 (every one with `x-ratelimit-remaining: 0` and
/// `x-ratelimit-reset` from fake-kit, half also with `Retry-After: 1`), 500, 503, a dropped connection, and a
/// stall longer than the clients' timeouts.
pub fn fault_mix(rate: f64, seed: u64, stall_ms: u64) -> Value {
    json!({
        "path": "/**",
        "rate": rate,
        "action": {
            "seed": seed,
            "oneOf": [
                {"status": 429, "retryAfter": 1, "body": {"message": "API rate limit exceeded"}},
                {"status": 429, "body": {"message": "API rate limit exceeded"}},
                {"status": 500},
                {"status": 500},
                {"status": 503},
                {"status": 503},
                {"drop": true},
                {"drop": true},
                {"delayMs": stall_ms}
            ]
        }
    })
}

/// A scenario's result and a plan of `events` deliveries for `collaborators`, every delivery already sent once
/// through the webhook (`webhook_refused`: those it still refused after the redeliveries).
async fn delivered(
    h: &Harness,
    name: &str,
    run: &str,
    collaborators: usize,
    events: usize,
) -> Result<(ScenarioResult, Vec<Collaborator>)> {
    let mut result = ScenarioResult::new(name);
    let plan = plan(run, collaborators, events);
    result.events_in = to_u64(event_count(&plan));
    let refused = deliver(h, &plan, 1, 16).await?;
    result.detail("webhook_refused", refused);
    Ok((result, plan))
}

/// Counts `plan` into `result` from the stand-ins and the DLQ, and requires every delivery applied.
async fn count_all_applied(
    h: &Harness,
    result: &mut ScenarioResult,
    plan: &[Collaborator],
) -> Result<()> {
    let dlq = h.dlq_bodies().await?;
    apply_counts(result, &count(h, plan, &dlq));
    let (processed, events_in) = (result.processed, result.events_in);
    result.check(processed == events_in, || {
        format!("{processed} of {events_in} deliveries applied")
    });
    Ok(())
}

/// Scenario 1: `events` deliveries for `collaborators` with `rate` of the Spoke and GitHub calls failing; every
/// batch the consumer handled is written to `trace` as JSON lines.
pub async fn faults(
    h: &mut Harness,
    trace: &std::path::Path,
    collaborators: usize,
    events: usize,
    rate: f64,
    consumers: Consumers,
    limit: Duration,
) -> Result<ScenarioResult> {
    let (mut result, plan) = delivered(h, "faults", "f", collaborators, events).await?;
    let stall = 11_000;
    h.fault("spoke", &fault_mix(rate, 7, stall)).await?;
    h.fault("github", &fault_mix(rate, 11, stall)).await?;
    let tracer = Tracer::default();
    let consumer = tracer.wrap(h.consumer(consumers.function_timeout)?);
    h.start_pollers(consumers, &consumer).await?;
    let drained = h.wait_drained(limit).await;
    tracer.write(trace);
    h.stop_pollers_counting(&mut result).await;
    h.clear_faults("spoke").await?;
    h.clear_faults("github").await?;
    drained?;
    let faulted =
        |fake: &fake_kit::FakeKit| to_u64(fake.journal().iter().filter(|e| e.faulted).count());
    let spoke_calls = to_u64(h.stack.fakes.spoke.kit().journal().len());
    let github_calls = to_u64(h.stack.fakes.github.kit().journal().len());
    result.detail("spoke_calls", spoke_calls);
    result.detail("github_calls", github_calls);
    result.detail("spoke_faults", faulted(h.stack.fakes.spoke.kit()));
    result.detail("github_faults", faulted(h.stack.fakes.github.kit()));
    let dlq = h.dlq_bodies().await?;
    let mut counts = count(h, &plan, &dlq);
    let acked = tracer.acknowledged();
    let settled = settle_acknowledged_removals(&mut counts, &acked);
    result.detail("removed_without_ticket_acknowledged", settled);
    apply_counts(&mut result, &counts);
    let lost_after_ack = counts
        .lost_deliveries
        .iter()
        .filter(|d| acked.contains(*d))
        .count();
    result.detail("lost_after_acknowledgement", to_u64(lost_after_ack));
    Ok(result)
}

/// Scenario 2: every delivery sent three times — two copies at once, and a third after the queue drained,
/// straight into the queue with a new deduplication id (GitHub's redelivery after SQS's five-minute
/// deduplication window). Effects exactly once.
pub async fn redelivery(
    h: &mut Harness,
    collaborators: usize,
    events: usize,
    consumers: Consumers,
    limit: Duration,
) -> Result<ScenarioResult> {
    let mut result = ScenarioResult::new("redelivery");
    let plan = plan("r", collaborators, events);
    result.events_in = to_u64(event_count(&plan));
    let recorder = Recorder::default();
    let consumer = recorder.wrap(h.consumer(consumers.function_timeout)?);
    h.start_pollers(consumers, &consumer).await?;
    let refused = deliver(h, &plan, 2, 16).await?;
    result.detail("webhook_refused", refused);
    h.wait_drained(limit).await?;
    let records = recorder.records();
    result.detail("records_consumed_first_pass", to_u64(records.len()));
    // The late copies, one per deduplication id, in the original order per group.
    let mut late_ids = BTreeSet::new();
    let late: Vec<&Value> = records
        .iter()
        .filter(|r| {
            late_ids.insert(
                r["attributes"]["MessageDeduplicationId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    result.detail("late_copies", to_u64(late.len()));
    for record in &late {
        let body = record["body"].as_str().unwrap_or_default();
        let group = record["attributes"]["MessageGroupId"]
            .as_str()
            .unwrap_or("late");
        let dedup = record["attributes"]["MessageDeduplicationId"]
            .as_str()
            .unwrap_or("x");
        h.stack
            .sqs
            .send_message()
            .queue_url(&h.stack.queues.url)
            .message_body(body)
            .message_group_id(group)
            .message_deduplication_id(format!("{dedup}-late"))
            .send()
            .await
            .map_err(|e| anyhow!("SendMessage of a late copy: {e:?}"))?;
    }
    h.wait_drained(limit).await?;
    h.stop_pollers_counting(&mut result).await;
    let consumed = recorder.records().len();
    result.detail("records_consumed_total", to_u64(consumed));
    let expected = records.len() + late.len();
    result.check(consumed >= expected, || {
        format!("the late copies did not reach cls-queue ({consumed} records, {expected} sent)")
    });
    count_all_applied(h, &mut result, &plan).await?;
    Ok(result)
}

/// Scenario 5: the consumer is killed in the middle of a batch (twice), then runs normally: the redelivered
/// batch completes the work once.
pub async fn kill(
    h: &mut Harness,
    collaborators: usize,
    events: usize,
    consumers: Consumers,
    limit: Duration,
) -> Result<ScenarioResult> {
    let (mut result, plan) = delivered(h, "kill", "k", collaborators, events).await?;
    // Every Spoke write commits and then answers slowly, so a batch of ten takes far longer than the moment
    // the consumer is killed.
    h.fault(
        "spoke",
        &json!({"method": "PATCH", "path": "/requests/*", "action": {"commitThenDelayMs": 700}}),
    )
    .await?;
    h.fault(
        "spoke",
        &json!({"method": "POST", "path": "/**", "action": {"commitThenDelayMs": 700}}),
    )
    .await?;
    let single = Consumers {
        pollers: 1,
        ..consumers
    };
    let consumer = h.consumer(consumers.function_timeout)?;
    let mut writes_before_kills = Vec::new();
    for _ in 0..2 {
        h.start_pollers(single, &consumer).await?;
        let started = Instant::now();
        // Kill once the batch has committed a few writes.
        while writes(h) < writes_before_kills.last().copied().unwrap_or(0) + 3
            && started.elapsed() < Duration::from_secs(30)
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        h.stop_pollers().await;
        writes_before_kills.push(writes(h));
        // The killed batch comes back once its visibility timeout has passed.
        tokio::time::sleep(consumers.visibility + Duration::from_secs(1)).await;
    }
    result.detail("kills", to_u64(writes_before_kills.len()));
    result.detail(
        "writes_before_last_kill",
        writes_before_kills.last().copied().unwrap_or(0),
    );
    result.check(writes_before_kills.first().is_some_and(|w| *w > 0), || {
        "the consumer was killed before any write: not mid-batch".to_owned()
    });
    h.clear_faults("spoke").await?;
    h.start_pollers(consumers, &consumer).await?;
    h.wait_drained(limit).await?;
    h.stop_pollers_counting(&mut result).await;
    count_all_applied(h, &mut result, &plan).await?;
    Ok(result)
}

/// Successful Spoke writes so far.
fn writes(h: &Harness) -> u64 {
    to_u64(
        h.stack
            .fakes
            .spoke
            .kit()
            .journal()
            .iter()
            .filter(|e| e.method != "GET" && (200..300).contains(&e.status))
            .count(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_spreads_events_and_alternates_roles() {
        let plan = plan("t", 3, 10);
        assert_eq!(event_count(&plan), 10);
        let lens: Vec<usize> = plan.iter().map(|c| c.events.len()).collect();
        assert_eq!(lens, vec![4, 3, 3]);
        let first: Vec<(&str, Option<&str>)> =
            plan[0].events.iter().map(|e| (e.action, e.role)).collect();
        assert_eq!(
            first,
            vec![
                ("added", Some("write")),
                ("edited", Some("admin")),
                ("edited", Some("write")),
                ("removed", None)
            ]
        );
    }

    #[test]
    fn only_an_acknowledged_removal_without_ticket_is_settled() {
        let mut counts = Counts {
            lost: 2,
            lost_deliveries: vec!["acked".into(), "never-seen".into()],
            removed_without_ticket: vec!["acked".into(), "never-seen".into()],
            ..Counts::default()
        };
        let acked = BTreeSet::from(["acked".to_owned()]);
        assert_eq!(settle_acknowledged_removals(&mut counts, &acked), 1);
        assert_eq!((counts.lost, counts.processed), (1, 1));
        assert_eq!(counts.lost_deliveries, vec!["never-seen".to_owned()]);
    }

    #[test]
    fn order_is_a_subsequence_check() {
        let sent = ["a", "b", "c"];
        let ok: Vec<String> = vec!["a".into(), "c".into()];
        let swapped: Vec<String> = vec!["c".into(), "a".into()];
        assert!(is_subsequence(&ok, &sent));
        assert!(!is_subsequence(&swapped, &sent));
    }
}
