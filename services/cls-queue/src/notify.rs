//! Sending a reminder (README, `review`, **notify**): recipients = the Slack ids of the ticket owner and, if different,
//! the primary adder (identity directory or Spoke → e-mail → `users.lookupByEmail`), each reached by
//! `conversations.open` + `chat.postMessage`. Nobody reachable, or every DM refused → the fallback channel, mentioning
//! the org's default owner (metric `NotificationFallback`).

use cls_core::button::ButtonValue;
use cls_core::reminder::{Notice, ReminderFacts, reminder};
use cls_core::settings::OrgSettings;
use cls_core::{Envelope, FoundTicket};
use slack_notify::{ChannelId, Message, UserId};

use crate::deps::Deps;
use crate::error::RecordError;
use crate::lifecycle;
use crate::slack::{SlackBot, email_of_login, email_of_spoke_user, slack_ids_for};

/// Where a reminder went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The Slack ids reached (stored in `notify_slack_ids`; they may click the buttons).
    pub slack_ids: Vec<String>,
    /// Human text for the ticket message: `<@U…>, <@U…>` or `the fallback channel C…`.
    pub recipients: String,
}

/// The e-mails of the ticket owner and the primary adder, owner first.
async fn recipient_emails(ticket: &FoundTicket, deps: &Deps) -> Result<Vec<String>, RecordError> {
    let mut emails = Vec::new();
    if let Some(owner) = &ticket.request.owner
        && let Some(email) = email_of_spoke_user(owner, deps).await?
    {
        emails.push(email);
    }
    if let Some(adder) = ticket.fields.added_by.as_deref()
        && let Some(email) = email_of_login(adder, deps).await?
    {
        emails.push(email);
    }
    Ok(emails)
}

/// Sends one reminder for `ticket` and says where it went. A transient Slack failure fails the record
/// (retried); a permanent DM failure falls back to the channel.
pub async fn send_reminder(
    env: &Envelope,
    org: &OrgSettings,
    ticket: &FoundTicket,
    notice: Notice,
    bot: &SlackBot,
    deps: &Deps,
) -> Result<Delivered, RecordError> {
    let fields = &ticket.fields;
    let expires_on = fields
        .expires_on
        .ok_or(RecordError::Refused("the ticket has no expiry"))?;
    let login = fields
        .github_login
        .clone()
        .unwrap_or_else(|| env.collaborator.login.clone());
    let value = ButtonValue {
        ticket_id: ticket.request.id.as_str().to_owned(),
        org_id: env.org.id,
        org_login: env.org.login.clone(),
        user_id: fields.github_user_id.unwrap_or(env.collaborator.id),
        user_login: login.clone(),
        expires_on,
    }
    .encode()
    .map_err(|_| RecordError::Refused("the button value is too long"))?;
    let link = lifecycle::link(deps, &ticket.request);
    let facts = ReminderFacts {
        ticket_id: ticket.request.id.as_str(),
        login: &login,
        org: &env.org.login,
        repositories: &fields.repositories,
        expires_on,
        ticket_link: link.as_deref(),
        extension_days: deps.config.extension_days,
    };
    let days = match notice {
        Notice::Expiry { days } => days.to_string(),
        Notice::Inactivity { .. } => "inactivity".to_owned(),
    };
    let message = reminder(&facts, notice, &value, None);
    let ids = slack_ids_for(bot, &recipient_emails(ticket, deps).await?).await?;
    let mut reached = Vec::new();
    for id in &ids {
        match bot.dm(id, &message).await {
            Ok(_) => reached.push(id.as_str().to_owned()),
            Err(e) if e.is_transient() => return Err(e.into()),
            Err(error) => {
                tracing::warn!(error = %error, error_kind = error.kind(), upstream = "slack", "reminder DM refused");
            }
        }
    }
    if !reached.is_empty() {
        deps.count("NotificationSent", &[("days", &days), ("channel", "dm")]);
        let recipients = reached
            .iter()
            .map(|id| format!("<@{id}>"))
            .collect::<Vec<_>>()
            .join(", ");
        return Ok(Delivered {
            slack_ids: reached,
            recipients,
        });
    }
    // Nobody reachable by DM: the fallback channel, mentioning the default owner.
    let channel = bot
        .settings
        .fallback_channel_id
        .clone()
        .filter(|c| !c.trim().is_empty())
        .ok_or(RecordError::Refused(
            "no Slack recipient and no fallback_channel_id in the Slack secret",
        ))?;
    let owner_id = match org.default_owner.email.as_deref() {
        Some(email) => bot.api.lookup_user_by_email(email).await?,
        None => None,
    };
    let mention = owner_id.as_ref().map_or_else(
        || format!("@{}", org.default_owner.github_login),
        |id| format!("<@{id}>"),
    );
    let message = reminder(&facts, notice, &value, Some(&mention));
    bot.api
        .post_message(&ChannelId::new(&channel), &message)
        .await?;
    deps.count("NotificationFallback", &[]);
    deps.count(
        "NotificationSent",
        &[("days", &days), ("channel", "fallback")],
    );
    Ok(Delivered {
        slack_ids: owner_id.map(UserId::into_inner).into_iter().collect(),
        recipients: format!("the fallback channel {channel}"),
    })
}

/// Tells the ticket owner that access was removed. Best effort: every failure is logged.
pub async fn tell_owner(ticket: &FoundTicket, message: &Message, deps: &Deps) {
    let result = async {
        let bot = deps.slack_bot().await?;
        let Some(owner) = &ticket.request.owner else {
            return Ok::<_, RecordError>(());
        };
        let emails: Vec<String> = email_of_spoke_user(owner, deps)
            .await?
            .into_iter()
            .collect();
        for id in slack_ids_for(&bot, &emails).await? {
            bot.dm(&id, message).await?;
        }
        Ok(())
    }
    .await;
    if let Err(error) = result {
        tracing::warn!(error = %error.chain(), ticket_id = %ticket.request.id, "removal notice to the owner not sent");
    }
}
