//! The GitHub-backed inactivity signals (`docs/operations/cls.md`, "The daily sweep"; the permissions they
//! need: `docs/github-app-setup.md`) behind [`cls_core::ActivitySource`], and the per-org choice.

use std::sync::Arc;

use chrono::NaiveDate;
use cls_core::activity::Off;
use cls_core::{ActivityError, ActivityIndex, ActivitySource, ActivitySourceKind, Subject};
use futures::future::BoxFuture;
use github_app::{GithubApi, GithubError};

/// Pages of 100 audit-log events read per org and run. A window holding more is reported as unavailable
/// (a truncated signal could make someone look inactive).
pub const AUDIT_LOG_MAX_PAGES: u32 = 200;

/// The org audit log: `phrase=created:>={since}` with `include=all` (web and Git events), every page; each
/// event's `actor_id` (else `actor` login) and `@timestamp`/`created_at` give the latest date per actor.
/// 404 (not Enterprise Cloud), 403 (missing "Administration: read") and any other failure make the org
/// unavailable for the run.
#[derive(Clone)]
pub struct AuditLogActivity {
    github: Arc<dyn GithubApi>,
    max_pages: u32,
}

impl AuditLogActivity {
    /// The audit-log source over `github`.
    pub fn new(github: Arc<dyn GithubApi>) -> Self {
        Self {
            github,
            max_pages: AUDIT_LOG_MAX_PAGES,
        }
    }

    /// Caps the pages read (tests).
    pub fn with_max_pages(mut self, max_pages: u32) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }
}

fn unavailable(org: &str, status: Option<u16>, reason: impl Into<String>) -> ActivityError {
    ActivityError {
        source_kind: ActivitySourceKind::AuditLog,
        org: org.to_owned(),
        status,
        reason: reason.into(),
    }
}

fn github_failure(org: &str, error: &GithubError) -> ActivityError {
    let reason = match error {
        GithubError::Forbidden { .. } => {
            "403: the App lacks the organisation administration (audit log) read permission"
                .to_owned()
        }
        other => other.to_string(),
    };
    unavailable(org, error.status(), reason)
}

impl ActivitySource for AuditLogActivity {
    fn kind(&self) -> ActivitySourceKind {
        ActivitySourceKind::AuditLog
    }

    fn activity<'a>(
        &'a self,
        org: &'a str,
        since: NaiveDate,
        _subjects: &'a [Subject],
    ) -> BoxFuture<'a, Result<Option<ActivityIndex>, ActivityError>> {
        Box::pin(async move {
            let phrase = format!("created:>={}", cls_core::dates::format_date(since));
            let events = match self.github.audit_log(org, &phrase, self.max_pages).await {
                Ok(Some(events)) => events,
                Ok(None) => {
                    return Err(unavailable(
                        org,
                        Some(404),
                        "404: the organisation has no audit-log API (not Enterprise Cloud)",
                    ));
                }
                Err(e) => return Err(github_failure(org, &e)),
            };
            if events.len() >= self.max_pages as usize * 100 {
                return Err(unavailable(
                    org,
                    None,
                    format!(
                        "more than {} events since {since}; the signal would be incomplete",
                        events.len()
                    ),
                ));
            }
            let mut index = ActivityIndex::default();
            for event in &events {
                let Some(at) = event.at() else { continue };
                index.record(event.actor_id, event.actor.as_deref(), at.date_naive());
            }
            tracing::info!(
                org,
                events = events.len(),
                actors = index.len(),
                upstream = "github",
                "audit log read"
            );
            Ok(Some(index))
        })
    }
}

/// Pages of 100 events read per repository (GitHub keeps at most 300 events).
pub const REPO_EVENTS_MAX_PAGES: u32 = 3;

/// Repository events (writes only: pushes, pull requests, comments; GitHub keeps 30 days / 300 events per
/// repository): `GET /repos/{org}/{repo}/events` for every repository on the org's open tickets, once per
/// run; each event's `actor` and `created_at` on or after `since` give the latest date per actor. A
/// repository that no longer exists (404) is skipped; any other failure makes the org unavailable for the
/// run. Read-only use (clone, fetch) is invisible to this source: only `audit_log` sees it.
#[derive(Clone)]
pub struct RepoEventsActivity {
    github: Arc<dyn GithubApi>,
}

impl RepoEventsActivity {
    /// The repository-events source over `github`.
    pub fn new(github: Arc<dyn GithubApi>) -> Self {
        Self { github }
    }
}

impl ActivitySource for RepoEventsActivity {
    fn kind(&self) -> ActivitySourceKind {
        ActivitySourceKind::RepoEvents
    }

    fn activity<'a>(
        &'a self,
        org: &'a str,
        since: NaiveDate,
        subjects: &'a [Subject],
    ) -> BoxFuture<'a, Result<Option<ActivityIndex>, ActivityError>> {
        Box::pin(async move {
            let prefix = format!("{}/", org.to_lowercase());
            let mut repos: Vec<String> = subjects
                .iter()
                .flat_map(|s| s.repositories.iter())
                .filter_map(|full| {
                    let lower = full.to_lowercase();
                    lower.strip_prefix(&prefix).map(str::to_owned)
                })
                .collect();
            repos.sort();
            repos.dedup();
            let mut index = ActivityIndex::default();
            for repo in &repos {
                let events = match self
                    .github
                    .repo_events(org, repo, REPO_EVENTS_MAX_PAGES)
                    .await
                {
                    Ok(Some(events)) => events,
                    Ok(None) => continue,
                    Err(e) => {
                        let mut error = github_failure(org, &e);
                        error.source_kind = ActivitySourceKind::RepoEvents;
                        if matches!(e, GithubError::Forbidden { .. }) {
                            error.reason =
                                format!("403 on {org}/{repo}: the App cannot read its events");
                        }
                        return Err(error);
                    }
                };
                for event in &events {
                    let (Some(actor), Some(at)) = (&event.actor, event.created_at) else {
                        continue;
                    };
                    if at.date_naive() >= since {
                        index.record(Some(actor.id), Some(&actor.login), at.date_naive());
                    }
                }
            }
            tracing::info!(
                org,
                repositories = repos.len(),
                actors = index.len(),
                upstream = "github",
                "repository events read"
            );
            Ok(Some(index))
        })
    }
}

/// The source configured for an org (`activity_source`; unset = `audit_log`). An unknown value is reported as
/// an error by the sweep's settings load (`GithubSettings::validate_activity_sources`), so it never gets here.
pub fn source_for(
    kind: ActivitySourceKind,
    github: &Arc<dyn GithubApi>,
) -> Arc<dyn ActivitySource> {
    match kind {
        ActivitySourceKind::AuditLog => Arc::new(AuditLogActivity::new(Arc::clone(github))),
        ActivitySourceKind::RepoEvents => Arc::new(RepoEventsActivity::new(Arc::clone(github))),
        ActivitySourceKind::Off => Arc::new(Off),
    }
}
