//! Processing one `member_event` (README, `member_event`): classify, resolve the adder, find the ticket, decide with
//! `cls_core::apply_member_event`, then write create/PATCH → tags → message.

use cls_core::member::{MemberDecision, TicketUpdate, Transition};
use cls_core::settings::{OrgSettings, TagIds};
use cls_core::ticket::Access;
use cls_core::{
    Envelope, FoundTicket, LookupSettings, MemberAction, MemberContext, MemberEventMsg,
    apply_member_event, find_ticket,
};
use github_app::{GithubError, Membership};
use spoke_client::{
    FieldId, NewRequest, PrivacyLevel, Request, RequestFilter, RequestId, RequestPatch,
    RequestStatus, RequestTypeId, TagId, TeamId, UserId, UserQuery,
};

use crate::deps::Deps;
use crate::error::{Failure, RecordError};

/// How a record ended when it did not fail.
pub type Outcome = &'static str;

pub(crate) fn lookup_settings<'a>(
    deps: &'a Deps,
    team: &'a TeamId,
    filter: Option<&'a RequestFilter>,
) -> LookupSettings<'a> {
    LookupSettings {
        team,
        fields: &deps.settings.spoke.fields,
        legacy_org: deps.settings.github.legacy_org.as_deref(),
        list_filter: filter,
    }
}

/// Applies one member event.
pub async fn process(
    env: &Envelope,
    msg: &MemberEventMsg,
    deps: &Deps,
) -> Result<Outcome, Failure> {
    let Some(org) = deps.settings.github.org(&env.org.login) else {
        deps.count("UnknownOrg", &[]);
        tracing::warn!(org = %env.org.login, outcome = "ignored_unknown_org", "organisation no longer configured");
        return Ok("ignored_unknown_org");
    };
    let login = env.collaborator.login.as_str();
    // 1. Classify: org members never get a ticket.
    if deps.github.membership(&org.org, login).await? == Membership::Member {
        deps.count("IgnoredOrgMember", &[]);
        return Ok("ignored_org_member");
    }
    let identity = deps
        .identity
        .lookup(login)
        .await
        .map_err(RecordError::Identity)?;
    if org.skip_employees && identity.as_ref().is_some_and(|i| i.employee) {
        deps.count("IgnoredEmployee", &[]);
        return Ok("ignored_employee");
    }
    // 3. Find the ticket.
    let team = TeamId::new(&deps.settings.spoke.team_id);
    let filter = deps
        .settings
        .spoke
        .list_filter
        .as_deref()
        .map(RequestFilter::parse);
    let lookup = find_ticket(
        deps.spoke().as_ref(),
        &lookup_settings(deps, &team, filter.as_ref()),
        &org.org,
        env.collaborator.id,
        login,
    )
    .await?;
    let ticket_id = lookup.primary.as_ref().map(|t| t.request.id.clone());
    let with_ticket = |e: RecordError| Failure {
        error: e,
        ticket: ticket_id.clone(),
    };
    if !lookup.duplicates.is_empty() {
        flag_duplicates(env, &lookup.duplicates, deps)
            .await
            .map_err(|e| with_ticket(e.into()))?;
    }
    let existing = lookup.primary.as_ref();
    // 2. Resolve the adder only where the decision uses it.
    let needs_adder = msg.action == MemberAction::Added
        && existing.is_none_or(|t| {
            t.fields.state.access == Access::Removed
                || t.fields.added_by.as_deref().is_none_or(|a| a == "unknown")
        });
    let adder = if needs_adder {
        resolve_adder(env, msg, org, deps)
            .await
            .map_err(|e| with_ticket(e.into()))?
    } else {
        sender_adder(env, msg)
    };
    let email = identity
        .and_then(|i| i.email)
        .or_else(|| msg.member_email.clone());
    let ctx = MemberContext {
        org: &env.org,
        collaborator: &env.collaborator,
        event: msg,
        received_at: env.enqueued_at,
        adder: adder.as_deref(),
        collaborator_email: email.as_deref(),
    };
    // 4.–5. Decide (the delivery log makes redeliveries no-ops).
    match apply_member_event(existing.map(|t| &t.fields), &ctx) {
        MemberDecision::AlreadyApplied => {
            // A crash after the write may have left the tags behind: reconcile them (no-op when right).
            if let Some(t) = existing {
                sync_access_tags(
                    &t.request,
                    t.fields.state.access,
                    &deps.settings.spoke.tags,
                    deps,
                )
                .await
                .map_err(|e| with_ticket(e.into()))?;
            }
            deps.count("DuplicateDeliverySkipped", &[]);
            Ok("duplicate_delivery")
        }
        MemberDecision::Ignore(reason) => {
            tracing::info!(reason = ?reason, "nothing to do");
            Ok("nothing_to_do")
        }
        MemberDecision::Create(new) => create(env, msg, org, adder.as_deref(), *new, deps).await,
        MemberDecision::Update(update) => {
            let Some(ticket) = existing else {
                return Ok("nothing_to_do");
            };
            apply_update(env, org, adder.as_deref(), ticket, *update, deps)
                .await
                .map_err(with_ticket)
        }
    }
}

/// The first rule of adder resolution (README, `member_event`): the sender, when it is a user other than the
/// collaborator.
fn sender_adder(env: &Envelope, msg: &MemberEventMsg) -> Option<String> {
    msg.sender
        .as_ref()
        .filter(|s| s.id != env.collaborator.id && s.kind.as_deref().is_none_or(|k| k == "User"))
        .map(|s| s.login.clone())
}

/// Adder resolution: sender ≠ member → sender; else the org audit log's inviter; else unresolved (default owner).
/// An audit log that is not there (404: not Enterprise Cloud) or not readable by the App (403: no
/// "Administration: read") falls through to "unresolved"; any other failure (5xx, 429, timeout, token) is
/// returned, so the record is retried instead of recording `unknown` for good.
async fn resolve_adder(
    env: &Envelope,
    msg: &MemberEventMsg,
    org: &OrgSettings,
    deps: &Deps,
) -> Result<Option<String>, GithubError> {
    if let Some(sender) = sender_adder(env, msg) {
        return Ok(Some(sender));
    }
    let login = env.collaborator.login.as_str();
    let repo = msg.repository.full_name.as_str();
    let since =
        cls_core::dates::format_date(env.enqueued_at.date_naive() - chrono::Duration::days(90));
    let phrases = [
        format!("action:repository_invitation.create repo:{repo} created:>={since}"),
        format!("action:repo.add_member user:{login} repo:{repo}"),
    ];
    for phrase in &phrases {
        match deps.github.audit_log(&org.org, phrase, 2).await {
            Ok(Some(events)) => {
                let found = events.iter().find_map(|e| {
                    let invitee = e.invitee.as_deref().or(e.user.as_deref())?;
                    let actor = e.inviter.as_deref().or(e.actor.as_deref())?;
                    (invitee.eq_ignore_ascii_case(login) && !actor.eq_ignore_ascii_case(login))
                        .then(|| actor.to_owned())
                });
                if found.is_some() {
                    return Ok(found);
                }
            }
            Ok(None) => break,
            Err(error) if error.is_forbidden_on(github_app::error::AUDIT_LOG) => {
                tracing::warn!(error = %error, upstream = "github", "the App may not read the audit log; adder unresolved");
                break;
            }
            Err(error) => return Err(error),
        }
    }
    deps.count("AdderUnresolved", &[]);
    Ok(None)
}

/// The Spoke user of the adder (the org's default owner when the adder is the default owner's login; else
/// identity directory → e-mail → Spoke user); `None` when there is no adder or no Spoke user for them. A new
/// ticket then goes to the default owner; a re-added one keeps its owner.
pub(crate) async fn adder_owner(
    adder: Option<&str>,
    org: &OrgSettings,
    deps: &Deps,
) -> Result<Option<UserId>, RecordError> {
    let Some(adder) = adder else {
        return Ok(None);
    };
    if adder.eq_ignore_ascii_case(&org.default_owner.github_login) {
        return Ok(Some(UserId::new(&org.default_owner.spoke_user_id)));
    }
    let Some(email) = deps
        .identity
        .lookup(adder)
        .await
        .map_err(RecordError::Identity)?
        .and_then(|i| i.email)
    else {
        tracing::info!(
            outcome = "adder_without_email",
            "the adder has no e-mail in the identity directory"
        );
        return Ok(None);
    };
    if let Some(user) = deps.spoke().user_by_email(&email).await? {
        return Ok(Some(user.id));
    }
    let query = UserQuery {
        q: Some(email.clone()),
        ..UserQuery::default()
    };
    let wanted = email.to_lowercase();
    let matches = move |u: &spoke_client::User| {
        u.email
            .as_deref()
            .is_some_and(|e| e.to_lowercase() == wanted)
    };
    Ok(deps
        .spoke()
        .find_user(&query, &matches)
        .await?
        .map(|u| u.id))
}

pub(crate) fn answers(fields: &cls_core::TicketFields, deps: &Deps) -> Vec<(FieldId, String)> {
    fields
        .encode(&deps.settings.spoke.fields)
        .into_iter()
        .map(|(id, value)| (FieldId::new(id), value))
        .collect()
}

async fn create(
    env: &Envelope,
    msg: &MemberEventMsg,
    org: &OrgSettings,
    adder: Option<&str>,
    new: cls_core::member::NewTicket,
    deps: &Deps,
) -> Result<Outcome, Failure> {
    let spoke = &deps.settings.spoke;
    let service_user = deps.service_user().await?;
    let owner = adder_owner(adder, org, deps)
        .await?
        .unwrap_or_else(|| UserId::new(&org.default_owner.spoke_user_id));
    let mut request = NewRequest::new(new.subject, service_user)
        .body(new.body)
        .owner(owner)
        .team(TeamId::new(&spoke.team_id))
        .privacy(PrivacyLevel::Private)
        .request_type(RequestTypeId::new(&spoke.request_type_id));
    for (field, value) in answers(&new.fields, deps) {
        request = request.answer(field, value);
    }
    let created = match deps.spoke().create_request(&request).await {
        Ok(created) => created,
        Err(e) if e.outcome_unknown() => {
            // The POST may have been applied: search before creating again (cls-core README, "Idempotency").
            tracing::warn!(error = %e, "ticket creation outcome unknown; searching");
            let team = TeamId::new(&spoke.team_id);
            let filter = spoke.list_filter.as_deref().map(RequestFilter::parse);
            let found = find_ticket(
                deps.spoke().as_ref(),
                &lookup_settings(deps, &team, filter.as_ref()),
                &org.org,
                env.collaborator.id,
                &env.collaborator.login,
            )
            .await?;
            match found.primary {
                Some(t) if t.fields.state.has_applied(&msg.delivery_id) => t.request,
                _ => return Err(RecordError::CreateOutcomeUnknown.into()),
            }
        }
        Err(e) => return Err(e.into()),
    };
    let failure = |e: RecordError| Failure {
        error: e,
        ticket: Some(created.id.clone()),
    };
    sync_access_tags(&created, Access::Granted, &spoke.tags, deps)
        .await
        .map_err(|e| failure(e.into()))?;
    deps.count("TicketCreated", &[]);
    tracing::info!(ticket_id = %created.id, outcome = "ticket_created", "ticket created");
    Ok("created")
}

async fn apply_update(
    env: &Envelope,
    org: &OrgSettings,
    adder: Option<&str>,
    ticket: &FoundTicket,
    update: TicketUpdate,
    deps: &Deps,
) -> Result<Outcome, RecordError> {
    let spoke = &deps.settings.spoke;
    let access = update.fields.state.access;
    let mut patch = RequestPatch {
        status: Some(match access {
            Access::Granted => RequestStatus::Open,
            Access::Removed => RequestStatus::Resolved,
        }),
        ..RequestPatch::default()
    };
    if update.set_owner {
        // An adder without a Spoke user keeps the ticket's owner.
        patch.owner = adder_owner(adder, org, deps).await?;
    }
    for (field, value) in answers(&update.fields, deps) {
        patch = patch.answer(field, value);
    }
    let id = ticket.request.id.clone();
    let patched = deps.spoke().update_request(&id, &patch).await?;
    // Tags are checked against what the ticket carried before the PATCH (the PATCH answer may omit them).
    let mut current = ticket.request.clone();
    if !patched.tags.is_empty() {
        current.tags = patched.tags.clone();
    }
    sync_access_tags(&current, access, &spoke.tags, deps).await?;
    if let Some(text) = &update.message {
        // The delivery is already recorded: a retry would skip it. At most once, never twice (cls-core README,
        // "Idempotency").
        crate::lifecycle::note(deps, &id, text).await;
    }
    if let Some(reason) = update.needs_attention {
        flag_needs_attention(&id, deps).await;
        deps.count("NeedsAttention", &[("reason", reason.as_str())]);
        tracing::warn!(ticket_id = %id, reason = reason.as_str(), outcome = "needs_attention", "ticket kept open and flagged for a human");
        let alert = deps
            .alert(
                reason.as_str(),
                "a repository removal arrived for a ticket whose repository list is empty or unreadable; the ticket stays open (the sweep still expires the access): check the collaborator's access on GitHub and correct the list",
            )
            .subject(&env.org.login, &env.collaborator.login)
            .ticket(ticket.request.permalink.as_deref().unwrap_or(id.as_str()))
            .key(env.dedup_id().as_str());
        deps.alerts.alert(&alert).await;
    }
    if update.alert_readded_after_removal {
        let alert = deps
            .alert(
                "ReaddedAfterRemoval",
                "collaborator re-added less than 7 days after CLS removed them",
            )
            .subject(&env.org.login, &env.collaborator.login)
            .ticket(ticket.request.permalink.as_deref().unwrap_or(id.as_str()))
            .key(env.dedup_id().as_str());
        deps.alerts.alert(&alert).await;
    }
    let (metric, outcome) = match update.transition {
        Transition::Reopened => ("TicketReopened", "reopened"),
        Transition::Closed => ("TicketUpdated", "closed"),
        Transition::Updated => ("TicketUpdated", "updated"),
        Transition::Silent => ("TicketUpdated", "updated_silently"),
    };
    deps.count(metric, &[]);
    tracing::info!(ticket_id = %id, outcome, "ticket updated");
    Ok(outcome)
}

/// Exactly one of `access granted` / `access removed`, changing only what the current tags need.
pub(crate) async fn sync_access_tags(
    request: &Request,
    access: Access,
    tags: &TagIds,
    deps: &Deps,
) -> Result<(), spoke_client::SpokeError> {
    let (want, unwanted) = match access {
        Access::Granted => (&tags.access_granted, &tags.access_removed),
        Access::Removed => (&tags.access_removed, &tags.access_granted),
    };
    let want = TagId::new(want);
    let unwanted = TagId::new(unwanted);
    if !request.has_tag(&want) {
        deps.spoke()
            .add_tags(&request.id, std::slice::from_ref(&want))
            .await?;
    }
    if request.has_tag(&unwanted) {
        deps.spoke().remove_tag(&request.id, &unwanted).await?;
    }
    Ok(())
}

/// Tags every duplicate `cls-needs-attention` (once) and alerts IT once (cls-core README, "Finding the ticket").
async fn flag_duplicates(
    env: &Envelope,
    duplicates: &[FoundTicket],
    deps: &Deps,
) -> Result<(), spoke_client::SpokeError> {
    let tag = TagId::new(&deps.settings.spoke.tags.needs_attention);
    let fresh: Vec<&FoundTicket> = duplicates
        .iter()
        .filter(|t| !t.request.has_tag(&tag))
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    for t in &fresh {
        deps.spoke()
            .add_tags(&t.request.id, std::slice::from_ref(&tag))
            .await?;
    }
    deps.count("DuplicateTicketsFound", &[]);
    let ids: Vec<&str> = fresh.iter().map(|t| t.request.id.as_str()).collect();
    let alert = deps
        .alert(
            "DuplicateTicketsFound",
            format!(
                "duplicate tickets tagged cls-needs-attention: {}",
                ids.join(", ")
            ),
        )
        .subject(&env.org.login, &env.collaborator.login)
        .key(env.dedup_id().as_str());
    deps.alerts.alert(&alert).await;
    Ok(())
}

/// Adds `cls-needs-attention` to `ticket` (best effort: a failure is logged).
pub(crate) async fn flag_needs_attention(ticket: &RequestId, deps: &Deps) {
    let tag = TagId::new(&deps.settings.spoke.tags.needs_attention);
    if let Err(error) = deps
        .spoke()
        .add_tags(ticket, std::slice::from_ref(&tag))
        .await
    {
        tracing::error!(ticket_id = %ticket, error = %error, "could not tag the ticket cls-needs-attention");
    }
}
