//! Ticket reads and writes shared by the lifecycle kinds (`review`, `slack_action`, `import`,
//! `admin_extend`): re-read by id or by collaborator, one PATCH with the complete answered-field set (the
//! applied id recorded in `cls_state.deliveries` in the same write; cls-core README, "Idempotency"), then the message.

use cls_core::lookup::decode_request;
use cls_core::{Envelope, FoundTicket, find_ticket};
use spoke_client::{
    NewMessage, Request, RequestFilter, RequestId, RequestPatch, RequestStatus, TagId, TeamId,
};

use crate::deps::Deps;
use crate::error::{Failure, RecordError};
use crate::member::{answers, lookup_settings};

/// The ticket with this id, decoded; `None` when Spoke no longer has it.
pub async fn load(deps: &Deps, id: &str) -> Result<Option<FoundTicket>, RecordError> {
    let Some(request) = deps.spoke().get_request(&RequestId::new(id)).await? else {
        return Ok(None);
    };
    let fields = decode_request(&request, &deps.settings.spoke.fields);
    Ok(Some(FoundTicket { request, fields }))
}

/// The envelope's collaborator's ticket (cls-core README, "Finding the ticket"), for commands that name a collaborator,
/// not a ticket.
pub async fn find(deps: &Deps, env: &Envelope) -> Result<Option<FoundTicket>, RecordError> {
    let spoke = &deps.settings.spoke;
    let team = TeamId::new(&spoke.team_id);
    let filter = spoke.list_filter.as_deref().map(RequestFilter::parse);
    let lookup = find_ticket(
        deps.spoke().as_ref(),
        &lookup_settings(deps, &team, filter.as_ref()),
        &env.org.login,
        env.collaborator.id,
        &env.collaborator.login,
    )
    .await?;
    Ok(lookup.primary)
}

/// PATCHes the complete answered-field set of `fields` (and `status` when given).
pub async fn save(
    deps: &Deps,
    ticket: &Request,
    fields: &cls_core::TicketFields,
    status: Option<RequestStatus>,
) -> Result<Request, RecordError> {
    let mut patch = RequestPatch {
        status,
        ..RequestPatch::default()
    };
    for (field, value) in answers(fields, deps) {
        patch = patch.answer(field, value);
    }
    Ok(deps.spoke().update_request(&ticket.id, &patch).await?)
}

/// Posts `text` to the ticket. The change it reports is already recorded, so a failure is logged with
/// `MessageMaybeLost` and never fails the record (at most once, never twice; cls-core README, "Idempotency").
pub async fn note(deps: &Deps, ticket: &RequestId, text: &str) {
    let posted = match deps.service_user().await {
        Ok(user) => deps
            .spoke()
            .post_message(ticket, &NewMessage::from_user(&user, text.to_owned()))
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(error) = posted {
        deps.count("MessageMaybeLost", &[]);
        tracing::error!(ticket_id = %ticket, error = %error, outcome = "message_maybe_lost", "ticket message not posted");
    }
}

/// Adds the tags of `add` the ticket does not carry yet.
pub async fn add_tags(deps: &Deps, ticket: &Request, add: &[&str]) -> Result<(), RecordError> {
    let missing: Vec<TagId> = add
        .iter()
        .map(|t| TagId::new(*t))
        .filter(|t| !ticket.has_tag(t))
        .collect();
    if !missing.is_empty() {
        deps.spoke().add_tags(&ticket.id, &missing).await?;
    }
    Ok(())
}

/// A link to the ticket: its permalink, else `{web_base_url}/next/requests/{id}`.
pub fn link(deps: &Deps, ticket: &Request) -> Option<String> {
    ticket.permalink.clone().or_else(|| {
        deps.settings
            .spoke
            .web_base_url
            .as_deref()
            .map(|base| format!("{}/next/requests/{}", base.trim_end_matches('/'), ticket.id))
    })
}

/// A failure about this ticket (the handler tags it `cls-needs-attention` when the failure is permanent).
pub fn on_ticket(ticket: &Request) -> impl Fn(RecordError) -> Failure + '_ {
    move |error| Failure {
        error,
        ticket: Some(ticket.id.clone()),
    }
}
