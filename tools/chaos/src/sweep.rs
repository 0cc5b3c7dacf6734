//! Scenario 6: the expiry sweep interrupted half-way and rerun. Every collaborator's access has expired; the
//! sweep is cut off while it enqueues, `cls-queue` is killed after part of the removals, then the sweep runs
//! again the same day and the queue drains. Nobody removed twice, nobody skipped.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::cls_events::{Collaborator, deliver, event_count, plan};
use crate::harness::{Consumers, Harness, progress, to_u64};
use crate::report::ScenarioResult;

/// Runs the scenario with `collaborators` expired collaborators.
pub async fn interrupted(
    h: &mut Harness,
    collaborators: usize,
    consumers: Consumers,
    limit: Duration,
) -> Result<ScenarioResult> {
    let mut result = ScenarioResult::new("sweep");
    // One `added` delivery each: one open ticket per collaborator, with an expiry.
    let plan = plan("s", collaborators, collaborators);
    let consumer = h.consumer(consumers.function_timeout)?;
    h.start_pollers(consumers, &consumer).await?;
    let refused = deliver(h, &plan, 1, 16).await?;
    h.wait_drained(limit).await?;
    h.stop_pollers().await;
    result.detail("webhook_refused", refused);
    let expiries = expiries(h, &plan);
    anyhow::ensure!(
        expiries.len() == plan.len(),
        "{} of {} collaborators have a ticket with an expiry before the sweep",
        expiries.len(),
        plan.len()
    );
    let run_date = expiries
        .values()
        .max()
        .and_then(|d| d.succ_opt())
        .ok_or_else(|| anyhow!("no expiry"))?;
    result.events_in = to_u64(event_count(&plan));
    progress(
        "sweep",
        &format!("{} tickets open, sweep as of {run_date}", expiries.len()),
    );
    let event = json!({
        "today": run_date.format("%Y-%m-%d").to_string(),
        "allow_removals": plan.len() + 1,
    });

    // 1. The sweep is cut off once it has enqueued half of the reviews.
    let enqueued_at_cut = cut_sweep(h, event.clone(), to_u64(plan.len() / 2).max(1)).await?;
    result.detail("enqueued_before_cut", enqueued_at_cut);
    progress(
        "sweep",
        &format!("sweep cut with {enqueued_at_cut} review(s) enqueued"),
    );
    // 2. The consumer is killed after half of those removals.
    h.start_pollers(consumers, &consumer).await?;
    let half = (enqueued_at_cut / 2).max(1);
    let started = Instant::now();
    while deletes(h).values().sum::<u64>() < half && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h.stop_pollers_counting(&mut result).await;
    result.detail("removed_before_kill", deletes(h).values().sum());
    progress(
        "sweep",
        &format!(
            "consumer killed after {} removal(s)",
            deletes(h).values().sum::<u64>()
        ),
    );
    tokio::time::sleep(consumers.visibility + Duration::from_secs(1)).await;
    // 3. The rerun, then everything drains.
    h.start_pollers(consumers, &consumer).await?;
    match h.stack.registry.invoke("cls-sweep", event).await {
        Some(Ok(report)) => {
            result.detail("rerun_enqueued", report["enqueued"].as_u64().unwrap_or(0));
        }
        Some(Err(message)) => {
            h.scan("error", &message);
            result.failures.push(format!("the rerun failed: {message}"));
        }
        None => anyhow::bail!("cls-sweep is not registered"),
    }
    h.wait_drained(limit).await?;
    h.stop_pollers_counting(&mut result).await;

    let deletes = deletes(h);
    let github = &h.stack.fakes.github;
    let mut removed = 0u64;
    let mut twice = 0u64;
    for collaborator in &plan {
        let count = deletes
            .get(collaborator.login.as_str())
            .copied()
            .unwrap_or(0);
        let gone = !github.is_outside_collaborator(devstack::seed::ORG, &collaborator.login);
        removed += u64::from(gone && count >= 1);
        twice += count.saturating_sub(1);
    }
    result.processed = removed;
    result.duplicate_messages = twice;
    result.dead_lettered = to_u64(h.dlq_bodies().await?.len());
    result.lost = result
        .events_in
        .saturating_sub(result.processed + result.dead_lettered);
    result.duplicate_tickets = duplicate_tickets(h, &plan);
    let closed = closed_tickets(h, &plan);
    result.detail("tickets_closed", closed);
    let events_in = result.events_in;
    result.check(closed == events_in, || {
        format!("{closed} of {events_in} tickets closed")
    });
    Ok(result)
}

/// Invokes the sweep and drops the invocation as soon as the queue holds `at_least` reviews (the process dies
/// mid-run). Returns how many messages the queue held at the cut.
async fn cut_sweep(h: &Harness, event: Value, at_least: u64) -> Result<u64> {
    let registry = h.stack.registry.clone();
    let task = tokio::spawn(async move { registry.invoke("cls-sweep", event).await });
    let started = Instant::now();
    loop {
        let depth = devstack::aws::queue_depth(&h.stack.sqs, &h.stack.queues.url)
            .await
            .map_err(|e| anyhow!("queue depth: {e}"))?;
        if depth >= at_least || task.is_finished() || started.elapsed() > Duration::from_secs(120) {
            task.abort();
            let _ = task.await;
            return devstack::aws::queue_depth(&h.stack.sqs, &h.stack.queues.url)
                .await
                .map_err(|e| anyhow!("queue depth: {e}"));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Each collaborator's expiry (the open ticket's `expires_on` answer).
fn expiries<'a>(h: &Harness, plan: &'a [Collaborator]) -> BTreeMap<&'a str, NaiveDate> {
    let tickets = crate::cls_events::tickets_by_login(h, plan);
    tickets
        .into_iter()
        .filter_map(|(login, tickets)| {
            let date = tickets.iter().find_map(|t| {
                crate::cls_events::answers(t)
                    .iter()
                    .find_map(|a| NaiveDate::parse_from_str(a, "%Y-%m-%d").ok())
            })?;
            Some((login, date))
        })
        .collect()
}

/// `DELETE /orgs/{org}/outside_collaborators/{login}` answered 2xx, per login.
fn deletes(h: &Harness) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for call in h
        .stack
        .fakes
        .github
        .kit()
        .calls("DELETE", "/orgs/*/outside_collaborators/*")
    {
        if (200..300).contains(&call.status)
            && let Some(login) = call.path.rsplit('/').next()
        {
            *counts.entry(login.to_owned()).or_insert(0) += 1;
        }
    }
    counts
}

fn duplicate_tickets(h: &Harness, plan: &[Collaborator]) -> u64 {
    crate::cls_events::tickets_by_login(h, plan)
        .values()
        .map(|t| to_u64(t.len().saturating_sub(1)))
        .sum()
}

fn closed_tickets(h: &Harness, plan: &[Collaborator]) -> u64 {
    crate::cls_events::tickets_by_login(h, plan)
        .values()
        .filter(|t| t.iter().any(|t| t["status"] == "RESOLVED"))
        .count()
        .try_into()
        .unwrap_or(u64::MAX)
}
