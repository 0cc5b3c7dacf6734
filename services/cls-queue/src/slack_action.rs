//! `slack_action` handling (README, `slack_action`): a click on a reminder's "Extend" or "Let it expire" button.
//!
//! Allowed clickers = `notify_slack_ids` ∪ the Slack ids of the adders (`added_by` and every repository's
//! adder, resolved now) ∪ `admin_user_ids`. Anyone else gets an ephemeral refusal (`ExtensionDenied`). A
//! click on a closed ticket, or whose `expected_expiry` is no longer the expiry, changes nothing and gets
//! the current state. The click id is recorded in `cls_state.deliveries`, so a replay changes nothing.

use chrono::Duration;
use cls_core::button::ButtonAction;
use cls_core::envelope::SlackActionMsg;
use cls_core::reminder::{current_state, denied, extended_outcome, let_expire_outcome, resolved};
use cls_core::review::extended_expiry;
use cls_core::ticket::{Access, Extension, Notified, UNKNOWN_ADDER};
use cls_core::{Envelope, FoundTicket, messages};
use slack_notify::{ChannelId, Message, MessageTs, SlackError};

use crate::deps::Deps;
use crate::error::{Failure, RecordError};
use crate::lifecycle::{self, on_ticket};
use crate::member::Outcome;
use crate::slack::{SlackBot, email_of_login, slack_ids_for};

/// A `response_url` is used only this long after the click (Slack accepts it for 30 minutes).
pub const RESPONSE_URL_MINUTES: i64 = 25;

/// Applies one click.
pub async fn process(
    env: &Envelope,
    msg: &SlackActionMsg,
    deps: &Deps,
) -> Result<Outcome, Failure> {
    let action = ButtonAction::parse(&msg.action)
        .ok_or(RecordError::Refused("unknown slack_action action"))?;
    let bot = deps.slack_bot().await?;
    let fresh = deps.clock.now() - env.enqueued_at < Duration::minutes(RESPONSE_URL_MINUTES);
    let accepted = deps.config.slack.accepts_response_url(&msg.response_url);
    if !accepted {
        tracing::warn!(
            outcome = "response_url_refused",
            "the click's response_url does not start with SLACK_RESPONSE_URL_PREFIX; replying by DM"
        );
    }
    let reply_to = (fresh && accepted).then_some(msg.response_url.as_str());
    let login = env.collaborator.login.as_str();
    let Some(ticket) = lifecycle::load(deps, &msg.ticket_id).await? else {
        bot.reply(
            reply_to,
            &msg.slack_user_id,
            &current_state(login, &env.org.login, None),
        )
        .await;
        return Ok("stale_click");
    };
    let fail = on_ticket(&ticket.request);
    let key = env.dedup_id();
    if ticket.fields.state.has_applied(&key) {
        deps.count("DuplicateDeliverySkipped", &[]);
        return Ok("duplicate_click");
    }
    if !is_allowed(&msg.slack_user_id, &ticket, &bot, deps)
        .await
        .map_err(&fail)?
    {
        deps.count("ExtensionDenied", &[]);
        tracing::info!(ticket_id = %ticket.request.id, slack_user_id = %msg.slack_user_id, outcome = "denied", "click by someone who may not decide");
        bot.reply(reply_to, &msg.slack_user_id, &denied(login))
            .await;
        return Ok("denied");
    }
    let fields = &ticket.fields;
    let open = fields.state.access == Access::Granted;
    let same_person = fields
        .github_user_id
        .is_none_or(|uid| uid == env.collaborator.id);
    if !open || !same_person || fields.expires_on != Some(msg.expected_expiry) {
        let until = if open { fields.expires_on } else { None };
        bot.reply(
            reply_to,
            &msg.slack_user_id,
            &current_state(login, &env.org.login, until),
        )
        .await;
        return Ok("stale_click");
    }
    let today = deps.today();
    let name = msg
        .slack_user_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| msg.slack_user_id.clone());
    let mut fields = fields.clone();
    fields.state.record(&key);
    let (text, outcome, result) = match action {
        ButtonAction::Extend => {
            let until = extended_expiry(msg.expected_expiry, today, deps.config.extension_days);
            fields.expires_on = Some(until);
            fields.state.expires_on = Some(until);
            fields.state.notified = None;
            fields.state.inactivity_warned_for = None;
            fields.state.last_activity = Some(today);
            fields.state.ext.push(Extension {
                by: msg.slack_user_id.clone(),
                on: today,
                to: until,
            });
            (
                messages::extended_via_slack(until, &name, &key),
                extended_outcome(until, &msg.slack_user_id),
                "extended",
            )
        }
        ButtonAction::LetExpire => {
            fields.state.notified = Some(Notified {
                for_date: msg.expected_expiry,
                days: deps.config.review.notify_days.clone(),
            });
            (
                messages::let_expire(msg.expected_expiry, &name, &key),
                let_expire_outcome(msg.expected_expiry, &msg.slack_user_id),
                "let_expire",
            )
        }
    };
    lifecycle::save(deps, &ticket.request, &fields, None)
        .await
        .map_err(&fail)?;
    if action == ButtonAction::Extend {
        deps.count("ExtensionApplied", &[("source", "slack")]);
    }
    lifecycle::note(deps, &ticket.request.id, &text).await;
    let update = resolved(login, &env.org.login, &outcome);
    update_original(&bot, msg, &update).await;
    tracing::info!(ticket_id = %ticket.request.id, outcome = result, "click applied");
    Ok(result)
}

/// True when `clicker` was notified, added the collaborator (any adder on the ticket), or is an admin.
async fn is_allowed(
    clicker: &str,
    ticket: &FoundTicket,
    bot: &SlackBot,
    deps: &Deps,
) -> Result<bool, RecordError> {
    let state = &ticket.fields.state;
    if state.notify_slack_ids.iter().any(|id| id == clicker)
        || bot.settings.admin_user_ids.iter().any(|id| id == clicker)
    {
        return Ok(true);
    }
    let mut adders: Vec<&str> = ticket.fields.added_by.iter().map(String::as_str).collect();
    adders.extend(
        ticket
            .fields
            .repositories
            .iter()
            .map(|g| g.added_by.as_str()),
    );
    let mut emails = Vec::new();
    for adder in adders {
        if adder != UNKNOWN_ADDER
            && let Some(email) = email_of_login(adder, deps).await?
        {
            emails.push(email);
        }
    }
    Ok(slack_ids_for(bot, &emails)
        .await?
        .iter()
        .any(|id| id.as_str() == clicker))
}

/// Replaces the reminder's buttons with the outcome (`chat.update`; a vanished message gets a new one).
/// Best effort: the ticket is already changed and the click recorded.
async fn update_original(bot: &SlackBot, msg: &SlackActionMsg, update: &Message) {
    let channel = ChannelId::new(&msg.channel_id);
    let result = match bot
        .api
        .update_message(&channel, &MessageTs::new(&msg.message_ts), update)
        .await
    {
        Err(SlackError::MessageNotFound) => {
            bot.api.post_message(&channel, update).await.map(|_| ())
        }
        other => other,
    };
    if let Err(error) = result {
        tracing::warn!(error = %error, error_kind = error.kind(), upstream = "slack", "the reminder could not be updated");
    }
}
