//! `extend ORG/LOGIN`: an operator's extension, enqueued as `admin_extend` (README, "Commands"); `cls-queue` moves
//! the expiry and posts a ticket message naming the operator.

use chrono::{Duration, NaiveDate};
use cls_core::dates::format_date;
use cls_core::envelope::command_dedup_id;
use cls_core::lookup::decode_request;
use cls_core::{AccountRef, AdminExtendMsg, Envelope, OrgRef, Payload};
use serde_json::json;
use spoke_client::{RequestFilter, RequestQuery, TeamId};

use crate::deps::Deps;
use crate::error::AdminError;
use crate::output::{Outcome, Table};
use crate::tickets::Tracked;

/// The new expiry: a date, or a number of days after max(current expiry, today).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// `--until DATE`.
    Date(NaiveDate),
    /// `--days N`.
    Days(u32),
}

/// What `extend` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendRequest {
    /// `ORG/LOGIN`.
    pub target: String,
    /// The new expiry.
    pub until: Until,
    /// Why (shown in the ticket message).
    pub reason: Option<String>,
    /// Who runs the command.
    pub operator: String,
    /// Print the plan only.
    pub dry_run: bool,
}

/// Splits `ORG/LOGIN`.
pub fn split_target(target: &str) -> Result<(&str, &str), AdminError> {
    match target.split_once('/') {
        Some((org, login)) if !org.is_empty() && !login.is_empty() && !login.contains('/') => {
            Ok((org, login))
        }
        _ => Err(AdminError::Usage(format!(
            "`{target}` is not ORG/LOGIN (e.g. acme/octocat)"
        ))),
    }
}

/// The collaborator's open ticket in `org`, found by a text search for the login (all pages) and an exact
/// match on the org and login fields; the oldest when there are several.
pub async fn find_open_ticket(
    deps: &Deps,
    org: &str,
    login: &str,
) -> Result<Option<Tracked>, AdminError> {
    let spoke = &deps.settings.spoke;
    let query = RequestQuery {
        team: Some(TeamId::new(&spoke.team_id)),
        filter: spoke.list_filter.as_deref().map(RequestFilter::parse),
        q: Some(format!("\"{login}\"")),
        limit: Some(100),
        ..RequestQuery::all_statuses()
    };
    let legacy = deps.settings.github.legacy_org.as_deref();
    let mut found: Vec<Tracked> = deps
        .spoke
        .all_requests(&query)
        .await?
        .into_iter()
        .map(|request| {
            let fields = decode_request(&request, &spoke.fields);
            Tracked { request, fields }
        })
        .filter(|t| {
            t.login().eq_ignore_ascii_case(login)
                && t.org(legacy).is_some_and(|o| o.eq_ignore_ascii_case(org))
                && t.is_active()
        })
        .collect();
    found.sort_by(|a, b| a.request.created_at.cmp(&b.request.created_at));
    Ok(found.into_iter().next())
}

/// Runs `extend`.
pub async fn run(deps: &Deps, request: &ExtendRequest) -> Result<Outcome, AdminError> {
    let (org_login, login) = split_target(&request.target)?;
    let org = deps
        .settings
        .org(org_login)
        .cloned()
        .ok_or_else(|| AdminError::Usage(format!("org {org_login} is not configured")))?;
    let ticket = find_open_ticket(deps, &org.org, login)
        .await?
        .ok_or_else(|| {
            AdminError::Usage(format!(
                "no open ticket with access granted for {}/{login}",
                org.org
            ))
        })?;
    let user_id = match ticket.fields.github_user_id {
        Some(id) => id,
        None => deps
            .github
            .outside_collaborators(&org.org)
            .await?
            .into_iter()
            .find(|u| u.login.eq_ignore_ascii_case(login))
            .map(|u| u.id)
            .ok_or_else(|| {
                AdminError::Usage(format!(
                    "the ticket has no user id and {login} is not an outside collaborator of {}",
                    org.org
                ))
            })?,
    };
    let today = deps.today();
    let current = ticket.fields.expires_on;
    let until = match request.until {
        Until::Date(d) => d,
        Until::Days(n) => current.unwrap_or(today).max(today) + Duration::days(i64::from(n)),
    };
    if until <= today {
        return Err(AdminError::Usage(format!(
            "the new expiry {} is not after today ({})",
            format_date(until),
            format_date(today)
        )));
    }
    let reason = request.reason.clone().filter(|r| !r.trim().is_empty());
    let arguments = format!(
        "until={};reason={};operator={}",
        format_date(until),
        reason.as_deref().unwrap_or(""),
        request.operator
    );
    let message = AdminExtendMsg {
        command_id: command_dedup_id("extend", org.org_id, user_id, &arguments),
        until,
        reason,
        operator: request.operator.clone(),
    };
    let envelope = Envelope {
        enqueued_at: deps.clock.now(),
        org: OrgRef {
            id: org.org_id,
            login: org.org.clone(),
        },
        collaborator: AccountRef {
            id: user_id,
            login: ticket.login().to_owned(),
        },
        payload: Payload::AdminExtend(message.clone()),
    };
    let result = if request.dry_run {
        "planned (dry run, nothing sent)".to_owned()
    } else {
        crate::queue::send(deps.queue.as_ref(), &envelope).await?;
        "enqueued".to_owned()
    };
    let link = ticket.link(deps.settings.spoke.web_base_url.as_deref());
    let mut table = Table::new(&[
        "org",
        "login",
        "expires_on",
        "new_expiry",
        "operator",
        "ticket",
        "result",
    ]);
    table.row(vec![
        org.org.clone(),
        ticket.login().to_owned(),
        current.map(format_date).unwrap_or_default(),
        format_date(until),
        request.operator.clone(),
        link.clone(),
        result.clone(),
    ]);
    let mut text = table.render();
    if current.is_some_and(|c| until < c) {
        text.push_str("note: the new expiry is earlier than the current one\n");
    }
    Ok(Outcome::ok(
        json!({
            "command": "extend", "dry_run": request.dry_run, "org": org.org, "login": ticket.login(),
            "user_id": user_id, "ticket_id": ticket.request.id.as_str(), "link": link,
            "expires_on": current.map(format_date), "admin_extend": message, "result": result,
        }),
        text,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_org_slash_login() {
        assert_eq!(split_target("acme/octocat").unwrap(), ("acme", "octocat"));
        for bad in ["acme", "/octocat", "acme/", "acme/a/b"] {
            assert!(
                matches!(split_target(bad), Err(AdminError::Usage(_))),
                "{bad}"
            );
        }
    }
}
