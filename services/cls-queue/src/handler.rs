//! The SQS batch handler (README, "What one batch does"): every record in order, FIFO group rule for retryable
//! failures, permanent failures alerted once and acknowledged.

use std::collections::HashSet;
use std::convert::Infallible;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use cls_core::{Envelope, Payload};
use lambda_kit::{Classify, ErrorClass, Invocation};
use tracing::Instrument;

use crate::deps::Deps;
use crate::error::{Failure, RecordError};
use crate::{extend, import, member, review, slack_action};

/// Handles one batch. Never fails as a whole: every problem is reported per record, so one bad message
/// cannot hold back the other collaborators' groups. The invocation's span (request id, cold
/// start) is entered by `lambda_kit::serve`; the deadline is not consulted.
pub async fn handle(
    event: SqsEvent,
    _invocation: &Invocation,
    deps: &Deps,
) -> Result<SqsBatchResponse, Infallible> {
    // Secrets and the org settings re-read on their TTL (a rotated App key or a new org needs no redeploy).
    let deps = &deps.refreshed().await;
    let mut failed_groups: HashSet<String> = HashSet::new();
    let mut failures = Vec::new();
    for record in &event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let group = record
            .attributes
            .get("MessageGroupId")
            .cloned()
            .unwrap_or_default();
        let span = tracing::info_span!("record", message_id = %message_id, group_id = %group);
        if failed_groups.contains(&group) {
            // FIFO: a later record of a failed group must not overtake it.
            span.in_scope(|| {
                tracing::info!(
                    outcome = "deferred",
                    "an earlier record of this group failed"
                )
            });
            failures.push(failure(&message_id));
            alert_if_last_attempt(record, "deferred", deps)
                .instrument(span)
                .await;
            continue;
        }
        match process_record(record, deps).instrument(span.clone()).await {
            Ok(outcome) => {
                deps.count("RecordsProcessed", &[("outcome", outcome)]);
            }
            Err((kind, f)) => match f.error.class() {
                ErrorClass::Retryable if f.error.is_key_refused() => {
                    let rotated = deps.refresh_spoke_key().instrument(span.clone()).await;
                    span.in_scope(|| {
                        tracing::error!(error = %f.error.chain(), error_class = "Retryable", error_kind = "spoke_key_refused", rotated, outcome = "retry", "Spoke refused the API key")
                    });
                    if !rotated {
                        let alert = deps
                            .alert("SpokeKeyRefused", "Spoke refuses the API key in the Spoke secret; records are retried, then dead-lettered")
                            .class("Retryable");
                        deps.alerts.alert(&alert).await;
                    }
                    deps.count("RecordsProcessed", &[("kind", kind), ("outcome", "retry")]);
                    failed_groups.insert(group);
                    failures.push(failure(&message_id));
                    alert_if_last_attempt(record, "spoke_key_refused", deps)
                        .instrument(span)
                        .await;
                }
                ErrorClass::Retryable => {
                    span.in_scope(|| {
                        tracing::warn!(error = %f.error.chain(), error_class = "Retryable", error_kind = %f.error.reason(), outcome = "retry", "record failed; it will be retried")
                    });
                    deps.count("RecordsProcessed", &[("kind", kind), ("outcome", "retry")]);
                    failed_groups.insert(group);
                    failures.push(failure(&message_id));
                    alert_if_last_attempt(record, &f.error.reason(), deps)
                        .instrument(span)
                        .await;
                }
                ErrorClass::Permanent => {
                    permanent(record, kind, &f, deps).instrument(span).await;
                }
            },
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    Ok(response)
}

fn failure(message_id: &str) -> BatchItemFailure {
    let mut f = BatchItemFailure::default();
    f.item_identifier = message_id.to_owned();
    f
}

async fn process_record(
    record: &SqsMessage,
    deps: &Deps,
) -> Result<&'static str, (&'static str, Failure)> {
    let body = record.body.as_deref().unwrap_or("");
    let envelope =
        Envelope::parse(body).map_err(|e| ("unknown", Failure::from(RecordError::from(e))))?;
    let kind = envelope.kind().as_str();
    match &envelope.payload {
        Payload::MemberEvent(msg) => {
            let span = tracing::info_span!("member_event", delivery_id = %msg.delivery_id, action = msg.action.as_str());
            member::process(&envelope, msg, deps)
                .instrument(span)
                .await
                .map_err(|f| (kind, f))
        }
        Payload::Review(msg) => {
            let span =
                tracing::info_span!("review", ticket_id = %msg.ticket_id, run_date = %msg.run_date);
            review::process(&envelope, msg, deps)
                .instrument(span)
                .await
                .map_err(|f| (kind, f))
        }
        Payload::SlackAction(msg) => {
            let span = tracing::info_span!("slack_action", ticket_id = %msg.ticket_id, action = %msg.action);
            slack_action::process(&envelope, msg, deps)
                .instrument(span)
                .await
                .map_err(|f| (kind, f))
        }
        Payload::Import(msg) => {
            let span = tracing::info_span!("import", command_id = %msg.command_id);
            import::process(&envelope, msg, deps)
                .instrument(span)
                .await
                .map_err(|f| (kind, f))
        }
        Payload::AdminExtend(msg) => {
            let span = tracing::info_span!("admin_extend", command_id = %msg.command_id);
            extend::process(&envelope, msg, deps)
                .instrument(span)
                .await
                .map_err(|f| (kind, f))
        }
    }
}

/// A record failing retryably on the queue's last receive (`ApproximateReceiveCount` ≥ `maxReceiveCount`) goes
/// to the DLQ next: IT is told once, with the subject and the reason, so that the cause can be fixed and the
/// message redriven (the DLQ alarm alone does not say which collaborator is stuck).
async fn alert_if_last_attempt(record: &SqsMessage, reason: &str, deps: &Deps) {
    let receives: u32 = record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let max = deps.config.max_receives;
    if receives < max {
        return;
    }
    let envelope = Envelope::parse(record.body.as_deref().unwrap_or("")).ok();
    let kind = envelope.as_ref().map_or("unknown", |e| e.kind().as_str());
    tracing::error!(receives, error_kind = %reason, outcome = "retries_exhausted", "record failed on its last receive; it moves to the DLQ");
    deps.count("RetriesExhausted", &[("kind", kind)]);
    let mut alert = deps
        .alert(
            "RetriesExhausted",
            format!("failed on receive {receives} of {max} ({reason}); the message moves to the DLQ: fix the cause, then redrive it"),
        )
        .class("Retryable")
        .key(record.message_id.as_deref().unwrap_or(""));
    if let Some(env) = &envelope {
        alert = alert
            .subject(&env.org.login, &env.collaborator.login)
            .key(&env.dedup_id());
    }
    deps.alerts.alert(&alert).await;
}

async fn permanent(record: &SqsMessage, kind: &str, f: &Failure, deps: &Deps) {
    let reason = f.error.reason();
    tracing::error!(error = %f.error.chain(), error_class = "Permanent", error_kind = %reason, outcome = "acknowledged", "record failed permanently");
    deps.count("PermanentFailure", &[("kind", kind), ("reason", &reason)]);
    deps.count(
        "RecordsProcessed",
        &[("kind", kind), ("outcome", "permanent_failure")],
    );
    if let Some(ticket) = &f.ticket {
        member::flag_needs_attention(ticket, deps).await;
    }
    let mut alert = deps
        .alert(
            "PermanentFailure",
            format!("{} ({reason}); the message was acknowledged", f.error),
        )
        .class("Permanent")
        .key(record.message_id.as_deref().unwrap_or(""));
    // The subject, when the body was an envelope.
    if let Ok(env) = Envelope::parse(record.body.as_deref().unwrap_or("")) {
        alert = alert
            .subject(&env.org.login, &env.collaborator.login)
            .key(&env.dedup_id());
    }
    if let Some(ticket) = &f.ticket {
        alert = alert.ticket(ticket.as_str());
    }
    deps.alerts.alert(&alert).await;
}
