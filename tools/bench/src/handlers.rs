//! `oncall-spoke` and `byods-extender` against the fakes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use demo::Stack;
use demo::flows::handoff::{HANDOFF_TEAM, handoff_event};
use demo::services::byods;
use serde_json::{Value, json};

use super::Plan;
use super::release::Release;
use super::results::Entry;
use super::stats::Summary;

/// Two agents of the handoff team (spoke-fake demo seed): alternating them changes the delegation each time.
const AGENTS: [&str; 2] = ["erin@example.com", "dave@example.com"];

/// Handoff latency through the registered handler: the update path (the delegate changes every time) and the
/// no-op path (the delegate is already the on-call person).
pub(crate) async fn oncall(stack: &Stack, plan: &Plan) -> Result<Vec<Entry>> {
    if stack.registry.get("oncall-spoke").is_none() {
        return Ok(vec![Entry::skipped(
            "oncall",
            "handoff",
            "Handoff handler",
            "`oncall-spoke` is not registered in the demo stack",
        )]);
    }
    let mut entries = Vec::new();
    let mut last = AGENTS[0];
    let mut update = Vec::new();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..plan.oncall {
        last = AGENTS[i % 2];
        let event = handoff_event(
            &format!("bench-update-{i}-{}", uuid::Uuid::new_v4()),
            HANDOFF_TEAM,
            last,
        );
        let started = Instant::now();
        let response = invoke(stack, "oncall-spoke", event).await?;
        let elapsed = started.elapsed();
        let result = response["result"].as_str().unwrap_or("?").to_owned();
        if result != "updated" {
            bail!(
                "update path: invocation {i} answered `{result}` (reason {})",
                response["reason"]
            );
        }
        update.push(elapsed);
    }
    entries.push(
        Entry::timed(
            "oncall",
            "update",
            "Handoff, update path (GET team, PATCH delegation, verify, Slack post)",
            Summary::of_millis(&update),
        )
        .note("each event names the other of two team agents, so every invocation changes the delegation"),
    );
    let mut noop = Vec::new();
    for i in 0..plan.oncall {
        let event = handoff_event(
            &format!("bench-noop-{i}-{}", uuid::Uuid::new_v4()),
            HANDOFF_TEAM,
            last,
        );
        let started = Instant::now();
        let response = invoke(stack, "oncall-spoke", event).await?;
        let elapsed = started.elapsed();
        let result = response["result"].as_str().unwrap_or("?");
        if result != "noop" {
            bail!("no-op path: invocation {i} answered `{result}`");
        }
        *reasons
            .entry(response["reason"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
        noop.push(elapsed);
    }
    let mut entry = Entry::timed(
        "oncall",
        "noop",
        "Handoff, no-op path (delegate already set)",
        Summary::of_millis(&noop),
    );
    for (reason, count) in reasons {
        entry = entry.with(&format!("reason {reason}"), count);
    }
    entries.push(entry);
    Ok(entries)
}

async fn invoke(stack: &Stack, function: &str, event: Value) -> Result<Value> {
    match stack.registry.invoke(function, event).await {
        None => Err(anyhow!("{function} is not registered")),
        Some(Err(message)) => Err(anyhow!("{function} failed: {message}")),
        Some(Ok(response)) => Ok(response),
    }
}

/// A webex-fake seed (the demo seed's clients and tokens) with `count` active data sources due for extension.
pub(crate) fn byods_seed(count: usize) -> Result<Value> {
    let mut seed: Value = serde_json::from_str(webex_fake::DEMO_SEED)
        .context("the webex-fake demo seed is not JSON")?;
    let template = seed["dataSources"]
        .as_array()
        .and_then(|list| list.first())
        .cloned()
        .ok_or_else(|| anyhow!("the webex-fake demo seed has no data source"))?;
    let sources: Vec<Value> = (0..count)
        .map(|i| {
            let mut source = template.clone();
            source["id"] = json!(format!("bench-ds-{i:03}"));
            source["url"] = json!(format!("https://dap.example.com/bench-{i}"));
            source["nonce"] = json!(format!("bench-nonce-{i}"));
            source["tokenExpiresInMinutes"] = json!(45);
            source
        })
        .collect();
    seed["dataSources"] = Value::Array(sources);
    Ok(seed)
}

/// `plan.byods_runs` runs of the `byods-extender` release binary over `plan.byods_sources` due data sources,
/// each from the same state (webex-fake reset to the seed, a fresh copy of the credentials secret with an
/// expired integration access token, a fresh process): function time, wall time, Webex requests and requests
/// per data source extended.
pub(crate) async fn byods(stack: &Stack, plan: &Plan, release: &Release) -> Result<Vec<Entry>> {
    let seed = byods_seed(plan.byods_sources)?;
    let webex = &stack.fakes.webex;
    let control = stack
        .endpoints
        .get("webex_control")
        .ok_or_else(|| anyhow!("endpoints has no webex_control"))?
        .clone();
    let http = lambda_kit::http::http_client(demo::services::USER_AGENT)?;
    let reset = |seed: Option<&Value>| {
        let request = http.post(format!("{control}/reset"));
        let request = match seed {
            Some(seed) => request.json(seed),
            None => request,
        };
        async move {
            let answer = request.send().await.context("resetting webex-fake")?;
            if !answer.status().is_success() {
                bail!("webex-fake refused the reset ({})", answer.status());
            }
            Ok(())
        }
    };
    let secret_name = format!("bench/byods-{}", uuid::Uuid::new_v4());
    let wiring = stack.wiring();
    let env = byods::env(&wiring, &secret_name);
    let mut durations = Vec::new();
    let mut walls = Vec::new();
    let mut requests = Vec::new();
    for i in 0..plan.byods_runs {
        reset(Some(&seed)).await?;
        devstack::aws::put_secret(
            &stack.secrets,
            &secret_name,
            &byods::secret("demo-int-refresh"),
        )
        .await?;
        let process = release.start("byods-extender", env.clone()).await?;
        let started = Instant::now();
        let summary = process
            .invoke(json!({}), Duration::from_secs(900))
            .await
            .map_err(|e| anyhow!("run {i}: {e}"));
        walls.push(started.elapsed());
        durations.extend(process.api().take_durations());
        process.stop().await;
        let summary = summary?;
        let extended = summary["counts"]["extended"].as_u64().unwrap_or(0);
        if extended != plan.byods_sources as u64 {
            bail!(
                "run {i} extended {extended} of {} data sources: {}",
                plan.byods_sources,
                summary["counts"]
            );
        }
        requests.push(webex.kit().journal().len());
    }
    reset(None).await?;
    let title = format!("One run over {} due data sources", plan.byods_sources);
    let made = requests.iter().max().copied().unwrap_or(0);
    Ok(vec![
        Entry::timed("byods", "run", &format!("{title}: function time"), Summary::of_millis(&durations))
            .with("data_sources", plan.byods_sources as u64)
            .note("release binary, fresh process per run: integration token refresh, service-app token, list, one PUT per source, rotated secret written to moto"),
        Entry::timed("byods", "wall", &format!("{title}: wall time (caller)"), Summary::of_millis(&walls)),
        Entry::value("byods", "requests", &format!("{title}: Webex requests"), "requests", made as f64)
            .with("per_source", made as f64 / plan.byods_sources.max(1) as f64),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byods_seed_holds_the_requested_number_of_due_data_sources() {
        let seed = byods_seed(7).unwrap();
        let sources = seed["dataSources"].as_array().unwrap();
        assert_eq!(sources.len(), 7);
        assert!(sources.iter().all(|s| s["tokenExpiresInMinutes"] == 45));
        assert_eq!(sources[6]["id"], "bench-ds-006");
        assert!(seed["tokens"].as_array().is_some_and(|t| !t.is_empty()));
    }
}
