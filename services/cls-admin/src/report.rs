//! `report`: every tracked collaborator, whatever the ticket status, with the evidence an access review asks
//! for: org, repositories and permissions, who added them and when, expiry, reminders sent, extensions with
//! who approved them and when, and status. Read-only.

use cls_core::dates::format_date;
use cls_core::ticket::{Access, RemovalReason};
use serde::Serialize;
use serde_json::json;

use crate::deps::Deps;
use crate::error::AdminError;
use crate::output::{Outcome, Progress, Table};
use crate::tickets::{self, OwnerNames, Scope, Tracked};

/// Output format of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A human table.
    Table,
    /// RFC 4180 CSV with a header row (the columns of [`CSV_COLUMNS`]).
    Csv,
    /// One JSON document.
    Json,
}

/// The CSV header.
pub const CSV_COLUMNS: [&str; 19] = [
    "org",
    "login",
    "user_id",
    "status",
    "access",
    "removal_reason",
    "removed_on",
    "repositories",
    "added_by",
    "added_on",
    "expires_on",
    "reminders_sent",
    "reminders_for",
    "extensions",
    "last_activity",
    "owner",
    "email",
    "ticket_id",
    "link",
];

/// One repository grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoRow {
    /// `org/name`.
    pub full_name: String,
    /// Permission or role.
    pub permission: String,
    /// Who granted it.
    pub added_by: String,
    /// When.
    pub added_on: Option<String>,
}

/// One extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtensionRow {
    /// The new expiry.
    pub to: String,
    /// Who approved it (Slack id or operator).
    pub by: String,
    /// When.
    pub on: String,
}

/// One tracked collaborator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// Org login.
    pub org: String,
    /// GitHub login.
    pub login: String,
    /// GitHub user id.
    pub user_id: Option<u64>,
    /// `active`, or `removed (<reason>)`.
    pub status: String,
    /// Spoke status (`OPEN`, `RESOLVED`, …).
    pub ticket_status: String,
    /// `granted` or `removed`.
    pub access: String,
    /// `github`, `expired`, `inactive`, `became_member`, when removed.
    pub removal_reason: Option<String>,
    /// When access was removed.
    pub removed_on: Option<String>,
    /// Repositories and permissions.
    pub repositories: Vec<RepoRow>,
    /// Primary adder.
    pub added_by: String,
    /// When access was (last) granted.
    pub added_on: Option<String>,
    /// Expiry.
    pub expires_on: Option<String>,
    /// Reminder thresholds (days before expiry) sent for `reminders_for`.
    pub reminders_sent: Vec<u32>,
    /// The expiry the reminders were for.
    pub reminders_for: Option<String>,
    /// Extensions, oldest first.
    pub extensions: Vec<ExtensionRow>,
    /// Latest recorded activity.
    pub last_activity: Option<String>,
    /// Ticket owner (e-mail or name).
    pub owner: String,
    /// Collaborator e-mail, or `n/a`.
    pub email: String,
    /// Spoke request id.
    pub ticket_id: String,
    /// Ticket link.
    pub link: String,
}

fn reason_name(r: RemovalReason) -> &'static str {
    match r {
        RemovalReason::Github => "github",
        RemovalReason::Expired => "expired",
        RemovalReason::Inactive => "inactive",
        RemovalReason::BecameMember => "became_member",
    }
}

fn row(t: &Tracked, legacy: Option<&str>, web: Option<&str>, owner: String) -> ReportRow {
    let f = &t.fields;
    let s = &f.state;
    let date = |d: Option<chrono::NaiveDate>| d.map(format_date);
    let removed = s.access == Access::Removed || !cls_core::lookup::is_open(&t.request);
    let reason = s.reason.map(reason_name).map(str::to_owned);
    let added_on = s
        .granted_on
        .or_else(|| f.repositories.iter().filter_map(|g| g.added_on).min());
    ReportRow {
        org: t.org(legacy).unwrap_or("").to_owned(),
        login: t.login().to_owned(),
        user_id: f.github_user_id,
        status: if removed {
            format!("removed ({})", reason.as_deref().unwrap_or("unknown"))
        } else {
            "active".to_owned()
        },
        ticket_status: t.status(),
        access: if removed { "removed" } else { "granted" }.to_owned(),
        removal_reason: reason,
        removed_on: date(s.removed_on),
        repositories: f
            .repositories
            .iter()
            .map(|g| RepoRow {
                full_name: g.full_name.clone(),
                permission: g.permission.clone(),
                added_by: g.added_by.clone(),
                added_on: date(g.added_on),
            })
            .collect(),
        added_by: f.added_by.clone().unwrap_or_else(|| "unknown".to_owned()),
        added_on: date(added_on),
        expires_on: date(f.expires_on),
        reminders_sent: s
            .notified
            .as_ref()
            .map(|n| n.days.clone())
            .unwrap_or_default(),
        reminders_for: s.notified.as_ref().map(|n| format_date(n.for_date)),
        extensions: s
            .ext
            .iter()
            .map(|e| ExtensionRow {
                to: format_date(e.to),
                by: e.by.clone(),
                on: format_date(e.on),
            })
            .collect(),
        last_activity: date(s.last_activity),
        owner,
        email: f
            .collaborator_email
            .clone()
            .unwrap_or_else(|| "n/a".to_owned()),
        ticket_id: t.request.id.as_str().to_owned(),
        link: t.link(web),
    }
}

/// Every tracked collaborator (all five ticket statuses), optionally of one org, ordered by org and login.
pub async fn rows(
    deps: &Deps,
    org: Option<&str>,
    progress: &Progress,
) -> Result<Vec<ReportRow>, AdminError> {
    if let Some(o) = org {
        deps.orgs(Some(o))?;
    }
    let legacy = deps.settings.github.legacy_org.as_deref();
    let web = deps.settings.spoke.web_base_url.as_deref();
    let tickets = tickets::list(deps, Scope::All, org, progress).await?;
    let mut owners = OwnerNames::default();
    let mut out = Vec::with_capacity(tickets.len());
    for t in &tickets {
        let owner = owners
            .name(deps.spoke.as_ref(), t.request.owner.as_ref())
            .await?;
        out.push(row(t, legacy, web, owner));
    }
    out.sort_by(|a, b| {
        (a.org.to_lowercase(), a.login.to_lowercase(), &a.ticket_id).cmp(&(
            b.org.to_lowercase(),
            b.login.to_lowercase(),
            &b.ticket_id,
        ))
    });
    Ok(out)
}

fn csv_record(r: &ReportRow) -> Vec<String> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        r.org.clone(),
        r.login.clone(),
        r.user_id.map(|i| i.to_string()).unwrap_or_default(),
        r.status.clone(),
        r.access.clone(),
        opt(&r.removal_reason),
        opt(&r.removed_on),
        r.repositories
            .iter()
            .map(|g| match &g.added_on {
                Some(on) => format!(
                    "{}: {} (added by {} {on})",
                    g.full_name, g.permission, g.added_by
                ),
                None => format!(
                    "{}: {} (added by {})",
                    g.full_name, g.permission, g.added_by
                ),
            })
            .collect::<Vec<_>>()
            .join("; "),
        r.added_by.clone(),
        opt(&r.added_on),
        opt(&r.expires_on),
        r.reminders_sent
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(","),
        opt(&r.reminders_for),
        r.extensions
            .iter()
            .map(|e| format!("{} by {} on {}", e.to, e.by, e.on))
            .collect::<Vec<_>>()
            .join("; "),
        opt(&r.last_activity),
        r.owner.clone(),
        r.email.clone(),
        r.ticket_id.clone(),
        r.link.clone(),
    ]
}

/// The rows as CSV with the [`CSV_COLUMNS`] header.
pub fn to_csv(rows: &[ReportRow]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut ok = writer.write_record(CSV_COLUMNS).is_ok();
    for r in rows {
        ok &= writer.write_record(csv_record(r)).is_ok();
    }
    debug_assert!(ok, "writing CSV to memory cannot fail");
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Runs `report`.
pub async fn run(
    deps: &Deps,
    org: Option<&str>,
    format: Format,
    progress: &Progress,
) -> Result<Outcome, AdminError> {
    let rows = rows(deps, org, progress).await?;
    let active = rows.iter().filter(|r| r.access == "granted").count();
    let document = json!({
        "command": "report", "generated_on": format_date(deps.today()), "org": org,
        "collaborators": rows, "active": active, "removed": rows.len() - active,
    });
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&document).unwrap_or_default() + "\n",
        Format::Csv => to_csv(&rows),
        Format::Table => {
            let mut table = Table::new(&[
                "org",
                "login",
                "status",
                "repositories",
                "added_by",
                "added_on",
                "expires_on",
                "reminders",
                "extensions",
                "owner",
            ]);
            for r in &rows {
                table.row(vec![
                    r.org.clone(),
                    r.login.clone(),
                    r.status.clone(),
                    r.repositories
                        .iter()
                        .map(|g| format!("{}:{}", g.full_name, g.permission))
                        .collect::<Vec<_>>()
                        .join(" "),
                    r.added_by.clone(),
                    r.added_on.clone().unwrap_or_default(),
                    r.expires_on.clone().unwrap_or_default(),
                    r.reminders_sent
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                    r.extensions
                        .iter()
                        .map(|e| format!("{} by {} on {}", e.to, e.by, e.on))
                        .collect::<Vec<_>>()
                        .join("; "),
                    r.owner.clone(),
                ]);
            }
            format!(
                "{}{} tracked collaborators: {active} active, {} removed\n",
                table.render(),
                rows.len(),
                rows.len() - active
            )
        }
    };
    Ok(Outcome::ok(document, text))
}
