//! Reading the CLS tickets: every page of the team's requests, decoded into the eight answered fields (cls-core README,
//! "The ticket"). Read-only.

use std::collections::HashMap;

use cls_core::TicketFields;
use cls_core::lookup::{decode_request, is_open};
use cls_core::ticket::Access;
use futures::TryStreamExt as _;
use spoke_client::{
    Request, RequestFilter, RequestQuery, RequestSort, RequestStatus, SpokeApi, SpokeError, TeamId,
    UserId,
};

use crate::deps::Deps;
use crate::output::Progress;

/// One collaborator ticket.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// The Spoke request.
    pub request: Request,
    /// Its decoded answers.
    pub fields: TicketFields,
}

impl Tracked {
    /// The ticket's org login (the legacy org for a legacy ticket without one).
    pub fn org<'a>(&'a self, legacy_org: Option<&'a str>) -> Option<&'a str> {
        self.fields.github_org.as_deref().or(legacy_org)
    }

    /// The collaborator's login, or empty.
    pub fn login(&self) -> &str {
        self.fields.github_login.as_deref().unwrap_or("")
    }

    /// Open in Spoke and access granted: what the sweep looks at.
    pub fn is_active(&self) -> bool {
        is_open(&self.request) && self.fields.state.access == Access::Granted
    }

    /// The ticket's web link: Spoke's `permalink`, else `{web_base_url}/requests/{id}`, else the id.
    pub fn link(&self, web_base_url: Option<&str>) -> String {
        if let Some(p) = self.request.permalink.as_deref().filter(|p| !p.is_empty()) {
            return p.to_owned();
        }
        match web_base_url.filter(|u| !u.is_empty()) {
            Some(base) => format!(
                "{}/requests/{}",
                base.trim_end_matches('/'),
                self.request.id.as_str()
            ),
            None => self.request.id.as_str().to_owned(),
        }
    }

    /// The Spoke status as text.
    pub fn status(&self) -> String {
        self.request
            .status
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default()
    }
}

/// Which tickets to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `OPEN`, `PENDING`, `LOCKED` (what the sweep reads).
    Open,
    /// All five statuses (the access-review report).
    All,
}

/// Every collaborator ticket of the CLS team in `scope`, oldest first, optionally of one org. Tickets of
/// other request types or without any CLS answer are skipped.
pub async fn list(
    deps: &Deps,
    scope: Scope,
    org: Option<&str>,
    progress: &Progress,
) -> Result<Vec<Tracked>, SpokeError> {
    let settings = &deps.settings.spoke;
    let statuses = match scope {
        Scope::Open => vec![
            RequestStatus::Open,
            RequestStatus::Pending,
            RequestStatus::Locked,
        ],
        Scope::All => RequestStatus::all(),
    };
    let query = RequestQuery {
        team: Some(TeamId::new(&settings.team_id)),
        statuses,
        filter: settings.list_filter.as_deref().map(RequestFilter::parse),
        sort: Some(RequestSort::CreatedFirst),
        limit: Some(100),
        ..RequestQuery::default()
    };
    let bar = progress.spinner("reading tickets");
    let legacy = deps.settings.github.legacy_org.as_deref();
    let request_type = settings.request_type_id.as_str();
    let mut found = Vec::new();
    let mut stream = deps.spoke.stream_requests(&query);
    while let Some(request) = stream.try_next().await? {
        bar.inc(1);
        if request
            .request_type
            .as_ref()
            .is_some_and(|t| t.as_str() != request_type)
        {
            continue;
        }
        let fields = decode_request(&request, &settings.fields);
        if fields.github_login.is_none() && fields.github_user_id.is_none() {
            continue;
        }
        let ticket = Tracked { request, fields };
        if let Some(only) = org
            && !ticket
                .org(legacy)
                .is_some_and(|o| o.eq_ignore_ascii_case(only))
        {
            continue;
        }
        found.push(ticket);
    }
    bar.finish_and_clear();
    Ok(found)
}

/// Resolves Spoke user ids to a display name or e-mail, one lookup per distinct id.
#[derive(Default)]
pub struct OwnerNames {
    cache: HashMap<String, String>,
}

impl OwnerNames {
    /// The owner's e-mail (else display name, else id); empty for an unassigned ticket.
    pub async fn name(
        &mut self,
        spoke: &dyn SpokeApi,
        owner: Option<&UserId>,
    ) -> Result<String, SpokeError> {
        let Some(id) = owner else {
            return Ok(String::new());
        };
        if let Some(name) = self.cache.get(id.as_str()) {
            return Ok(name.clone());
        }
        let name = spoke
            .get_user(id)
            .await?
            .and_then(|u| u.email.clone().or(u.display_name.clone()))
            .unwrap_or_else(|| id.as_str().to_owned());
        self.cache.insert(id.as_str().to_owned(), name.clone());
        Ok(name)
    }
}
