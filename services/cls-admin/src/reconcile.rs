//! `reconcile --org ORG`: compares GitHub with the tickets (README, "Commands"). Read-only: it reports outside
//! collaborators without an open ticket (`backfill` adopts them) and open tickets whose user is no longer an
//! outside collaborator (the next review closes them).

use std::collections::HashSet;

use serde_json::json;

use crate::deps::Deps;
use crate::error::AdminError;
use crate::output::{Outcome, Progress, Table};
use crate::tickets::{self, Scope};

/// Runs `reconcile` for one org.
pub async fn run(deps: &Deps, org: &str, progress: &Progress) -> Result<Outcome, AdminError> {
    let org = deps
        .orgs(Some(org))?
        .into_iter()
        .next()
        .ok_or_else(|| AdminError::Usage(format!("org {org} is not configured")))?;
    let collaborators = deps.github.outside_collaborators(&org.org).await?;
    let web = deps.settings.spoke.web_base_url.as_deref();
    let open: Vec<_> = tickets::list(deps, Scope::Open, Some(&org.org), progress)
        .await?
        .into_iter()
        .filter(tickets::Tracked::is_active)
        .collect();
    let ticket_ids: HashSet<u64> = open
        .iter()
        .filter_map(|t| t.fields.github_user_id)
        .collect();
    let ticket_logins: HashSet<String> = open
        .iter()
        .filter(|t| t.fields.github_user_id.is_none())
        .map(|t| t.login().to_lowercase())
        .collect();
    let github_ids: HashSet<u64> = collaborators.iter().map(|u| u.id).collect();
    let github_logins: HashSet<String> = collaborators
        .iter()
        .map(|u| u.login.to_lowercase())
        .collect();

    let untracked: Vec<_> = collaborators
        .iter()
        .filter(|u| !ticket_ids.contains(&u.id) && !ticket_logins.contains(&u.login.to_lowercase()))
        .collect();
    let stale: Vec<_> = open
        .iter()
        .filter(|t| match t.fields.github_user_id {
            Some(id) => !github_ids.contains(&id),
            None => !github_logins.contains(&t.login().to_lowercase()),
        })
        .collect();

    let mut table = Table::new(&["finding", "org", "login", "user_id", "ticket"]);
    for u in &untracked {
        table.row(vec![
            "no open ticket".to_owned(),
            org.org.clone(),
            u.login.clone(),
            u.id.to_string(),
            String::new(),
        ]);
    }
    for t in &stale {
        table.row(vec![
            "not an outside collaborator".to_owned(),
            org.org.clone(),
            t.login().to_owned(),
            t.fields
                .github_user_id
                .map(|i| i.to_string())
                .unwrap_or_default(),
            t.link(web),
        ]);
    }
    let mut text = if table.is_empty() {
        String::new()
    } else {
        table.render()
    };
    text.push_str(&format!(
        "{}: {} outside collaborators, {} open tickets; {} without a ticket, {} tickets without access\n",
        org.org,
        collaborators.len(),
        open.len(),
        untracked.len(),
        stale.len()
    ));
    Ok(Outcome::ok(
        json!({
            "command": "reconcile", "org": org.org,
            "outside_collaborators": collaborators.len(), "open_tickets": open.len(),
            "without_ticket": untracked.iter().map(|u| json!({"login": u.login, "user_id": u.id})).collect::<Vec<_>>(),
            "tickets_without_access": stale.iter().map(|t| json!({
                "login": t.login(), "user_id": t.fields.github_user_id,
                "ticket_id": t.request.id.as_str(), "link": t.link(web),
            })).collect::<Vec<_>>(),
        }),
        text,
    ))
}
