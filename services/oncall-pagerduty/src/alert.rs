//! The IT alerts of this service, rendered for it-alert (ADR 0016): an on-call person PagerDuty has no e-mail
//! for, and an API key PagerDuty refuses.

use it_alert::ItAlert;

use crate::config::TeamMapping;
use crate::pagerduty::User;

/// The alert for a due event whose on-call person has no usable e-mail: nobody is guessed.
pub fn unknown_user(team: &TeamMapping, user: &User) -> ItAlert {
    let link = user
        .html_url
        .as_deref()
        .map_or_else(String::new, |url| format!(" <{url}|profile>"));
    ItAlert::text(
        "unknown_user",
        format!("unknown_user|{}|{}", team.source.id(), user.id),
        format!(
            ":warning: *oncall-pagerduty*: {name} (PagerDuty user `{id}`{link}) is on call for *{team}* \
             (`{source}`), but PagerDuty has no usable e-mail for them, so Spoke team *{spoke}* was not \
             handed to them. Add their e-mail in PagerDuty (it must match their Spoke account); the next run \
             picks it up. Until then set the Spoke assignment by hand.",
            name = user.display_name(),
            id = user.id,
            team = team.team,
            source = team.source.id(),
            spoke = team.spoke_team,
        ),
    )
}

/// The alert for a key PagerDuty refuses even after the secret was read again.
pub fn key_refused(secret_id: &str, status: u16) -> ItAlert {
    ItAlert::text(
        "pagerduty_auth",
        format!("pagerduty_auth|{secret_id}"),
        format!(
            ":rotating_light: *oncall-pagerduty*: PagerDuty refused the API key in secret `{secret_id}` \
             (HTTP {status}); no handoff is read until it is replaced with a valid read-only REST API key."
        ),
    )
}
