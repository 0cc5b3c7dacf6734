//! The Slack side of the lifecycle (`docs/operations/cls.md`, "The lifecycle of one collaborator"; the Block
//! Kit shape is pinned by `crates/slack-notify/tests/fixtures/reminder.json`): the reminder DM with its two
//! buttons, the message that replaces the buttons after a click, and the short replies a clicker gets.
//!
//! Pure: builds [`Message`]s; `cls-queue` sends them.

use chrono::NaiveDate;
use slack_notify::{Block, Button, ButtonStyle, Message, escape};

use crate::button::{EXTEND_ACTION_ID, LET_EXPIRE_ACTION_ID};
use crate::dates::format_date;
use crate::ticket::RepoGrant;

/// What the reminder is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Access expires in `days` days (the threshold being sent).
    Expiry {
        /// Days left.
        days: i64,
    },
    /// Access will be removed for inactivity on `removal_on`.
    Inactivity {
        /// The planned removal date.
        removal_on: NaiveDate,
    },
}

/// The facts a reminder shows.
#[derive(Debug, Clone, Copy)]
pub struct ReminderFacts<'a> {
    /// Spoke request id (part of the `block_id`).
    pub ticket_id: &'a str,
    /// Collaborator login.
    pub login: &'a str,
    /// Org login.
    pub org: &'a str,
    /// Repositories and permissions.
    pub repositories: &'a [RepoGrant],
    /// Current expiry.
    pub expires_on: NaiveDate,
    /// Link to the ticket, when the Spoke web URL is known.
    pub ticket_link: Option<&'a str>,
    /// `CLS_EXTENSION_DAYS`, shown on the button.
    pub extension_days: u32,
}

fn repo_summary(repositories: &[RepoGrant]) -> String {
    let list: Vec<String> = repositories
        .iter()
        .map(|g| format!("{}: {}", g.full_name, g.permission))
        .collect();
    if list.is_empty() {
        String::new()
    } else {
        format!(" ({})", escape(&list.join(", ")))
    }
}

fn link(ticket_link: Option<&str>) -> String {
    ticket_link
        .map(|l| format!(" <{l}|Ticket>"))
        .unwrap_or_default()
}

/// The reminder: fallback text, a section with the facts and an actions block with
/// "Extend N days" (`cls_extend`, primary) and "Let it expire" (`cls_let_expire`), both carrying
/// `button_value` (the JSON of `crate::button::ButtonValue`). `mention` (e.g. `<@U…>`) is put first when
/// the reminder goes to the fallback channel instead of a DM.
pub fn reminder(
    facts: &ReminderFacts<'_>,
    notice: Notice,
    button_value: &str,
    mention: Option<&str>,
) -> Message {
    let login = escape(facts.login);
    let org = escape(facts.org);
    let expires = format_date(facts.expires_on);
    let prefix = mention.map(|m| format!("{m} ")).unwrap_or_default();
    let (text, detail, block_id) = match notice {
        Notice::Expiry { days } => (
            format!(
                "{}'s access to {} expires on {expires} (in {days} days)",
                facts.login, facts.org
            ),
            format!("Access ends on *{expires}* (in {days} days)."),
            format!("cls-{}-{expires}-{days}", facts.ticket_id),
        ),
        Notice::Inactivity { removal_on } => {
            let removal = format_date(removal_on);
            (
                format!(
                    "{}'s access to {} will be removed for inactivity on {removal}",
                    facts.login, facts.org
                ),
                format!(
                    "No recent activity: access will be removed on *{removal}* unless it is used or extended."
                ),
                format!("cls-{}-inactive-{removal}", facts.ticket_id),
            )
        }
    };
    let section = format!(
        "{prefix}*{login}* is an outside collaborator in *{org}*{}.\n{detail}{}",
        repo_summary(facts.repositories),
        link(facts.ticket_link)
    );
    let buttons = [
        Button::new(
            EXTEND_ACTION_ID,
            format!("Extend {} days", facts.extension_days),
        )
        .style(ButtonStyle::Primary)
        .value(button_value),
        Button::new(LET_EXPIRE_ACTION_ID, "Let it expire").value(button_value),
    ];
    Message::prompt(format!("{prefix}{text}"), section, block_id, buttons)
}

/// What replaces a reminder after a click: the facts without buttons and a context line with the outcome,
/// e.g. "Extended to 2027-08-10 by <@U…>".
pub fn resolved(login: &str, org: &str, outcome: &str) -> Message {
    Message::text(format!("{login} in {org}: {outcome}")).with_blocks(vec![
        Block::section(format!(
            "*{}* is an outside collaborator in *{}*.",
            escape(login),
            escape(org)
        )),
        Block::context(outcome.to_owned()),
    ])
}

/// The outcome line of an extension.
pub fn extended_outcome(until: NaiveDate, slack_user_id: &str) -> String {
    format!("Extended to {} by <@{slack_user_id}>", format_date(until))
}

/// The outcome line of a "Let it expire" click.
pub fn let_expire_outcome(expires_on: NaiveDate, slack_user_id: &str) -> String {
    format!(
        "Marked to expire on {} by <@{slack_user_id}>",
        format_date(expires_on)
    )
}

/// The ephemeral refusal for a clicker who may not decide (only the notified adder or an admin may).
pub fn denied(login: &str) -> String {
    format!(
        "Only the person who added {} or an IT admin can extend this access.",
        escape(login)
    )
}

/// The reply to a click on an out-of-date reminder: the current state, nothing changed.
pub fn current_state(login: &str, org: &str, open_until: Option<NaiveDate>) -> String {
    let (login, org) = (escape(login), escape(org));
    match open_until {
        Some(date) => format!(
            "This reminder is out of date: {login}'s access to {org} now expires on {}. Nothing was changed.",
            format_date(date)
        ),
        None => format!(
            "This reminder is out of date: {login}'s access to {org} is already closed. Nothing was changed."
        ),
    }
}

/// The information DM to the owner after a removal.
pub fn removed_notice(login: &str, org: &str, why: &str, ticket_link: Option<&str>) -> Message {
    let text = format!("{login}'s access to {org} was removed: {why}.");
    Message::text(text.clone()).with_blocks(vec![Block::section(format!(
        "{}{}",
        escape(&text),
        link(ticket_link)
    ))])
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::dates::parse_date;

    fn facts(grants: &[RepoGrant]) -> ReminderFacts<'_> {
        ReminderFacts {
            ticket_id: "5f0c1a2b3c4d5e6f7a8b9c0d",
            login: "octocat",
            org: "acme",
            repositories: grants,
            expires_on: parse_date("2027-05-12").unwrap(),
            ticket_link: Some("https://example.askspoke.com/next/requests/42"),
            extension_days: 90,
        }
    }

    #[test]
    fn the_reminder_matches_the_documented_block_kit() {
        let grants = [RepoGrant::parse_line("acme/widgets: write").unwrap()];
        let value = r#"{"t":"5f0c1a2b3c4d5e6f7a8b9c0d","o":38302899,"ol":"acme","u":39652351,"ul":"octocat","e":"2027-05-12"}"#;
        let message = reminder(&facts(&grants), Notice::Expiry { days: 21 }, value, None);
        message.validate().unwrap();
        let json: Value = serde_json::to_value(&message).unwrap();
        assert_eq!(
            json["text"],
            "octocat's access to acme expires on 2027-05-12 (in 21 days)"
        );
        assert_eq!(
            json["blocks"][0]["text"]["text"],
            "*octocat* is an outside collaborator in *acme* (acme/widgets: write).\nAccess ends on *2027-05-12* (in 21 days). <https://example.askspoke.com/next/requests/42|Ticket>"
        );
        assert_eq!(
            json["blocks"][1],
            json!({"type": "actions", "block_id": "cls-5f0c1a2b3c4d5e6f7a8b9c0d-2027-05-12-21", "elements": [
                {"type": "button", "action_id": "cls_extend", "style": "primary",
                 "text": {"type": "plain_text", "text": "Extend 90 days"}, "value": value},
                {"type": "button", "action_id": "cls_let_expire",
                 "text": {"type": "plain_text", "text": "Let it expire"}, "value": value}
            ]})
        );
    }

    #[test]
    fn a_fallback_reminder_mentions_the_owner_and_an_inactivity_warning_names_the_date() {
        let message = reminder(
            &facts(&[]),
            Notice::Inactivity {
                removal_on: parse_date("2026-04-08").unwrap(),
            },
            "{}",
            Some("<@U0ALICE001>"),
        );
        assert!(message.text.starts_with("<@U0ALICE001> octocat's access"));
        assert!(message.text.ends_with("for inactivity on 2026-04-08"));
    }

    #[test]
    fn the_resolved_message_has_no_buttons_and_names_who_decided() {
        let until = parse_date("2027-08-10").unwrap();
        let message = resolved("octocat", "acme", &extended_outcome(until, "U0ALICE001"));
        let json: Value = serde_json::to_value(&message).unwrap();
        assert!(
            json["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|b| b["type"] != "actions")
        );
        assert_eq!(
            json["blocks"][1]["elements"][0]["text"],
            "Extended to 2027-08-10 by <@U0ALICE001>"
        );
        assert_eq!(
            denied("octocat"),
            "Only the person who added octocat or an IT admin can extend this access."
        );
    }
}
