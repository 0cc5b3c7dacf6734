//! `review` handling (README, `review`): re-read the ticket, decide again with `cls_core::review` (the sweep's
//! verdict is only a pre-filter), then expire / remove for inactivity / remind / warn / record activity.
//! Every write records the review id (`review-{ticket}-{run_date}`) in `cls_state.deliveries` and the
//! message's newer activity date, so re-running the same day changes and sends nothing.

use cls_core::envelope::ReviewMsg;
use cls_core::reminder::Notice;
use cls_core::ticket::{Notified, RemovalReason};
use cls_core::{Activity, Envelope, ReviewAction, messages, review};

use crate::deps::Deps;
use crate::error::{Failure, RecordError};
use crate::lifecycle::{self, on_ticket};
use crate::member::Outcome;
use crate::{notify, remove};

/// Applies one review.
pub async fn process(env: &Envelope, msg: &ReviewMsg, deps: &Deps) -> Result<Outcome, Failure> {
    let Some(org) = deps.settings.github.org(&env.org.login) else {
        deps.count("UnknownOrg", &[]);
        tracing::warn!(org = %env.org.login, outcome = "ignored_unknown_org", "organisation no longer configured");
        return Ok("ignored_unknown_org");
    };
    let Some(ticket) = lifecycle::load(deps, &msg.ticket_id).await? else {
        tracing::info!(ticket_id = %msg.ticket_id, outcome = "ticket_not_found", "the reviewed ticket no longer exists");
        return Ok("ticket_not_found");
    };
    let fail = on_ticket(&ticket.request);
    if ticket
        .fields
        .github_user_id
        .is_some_and(|uid| uid != env.collaborator.id)
    {
        return Err(fail(RecordError::Refused(
            "the review names a ticket of another collaborator",
        )));
    }
    let key = env.dedup_id();
    if ticket.fields.state.has_applied(&key) {
        deps.count("DuplicateDeliverySkipped", &[]);
        return Ok("duplicate_review");
    }
    let activity = Activity::from_message(msg.activity_source.as_deref(), msg.last_activity);
    let Some(action) = review(
        &ticket.fields.state,
        msg.run_date,
        activity,
        &deps.config.review,
    ) else {
        return Ok("nothing_to_do");
    };
    tracing::info!(ticket_id = %ticket.request.id, action = action.as_str(), "review decided");
    let mut fields = ticket.fields.clone();
    fields.state.record(&key);
    if let Some(seen) = activity.seen()
        && fields.state.last_activity.is_none_or(|known| seen > known)
    {
        fields.state.last_activity = Some(seen);
    }
    match action {
        ReviewAction::Expire => {
            remove::remove(
                env,
                org,
                &ticket,
                fields,
                RemovalReason::Expired,
                msg.run_date,
                deps,
            )
            .await
        }
        ReviewAction::InactivityExpire => {
            remove::remove(
                env,
                org,
                &ticket,
                fields,
                RemovalReason::Inactive,
                msg.run_date,
                deps,
            )
            .await
        }
        ReviewAction::RecordActivity(_) => {
            lifecycle::save(deps, &ticket.request, &fields, None)
                .await
                .map_err(&fail)?;
            Ok("activity_recorded")
        }
        ReviewAction::Notify { days, record } => {
            let expires_on = fields
                .expires_on
                .ok_or_else(|| fail(RecordError::Refused("the ticket has no expiry")))?;
            let left = (expires_on - msg.run_date).num_days();
            let bot = deps.slack_bot().await.map_err(&fail)?;
            let sent =
                notify::send_reminder(env, org, &ticket, Notice::Expiry { days: left }, &bot, deps)
                    .await
                    .map_err(&fail)?;
            let mut notified = match fields.state.notified.take() {
                Some(n) if n.for_date == expires_on => n,
                _ => Notified {
                    for_date: expires_on,
                    days: Vec::new(),
                },
            };
            for t in record {
                if !notified.days.contains(&t) {
                    notified.days.push(t);
                }
            }
            notified.days.sort_unstable_by(|a, b| b.cmp(a));
            fields.state.notified = Some(notified);
            merge_ids(&mut fields.state.notify_slack_ids, &sent.slack_ids);
            lifecycle::save(deps, &ticket.request, &fields, None)
                .await
                .map_err(&fail)?;
            let shown = u32::try_from(left).unwrap_or(days);
            let text = messages::reminder_sent(&sent.recipients, expires_on, shown, &key);
            lifecycle::note(deps, &ticket.request.id, &text).await;
            Ok("reminded")
        }
        ReviewAction::InactivityWarn { removal_on } => {
            let bot = deps.slack_bot().await.map_err(&fail)?;
            let sent = notify::send_reminder(
                env,
                org,
                &ticket,
                Notice::Inactivity { removal_on },
                &bot,
                deps,
            )
            .await
            .map_err(&fail)?;
            fields.state.inactivity_warned_for = Some(removal_on);
            merge_ids(&mut fields.state.notify_slack_ids, &sent.slack_ids);
            lifecycle::save(deps, &ticket.request, &fields, None)
                .await
                .map_err(&fail)?;
            let text = messages::inactivity_warned(&sent.recipients, removal_on, &key);
            lifecycle::note(deps, &ticket.request.id, &text).await;
            Ok("inactivity_warned")
        }
    }
}

fn merge_ids(known: &mut Vec<String>, new: &[String]) {
    for id in new {
        if !known.contains(id) {
            known.push(id.clone());
        }
    }
}
