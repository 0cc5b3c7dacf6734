//! The CLS lifecycle on the local stack: a collaborator's ticket, the daily sweep run as of chosen dates, the
//! reminder DM with its buttons, an Extend click through the signed Slack route, a second reminder cycle let
//! expire, and the removal on GitHub after expiry. Every step checks its effect in the stand-ins' state.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use chrono::{Days, NaiveDate};
use cls_core::dates::{format_date, parse_date};
use devstack::Stack;
use devstack::seed::{ORG, answer_of, has_tag};
use serde_json::{Value, json};

use super::cls::{deliver_member, member};
use crate::report::{Row, record};

const FLOW: &str = "cls-lifecycle";
/// An outside collaborator of the github-fake demo seed (acme/widgets).
const LOGIN: &str = "octocat";
/// Who adds them: alice, whose Slack id in the slack-fake demo seed receives the reminders.
const ADDER: &str = "alice";
const ADDER_SLACK_ID: &str = "U0ALICE001";
/// How long a step waits for the queue mapping to apply what the sweep or the webhook enqueued.
const SETTLE: Duration = Duration::from_secs(30);

/// The ticket being followed through its life.
struct Followed {
    id: String,
    expires_on: NaiveDate,
}

/// Replays the lifecycle; stops at the first failed step (the later ones need its effect).
pub async fn replay(stack: &Stack) -> Vec<Row> {
    let mut rows = Vec::new();
    let step = "octocat added by alice: one ticket, one year";
    let Some(ticket) = record(&mut rows, FLOW, step, added(stack).await) else {
        return rows;
    };
    let steps: [(&str, StepFn); 4] = [
        (
            "sweep 21 days before expiry: reminder DM with buttons",
            |s, t| Box::pin(first_reminder(s, t)),
        ),
        (
            "Extend click (signed Slack request) moves the expiry",
            |s, t| Box::pin(extend_click(s, t)),
        ),
        (
            "second cycle: reminder, \"Let it expire\", no more reminders",
            |s, t| Box::pin(let_expire(s, t)),
        ),
        ("sweep after expiry removes octocat from acme", |s, t| {
            Box::pin(removal(s, t))
        }),
    ];
    let mut ticket = ticket;
    for (step, run) in steps {
        let result = run(stack, &mut ticket).await;
        let failed = result.is_err();
        rows.push(Row::from_result(FLOW, step, result));
        if failed {
            break;
        }
    }
    rows
}

type StepFn =
    for<'a> fn(
        &'a Stack,
        &'a mut Followed,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String>> + 'a>>;

async fn added(stack: &Stack) -> Result<(Followed, String)> {
    let url = stack
        .endpoints
        .get("cls_webhook")
        .ok_or_else(|| anyhow!("cls-webhook is not behind the API emulator"))?;
    let spec = member("added", LOGIN, Some("maintain"), ADDER);
    deliver_member(stack, url, &spec, "demo-lifecycle-added").await?;
    let (id, ticket) = wait_for("a ticket for octocat", || open_ticket_of(stack, LOGIN)).await?;
    let expires_on = expiry(&ticket)?;
    let evidence = format!("ticket {id}, expires {}", format_date(expires_on));
    Ok((Followed { id, expires_on }, evidence))
}

async fn first_reminder(stack: &Stack, ticket: &mut Followed) -> Result<String> {
    let run_date = days_before(ticket.expires_on, 21)?;
    let before = stack.fakes.slack.dm_messages(ADDER_SLACK_ID).len();
    let report = sweep(stack, run_date).await?;
    let reminder = wait_for("the reminder DM", || reminder_after(stack, before)).await?;
    let buttons = action_ids(&reminder.blocks);
    anyhow::ensure!(
        buttons == ["cls_extend", "cls_let_expire"],
        "the reminder's buttons are {buttons:?}"
    );
    Ok(format!(
        "sweep {}: {} enqueued; DM to alice ts {} with {}",
        format_date(run_date),
        report["enqueued"],
        reminder.ts,
        buttons.join(" + ")
    ))
}

async fn extend_click(stack: &Stack, ticket: &mut Followed) -> Result<String> {
    let reminder = latest_reminder(stack)?;
    click(stack, &reminder.ts, "cls_extend").await?;
    let old = ticket.expires_on;
    let new = wait_for("the extended expiry", || {
        let t = stack.fakes.spoke.request(&ticket.id)?;
        let e = expiry(&t).ok()?;
        (e != old).then_some(e)
    })
    .await?;
    // Extension = max(expiry, today) + CLS_EXTENSION_DAYS (90); the stack runs on today's date.
    let expected = old
        .checked_add_days(Days::new(90))
        .ok_or_else(|| anyhow!("date overflow"))?;
    anyhow::ensure!(new == expected, "expiry {new}, expected {expected}");
    let updated = wait_for("the Slack message update", || {
        let m = stack
            .fakes
            .slack
            .dm_messages(ADDER_SLACK_ID)
            .into_iter()
            .find(|m| m.ts == reminder.ts)?;
        (m.edits > 0 && action_ids(&m.blocks).is_empty()).then_some(m)
    })
    .await?;
    ticket.expires_on = new;
    Ok(format!(
        "expiry {} → {}; reminder updated: \"{}\"",
        format_date(old),
        format_date(new),
        last_line(&updated.blocks).unwrap_or(updated.text)
    ))
}

async fn let_expire(stack: &Stack, ticket: &mut Followed) -> Result<String> {
    let run_date = days_before(ticket.expires_on, 21)?;
    let before = stack.fakes.slack.dm_messages(ADDER_SLACK_ID).len();
    sweep(stack, run_date).await?;
    let reminder = wait_for("the second reminder DM", || reminder_after(stack, before)).await?;
    let messages_before = stack.fakes.spoke.messages(&ticket.id).len();
    click(stack, &reminder.ts, "cls_let_expire").await?;
    wait_for("the let-expire ticket message", || {
        (stack.fakes.spoke.messages(&ticket.id).len() > messages_before).then_some(())
    })
    .await?;
    // 7 and 3 days before expiry: the thresholds are marked, nobody is reminded again.
    let dms = stack.fakes.slack.dm_messages(ADDER_SLACK_ID).len();
    let later = days_before(ticket.expires_on, 7)?;
    let report = sweep(stack, later).await?;
    settle(stack).await;
    let after = stack.fakes.slack.dm_messages(ADDER_SLACK_ID).len();
    anyhow::ensure!(
        after == dms,
        "{} more reminder(s) after let-expire",
        after - dms
    );
    Ok(format!(
        "reminder {} answered \"let it expire\"; sweep {}: {} enqueued, no DM",
        reminder.ts,
        format_date(later),
        report["enqueued"]
    ))
}

async fn removal(stack: &Stack, ticket: &mut Followed) -> Result<String> {
    anyhow::ensure!(
        stack.fakes.github.is_outside_collaborator(ORG, LOGIN),
        "octocat is not an outside collaborator of {ORG} before the expiry"
    );
    let deletes_before = deletes(stack);
    let messages_before = stack.fakes.spoke.messages(&ticket.id).len();
    let report = sweep(stack, ticket.expires_on).await?;
    // cls-queue writes the status, then the tags, then the message: wait for the last of them.
    let closed = wait_for("the closed ticket", || {
        let t = stack.fakes.spoke.request(&ticket.id)?;
        let done = t["status"] == "RESOLVED"
            && has_tag(&t, "expired")
            && stack.fakes.spoke.messages(&ticket.id).len() > messages_before;
        done.then_some(t)
    })
    .await?;
    anyhow::ensure!(
        !stack.fakes.github.is_outside_collaborator(ORG, LOGIN),
        "octocat still has access to {ORG}"
    );
    anyhow::ensure!(deletes(stack) == deletes_before + 1, "not one DELETE");
    for tag in ["access_removed", "expired"] {
        anyhow::ensure!(has_tag(&closed, tag), "the ticket lacks tag {tag}");
    }
    anyhow::ensure!(
        !has_tag(&closed, "access_granted"),
        "`access granted` is still there"
    );
    Ok(format!(
        "sweep {}: {} enqueued; DELETE /orgs/{ORG}/outside_collaborators/{LOGIN}; ticket {} RESOLVED, tags access removed + cls-expired",
        format_date(ticket.expires_on),
        report["enqueued"],
        ticket.id
    ))
}

/// Runs the sweep as of `run_date` (octocat was active the day before, so the inactivity rule stays quiet)
/// and returns its report.
async fn sweep(stack: &Stack, run_date: NaiveDate) -> Result<Value> {
    let active = run_date
        .pred_opt()
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .ok_or_else(|| anyhow!("date overflow"))?
        .and_utc()
        .timestamp_millis();
    let user_id = stack
        .fakes
        .github
        .user_id(LOGIN)
        .ok_or_else(|| anyhow!("github-fake has no user {LOGIN}"))?;
    stack
        .fakes
        .github
        .add_audit_events(
            ORG,
            vec![
                json!({"action": "git.clone", "actor": LOGIN, "actor_id": user_id,
                        "repo": format!("{ORG}/widgets"), "@timestamp": active}),
            ],
        )
        .map_err(|e| anyhow!("audit log: {e}"))?;
    let report = match stack
        .registry
        .invoke("cls-sweep", json!({"today": format_date(run_date)}))
        .await
    {
        None => anyhow::bail!("cls-sweep is not registered"),
        Some(Err(message)) => anyhow::bail!("cls-sweep failed: {message}"),
        Some(Ok(report)) => report,
    };
    Ok(report)
}

/// Posts a click on the reminder `ts` in alice's DM through slack-fake, signed like Slack signs it, to the
/// stack's `POST /slack/interactions`.
async fn click(stack: &Stack, ts: &str, action_id: &str) -> Result<()> {
    let url = stack
        .endpoints
        .get("slack_interactions")
        .ok_or_else(|| anyhow!("no Slack interaction route"))?;
    let control = format!(
        "{}/slack/__fake/interactions/send",
        stack.devstack.base_url()
    );
    let answer: Value = lambda_kit::http::default_client()
        .post(control)
        .timeout(Duration::from_secs(10))
        .json(
            &json!({"url": url, "user": ADDER_SLACK_ID, "channel": ADDER_SLACK_ID, "ts": ts,
                      "actionId": action_id}),
        )
        .send()
        .await
        .context("slack-fake interaction")?
        .error_for_status()?
        .json()
        .await?;
    anyhow::ensure!(
        answer["status"] == 200,
        "cls-webhook answered {} to the click",
        answer["status"]
    );
    Ok(())
}

/// Lets the queue mapping drain what a step enqueued when there is no effect to wait for.
async fn settle(stack: &Stack) {
    let Some(source) = stack.event_source.as_ref() else {
        return;
    };
    let started = Instant::now();
    let mut seen = source.outcomes().len();
    let mut quiet_since = Instant::now();
    while started.elapsed() < SETTLE && quiet_since.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = source.outcomes().len();
        if now != seen {
            seen = now;
            quiet_since = Instant::now();
        }
    }
}

async fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> Result<T> {
    let started = Instant::now();
    loop {
        if let Some(found) = probe() {
            return Ok(found);
        }
        if started.elapsed() > SETTLE {
            anyhow::bail!("no {what} within {} s", SETTLE.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn open_ticket_of(stack: &Stack, login: &str) -> Option<(String, Value)> {
    let state = stack.fakes.spoke.state_json();
    let requests = state["requests"].as_array()?;
    requests.iter().find_map(|r| {
        let id = r["id"].as_str()?;
        let ticket = stack.fakes.spoke.request(id)?;
        let subject = ticket["subject"].as_str().unwrap_or_default();
        (ticket["status"] == "OPEN" && subject.starts_with(&format!("{login} Collaborator Access")))
            .then(|| (id.to_owned(), ticket))
    })
}

fn expiry(ticket: &Value) -> Result<NaiveDate> {
    let state =
        answer_of(ticket, "expires_on").ok_or_else(|| anyhow!("the ticket has no expiry"))?;
    parse_date(&state).ok_or_else(|| anyhow!("the ticket's expiry {state:?} is not a date"))
}

fn days_before(date: NaiveDate, days: u64) -> Result<NaiveDate> {
    date.checked_sub_days(Days::new(days))
        .ok_or_else(|| anyhow!("date overflow"))
}

fn reminder_after(stack: &Stack, before: usize) -> Option<slack_fake::StoredMessage> {
    stack
        .fakes
        .slack
        .dm_messages(ADDER_SLACK_ID)
        .into_iter()
        .skip(before)
        .find(|m| !action_ids(&m.blocks).is_empty())
}

fn latest_reminder(stack: &Stack) -> Result<slack_fake::StoredMessage> {
    stack
        .fakes
        .slack
        .dm_messages(ADDER_SLACK_ID)
        .into_iter()
        .rev()
        .find(|m| !action_ids(&m.blocks).is_empty())
        .ok_or_else(|| anyhow!("alice has no reminder with buttons"))
}

fn action_ids(blocks: &[Value]) -> Vec<String> {
    blocks
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["action_id"].as_str().map(str::to_owned))
        .collect()
}

fn last_line(blocks: &[Value]) -> Option<String> {
    let block = blocks.last()?;
    let text = block["elements"][0]["text"]
        .as_str()
        .or_else(|| block["text"]["text"].as_str())?;
    Some(text.to_owned())
}

fn deletes(stack: &Stack) -> usize {
    stack
        .fakes
        .github
        .kit()
        .calls("DELETE", "/orgs/*/outside_collaborators/*")
        .len()
}
