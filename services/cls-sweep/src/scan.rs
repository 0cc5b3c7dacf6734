//! Reading the open tickets (README, "What one invocation does", step 2): the pages of `status=OPEN,PENDING,LOCKED`,
//! `sort=createdFirst`, `limit=100` ([`crate::listing`] walks them), each ticket decoded as its page arrives and
//! either kept for review as a small [`TicketView`] or set aside with the reason it cannot be reviewed; the raw
//! tickets are not kept. Read-only. A ticket of another request type (a CLS team that also handles other
//! requests) is not CLS's and is left alone without an alert.

use std::collections::HashMap;
use std::fmt;

use cls_core::lookup::decode_request;
use cls_core::settings::{GithubSettings, SpokeSettings};
use cls_core::ticket::{ClsState, FieldKey};
use cls_core::{Access, dates};
use spoke_client::query::Paged;
use spoke_client::{
    Request, RequestFilter, RequestQuery, RequestSort, RequestStatus, SpokeApi, TeamId,
};

use crate::error::SweepError;
use crate::listing::{self, Start};

/// A ticket the sweep can review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketView {
    /// Spoke request id.
    pub id: String,
    /// Link for people (the request's permalink, else its id).
    pub link: String,
    /// Creation time as Spoke reports it (orders continuations).
    pub created_at: String,
    /// Where the ticket was in the listing when read (a continuation starts reading there).
    pub offset: u64,
    /// Org login as configured.
    pub org: String,
    /// Org id (the message group).
    pub org_id: u64,
    /// Collaborator's GitHub user id (the message group).
    pub user_id: u64,
    /// Collaborator's login.
    pub login: String,
    /// `owner/name` of each repository on the ticket.
    pub repositories: Vec<String>,
    /// The decoded state (the visible expiry wins, as in the consumer).
    pub state: ClsState,
}

/// Why a ticket cannot be reviewed; it is listed in the summary and alerted once per day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The visible expiry is not a `YYYY-MM-DD` date.
    UnparseableExpiry,
    /// The `cls_state` field is present but not a state object.
    UnparseableState,
    /// Access is granted but no expiry is recorded anywhere: it would never expire.
    MissingExpiry,
    /// No GitHub user id: the ticket cannot be grouped with its collaborator's other messages.
    MissingUserId,
    /// The org is missing or not configured in `cls/github`.
    UnknownOrg(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnparseableExpiry => f.write_str("unparseable expiry"),
            Self::UnparseableState => f.write_str("unparseable cls_state"),
            Self::MissingExpiry => f.write_str("no expiry"),
            Self::MissingUserId => f.write_str("no GitHub user id"),
            Self::UnknownOrg(org) if org.is_empty() => f.write_str("no GitHub org"),
            Self::UnknownOrg(org) => write!(f, "org {org} is not configured"),
        }
    }
}

/// A ticket set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Spoke request id.
    pub id: String,
    /// Link for people.
    pub link: String,
    /// Org login, when the ticket names one.
    pub org: Option<String>,
    /// Collaborator login, when the ticket names one.
    pub login: Option<String>,
    /// Why.
    pub reason: SkipReason,
}

/// What one scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Every open ticket read (a continuation reads those after its cursor).
    pub scanned: usize,
    /// Pages of the listing read.
    pub pages: u32,
    /// Open tickets of another request type than the CLS one: ignored silently.
    pub other_types: usize,
    /// Tickets with access granted and usable fields, in scan order.
    pub tickets: Vec<TicketView>,
    /// Tickets that cannot be reviewed.
    pub skipped: Vec<Skipped>,
}

/// The listing query of the scan (README, "What one invocation does", step 2) for the CLS team.
pub fn open_tickets_query(spoke: &SpokeSettings) -> RequestQuery {
    RequestQuery {
        team: Some(TeamId::new(&spoke.team_id)),
        filter: spoke.list_filter.as_deref().map(RequestFilter::parse),
        statuses: vec![
            RequestStatus::Open,
            RequestStatus::Pending,
            RequestStatus::Locked,
        ],
        sort: Some(RequestSort::CreatedFirst),
        limit: Some(listing::PAGE_SIZE),
        start: Some(0),
        ..RequestQuery::default()
    }
}

/// Reads the open tickets from `from` and classifies each one as its page arrives; more than `max_pages` pages
/// fail the scan ([`SweepError::TooManyPages`]).
pub async fn scan(
    spoke: &dyn SpokeApi,
    spoke_settings: &SpokeSettings,
    github: &GithubSettings,
    from: &Start,
    max_pages: u32,
) -> Result<Scan, SweepError> {
    let query = open_tickets_query(spoke_settings);
    let fetch = |start, limit| {
        let page = query.page(start, limit);
        async move { spoke.list_requests(&page).await }
    };
    let mut scan = Scan::default();
    let visit = |offset, request: &Request| {
        scan.scanned += 1;
        match classify(request, spoke_settings, github) {
            Classified::Review(mut t) => {
                t.offset = offset;
                scan.tickets.push(*t);
            }
            Classified::Skip(s) => scan.skipped.push(s),
            Classified::NotGranted => {}
            Classified::OtherRequestType => scan.other_types += 1,
        }
    };
    let pages = listing::walk(from, max_pages, fetch, visit).await?;
    scan.pages = pages;
    if scan.other_types > 0 {
        tracing::debug!(
            other_types = scan.other_types,
            "open tickets of other request types ignored"
        );
    }
    Ok(scan)
}

/// One ticket's fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// Reviewable.
    Review(Box<TicketView>),
    /// Set aside.
    Skip(Skipped),
    /// Access already removed (a ticket left open by a person): nothing to review.
    NotGranted,
    /// A request of another type than the configured CLS request type (the team also handles other
    /// requests): not a CLS ticket, no alert. A ticket without a request type is still decoded.
    OtherRequestType,
}

/// Decodes one request (pure).
pub fn classify(request: &Request, spoke: &SpokeSettings, github: &GithubSettings) -> Classified {
    if request
        .request_type
        .as_ref()
        .is_some_and(|t| t.as_str() != spoke.request_type_id.trim())
    {
        return Classified::OtherRequestType;
    }
    let answers: HashMap<&str, &str> = request
        .answers()
        .filter_map(|a| Some((a.field_id()?.as_str(), a.answer()?.trim())))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let raw = |key: FieldKey| {
        spoke
            .fields
            .get(key)
            .and_then(|id| answers.get(id).copied())
    };
    let fields = decode_request(request, &spoke.fields);
    let id = request.id.as_str().to_owned();
    let link = request.permalink.clone().unwrap_or_else(|| id.clone());
    let skip = |reason: SkipReason| {
        Classified::Skip(Skipped {
            id: id.clone(),
            link: link.clone(),
            org: fields.github_org.clone(),
            login: fields.github_login.clone(),
            reason,
        })
    };
    if raw(FieldKey::ClsState).is_some_and(|s| ClsState::decode(s).is_none()) {
        return skip(SkipReason::UnparseableState);
    }
    if fields.state.access != Access::Granted {
        return Classified::NotGranted;
    }
    if raw(FieldKey::ExpiresOn).is_some_and(|e| dates::parse_date(e).is_none()) {
        return skip(SkipReason::UnparseableExpiry);
    }
    if fields.expires_on.is_none() {
        return skip(SkipReason::MissingExpiry);
    }
    let org_login = fields.github_org.clone().or_else(|| {
        // A legacy ticket without the org field belongs to the configured legacy org.
        github.legacy_org.clone()
    });
    let Some(org) = org_login.as_deref().and_then(|o| github.org(o)) else {
        return skip(SkipReason::UnknownOrg(org_login.unwrap_or_default()));
    };
    let Some(user_id) = fields.github_user_id else {
        return skip(SkipReason::MissingUserId);
    };
    Classified::Review(Box::new(TicketView {
        link: link.clone(),
        created_at: request.created_at.clone().unwrap_or_default(),
        offset: 0,
        org: org.org.clone(),
        org_id: org.org_id,
        user_id,
        login: fields.github_login.clone().unwrap_or_default(),
        repositories: fields
            .repositories
            .iter()
            .map(|g| g.full_name.clone())
            .collect(),
        state: fields.state.clone(),
        id,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn spoke() -> SpokeSettings {
        serde_json::from_value(json!({
            "api_key": "k", "team_id": "team", "request_type_id": "rt-cls",
            "fields": {"expires_on": "f1", "github_login": "f2", "github_user_id": "f3", "github_org": "f4",
                       "collaborator_email": "f5", "repositories": "f6", "added_by": "f7", "cls_state": "f8"},
            "tags": {"access_granted": "g", "access_removed": "r", "expired": "e", "inactive": "i",
                     "needs_attention": "n"}
        }))
        .unwrap()
    }

    fn github() -> GithubSettings {
        serde_json::from_value(json!({
            "orgs": [{"org": "acme", "org_id": 7, "app_id": 1, "installation_id": 2,
                      "default_owner": {"github_login": "it", "spoke_user_id": "u"}}],
            "legacy_org": "acme"
        }))
        .unwrap()
    }

    fn request(request_type: Option<&str>, answers: &[(&str, &str)]) -> Request {
        let mut r = json!({
            "id": "r1", "status": "OPEN",
            "requestTypeInfo": {"answeredFields": answers.iter()
                .map(|(f, v)| json!({"field": {"uuid": f}, "simpleValue": v}))
                .collect::<Vec<Value>>()}
        });
        if let Some(t) = request_type {
            r["requestType"] = json!(t);
        }
        serde_json::from_value(r).unwrap()
    }

    const CLS: &[(&str, &str)] = &[
        ("f1", "2027-01-01"),
        ("f2", "octocat"),
        ("f3", "42"),
        ("f4", "acme"),
        (
            "f8",
            r#"{"v":1,"uid":42,"access":"granted","expires_on":"2027-01-01"}"#,
        ),
    ];

    #[test]
    fn a_ticket_of_another_request_type_is_ignored_without_a_skip() {
        // A laptop request in the same team: no CLS fields at all, not an unreviewable CLS ticket.
        let laptop = request(Some("rt-laptop"), &[]);
        assert_eq!(
            classify(&laptop, &spoke(), &github()),
            Classified::OtherRequestType
        );
        // Even with CLS-looking answers, another type is not CLS's to review.
        let other = request(Some("rt-laptop"), CLS);
        assert_eq!(
            classify(&other, &spoke(), &github()),
            Classified::OtherRequestType
        );
    }

    #[test]
    fn the_cls_request_type_or_none_is_reviewed_and_unusable_ones_are_skipped() {
        for rt in [Some("rt-cls"), None] {
            let Classified::Review(t) = classify(&request(rt, CLS), &spoke(), &github()) else {
                panic!("{rt:?} not reviewed")
            };
            assert_eq!((t.org_id, t.user_id, t.login.as_str()), (7, 42, "octocat"));
        }
        let Classified::Skip(s) = classify(&request(Some("rt-cls"), &[]), &spoke(), &github())
        else {
            panic!("an empty CLS ticket must be set aside")
        };
        assert_eq!(s.reason, SkipReason::MissingExpiry);
    }
}
