//! Removing access at expiry or for inactivity (README, `review`, **expire**): the current login from the user id, the
//! membership check, `DELETE /orgs/{org}/outside_collaborators/{login}`, then the ticket closed.

use chrono::NaiveDate;
use cls_core::reminder::removed_notice;
use cls_core::review::inactivity_baseline;
use cls_core::settings::OrgSettings;
use cls_core::ticket::{Access, RemovalReason};
use cls_core::{Envelope, FoundTicket, TicketFields, messages};
use github_app::{Membership, RemovalOutcome};
use spoke_client::RequestStatus;

use crate::deps::Deps;
use crate::error::Failure;
use crate::lifecycle::{self, on_ticket};
use crate::member::{Outcome, sync_access_tags};
use crate::notify;

/// Removes the collaborator (`reason` = `Expired` or `Inactive`) and closes the ticket with `fields` (which
/// already carry the applied review id and any newer activity date).
///
/// - account deleted (`GET /user/{id}` 404) → closed as removed;
/// - an org member, or DELETE 422 → closed as `became_member`, nothing removed;
/// - DELETE 204 / 404 → removed (`CollaboratorRemoved{reason}` / `RemovalAlreadyGone`);
/// - DELETE 403 without rate-limit signs → a permanent failure: the handler tags the ticket
///   `cls-needs-attention` and alerts IT; the ticket stays open.
pub async fn remove(
    env: &Envelope,
    org: &OrgSettings,
    ticket: &FoundTicket,
    mut fields: TicketFields,
    reason: RemovalReason,
    run_date: NaiveDate,
    deps: &Deps,
) -> Result<Outcome, Failure> {
    let fail = on_ticket(&ticket.request);
    let uid = fields.github_user_id.unwrap_or(env.collaborator.id);
    let user = deps
        .github
        .user_by_id(&org.org, uid)
        .await
        .map_err(|e| fail(e.into()))?;
    let mut why = match reason {
        RemovalReason::Inactive => format!(
            "no activity since {}",
            inactivity_baseline(&ticket.fields.state, fields.state.last_activity)
                .map_or_else(|| "it was granted".to_owned(), cls_core::dates::format_date)
        ),
        _ => format!(
            "access expired on {}",
            fields.expires_on.map_or_else(
                || "an unknown date".to_owned(),
                cls_core::dates::format_date
            )
        ),
    };
    let mut closing = reason;
    match user {
        None => {
            why.push_str("; the GitHub account no longer exists");
            deps.count("RemovalAlreadyGone", &[]);
        }
        Some(user) => {
            fields.github_login = Some(user.login.clone());
            let member = deps
                .github
                .membership(&org.org, &user.login)
                .await
                .map_err(|e| fail(e.into()))?;
            let outcome = if member == Membership::Member {
                RemovalOutcome::IsOrgMember
            } else {
                deps.github
                    .remove_outside_collaborator(&org.org, &user.login)
                    .await
                    .map_err(|e| fail(e.into()))?
            };
            match outcome {
                RemovalOutcome::Removed => {
                    deps.count("CollaboratorRemoved", &[("reason", reason_name(reason))])
                }
                RemovalOutcome::AlreadyGone => deps.count("RemovalAlreadyGone", &[]),
                RemovalOutcome::IsOrgMember => closing = RemovalReason::BecameMember,
            }
        }
    }
    let login = fields
        .github_login
        .clone()
        .unwrap_or_else(|| env.collaborator.login.clone());
    fields.state.access = Access::Removed;
    fields.state.reason = Some(closing);
    fields.state.removed_on = Some(run_date);
    let saved = lifecycle::save(
        deps,
        &ticket.request,
        &fields,
        Some(RequestStatus::Resolved),
    )
    .await
    .map_err(&fail)?;
    let mut current = ticket.request.clone();
    if !saved.tags.is_empty() {
        current.tags = saved.tags;
    }
    let tags = &deps.settings.spoke.tags;
    sync_access_tags(&current, Access::Removed, tags, deps)
        .await
        .map_err(|e| fail(e.into()))?;
    let key = env.dedup_id();
    let (text, outcome) = match closing {
        RemovalReason::BecameMember => {
            deps.count("TicketUpdated", &[]);
            (
                messages::became_member(&login, &org.org, &key),
                "became_member",
            )
        }
        _ => {
            let tag = match closing {
                RemovalReason::Inactive => tags.inactive.as_str(),
                _ => tags.expired.as_str(),
            };
            lifecycle::add_tags(deps, &current, &[tag])
                .await
                .map_err(&fail)?;
            (
                messages::access_removed(&login, &org.org, &why, &key),
                "removed",
            )
        }
    };
    lifecycle::note(deps, &ticket.request.id, &text).await;
    if outcome == "removed" {
        let link = lifecycle::link(deps, &ticket.request);
        notify::tell_owner(
            ticket,
            &removed_notice(&login, &org.org, &why, link.as_deref()),
            deps,
        )
        .await;
    }
    tracing::info!(ticket_id = %ticket.request.id, outcome, reason = reason_name(closing), "access closed");
    Ok(outcome)
}

fn reason_name(reason: RemovalReason) -> &'static str {
    match reason {
        RemovalReason::Expired => "expired",
        RemovalReason::Inactive => "inactive",
        RemovalReason::BecameMember => "became_member",
        RemovalReason::Github => "github",
    }
}
