//! The expiry sweep at scale on the real `cls-sweep` release binary: spoke-fake seeded with many open CLS
//! tickets of which some are due for expiry on the run date, the sweep invoked as the schedule would, each
//! continuation (Lambda `Invoke`, caught by [`AwsStub`]) run by the bench as Lambda would run it. Measures
//! the function time over all invocations, the requests made (Spoke, GitHub, SQS, Lambda) and the requests
//! per review enqueued.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use chrono::{Duration as Days, TimeZone as _, Utc};
use demo::Stack;
use devstack::seed::{
    DEFAULT_OWNER, FIELD_KEYS, ORG, REQUEST_TYPE_ID, TEAM_ID, field_uuid, spoke_seed, tag_id,
};
use serde_json::{Value, json};

use super::Plan;
use super::aws_stub::AwsStub;
use super::cls::{cls_env_on, fresh_queue};
use super::release::Release;
use super::results::Entry;

/// The run date of the benchmark's sweep.
const RUN_DATE: &str = "2027-06-01";
/// The expiry of the due tickets (the day before the run date).
const DUE_ON: &str = "2027-05-31";
/// The expiry of the others: far enough for no reminder.
const LATER: &str = "2028-06-01";
/// Every ticket was granted ten days before the run date, so no inactivity rule applies.
const GRANTED_ON: &str = "2027-05-22";
const INVOKE_TIMEOUT: Duration = Duration::from_secs(600);

/// Ticket `n` of the seed: open, access granted on [`GRANTED_ON`], expiring on `expires_on`.
fn ticket(n: usize, expires_on: &str) -> Value {
    let login = format!("sweep{n}");
    let user_id = 7_000_000 + n;
    let state = json!({"v": 1, "uid": user_id, "access": "granted", "granted_on": GRANTED_ON,
                       "expires_on": expires_on});
    let values = [
        expires_on.to_owned(),
        login.clone(),
        user_id.to_string(),
        ORG.to_owned(),
        format!("{login}@example.org"),
        format!("{ORG}/widgets: write (added by alice {GRANTED_ON})"),
        "alice".to_owned(),
        state.to_string(),
    ];
    let answers: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(i, value)| json!({"fieldId": field_uuid(i), "value": value}))
        .collect();
    let created = Utc
        .with_ymd_and_hms(2027, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + Days::seconds(i64::try_from(n).unwrap_or(0));
    json!({
        "id": format!("5e7e{n:020}"),
        "subject": format!("{login} Collaborator Access"),
        "requester": DEFAULT_OWNER,
        "owner": DEFAULT_OWNER,
        "team": TEAM_ID,
        "requestType": REQUEST_TYPE_ID,
        "status": "OPEN",
        "tags": [tag_id("access_granted")],
        "answers": answers,
        "createdAt": created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

/// The CLS spoke seed of the stack with `tickets` open tickets, `due` of them (spread evenly) expiring the
/// day before the run date.
pub(crate) fn seed(api_key: &str, tickets: usize, due: usize) -> Result<Value> {
    debug_assert_eq!(FIELD_KEYS.len(), 8);
    let mut seed = spoke_seed(api_key)?;
    let every = tickets.checked_div(due).map_or(usize::MAX, |n| n.max(1));
    let requests: Vec<Value> = (0..tickets)
        .map(|n| {
            let expires_on = if n % every == every / 2 && n / every < due {
                DUE_ON
            } else {
                LATER
            };
            ticket(n, expires_on)
        })
        .collect();
    seed["requests"] = Value::Array(requests);
    Ok(seed)
}

/// What one sweep run (with its continuations) measured.
struct SweepRun {
    invocations: usize,
    function_time: Duration,
    cpu: Duration,
    wall: Duration,
    reports: Vec<Value>,
    error: Option<String>,
}

/// The sweep over `plan.sweep_tickets` tickets, `plan.sweep_due` of them due.
pub(crate) async fn run(stack: &Stack, plan: &Plan, release: &Release) -> Result<Vec<Entry>> {
    let (tickets, due) = (plan.sweep_tickets, plan.sweep_due);
    println!("bench: sweep over {tickets} tickets ({due} due)…");
    sweep(stack, release, tickets, due).await
}

async fn sweep(stack: &Stack, release: &Release, tickets: usize, due: usize) -> Result<Vec<Entry>> {
    let spoke = &stack.fakes.spoke;
    let github = &stack.fakes.github;
    let api_key = &stack.dev_secrets.spoke_api_key;
    let queue = fresh_queue(stack, "sweep").await?;
    spoke
        .reset(Some(seed(api_key, tickets, due)?))
        .map_err(|e| anyhow!("seeding spoke-fake: {e}"))?;
    github.kit().clear_journal();
    let stub = AwsStub::start().await?;
    let mut env = cls_env_on(stack, &queue.url);
    env.insert("AWS_ENDPOINT_URL_LAMBDA".to_owned(), stub.url());
    let process = release.start("cls-sweep", env).await?;
    process.api().take_durations();
    let before = process.cpu_time().unwrap_or_default();
    let mut event = json!({"today": RUN_DATE, "allow_removals": due});
    let mut run = SweepRun {
        invocations: 0,
        function_time: Duration::ZERO,
        cpu: Duration::ZERO,
        wall: Duration::ZERO,
        reports: Vec::new(),
        error: None,
    };
    let started = Instant::now();
    loop {
        run.invocations += 1;
        match process.invoke(event, INVOKE_TIMEOUT).await {
            Ok(report) => run.reports.push(report),
            Err(error) => {
                run.error = Some(error.to_string());
                break;
            }
        }
        // A continuation is another invocation of the function (here: the same warm process).
        match stub.take_invocations().pop() {
            Some(next) => event = next,
            None => break,
        }
    }
    run.wall = started.elapsed();
    run.function_time = process.api().take_durations().iter().sum();
    run.cpu = process.cpu_time().unwrap_or_default().since(before).on_cpu;
    process.stop().await;
    stub.stop().await;
    let spoke_requests = spoke.kit().journal().len();
    let github_requests = github.kit().journal().len();
    let queued = devstack::aws::queue_depth(&stack.sqs, &queue.url)
        .await
        .map_err(|e| anyhow!(e))?;
    spoke
        .reset(Some(spoke_seed(api_key)?))
        .map_err(|e| anyhow!("restoring spoke-fake: {e}"))
        .context("after the sweep")?;
    Ok(entries(
        &run,
        tickets,
        due,
        spoke_requests,
        github_requests,
        queued,
    ))
}

fn entries(
    run: &SweepRun,
    tickets: usize,
    due: usize,
    spoke: usize,
    github: usize,
    queued: u64,
) -> Vec<Entry> {
    let name = format!("t{tickets}");
    let title = format!("Sweep over {tickets} open tickets, {due} due for expiry");
    let enqueued: u64 = run
        .reports
        .iter()
        .map(|r| r["enqueued"].as_u64().unwrap_or(0))
        .sum();
    let scanned = run.reports.first().map(|r| r["scanned"].clone());
    let sum = |key: &str| -> u64 {
        run.reports
            .iter()
            .map(|r| r[key].as_u64().unwrap_or(0))
            .sum()
    };
    let pages = sum("pages");
    #[allow(clippy::cast_precision_loss)]
    let listing_secs = sum("listing_ms") as f64 / 1000.0;
    let requests = spoke + github + usize::try_from(enqueued).unwrap_or(0) + run.invocations - 1;
    if let Some(error) = &run.error {
        return vec![
            Entry::failed(
                "sweep",
                &name,
                &title,
                &format!("invocation {} failed: {error}", run.invocations),
            )
            .with("function_secs", run.function_time.as_secs_f64())
            .with("spoke_requests", spoke as u64)
            .with("invocations", run.invocations as u64),
        ];
    }
    let mut list = vec![
        Entry::value("sweep", &format!("{name}_function"), &format!("{title}: function time, all invocations"), "s", run.function_time.as_secs_f64())
            .with("invocations", run.invocations as u64)
            .with("pages", pages)
            .with("listing_secs", listing_secs)
            .with("cpu_secs", (run.cpu.as_secs_f64() * 1000.0).round() / 1000.0)
            .with("wall_secs", (run.wall.as_secs_f64() * 100.0).round() / 100.0)
            .with("scanned", scanned.unwrap_or(Value::Null))
            .with("enqueued", enqueued)
            .with("on_queue", queued)
            .note("release binary, each continuation on the same warm process; includes waiting for spoke-fake (in the bench process; it filters and sorts every open ticket for each page); pages and listing_secs (reading them) are over all invocations; cpu_secs is the function's own work; SQS is moto"),
        Entry::value("sweep", &format!("{name}_requests"), &format!("{title}: requests made"), "requests", requests as f64)
            .with("spoke", spoke as u64)
            .with("github", github as u64)
            .with("sqs_send", enqueued)
            .with("lambda_invoke", (run.invocations - 1) as u64),
        Entry::value("sweep", &format!("{name}_per_action"), &format!("{title}: requests per review enqueued"), "requests", requests as f64 / (enqueued.max(1) as f64)),
    ];
    if enqueued != due as u64 {
        list.push(Entry::failed(
            "sweep",
            &format!("{name}_complete"),
            &title,
            &format!("{enqueued} reviews enqueued, {due} due"),
        ));
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_holds_the_tickets_with_the_due_ones_spread_among_them() {
        let seed = seed("key", 1_000, 20).unwrap();
        let requests = seed["requests"].as_array().unwrap();
        assert_eq!(requests.len(), 1_000);
        let due: Vec<usize> = requests
            .iter()
            .enumerate()
            .filter(|(_, r)| r["answers"][0]["value"] == DUE_ON)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(due.len(), 20);
        assert!(due[0] < 50 && due[19] > 950, "{due:?}");
        let state: Value =
            serde_json::from_str(requests[25]["answers"][7]["value"].as_str().unwrap()).unwrap();
        assert_eq!(state["expires_on"], DUE_ON);
        assert_eq!(requests[25]["answers"][1]["value"], "sweep25");
    }

    #[test]
    fn a_sweep_that_failed_reports_why() {
        let run = SweepRun {
            invocations: 1,
            function_time: Duration::from_secs(3),
            cpu: Duration::from_secs(1),
            wall: Duration::from_secs(3),
            reports: Vec::new(),
            error: Some("more than 2000 pages".to_owned()),
        };
        let list = entries(&run, 50_000, 1_000, 50, 1, 0);
        assert_eq!(list.len(), 1);
        assert!(list[0].note.contains("more than 2000 pages"));
    }
}
