//! Ticket subject, body and the plain-text messages posted on the ticket (crate README, "The ticket").
//!
//! Every message ends with ` [cls:{key}]` (the delivery or command id) for audit; Spoke cannot read messages
//! back, so the marker is never used for deduplication.

use chrono::{DateTime, NaiveDate, Utc};

use crate::dates::{format_date, format_instant};

/// `{login} Collaborator Access ({org})`.
pub fn subject(login: &str, org: &str) -> String {
    format!("{login} Collaborator Access ({org})")
}

/// The body of a new ticket.
pub fn body(
    login: &str,
    permission: &str,
    repo: &str,
    adder: &str,
    at: DateTime<Utc>,
    expires_on: NaiveDate,
) -> String {
    format!(
        "'{login}' was added with {permission} permissions to {repo} by '{adder}' at UTC {}. Access expires on {}.",
        format_instant(at),
        format_date(expires_on)
    )
}

/// Appends the audit marker.
pub fn with_marker(text: &str, key: &str) -> String {
    format!("{text} [cls:{key}]")
}

/// A repository was added to an open ticket.
pub fn added(
    login: &str,
    permission: &str,
    repo: &str,
    adder: &str,
    at: DateTime<Utc>,
    key: &str,
) -> String {
    with_marker(
        &format!(
            "'{login}' was added with {permission} permissions to {repo} by '{adder}' at UTC {}.",
            format_instant(at)
        ),
        key,
    )
}

/// A closed ticket was reopened by a new grant.
pub fn readded(
    login: &str,
    permission: &str,
    repo: &str,
    adder: &str,
    at: DateTime<Utc>,
    expires_on: NaiveDate,
    key: &str,
) -> String {
    with_marker(
        &format!(
            "'{login}' was added again with {permission} permissions to {repo} by '{adder}' at UTC {}. Access reopened; it expires on {}.",
            format_instant(at),
            format_date(expires_on)
        ),
        key,
    )
}

/// A permission changed.
pub fn edited(
    login: &str,
    old: &str,
    new: &str,
    repo: &str,
    actor: &str,
    at: DateTime<Utc>,
    key: &str,
) -> String {
    with_marker(
        &format!(
            "'{login}' had permissions changed from {old} to {new} in {repo} by '{actor}' at UTC {}.",
            format_instant(at)
        ),
        key,
    )
}

/// A repository was removed; `closed` adds the closing sentence.
pub fn removed(
    login: &str,
    repo: &str,
    actor: &str,
    at: DateTime<Utc>,
    closed: bool,
    key: &str,
) -> String {
    let mut text = format!(
        "'{login}' was removed from {repo} by '{actor}' at UTC {}.",
        format_instant(at)
    );
    if closed {
        text.push_str(" No repositories left; access closed.");
    }
    with_marker(&text, key)
}

/// CLS removed the collaborator (expiry or inactivity) or found the account gone.
pub fn access_removed(login: &str, org: &str, why: &str, key: &str) -> String {
    with_marker(
        &format!("'{login}' was removed from {org} by CLS: {why}. Access closed."),
        key,
    )
}

/// The collaborator became an organisation member: the ticket closes without a removal.
pub fn became_member(login: &str, org: &str, key: &str) -> String {
    with_marker(
        &format!(
            "'{login}' is now a member of {org}; outside-collaborator access closed without removal."
        ),
        key,
    )
}

/// A reminder went out.
pub fn reminder_sent(recipients: &str, expires_on: NaiveDate, days: u32, key: &str) -> String {
    with_marker(
        &format!(
            "Reminder sent to {recipients}: access expires on {} (in {days} days).",
            format_date(expires_on)
        ),
        key,
    )
}

/// An inactivity warning went out.
pub fn inactivity_warned(recipients: &str, removal_on: NaiveDate, key: &str) -> String {
    with_marker(
        &format!(
            "Inactivity warning sent to {recipients}: access will be removed on {} unless it is used or extended.",
            format_date(removal_on)
        ),
        key,
    )
}

/// A Slack extension.
pub fn extended_via_slack(until: NaiveDate, name: &str, key: &str) -> String {
    with_marker(
        &format!(
            "Access extended to {} by {name} via Slack.",
            format_date(until)
        ),
        key,
    )
}

/// A "Let it expire" click.
pub fn let_expire(expires_on: NaiveDate, name: &str, key: &str) -> String {
    with_marker(
        &format!(
            "{name} chose to let access expire on {} via Slack; no further reminders for this date.",
            format_date(expires_on)
        ),
        key,
    )
}

/// The body of a ticket created by an import.
pub fn import_body(
    login: &str,
    repositories: &str,
    adder: &str,
    source: &str,
    expires_on: NaiveDate,
) -> String {
    format!(
        "'{login}' has access to {repositories} (added by '{adder}'); imported by cls-admin ({source}). Access expires on {}.",
        format_date(expires_on)
    )
}

/// A collaborator adopted by `cls-admin backfill`.
pub fn imported(source: &str, key: &str) -> String {
    with_marker(&format!("Imported by cls-admin ({source})."), key)
}

/// Missing fields of an existing ticket filled by an import.
pub fn import_filled(source: &str, filled: &[&str], key: &str) -> String {
    with_marker(
        &format!(
            "Imported by cls-admin ({source}): filled {}.",
            filled.join(", ")
        ),
        key,
    )
}

/// An operator's extension with `cls-admin extend`; names the operator.
pub fn admin_extended(until: NaiveDate, operator: &str, reason: Option<&str>, key: &str) -> String {
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| format!(" Reason: {r}."))
        .unwrap_or_default();
    with_marker(
        &format!(
            "Access extended to {} by {operator} via cls-admin.{reason}",
            format_date(until)
        ),
        key,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-05-12T14:03:11Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn subject_and_body_follow_the_spec() {
        assert_eq!(
            subject("octocat", "acme"),
            "octocat Collaborator Access (acme)"
        );
        assert_eq!(
            body(
                "octocat",
                "maintain",
                "acme/widgets",
                "alice",
                at(),
                NaiveDate::from_ymd_opt(2027, 5, 12).unwrap()
            ),
            "'octocat' was added with maintain permissions to acme/widgets by 'alice' at UTC 2026-05-12T14:03:11Z. Access expires on 2027-05-12."
        );
    }

    #[test]
    fn messages_end_with_the_audit_marker() {
        assert_eq!(
            added("octocat", "write", "acme/apps", "alice", at(), "d-1"),
            "'octocat' was added with write permissions to acme/apps by 'alice' at UTC 2026-05-12T14:03:11Z. [cls:d-1]"
        );
        assert_eq!(
            edited("octocat", "read", "write", "acme/apps", "bob", at(), "d-2"),
            "'octocat' had permissions changed from read to write in acme/apps by 'bob' at UTC 2026-05-12T14:03:11Z. [cls:d-2]"
        );
        assert_eq!(
            removed("octocat", "acme/apps", "bob", at(), true, "d-3"),
            "'octocat' was removed from acme/apps by 'bob' at UTC 2026-05-12T14:03:11Z. No repositories left; access closed. [cls:d-3]"
        );
        let day = NaiveDate::from_ymd_opt(2027, 8, 10).unwrap();
        assert_eq!(
            extended_via_slack(day, "Alice Example", "slack-1"),
            "Access extended to 2027-08-10 by Alice Example via Slack. [cls:slack-1]"
        );
        assert_eq!(
            admin_extended(day, "ops@example.com", Some("audit"), "extend-1"),
            "Access extended to 2027-08-10 by ops@example.com via cls-admin. Reason: audit. [cls:extend-1]"
        );
        assert_eq!(
            imported("github_api", "import-1"),
            "Imported by cls-admin (github_api). [cls:import-1]"
        );
        assert!(
            readded(
                "octocat",
                "write",
                "acme/apps",
                "bob",
                at(),
                NaiveDate::from_ymd_opt(2027, 5, 12).unwrap(),
                "d-4"
            )
            .ends_with("expires on 2027-05-12. [cls:d-4]")
        );
    }
}
