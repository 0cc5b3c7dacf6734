//! `admin_extend` handling (README, `admin_extend`; from `cls-admin extend`): the operator's new expiry, reminders
//! reset, an `ext` entry naming the operator, and a ticket message naming them. Idempotent on the command id.

use cls_core::envelope::AdminExtendMsg;
use cls_core::ticket::{Access, Extension};
use cls_core::{Envelope, messages};

use crate::deps::Deps;
use crate::error::{Failure, RecordError};
use crate::lifecycle::{self, on_ticket};
use crate::member::Outcome;

/// Applies one operator extension. No ticket, closed access or a date not in the future are refused
/// (permanent: the operator is told by the alert).
pub async fn process(
    env: &Envelope,
    msg: &AdminExtendMsg,
    deps: &Deps,
) -> Result<Outcome, Failure> {
    let Some(ticket) = lifecycle::find(deps, env).await? else {
        return Err(RecordError::Refused("no ticket tracks this collaborator").into());
    };
    let fail = on_ticket(&ticket.request);
    let key = env.dedup_id();
    if ticket.fields.state.has_applied(&key) {
        deps.count("DuplicateDeliverySkipped", &[]);
        return Ok("duplicate_command");
    }
    if ticket.fields.state.access != Access::Granted {
        return Err(fail(RecordError::Refused(
            "access is closed; it cannot be extended (re-add the collaborator on GitHub)",
        )));
    }
    let today = deps.today();
    if msg.until <= today {
        return Err(fail(RecordError::Refused(
            "the new expiry is not in the future",
        )));
    }
    let mut fields = ticket.fields.clone();
    fields.expires_on = Some(msg.until);
    fields.state.expires_on = Some(msg.until);
    fields.state.notified = None;
    fields.state.inactivity_warned_for = None;
    fields.state.ext.push(Extension {
        by: msg.operator.clone(),
        on: today,
        to: msg.until,
    });
    fields.state.record(&key);
    lifecycle::save(deps, &ticket.request, &fields, None)
        .await
        .map_err(&fail)?;
    deps.count("ExtensionApplied", &[("source", "cls_admin")]);
    let text = messages::admin_extended(msg.until, &msg.operator, msg.reason.as_deref(), &key);
    lifecycle::note(deps, &ticket.request.id, &text).await;
    tracing::info!(ticket_id = %ticket.request.id, outcome = "extended", "operator extension applied");
    Ok("extended")
}
