//! Slack alerts (README, "Behaviour" and "Alarms"): who is told what, in which channel. Delivery and
//! de-duplication are in [`crate::delivery`].

use crate::config::Config;
use crate::event::EventContext;
use crate::outcome::{Alert, AlertKind, Facts};
use crate::secret::{Route, normalise_channel};

/// `username` of every alert.
pub const USERNAME: &str = "oncall-spoke alerts";
/// `icon_emoji` of every alert.
pub const ICON_EMOJI: &str = ":atspoke:";

/// Escapes `&`, `<` and `>` for Slack mrkdwn.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The team settings link: the `permalink`, else `https://<org>.askspoke.com/teams/<slug>`, where slug is the
/// team's `slug` or the lower-cased name with spaces as hyphens.
pub fn team_link(org: &str, permalink: Option<&str>, slug: Option<&str>, name: &str) -> String {
    if let Some(permalink) = permalink.map(str::trim).filter(|p| !p.is_empty()) {
        return permalink.to_owned();
    }
    let slug = slug
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| {
            name.trim()
                .to_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("-")
        });
    if slug.is_empty() {
        format!("https://{org}.askspoke.com/teams")
    } else {
        format!("https://{org}.askspoke.com/teams/{slug}")
    }
}

/// One message to one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The channel as configured (e.g. `#it-team`).
    pub channel: String,
    /// True for the IT message.
    pub to_it: bool,
    /// The mrkdwn text.
    pub text: String,
}

impl Message {
    /// The incoming-webhook message over `route`: `channel` only through the default webhook.
    pub fn to_slack(&self, route: &Route) -> slack_notify::Message {
        let mut message = slack_notify::Message::text(self.text.clone())
            .username(USERNAME)
            .icon_emoji(ICON_EMOJI);
        if matches!(route, Route::Default(_)) {
            message.channel = Some(self.channel.clone());
        }
        message
    }
}

/// What a message needs to know besides the alert.
#[derive(Debug, Clone, Copy)]
pub struct AlertContext<'a> {
    /// What the event said.
    pub event: &'a EventContext,
    /// What the Spoke steps learnt.
    pub facts: &'a Facts,
    /// Configuration (org, IT channel).
    pub config: &'a Config,
    /// Lambda request id.
    pub request_id: &'a str,
}

impl AlertContext<'_> {
    fn team_name(&self) -> String {
        self.facts
            .team_name
            .clone()
            .or_else(|| self.event.spoke_team.clone().filter(|s| !s.is_empty()))
            .or_else(|| self.event.team_key.clone())
            .unwrap_or_else(|| "unknown".to_owned())
    }

    fn link(&self) -> String {
        self.facts.team_link.clone().unwrap_or_else(|| {
            let name = self
                .event
                .spoke_team
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_default();
            team_link(&self.config.spoke_org, None, None, &name)
        })
    }

    /// The de-duplication key: lower-cased Spoke team name + lower-cased on-call e-mail + reason.
    pub fn dedup_key(&self, kind: AlertKind) -> String {
        let team = self
            .event
            .spoke_team
            .clone()
            .or_else(|| self.event.team_key.clone())
            .unwrap_or_default();
        let email = self.event.on_call_email.clone().unwrap_or_default();
        format!(
            "{}|{}|{}",
            team.trim().to_lowercase(),
            email.to_lowercase(),
            kind.code()
        )
    }
}

fn team_wording(alert: &Alert, person: &str, team: &str) -> String {
    match alert.kind {
        AlertKind::TeamKeyEmpty => "the on-call team entry has an empty Spoke team name".to_owned(),
        AlertKind::MalformedEvent => "the handoff data was incomplete".to_owned(),
        AlertKind::TeamNotFound => format!("the Spoke team \"{team}\" was not found"),
        AlertKind::TeamAmbiguous => format!("the Spoke team \"{team}\" is not unique"),
        AlertKind::TeamClosed => format!("the Spoke team \"{team}\" is closed"),
        AlertKind::UserNotFound | AlertKind::UserAmbiguous => {
            "no single Spoke account matches the on-call person's e-mail".to_owned()
        }
        AlertKind::NotTeamMember => format!("{person} is not a member of the {team} Spoke team"),
        AlertKind::UpdateRejected => "Spoke refused the change".to_owned(),
        AlertKind::UpdateNotApplied => "Spoke accepted the change but did not apply it".to_owned(),
        AlertKind::SpokeUnavailable => {
            "Spoke could not be reached; the service will retry automatically for up to an hour"
                .to_owned()
        }
        AlertKind::SpokeAuth => "Spoke rejected the service credentials".to_owned(),
        AlertKind::StaleEvent => {
            "the handoff event arrived too late to be applied safely".to_owned()
        }
        AlertKind::Recovered => {
            "the earlier failure for this handoff was resolved on retry".to_owned()
        }
    }
}

fn it_wording(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::TeamKeyEmpty => {
            "the on-call team entry has an empty Spoke team name; fix the team entry in the on-call team list"
        }
        AlertKind::MalformedEvent => "the handoff data was incomplete",
        AlertKind::TeamNotFound => "no open Spoke team has that name",
        AlertKind::TeamAmbiguous => "several Spoke teams have that name",
        AlertKind::TeamClosed => "the Spoke team is closed",
        AlertKind::UserNotFound => "no Spoke account matches the on-call e-mail",
        AlertKind::UserAmbiguous => "several Spoke accounts match the on-call e-mail",
        AlertKind::NotTeamMember => "the user is not an agent of the team",
        AlertKind::UpdateRejected => "Spoke refused the change",
        AlertKind::UpdateNotApplied => "Spoke accepted the change but did not apply it",
        AlertKind::SpokeUnavailable => {
            "Spoke could not be reached; the service will retry automatically for up to an hour"
        }
        AlertKind::SpokeAuth => {
            "Spoke rejected the service credentials; check or rotate the API key secret"
        }
        AlertKind::StaleEvent => {
            "the event is older than the maximum age and was not applied; check the team by hand"
        }
        AlertKind::Recovered => "the earlier failure for this handoff was resolved on retry",
    }
}

/// Renders the messages of one alert: team + IT, or IT only (one message per channel; when the team channel is
/// the IT channel, only the IT message is sent).
pub fn render(alert: &Alert, ctx: &AlertContext<'_>) -> Vec<Message> {
    let team = ctx.team_name();
    let link = ctx.link();
    let person = ctx.event.person().to_owned();
    let it_channel = ctx.config.it_channel.clone();
    let team_channel = ctx
        .event
        .team_channel
        .clone()
        .filter(|c| normalise_channel(c) != normalise_channel(&it_channel));
    let notify_team = !alert.kind.is_it_only() && team_channel.is_some();
    let header = if alert.kind == AlertKind::Recovered {
        format!(
            ":white_check_mark: <{}|{} team Spoke settings> were updated for the on-call handoff to *{}*",
            escape(&link),
            escape(&team),
            escape(&person)
        )
    } else {
        format!(
            "<{}|{} team Spoke settings> were not updated for the on-call handoff to *{}*",
            escape(&link),
            escape(&team),
            escape(&person)
        )
    };
    let mut messages = Vec::new();
    if let (true, Some(channel)) = (notify_team, &team_channel) {
        let tail = if alert.kind.is_retryable() {
            "If the setting is still wrong in an hour, change request assignment by hand using the link above. IT has been notified."
        } else {
            "Please change request assignment by hand using the link above. IT has been notified."
        };
        messages.push(Message {
            channel: channel.clone(),
            to_it: false,
            text: format!(
                ":warning: {header}.\nReason: {}.\n{tail}",
                escape(&team_wording(alert, &person, &team))
            ),
        });
    }
    let email = ctx
        .event
        .on_call_email
        .as_deref()
        .map(|e| format!(" ({})", escape(e)))
        .unwrap_or_default();
    let detail = if alert.detail.is_empty() {
        String::new()
    } else {
        format!(" ({})", escape(&alert.detail))
    };
    let channel_line = match (&ctx.event.team_channel, notify_team) {
        (None, _) => "Team channel: none (IT only).".to_owned(),
        (Some(c), _) if team_channel.is_none() => {
            format!("Team channel: {} (this channel).", escape(c))
        }
        (Some(c), true) => format!("Team channel: {} (notified).", escape(c)),
        (Some(c), false) => format!("Team channel: {} (not notified).", escape(c)),
    };
    let icon = if alert.kind == AlertKind::Recovered {
        ""
    } else {
        ":rotating_light: "
    };
    messages.push(Message {
        channel: it_channel,
        to_it: true,
        text: format!(
            "{icon}{header}{email}.\nReason: `{}`: {}{detail}.\n{channel_line}\nEvent {}, request {}.",
            alert.kind.code(),
            it_wording(alert.kind),
            escape(&ctx.event.event_id),
            escape(ctx.request_id)
        ),
    });
    messages
}

#[cfg(test)]
mod tests {
    use lambda_kit::config::pairs_lookup;

    use super::*;

    fn config(extra: &[(&str, &str)]) -> Config {
        let mut pairs = vec![("ONCALL_SECRET_ID", "s"), ("ONCALL_SPOKE_ORG", "example")];
        pairs.extend_from_slice(extra);
        Config::from_lookup(pairs_lookup(&pairs)).unwrap()
    }

    fn event() -> EventContext {
        EventContext {
            event_id: "6f1c2b0e-3a7d-4c55-9e2f-0b8d1a7c4e21".into(),
            time: None,
            team_key: Some("it".into()),
            team_channel: Some("#it-team".into()),
            spoke_team: Some("IT".into()),
            on_call_email: Some("alice@example.com".into()),
            on_call_name: Some("Alice Example".into()),
        }
    }

    #[test]
    fn the_spec_example_messages_are_rendered_for_a_non_member() {
        let config = config(&[]);
        let event = event();
        let facts = Facts::default();
        let ctx = AlertContext {
            event: &event,
            facts: &facts,
            config: &config,
            request_id: "0d3c2b1a-aaaa-bbbb-cccc-111122223333",
        };
        let alert = Alert::new(AlertKind::NotTeamMember, "");
        let messages = render(&alert, &ctx);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].channel, "#it-team");
        assert_eq!(
            messages[0].text,
            ":warning: <https://example.askspoke.com/teams/it|IT team Spoke settings> were not updated for the on-call handoff to *Alice Example*.\nReason: Alice Example is not a member of the IT Spoke team.\nPlease change request assignment by hand using the link above. IT has been notified."
        );
        assert_eq!(
            messages[1].text,
            ":rotating_light: <https://example.askspoke.com/teams/it|IT team Spoke settings> were not updated for the on-call handoff to *Alice Example* (alice@example.com).\nReason: `not_team_member`: the user is not an agent of the team.\nTeam channel: #it-team (notified).\nEvent 6f1c2b0e-3a7d-4c55-9e2f-0b8d1a7c4e21, request 0d3c2b1a-aaaa-bbbb-cccc-111122223333."
        );
    }

    #[test]
    fn interpolated_values_are_escaped_and_the_permalink_wins() {
        let config = config(&[]);
        let mut event = event();
        event.on_call_name = Some("<!channel> & co".into());
        let facts = Facts {
            team_name: Some("IT".into()),
            team_link: Some("https://example.askspoke.com/teams/it-helpdesk".into()),
            ..Facts::default()
        };
        let ctx = AlertContext {
            event: &event,
            facts: &facts,
            config: &config,
            request_id: "r",
        };
        let messages = render(&Alert::new(AlertKind::UpdateRejected, "HTTP 403"), &ctx);
        for m in &messages {
            assert!(m.text.contains("&lt;!channel&gt; &amp; co"), "{}", m.text);
            assert!(m.text.contains(
                "<https://example.askspoke.com/teams/it-helpdesk|IT team Spoke settings>"
            ));
        }
    }

    #[test]
    fn it_only_alerts_and_a_shared_channel_produce_one_message() {
        let event = event();
        let facts = Facts::default();
        let shared = config(&[("ONCALL_IT_CHANNEL", "#IT-team")]);
        let ctx = AlertContext {
            event: &event,
            facts: &facts,
            config: &shared,
            request_id: "r",
        };
        let messages = render(&Alert::new(AlertKind::TeamNotFound, "scanned 3"), &ctx);
        assert_eq!(messages.len(), 1);
        assert!(messages[0].to_it);
        let normal = config(&[]);
        let ctx = AlertContext {
            config: &normal,
            ..ctx
        };
        let stale = render(&Alert::new(AlertKind::StaleEvent, "old"), &ctx);
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].channel, "#alerts_it");
        assert!(stale[0].text.contains("`stale_event`"));
    }

    #[test]
    fn links_fall_back_to_the_org_and_slug() {
        assert_eq!(
            team_link("example", None, None, "IT Help Desk"),
            "https://example.askspoke.com/teams/it-help-desk"
        );
        assert_eq!(
            team_link("example", None, Some("ithd"), "IT"),
            "https://example.askspoke.com/teams/ithd"
        );
        assert_eq!(
            team_link("example", Some("https://x/teams/y"), Some("z"), "IT"),
            "https://x/teams/y"
        );
    }
}
