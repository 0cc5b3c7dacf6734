//! One sweep invocation (README, "What one invocation does"): scan, activity per org, [`plan`], then send (or post the
//! plan), alert and summarise. [`run`] never starts the continuation itself; [`crate::handle`] does (Lambda), and
//! [`run_to_completion`] runs the continuations inline (`cls-admin sweep`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use chrono::Duration;
use cls_core::envelope::ReviewMsg;
use cls_core::{AccountRef, Envelope, OrgRef, OutgoingMessage, Payload, Subject};

use crate::deps::Deps;
use crate::error::SweepError;
use crate::event::{RunOptions, SweepEvent};
use crate::listing::Start;
use crate::plan::{ActivityByOrg, Cursor, Due, Limits, OrgActivity, Plan, plan};
use crate::report::{SkippedTicket, SweepReport, brake_message, plan_posts};
use crate::scan::{Scan, TicketView, scan};

/// Runs one invocation with `options`. `report.next` is the continuation's event when more actions are due
/// than this invocation may send and the run has continuations left.
pub async fn run(options: &RunOptions, deps: &Deps) -> Result<SweepReport, SweepError> {
    let started = Instant::now();
    let config = &deps.config;
    let settings = &deps.settings;
    let first = options.event.continuation == 0;
    // A continuation reads from where its predecessor's last enqueued ticket was (README, step 6).
    let from = Start {
        offset: options.event.start.unwrap_or(0),
        after: options.event.after.clone(),
    };
    let found = scan(
        deps.spoke.as_ref(),
        &settings.spoke,
        &settings.github,
        &from,
        config.max_pages,
    )
    .await?;
    let listing_ms = millis(started.elapsed());
    let (activity, activity_report) = gather_activity(&found.tickets, options, deps).await;
    let plan = plan(
        &found.tickets,
        &activity,
        options.run_date,
        &config.review,
        &Limits {
            max_actions: config.max_actions,
            removal_brake: options.removal_brake,
        },
        options.event.after.as_ref(),
    );
    tracing::info!(
        run_date = %options.run_date,
        continuation = options.event.continuation,
        dry_run = options.dry_run,
        scanned = found.scanned,
        pages = found.pages,
        listing_ms,
        due = plan.due.len(),
        to_send = plan.send.len(),
        held = plan.held.len(),
        remaining = plan.remaining,
        skipped = found.skipped.len(),
        outcome = "planned",
        "sweep planned"
    );
    // A dry run counts nothing: its plan must not move the alarms or the heartbeat.
    let counted = first && !options.dry_run;
    if counted {
        for (action, n) in plan.counts() {
            deps.count_n("SweepDue", &[("action", action)], n as u64);
        }
    }

    let mut enqueued = 0;
    let mut failure = None;
    let mut failed = 0;
    if options.dry_run {
        for due in &plan.due {
            tracing::info!(
                ticket_id = %due.ticket.id,
                org = %due.ticket.org,
                login = %due.ticket.login,
                action = due.action.as_str(),
                expires_on = ?due.ticket.state.expires_on,
                held = plan.brake_tripped && due.action.is_removal(),
                outcome = "dry_run",
                "planned, not sent"
            );
        }
        for post in plan_posts(&plan, &config.cls.stage) {
            deps.channel.post(&post).await;
        }
    } else {
        for due in &plan.send {
            match deps.queue.send(&message(due, options, deps)).await {
                Ok(()) => {
                    enqueued += 1;
                    deps.count("Enqueued", &[("kind", "review")]);
                }
                Err(e) => {
                    tracing::error!(ticket_id = %due.ticket.id, error = %e, upstream = "sqs", error_class = "Retryable", "review not enqueued");
                    deps.count("EnqueueFailed", &[]);
                    failed += 1;
                    failure.get_or_insert(e);
                }
            }
        }
    }

    if counted && plan.brake_tripped {
        deps.count("SweepBrakeTripped", &[]);
        let alert = deps
            .alert(
                "SweepBrakeTripped",
                brake_message(&plan, options.removal_brake),
            )
            .key(&format!("sweep-{}", options.run_date));
        deps.alerts.alert(&alert).await;
    }
    alert_skipped(&found, options, deps).await;

    let mut report = SweepReport {
        run_date: options.run_date,
        continuation: options.event.continuation,
        dry_run: options.dry_run,
        scanned: found.scanned,
        pages: found.pages,
        listing_ms,
        reviewable: found.tickets.len(),
        due: plan
            .counts()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        enqueued,
        brake_tripped: plan.brake_tripped,
        held_removals: plan.held.iter().map(|d| d.ticket.id.clone()).collect(),
        remaining: if options.dry_run { 0 } else { plan.remaining },
        continued: false,
        next: None,
        skipped: found
            .skipped
            .iter()
            .map(|s| SkippedTicket {
                ticket: s.id.clone(),
                reason: s.reason.to_string(),
            })
            .collect(),
        activity: activity_report,
        duration_ms: 0,
    };
    if report.remaining > 0 && failure.is_none() {
        report.next = next_invocation(&plan, options, deps).await;
        report.continued = report.next.is_some();
    }
    report.duration_ms = millis(started.elapsed());
    deps.channel
        .post(&report.summary_line(&config.cls.stage))
        .await;
    #[allow(clippy::cast_precision_loss)]
    deps.duration_ms(report.duration_ms as f64);
    if let Some(first_error) = failure {
        return Err(SweepError::Enqueue {
            failed,
            first: first_error,
        });
    }
    if !options.dry_run {
        deps.count("SweepCompleted", &[]);
    }
    Ok(report)
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs invocation 0 and then every continuation inline, in this process (`cls-admin sweep`): one report per
/// invocation.
pub async fn run_to_completion(
    event: SweepEvent,
    deps: &Deps,
) -> Result<Vec<SweepReport>, SweepError> {
    let deps = &deps.refreshed().await;
    let mut reports = Vec::new();
    let mut event = Some(event);
    while let Some(current) = event.take() {
        let options = RunOptions::resolve(current, &deps.config, deps.clock.now())?;
        let report = run(&options, deps).await?;
        event = report.next.clone();
        reports.push(report);
    }
    Ok(reports)
}

/// The event of the continuation, or `None` (with one alert) when the run has used its continuations.
async fn next_invocation(plan: &Plan, options: &RunOptions, deps: &Deps) -> Option<SweepEvent> {
    let last = plan.send.last()?;
    if options.event.continuation >= deps.config.max_continuations {
        let alert = deps
            .alert(
                "SweepLimitReached",
                format!(
                    "{} actions are still due after {} continuations of {} messages; they wait for the next run",
                    plan.remaining,
                    options.event.continuation,
                    deps.config.max_actions
                ),
            )
            .key(&format!("sweep-{}", options.run_date));
        deps.alerts.alert(&alert).await;
        return None;
    }
    let cursor = Cursor::of(&last.ticket);
    Some(
        options
            .event
            .next(cursor, last.ticket.offset, plan.brake_tripped),
    )
}

fn message(due: &Due, options: &RunOptions, deps: &Deps) -> OutgoingMessage {
    let ticket = &due.ticket;
    OutgoingMessage::from_envelope(&Envelope {
        enqueued_at: deps.clock.now(),
        org: OrgRef {
            id: ticket.org_id,
            login: ticket.org.clone(),
        },
        collaborator: AccountRef {
            id: ticket.user_id,
            login: ticket.login.clone(),
        },
        payload: Payload::Review(ReviewMsg {
            ticket_id: ticket.id.clone(),
            run_date: options.run_date,
            last_activity: due.last_activity,
            activity_source: Some(due.activity_source.to_owned()),
        }),
    })
}

/// Queries each org's source once for this invocation (only orgs with reviewable tickets). A failing
/// source makes the org unavailable (no inactivity action) and alerts once per day.
async fn gather_activity(
    tickets: &[TicketView],
    options: &RunOptions,
    deps: &Deps,
) -> (ActivityByOrg, BTreeMap<String, String>) {
    let mut subjects: HashMap<String, Vec<Subject>> = HashMap::new();
    for t in tickets {
        subjects.entry(t.org.clone()).or_default().push(Subject {
            user_id: t.user_id,
            login: t.login.clone(),
            repositories: t.repositories.clone(),
        });
    }
    let since = options.run_date - Duration::days(i64::from(deps.config.activity_lookback_days));
    let mut activity = ActivityByOrg::new();
    let mut report = BTreeMap::new();
    let mut orgs: Vec<&String> = subjects.keys().collect();
    orgs.sort();
    for org in orgs {
        let kind = deps.settings.github.activity_kind(org);
        let source = deps.activity_source(kind);
        let index = match source.activity(org, since, &subjects[org]).await {
            Ok(index) => {
                report.insert(org.clone(), kind.as_str().to_owned());
                index
            }
            Err(e) => {
                tracing::warn!(org = %org, error = %e, http_status = e.status, outcome = "activity_unavailable", "activity source unavailable; no inactivity action for this org today");
                report.insert(org.clone(), format!("unavailable ({kind})"));
                // Once per day: the run's first invocation alerts (a continuation asks again, maybe on
                // another Lambda instance), a rerun on this instance does not.
                if options.event.continuation == 0
                    && deps.first_today(&format!("activity|{org}"), options.run_date)
                {
                    let mut alert = deps.alert(
                        "ActivitySourceUnavailable",
                        format!("{e}; no inactivity action for this org today (a failing signal never removes anyone)"),
                    );
                    alert.org = Some(org.clone());
                    deps.alerts.alert(&alert).await;
                }
                None
            }
        };
        activity.insert(org.to_lowercase(), OrgActivity { kind, index });
    }
    (activity, report)
}

/// One alert per skipped ticket per day: only the run's first invocation alerts (a continuation rescans the
/// same tickets, often on another Lambda instance), and a rerun the same day on this instance does not
/// repeat it.
async fn alert_skipped(found: &Scan, options: &RunOptions, deps: &Deps) {
    if options.event.continuation > 0 {
        return;
    }
    let mut seen = HashSet::new();
    for s in &found.skipped {
        if !seen.insert(&s.id) || !deps.first_today(&format!("skip|{}", s.id), options.run_date) {
            continue;
        }
        let mut alert = deps
            .alert(
                "TicketSkipped",
                format!("the sweep cannot review this ticket: {}", s.reason),
            )
            .ticket(&s.link)
            .key(&format!("sweep-{}", options.run_date));
        alert.org.clone_from(&s.org);
        alert.login.clone_from(&s.login);
        deps.alerts.alert(&alert).await;
    }
}
