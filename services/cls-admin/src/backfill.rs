//! `backfill`: adopt collaborators who have no ticket yet (README, "Commands"; CLS-33/34). Each collaborator becomes
//! one `import` message; `cls-queue` creates the ticket (or fills a legacy one) inside the collaborator's
//! FIFO group, so a re-run or an overlap with live webhooks never creates a second ticket. Reading the
//! `--csv` and `--audit-csv` files (and replaying the audit export) is in `files`; this module plans the
//! imports from GitHub or from those rows and sends them.

mod files;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use cls_core::envelope::command_dedup_id;
use cls_core::settings::OrgSettings;
use cls_core::{AccountRef, Envelope, ImportMsg, ImportRepo, ImportSource, OrgRef, Payload};
use github_app::{Collaborator, User};
use serde::Serialize;
use serde_json::json;

use crate::deps::Deps;
use crate::error::AdminError;
use crate::output::{Outcome, Progress, Table};

use files::problem;
pub use files::{
    AuditAction, AuditRow, CsvRepo, CsvRow, Replayed, RowProblem, parse_audit_csv, parse_csv,
    parse_when, replay,
};

/// Where the collaborators come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The GitHub API: outside collaborators and, per repository, their permission.
    FromGithub,
    /// A CSV file `login,name,repositories[,added_by,added_at,expires_on]` (its text).
    Csv(String),
    /// An audit-log export with `action`, `actor`, `user`, `repo`, `created_at` or `@timestamp` (its text).
    AuditCsv(String),
}

impl Source {
    fn import_source(&self) -> ImportSource {
        match self {
            Self::FromGithub => ImportSource::GithubApi,
            Self::Csv(_) => ImportSource::Csv,
            Self::AuditCsv(_) => ImportSource::AuditCsv,
        }
    }
}

/// One planned `import`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedImport {
    /// The org.
    pub org: OrgRef,
    /// The collaborator.
    pub collaborator: AccountRef,
    /// The message content.
    pub import: ImportMsg,
}

impl PlannedImport {
    fn new(
        org: &OrgSettings,
        user: &User,
        source: ImportSource,
        repositories: Vec<ImportRepo>,
        added_by: Option<String>,
        added_at: Option<NaiveDate>,
        expires_on: Option<NaiveDate>,
    ) -> Self {
        let mut import = ImportMsg {
            command_id: String::new(),
            source,
            repositories,
            added_by,
            added_at,
            expires_on,
        };
        let arguments = serde_json::to_string(&import).unwrap_or_default();
        import.command_id = command_dedup_id("import", org.org_id, user.id, &arguments);
        Self {
            org: OrgRef {
                id: org.org_id,
                login: org.org.clone(),
            },
            collaborator: AccountRef {
                id: user.id,
                login: user.login.clone(),
            },
            import,
        }
    }

    /// The queue message.
    pub fn envelope(&self, now: DateTime<Utc>) -> Envelope {
        Envelope {
            enqueued_at: now,
            org: self.org.clone(),
            collaborator: self.collaborator.clone(),
            payload: Payload::Import(self.import.clone()),
        }
    }
}

/// The permission shown for a repository collaborator: the role name, else the strongest flag.
pub fn shown_permission(c: &Collaborator) -> String {
    if let Some(role) = c.role_name.as_deref().filter(|r| !r.is_empty()) {
        return role.to_owned();
    }
    let p = c.permissions.unwrap_or_default();
    let strongest = [
        (p.admin, "admin"),
        (p.maintain, "maintain"),
        (p.push, "write"),
        (p.triage, "triage"),
        (p.pull, "read"),
    ]
    .into_iter()
    .find(|(has, _)| *has)
    .map_or("unknown", |(_, name)| name);
    strongest.to_owned()
}

async fn outside_collaborators(
    deps: &Deps,
    org: &str,
) -> Result<HashMap<String, User>, AdminError> {
    Ok(deps
        .github
        .outside_collaborators(org)
        .await?
        .into_iter()
        .map(|u| (u.login.to_lowercase(), u))
        .collect())
}

async fn plan_from_github(
    deps: &Deps,
    org: &OrgSettings,
    progress: &Progress,
) -> Result<Vec<PlannedImport>, AdminError> {
    let users = deps.github.outside_collaborators(&org.org).await?;
    let repos = deps.github.org_repos(&org.org).await?;
    let bar = progress.bar(repos.len() as u64, &format!("{}: repositories", org.org));
    let mut grants: HashMap<u64, Vec<ImportRepo>> = HashMap::new();
    for repo in &repos {
        for c in deps
            .github
            .repo_outside_collaborators(&org.org, &repo.name)
            .await?
        {
            grants.entry(c.id).or_default().push(ImportRepo {
                full_name: repo.full_name.clone(),
                permission: shown_permission(&c),
            });
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(users
        .iter()
        .map(|user| {
            let mut repositories = grants.remove(&user.id).unwrap_or_default();
            repositories.sort_by_key(|r| r.full_name.to_lowercase());
            PlannedImport::new(
                org,
                user,
                ImportSource::GithubApi,
                repositories,
                None,
                None,
                None,
            )
        })
        .collect())
}

async fn plan_from_csv(
    deps: &Deps,
    org: &OrgSettings,
    text: &str,
    problems: &mut Vec<RowProblem>,
    progress: &Progress,
) -> Result<Vec<PlannedImport>, AdminError> {
    let (rows, mut bad) = parse_csv(&org.org, text)?;
    problems.append(&mut bad);
    let users = outside_collaborators(deps, &org.org).await?;
    let bar = progress.bar(rows.len() as u64, &format!("{}: rows", org.org));
    let mut plans = Vec::new();
    for row in rows {
        bar.inc(1);
        let Some(user) = users.get(&row.login.to_lowercase()) else {
            problems.push(problem(
                row.line,
                format!(
                    "{} is not an outside collaborator of {}",
                    row.login, org.org
                ),
            ));
            continue;
        };
        let mut repositories = Vec::new();
        for repo in &row.repositories {
            let permission = match &repo.permission {
                Some(p) => Some(p.clone()),
                None => {
                    let name = repo.full_name.split_once('/').map_or("", |(_, n)| n);
                    deps.github
                        .collaborator_permission(&org.org, name, &user.login)
                        .await?
                        .filter(|p| p.permission != "none")
                        .map(|p| p.role_name.unwrap_or(p.permission))
                }
            };
            match permission {
                Some(permission) => repositories.push(ImportRepo {
                    full_name: repo.full_name.clone(),
                    permission,
                }),
                None => problems.push(problem(
                    row.line,
                    format!("{} has no access to {}", row.login, repo.full_name),
                )),
            }
        }
        if repositories.is_empty() {
            continue;
        }
        plans.push(PlannedImport::new(
            org,
            user,
            ImportSource::Csv,
            repositories,
            row.added_by,
            row.added_at,
            row.expires_on,
        ));
    }
    bar.finish_and_clear();
    Ok(plans)
}

async fn plan_from_audit(
    deps: &Deps,
    org: &OrgSettings,
    text: &str,
    problems: &mut Vec<RowProblem>,
    notes: &mut Vec<String>,
) -> Result<Vec<PlannedImport>, AdminError> {
    let (rows, mut bad, ignored) = parse_audit_csv(&org.org, text)?;
    problems.append(&mut bad);
    if ignored > 0 {
        notes.push(format!("{ignored} rows with other actions ignored"));
    }
    let users = outside_collaborators(deps, &org.org).await?;
    let mut plans = Vec::new();
    for replayed in replay(&rows) {
        if replayed.repositories.is_empty() {
            notes.push(format!(
                "{}: no access left at the end of the export",
                replayed.login
            ));
            continue;
        }
        let Some(user) = users.get(&replayed.login.to_lowercase()) else {
            notes.push(format!(
                "{}: not an outside collaborator of {} now",
                replayed.login, org.org
            ));
            continue;
        };
        let first = replayed
            .repositories
            .values()
            .min_by_key(|(_, _, at)| *at)
            .map(|(_, by, at)| (by.clone(), at.date_naive()));
        let repositories = replayed
            .repositories
            .iter()
            .map(|(name, (permission, _, _))| ImportRepo {
                full_name: rows
                    .iter()
                    .find(|r| r.repo.eq_ignore_ascii_case(name))
                    .map_or_else(|| name.clone(), |r| r.repo.clone()),
                permission: permission.clone().unwrap_or_else(|| "unknown".to_owned()),
            })
            .collect();
        plans.push(PlannedImport::new(
            org,
            user,
            ImportSource::AuditCsv,
            repositories,
            first.as_ref().map(|(by, _)| by.clone()),
            first.map(|(_, at)| at),
            None,
        ));
    }
    Ok(plans)
}

/// Runs `backfill` for `orgs` (the CSV sources need exactly one). With `dry_run` nothing is sent.
pub async fn run(
    deps: &Deps,
    org: Option<&str>,
    source: &Source,
    dry_run: bool,
    progress: &Progress,
) -> Result<Outcome, AdminError> {
    if !matches!(source, Source::FromGithub) && org.is_none() {
        return Err(AdminError::Usage(
            "--csv and --audit-csv need --org ORG".to_owned(),
        ));
    }
    let orgs = deps.orgs(org)?;
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut plans = Vec::new();
    for org in &orgs {
        let mut found = match source {
            Source::FromGithub => plan_from_github(deps, org, progress).await?,
            Source::Csv(text) => plan_from_csv(deps, org, text, &mut problems, progress).await?,
            Source::AuditCsv(text) => {
                plan_from_audit(deps, org, text, &mut problems, &mut notes).await?
            }
        };
        plans.append(&mut found);
    }
    problems.sort_by_key(|p| p.line);

    let now = deps.clock.now();
    let bar = progress.bar(plans.len() as u64, "enqueueing imports");
    let mut results = Vec::new();
    for plan in &plans {
        let result = if dry_run {
            Ok(None)
        } else {
            crate::queue::send(deps.queue.as_ref(), &plan.envelope(now))
                .await
                .map(|()| Some(()))
                .map_err(|e| e.to_string())
        };
        bar.inc(1);
        results.push(result);
    }
    bar.finish_and_clear();
    let failed = results.iter().filter(|r| r.is_err()).count();
    let sent = results.iter().filter(|r| matches!(r, Ok(Some(_)))).count();

    let mut table = Table::new(&[
        "org",
        "login",
        "user_id",
        "repositories",
        "added_by",
        "added_at",
        "expires_on",
        "result",
    ]);
    let mut items = Vec::new();
    for (plan, result) in plans.iter().zip(&results) {
        let status = match result {
            Ok(None) => "planned".to_owned(),
            Ok(Some(_)) => "enqueued".to_owned(),
            Err(e) => format!("FAILED: {e}"),
        };
        let i = &plan.import;
        let date = |d: Option<NaiveDate>| d.map(cls_core::dates::format_date).unwrap_or_default();
        table.row(vec![
            plan.org.login.clone(),
            plan.collaborator.login.clone(),
            plan.collaborator.id.to_string(),
            i.repositories
                .iter()
                .map(|r| format!("{}:{}", r.full_name, r.permission))
                .collect::<Vec<_>>()
                .join(" "),
            i.added_by.clone().unwrap_or_default(),
            date(i.added_at),
            date(i.expires_on),
            status.clone(),
        ]);
        items.push(json!({
            "org": plan.org, "collaborator": plan.collaborator, "import": plan.import,
            "result": status, "error": result.as_ref().err(),
        }));
    }
    let mut text = String::new();
    if !table.is_empty() {
        text.push_str(&table.render());
    }
    for p in &problems {
        text.push_str(&format!("line {}: {}\n", p.line, p.message));
    }
    for n in &notes {
        text.push_str(&format!("note: {n}\n"));
    }
    let verb = if dry_run {
        "planned (dry run, nothing sent)"
    } else {
        "enqueued"
    };
    text.push_str(&format!(
        "backfill ({}): {} imports {verb}, {} failed, {} bad rows\n",
        source.import_source().as_str(),
        if dry_run { plans.len() } else { sent },
        failed,
        problems.len()
    ));
    let document = json!({
        "command": "backfill",
        "source": source.import_source().as_str(),
        "dry_run": dry_run,
        "planned": plans.len(),
        "enqueued": sent,
        "failed": failed,
        "imports": items,
        "problems": problems,
        "notes": notes,
    });
    Ok(Outcome {
        document,
        text,
        ok: failed == 0 && problems.is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_id_is_stable_for_the_same_import() {
        let org: OrgSettings =
            serde_json::from_value(json!({"org": "acme", "org_id": 7, "app_id": 1,
            "installation_id": 2, "default_owner": {"github_login": "it", "spoke_user_id": "u"}}))
            .unwrap();
        let user = User {
            id: 9,
            login: "octocat".into(),
            ..User::default()
        };
        let plan = || {
            let repos = vec![ImportRepo {
                full_name: "acme/widgets".into(),
                permission: "write".into(),
            }];
            PlannedImport::new(
                &org,
                &user,
                ImportSource::GithubApi,
                repos,
                None,
                None,
                None,
            )
        };
        let (a, b) = (plan(), plan());
        assert_eq!(a.import.command_id, b.import.command_id);
        assert!(a.import.command_id.starts_with("import-7-9-"));
        let env = a.envelope(DateTime::UNIX_EPOCH);
        assert_eq!(env.group_id(), "gh-7-9");
        assert_eq!(env.dedup_id(), a.import.command_id);
    }
}
