//! Ticket subject, body and the plain-text messages of cls.md §6.2–6.3.
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
