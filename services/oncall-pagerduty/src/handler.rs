//! One run: who is on call for each team, which teams need an event, the previous people, `PutEvents`, the
//! memory of what was handled, the metrics and the summary line (README, "Behaviour", "Observability").

use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use lambda_kit::Invocation;
use lambda_kit::metrics::Emf;
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::config::TeamMapping;
use crate::current::{read_all, read_previous};
use crate::decide::{Reason, Rules, decide};
use crate::deps::Deps;
use crate::error::ServiceError;
use crate::memory::Seen;
use crate::pagerduty::{CallCtx, OnCall, PagerDutyError, User};
use crate::{FUNCTION, METRIC_NAMESPACE, alert, event};

/// Time kept free at the end of the invocation for `PutEvents`: PagerDuty calls end this long before the
/// deadline.
pub const PUT_RESERVE: Duration = Duration::from_secs(2);

/// One event put.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Emitted {
    /// The team's name.
    pub team: String,
    /// `shift_change` or `reconcile`.
    pub reason: &'static str,
    /// The PagerDuty user now on call.
    pub user_id: String,
    /// The EventBridge event id.
    pub event_id: String,
}

/// What a run did: the invocation's response (and the error's content when it failed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Teams configured.
    pub teams: u32,
    /// Events put for a changed on-call.
    pub handoffs: u32,
    /// Events put by the reconcile.
    pub reconciles: u32,
    /// Teams whose on-call had not changed.
    pub unchanged: u32,
    /// Teams with nobody on call.
    pub nobody_on_call: u32,
    /// Due events not put because the on-call person has no e-mail.
    pub unknown_users: u32,
    /// Teams not handled (PagerDuty or `PutEvents` failed).
    pub failed: u32,
    /// The events put.
    pub events: Vec<Emitted>,
    /// `team: why` for each team not handled.
    pub failures: Vec<String>,
}

/// A team whose event is due.
struct Due<'a> {
    team: &'a TeamMapping,
    on_call: OnCall,
    email: String,
    previous: Option<User>,
    reason: Reason,
}

/// Runs once for the scheduled `event` (only its `time` is read, for the log; `{"reconcile": true}` asks
/// for every team's current state). `Err` when a team could not be handled.
pub async fn handle(
    event: Value,
    invocation: &Invocation,
    deps: &Deps,
) -> Result<RunSummary, ServiceError> {
    let started = Instant::now();
    let config = deps.config.as_ref();
    let now = deps
        .clock
        .now()
        .duration_trunc(TimeDelta::seconds(1))
        .unwrap_or_else(|_| deps.clock.now());
    let cold_start = deps.memory.is_empty();
    let rules = Rules {
        lookback: TimeDelta::from_std(config.lookback).unwrap_or(TimeDelta::hours(1)),
        reconcile_hour_utc: config.reconcile_hour_utc,
        force_reconcile: event.get("reconcile").and_then(Value::as_bool) == Some(true),
    };
    let ctx = CallCtx::new(
        invocation
            .deadline
            .map(|d| d.checked_sub(PUT_RESERVE).unwrap_or(d)),
    );
    let mut summary = RunSummary {
        teams: u32::try_from(config.teams.len()).unwrap_or(u32::MAX),
        ..RunSummary::default()
    };
    let mut refused: Option<u16> = None;

    if config.teams.is_empty() {
        tracing::warn!(
            outcome = "no_teams",
            "ONCALL_PD_TEAMS maps no team; nothing to do"
        );
    }
    let readings = read_all(&deps.pagerduty, &config.teams, now, &ctx).await;
    let mut due = Vec::new();
    for team in &config.teams {
        let on_call = match readings.get(&team.source) {
            Some(Ok(Some(on_call))) => on_call.clone(),
            Some(Ok(None)) => {
                tracing::warn!(team = %team.team, source = team.source.id(), outcome = "nobody_on_call", "nobody is on call at level 1");
                summary.nobody_on_call += 1;
                continue;
            }
            Some(Err(e)) => {
                note_refusal(e, &mut refused);
                fail(&mut summary, team, e);
                continue;
            }
            None => {
                fail(&mut summary, team, &"not read");
                continue;
            }
        };
        let seen = deps.memory.get(&team.source);
        let Some(reason) = decide(now, &on_call.user.id, on_call.start, seen.as_ref(), rules)
        else {
            summary.unchanged += 1;
            deps.memory.record(
                &team.source,
                Seen {
                    at: now,
                    user: on_call.user,
                },
            );
            continue;
        };
        let Some(email) = on_call.user.usable_email().map(str::to_owned) else {
            tracing::error!(team = %team.team, source = team.source.id(), user_id = %on_call.user.id, outcome = "unknown_user", "the on-call person has no e-mail in PagerDuty; no event put");
            summary.unknown_users += 1;
            let alert = alert::unknown_user(team, &on_call.user);
            send_alert(deps, alert, invocation.deadline).await;
            continue;
        };
        let previous = match on_call.start {
            Some(start) => match read_previous(&deps.pagerduty, &team.source, start, &ctx).await {
                Ok(previous) => previous.map(|p| p.user),
                Err(e) => {
                    note_refusal(&e, &mut refused);
                    fail(&mut summary, team, &e);
                    continue;
                }
            },
            None => seen.map(|s| s.user).filter(|u| u.id != on_call.user.id),
        };
        due.push(Due {
            team,
            on_call,
            email,
            previous,
            reason,
        });
    }

    put_due(deps, &due, now, &mut summary).await;
    if let Some(status) = refused {
        send_alert(
            deps,
            alert::key_refused(&config.secret_id, status),
            invocation.deadline,
        )
        .await;
    }
    Emf::new(METRIC_NAMESPACE)
        .dimension("Function", FUNCTION)
        .count("HandoffsEmitted", summary.handoffs.into())
        .count("ReconcileEmitted", summary.reconciles.into())
        .count("UnknownUsers", summary.unknown_users.into())
        .count("PagerDutyErrors", ctx.failures().into())
        .emit(deps.metrics.as_ref(), now);
    log_summary(&summary, &ctx, cold_start, &event, started);
    if summary.failed > 0 {
        Err(ServiceError::Retryable(Box::new(summary)))
    } else {
        Ok(summary)
    }
}

/// Puts the due events and remembers each team whose entry was accepted.
async fn put_due(deps: &Deps, due: &[Due<'_>], now: DateTime<Utc>, summary: &mut RunSummary) {
    if due.is_empty() {
        return;
    }
    let details: Vec<Value> = due
        .iter()
        .map(|d| event::detail(d.team, &d.on_call, &d.email, d.previous.as_ref(), d.reason))
        .collect();
    let results = deps.bus.put(&details, now).await;
    for (d, result) in due.iter().zip(results) {
        match result {
            Ok(event_id) => {
                tracing::info!(team = %d.team.team, source = d.team.source.id(), reason = d.reason.as_str(), user_id = %d.on_call.user.id, event_id = %event_id, outcome = "event_put", "handoff event put");
                match d.reason {
                    Reason::ShiftChange => summary.handoffs += 1,
                    Reason::Reconcile => summary.reconciles += 1,
                }
                summary.events.push(Emitted {
                    team: d.team.team.clone(),
                    reason: d.reason.as_str(),
                    user_id: d.on_call.user.id.clone(),
                    event_id,
                });
                deps.memory.record(
                    &d.team.source,
                    Seen {
                        at: now,
                        user: d.on_call.user.clone(),
                    },
                );
            }
            Err(why) => fail(summary, d.team, &why),
        }
    }
}

/// Counts `team` as not handled, and why.
fn fail(summary: &mut RunSummary, team: &TeamMapping, why: &dyn std::fmt::Display) {
    tracing::warn!(team = %team.team, source = team.source.id(), error = %why, "team not handled");
    summary.failed += 1;
    summary.failures.push(format!("{}: {why}", team.team));
}

fn note_refusal(error: &PagerDutyError, refused: &mut Option<u16>) {
    if let PagerDutyError::Unauthorized { status } = error {
        *refused = Some(*status);
    }
}

async fn send_alert(deps: &Deps, alert: it_alert::ItAlert, deadline: Option<Instant>) {
    let alert = match deadline {
        Some(deadline) => alert.before(deadline),
        None => alert,
    };
    // it-alert logs an alert it could not deliver; a lost alert never changes the run's outcome.
    let _ = deps.alerter.send(&alert).await;
}

fn log_summary(
    summary: &RunSummary,
    ctx: &CallCtx,
    cold_start: bool,
    event: &Value,
    started: Instant,
) {
    let scheduled_at = event.get("time").and_then(Value::as_str).unwrap_or("");
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    macro_rules! line {
        ($level:ident, $outcome:literal) => {
            tracing::$level!(
                teams = summary.teams,
                handoffs = summary.handoffs,
                reconciles = summary.reconciles,
                unchanged = summary.unchanged,
                nobody_on_call = summary.nobody_on_call,
                unknown_users = summary.unknown_users,
                failed = summary.failed,
                pagerduty_calls = ctx.calls(),
                pagerduty_retries = ctx.retries(),
                cold_start,
                scheduled_at,
                duration_ms,
                outcome = $outcome,
                "pagerduty run finished"
            )
        };
    }
    if summary.failed > 0 {
        line!(error, "failed");
    } else {
        line!(info, "ok");
    }
}
