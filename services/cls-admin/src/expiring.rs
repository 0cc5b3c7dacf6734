//! `expiring`: open tickets whose access ends within a window (README, "Commands"). Read-only.

use chrono::Duration;
use cls_core::dates::format_date;
use serde_json::json;

use crate::deps::Deps;
use crate::error::AdminError;
use crate::output::{Outcome, Progress, Table};
use crate::tickets::{self, OwnerNames, Scope};

/// Parses a window: `30d` or `30` (days).
pub fn parse_window(raw: &str) -> Result<u32, String> {
    let digits = raw.trim().trim_end_matches(['d', 'D']);
    digits
        .parse::<u32>()
        .map_err(|_| format!("`{raw}` is not a number of days such as 30d"))
}

/// Runs `expiring`: tickets with access granted and an expiry on or before today + `within_days` (overdue
/// ones included), soonest first.
pub async fn run(
    deps: &Deps,
    within_days: u32,
    org: Option<&str>,
    progress: &Progress,
) -> Result<Outcome, AdminError> {
    if let Some(o) = org {
        deps.orgs(Some(o))?;
    }
    let today = deps.today();
    let until = today + Duration::days(i64::from(within_days));
    let legacy = deps.settings.github.legacy_org.as_deref();
    let web = deps.settings.spoke.web_base_url.as_deref();
    let all = tickets::list(deps, Scope::Open, org, progress).await?;
    let mut without_expiry = Vec::new();
    let mut due: Vec<_> = Vec::new();
    for t in all.into_iter().filter(tickets::Tracked::is_active) {
        match t.fields.expires_on {
            Some(e) if e <= until => due.push((e, t)),
            Some(_) => {}
            None => without_expiry.push(t),
        }
    }
    due.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.login().cmp(b.1.login())));
    let mut owners = OwnerNames::default();
    let mut table = Table::new(&[
        "org",
        "login",
        "expires_on",
        "days_left",
        "owner",
        "reminders_sent",
        "link",
    ]);
    let mut items = Vec::new();
    for (expires_on, t) in &due {
        let owner = owners
            .name(deps.spoke.as_ref(), t.request.owner.as_ref())
            .await?;
        let reminders: Vec<u32> = t
            .fields
            .state
            .notified
            .as_ref()
            .filter(|n| n.for_date == *expires_on)
            .map(|n| n.days.clone())
            .unwrap_or_default();
        let days_left = (*expires_on - today).num_days();
        let org_login = t.org(legacy).unwrap_or("").to_owned();
        let link = t.link(web);
        table.row(vec![
            org_login.clone(),
            t.login().to_owned(),
            format_date(*expires_on),
            days_left.to_string(),
            owner.clone(),
            reminders
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(","),
            link.clone(),
        ]);
        items.push(json!({
            "org": org_login, "login": t.login(), "user_id": t.fields.github_user_id,
            "expires_on": format_date(*expires_on), "days_left": days_left, "owner": owner,
            "reminders_sent": reminders, "ticket_id": t.request.id.as_str(), "link": link,
        }));
    }
    let mut text = if table.is_empty() {
        String::new()
    } else {
        table.render()
    };
    for t in &without_expiry {
        text.push_str(&format!(
            "note: {} ({}) has no readable expiry\n",
            t.login(),
            t.request.id.as_str()
        ));
    }
    text.push_str(&format!(
        "{} open tickets expire on or before {} ({within_days} days)\n",
        due.len(),
        format_date(until)
    ));
    Ok(Outcome::ok(
        json!({
            "command": "expiring", "today": format_date(today), "until": format_date(until),
            "within_days": within_days, "tickets": items,
            "without_expiry": without_expiry.iter().map(|t| t.request.id.as_str()).collect::<Vec<_>>(),
        }),
        text,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_days_with_an_optional_suffix() {
        assert_eq!(parse_window("30d"), Ok(30));
        assert_eq!(parse_window("7"), Ok(7));
        assert!(parse_window("2w").is_err());
    }
}
