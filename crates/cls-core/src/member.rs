//! `apply_member_event`: the pure state table of the README ("The ticket") plus the delivery-id
//! idempotency.

use chrono::{DateTime, Utc};

use crate::dates::{one_year_after, today};
use crate::envelope::{AccountRef, MemberAction, MemberEventMsg, OrgRef};
use crate::messages;
use crate::ticket::{Access, ClsState, RemovalReason, RepoGrant, TicketFields, UNKNOWN_ADDER};

/// A re-add this soon after a CLS removal alerts IT (`ReaddedAfterRemoval`).
pub const READD_ALERT_DAYS: i64 = 7;

/// Everything the decision needs about one `member_event`.
#[derive(Debug, Clone, Copy)]
pub struct MemberContext<'a> {
    /// The organisation.
    pub org: &'a OrgRef,
    /// The collaborator.
    pub collaborator: &'a AccountRef,
    /// The trimmed delivery.
    pub event: &'a MemberEventMsg,
    /// `enqueued_at` of the envelope: "today" is its date, so retries never shift an expiry.
    pub received_at: DateTime<Utc>,
    /// The adder resolved for `added` (the sender, else the audit log's inviter; `services/cls-queue/README.md`,
    /// `member_event`); `None` = unresolved. Ignored for `edited`/`removed`, whose actor is the `sender` (the
    /// repository admin making the change).
    pub adder: Option<&'a str>,
    /// The collaborator's e-mail when known (identity directory or `member.email`).
    pub collaborator_email: Option<&'a str>,
}

impl MemberContext<'_> {
    fn sender_login(&self) -> Option<&str> {
        self.event.sender.as_ref().map(|s| s.login.as_str())
    }

    fn actor(&self) -> &str {
        self.sender_login().unwrap_or(UNKNOWN_ADDER)
    }

    fn key(&self) -> &str {
        &self.event.delivery_id
    }
}

/// Why nothing is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreReason {
    /// `removed` for a collaborator without a ticket.
    RemovedWithoutTicket,
    /// `removed` of a repository the closed ticket does not list.
    NothingToRemove,
}

/// What happens to an existing ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Access stays granted; repositories or permissions changed.
    Updated,
    /// A closed ticket is reopened with a new expiry.
    Reopened,
    /// The last repository was removed: access removed, ticket resolved.
    Closed,
    /// A closed ticket's repository list changed without a message (echo of a removal).
    Silent,
}

/// A ticket to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    /// All answered fields, the creating delivery already recorded in the state.
    pub fields: TicketFields,
    /// Request subject.
    pub subject: String,
    /// Request body.
    pub body: String,
}

/// A change to an existing ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketUpdate {
    /// The complete new answered fields, the delivery recorded in the state.
    pub fields: TicketFields,
    /// Kind of change; the status follows `fields.state.access` (granted → OPEN, removed → RESOLVED).
    pub transition: Transition,
    /// The message to post after the PATCH, if any.
    pub message: Option<String>,
    /// Set the owner to the adder (re-add).
    pub set_owner: bool,
    /// CLS removed this collaborator less than [`READD_ALERT_DAYS`] ago: alert IT.
    pub alert_readded_after_removal: bool,
    /// A human must look at the ticket (tag `cls-needs-attention` and alert IT), e.g. a removal on a ticket
    /// whose repository list is empty or unreadable, kept open.
    pub needs_attention: Option<AttentionReason>,
}

/// Why an update also asks a human to look at the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionReason {
    /// `removed` arrived for a repository the ticket does not list, and the list is empty or has lines that
    /// are not `owner/name` grants: CLS cannot tell whether access remains, so the ticket stays open (the
    /// sweep still expires the access) instead of being closed as "access removed".
    RepositoriesUnreadable,
}

impl AttentionReason {
    /// Alert kind and stable log reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RepositoriesUnreadable => "RepositoriesUnreadable",
        }
    }
}

/// The outcome of [`apply_member_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberDecision {
    /// The delivery id is already in the ticket's state: acknowledge without writes.
    AlreadyApplied,
    /// Nothing to do.
    Ignore(IgnoreReason),
    /// Create a ticket.
    Create(Box<NewTicket>),
    /// Update the ticket.
    Update(Box<TicketUpdate>),
}

/// Decides what a `member` event does to the collaborator's ticket (`existing`, found by the exact lookup).
pub fn apply_member_event(
    existing: Option<&TicketFields>,
    ctx: &MemberContext<'_>,
) -> MemberDecision {
    let Some(ticket) = existing else {
        return match ctx.event.action {
            MemberAction::Removed => MemberDecision::Ignore(IgnoreReason::RemovedWithoutTicket),
            MemberAction::Added => create(ctx, ctx.adder),
            MemberAction::Edited => create(ctx, ctx.sender_login()),
        };
    };
    if ticket.state.has_applied(ctx.key()) {
        return MemberDecision::AlreadyApplied;
    }
    let mut fields = refreshed(ticket, ctx);
    let event = ctx.event;
    let repo = event.repository.full_name.as_str();
    let login = ctx.collaborator.login.as_str();
    let day = today(ctx.received_at);
    let at = ctx.received_at;
    let update = |fields: TicketFields, transition, message| {
        MemberDecision::Update(Box::new(TicketUpdate {
            fields,
            transition,
            message,
            set_owner: false,
            alert_readded_after_removal: false,
            needs_attention: None,
        }))
    };
    match (ticket.state.access, event.action) {
        (Access::Granted, MemberAction::Added) => {
            let adder = ctx
                .adder
                .map(str::to_owned)
                .or_else(|| fields.added_by.clone().filter(|a| a != UNKNOWN_ADDER))
                .unwrap_or_else(|| UNKNOWN_ADDER.to_owned());
            if fields
                .added_by
                .as_deref()
                .is_none_or(|a| a == UNKNOWN_ADDER)
                && adder != UNKNOWN_ADDER
            {
                fields.added_by = Some(adder.clone());
            }
            fields.upsert_repo(grant(repo, event.shown_permission(), &adder, day));
            let text =
                messages::added(login, event.shown_permission(), repo, &adder, at, ctx.key());
            update(fields, Transition::Updated, Some(text))
        }
        (Access::Granted, MemberAction::Edited) => {
            let (added_by, added_on) = fields
                .repo(repo)
                .map_or((ctx.actor().to_owned(), Some(day)), |g| {
                    (g.added_by.clone(), g.added_on)
                });
            fields.upsert_repo(RepoGrant {
                full_name: repo.to_owned(),
                permission: event.shown_permission().to_owned(),
                added_by,
                added_on,
            });
            let text = messages::edited(
                login,
                event.shown_previous_permission(),
                event.shown_permission(),
                repo,
                ctx.actor(),
                at,
                ctx.key(),
            );
            update(fields, Transition::Updated, Some(text))
        }
        (Access::Granted, MemberAction::Removed) => {
            let readable = fields
                .repositories
                .iter()
                .all(|g| is_repo_name(&g.full_name));
            let removed = fields.remove_repo(repo);
            if !removed && (fields.repositories.is_empty() || !readable) {
                // The list cannot tell whether access remains: never close on it (the sweep would then never
                // expire that access). Keep the ticket open, note the removal, ask a human.
                let text = messages::removed(login, repo, ctx.actor(), at, false, ctx.key());
                return MemberDecision::Update(Box::new(TicketUpdate {
                    fields,
                    transition: Transition::Updated,
                    message: Some(text),
                    set_owner: false,
                    alert_readded_after_removal: false,
                    needs_attention: Some(AttentionReason::RepositoriesUnreadable),
                }));
            }
            let closed = removed && fields.repositories.is_empty();
            if closed {
                fields.state.access = Access::Removed;
                fields.state.reason = Some(RemovalReason::Github);
                fields.state.removed_on = Some(day);
            }
            let text = messages::removed(login, repo, ctx.actor(), at, closed, ctx.key());
            let transition = if closed {
                Transition::Closed
            } else {
                Transition::Updated
            };
            update(fields, transition, Some(text))
        }
        (Access::Removed, MemberAction::Removed) => {
            if fields.remove_repo(repo) {
                update(fields, Transition::Silent, None)
            } else {
                MemberDecision::Ignore(IgnoreReason::NothingToRemove)
            }
        }
        (Access::Removed, MemberAction::Added | MemberAction::Edited) => {
            let adder = match event.action {
                MemberAction::Added => ctx.adder,
                _ => ctx.sender_login(),
            };
            let alert = matches!(
                ticket.state.reason,
                Some(RemovalReason::Expired | RemovalReason::Inactive)
            ) && ticket
                .state
                .removed_on
                .is_some_and(|on| (day - on).num_days() < READD_ALERT_DAYS);
            let adder_name = adder.unwrap_or(UNKNOWN_ADDER);
            let expires_on = one_year_after(day);
            fields.expires_on = Some(expires_on);
            fields.repositories = vec![grant(repo, event.shown_permission(), adder_name, day)];
            // An unresolved adder keeps the ticket's adder (and owner): someone still vouches for the access.
            if adder.is_some() || fields.added_by.is_none() {
                fields.added_by = Some(adder_name.to_owned());
            }
            let state = &mut fields.state;
            state.access = Access::Granted;
            state.reason = None;
            state.removed_on = None;
            state.granted_on = Some(day);
            state.expires_on = Some(expires_on);
            state.notified = None;
            state.inactivity_warned_for = None;
            let text = messages::readded(
                login,
                event.shown_permission(),
                repo,
                adder_name,
                at,
                expires_on,
                ctx.key(),
            );
            MemberDecision::Update(Box::new(TicketUpdate {
                fields,
                transition: Transition::Reopened,
                message: Some(text),
                set_owner: adder.is_some(),
                alert_readded_after_removal: alert,
                needs_attention: None,
            }))
        }
    }
}

/// `owner/name`, both parts non-empty and without spaces.
fn is_repo_name(full_name: &str) -> bool {
    full_name.split_once('/').is_some_and(|(owner, name)| {
        !owner.is_empty()
            && !name.is_empty()
            && !name.contains('/')
            && !full_name.contains(char::is_whitespace)
    })
}

fn grant(repo: &str, permission: &str, adder: &str, day: chrono::NaiveDate) -> RepoGrant {
    RepoGrant {
        full_name: repo.to_owned(),
        permission: permission.to_owned(),
        added_by: adder.to_owned(),
        added_on: Some(day),
    }
}

/// The ticket's fields with the identity refreshed (login change, legacy upgrade, e-mail learnt) and the
/// delivery recorded.
fn refreshed(ticket: &TicketFields, ctx: &MemberContext<'_>) -> TicketFields {
    let mut fields = ticket.clone();
    fields.github_login = Some(ctx.collaborator.login.clone());
    fields.github_user_id = Some(ctx.collaborator.id);
    fields.github_org = Some(ctx.org.login.clone());
    fields.state.uid = Some(ctx.collaborator.id);
    if let Some(email) = ctx.collaborator_email
        && fields
            .collaborator_email
            .as_deref()
            .is_none_or(|e| e == crate::ticket::NO_EMAIL)
    {
        fields.collaborator_email = Some(email.to_owned());
    }
    if fields.state.granted_on.is_none() && fields.state.access == Access::Granted {
        fields.state.granted_on = fields.repositories.iter().filter_map(|g| g.added_on).min();
    }
    fields.state.record(ctx.key());
    fields.has_state = true;
    fields
}

fn create(ctx: &MemberContext<'_>, adder: Option<&str>) -> MemberDecision {
    let day = today(ctx.received_at);
    let expires_on = one_year_after(day);
    let adder_name = adder.unwrap_or(UNKNOWN_ADDER);
    let repo = ctx.event.repository.full_name.as_str();
    let permission = ctx.event.shown_permission();
    let mut state = ClsState {
        uid: Some(ctx.collaborator.id),
        access: Access::Granted,
        granted_on: Some(day),
        expires_on: Some(expires_on),
        ..ClsState::default()
    };
    state.record(ctx.key());
    let fields = TicketFields {
        expires_on: Some(expires_on),
        github_login: Some(ctx.collaborator.login.clone()),
        github_user_id: Some(ctx.collaborator.id),
        github_org: Some(ctx.org.login.clone()),
        collaborator_email: ctx.collaborator_email.map(str::to_owned),
        repositories: vec![grant(repo, permission, adder_name, day)],
        added_by: Some(adder_name.to_owned()),
        state,
        has_state: true,
    };
    MemberDecision::Create(Box::new(NewTicket {
        subject: messages::subject(&ctx.collaborator.login, &ctx.org.login),
        body: messages::body(
            &ctx.collaborator.login,
            permission,
            repo,
            adder_name,
            ctx.received_at,
            expires_on,
        ),
        fields,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::parse_date;
    use crate::envelope::{RepositoryRef, SenderRef};
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    struct Fixture {
        org: OrgRef,
        who: AccountRef,
        event: MemberEventMsg,
        at: DateTime<Utc>,
    }

    impl Fixture {
        fn new(action: MemberAction, repo: &str, delivery: &str) -> Self {
            Self {
                org: OrgRef {
                    id: 1,
                    login: "acme".into(),
                },
                who: AccountRef {
                    id: 42,
                    login: "octocat".into(),
                },
                event: MemberEventMsg {
                    delivery_id: delivery.into(),
                    event: "member".into(),
                    action,
                    installation_id: None,
                    repository: RepositoryRef {
                        id: 9,
                        full_name: repo.into(),
                        private: Some(true),
                    },
                    sender: Some(SenderRef {
                        id: 7,
                        login: "alice".into(),
                        kind: Some("User".into()),
                    }),
                    permission: Some("write".into()),
                    role_name: None,
                    previous_permission: Some("read".into()),
                    member_email: None,
                },
                at: DateTime::parse_from_rfc3339("2026-05-12T14:03:11Z")
                    .unwrap()
                    .with_timezone(&Utc),
            }
        }

        fn at(mut self, rfc3339: &str) -> Self {
            self.at = DateTime::parse_from_rfc3339(rfc3339)
                .unwrap()
                .with_timezone(&Utc);
            self
        }

        fn ctx(&self) -> MemberContext<'_> {
            MemberContext {
                org: &self.org,
                collaborator: &self.who,
                event: &self.event,
                received_at: self.at,
                adder: Some("alice"),
                collaborator_email: None,
            }
        }
    }

    fn created(f: &Fixture) -> TicketFields {
        match apply_member_event(None, &f.ctx()) {
            MemberDecision::Create(n) => n.fields,
            other => panic!("expected create, got {other:?}"),
        }
    }

    fn updated(existing: &TicketFields, f: &Fixture) -> TicketUpdate {
        match apply_member_event(Some(existing), &f.ctx()) {
            MemberDecision::Update(u) => *u,
            other => panic!("expected update, got {other:?}"),
        }
    }

    #[test]
    fn added_without_a_ticket_creates_one_expiring_a_year_after_receipt() {
        let f = Fixture::new(MemberAction::Added, "acme/widgets", "d1");
        let MemberDecision::Create(new) = apply_member_event(None, &f.ctx()) else {
            panic!()
        };
        assert_eq!(new.subject, "octocat Collaborator Access (acme)");
        assert!(
            new.body
                .contains("by 'alice' at UTC 2026-05-12T14:03:11Z. Access expires on 2027-05-12.")
        );
        assert_eq!(new.fields.expires_on, Some(d("2027-05-12")));
        assert_eq!(new.fields.state.granted_on, Some(d("2026-05-12")));
        assert_eq!(new.fields.state.deliveries, vec!["d1"]);
        assert_eq!(
            new.fields.repositories[0].to_line(),
            "acme/widgets: write (added by alice 2026-05-12)"
        );
        assert_eq!(new.fields.added_by.as_deref(), Some("alice"));
    }

    #[test]
    fn a_29_february_receipt_expires_on_28_february() {
        let f = Fixture::new(MemberAction::Added, "acme/widgets", "d1").at("2028-02-29T10:00:00Z");
        assert_eq!(created(&f).expires_on, Some(d("2029-02-28")));
    }

    #[test]
    fn an_unresolved_adder_is_unknown() {
        let f = Fixture::new(MemberAction::Added, "acme/widgets", "d1");
        let mut ctx = f.ctx();
        ctx.adder = None;
        let MemberDecision::Create(new) = apply_member_event(None, &ctx) else {
            panic!()
        };
        assert_eq!(new.fields.added_by.as_deref(), Some("unknown"));
        assert!(new.body.contains("by 'unknown'"));
    }

    #[test]
    fn the_same_delivery_again_is_already_applied() {
        let f = Fixture::new(MemberAction::Added, "acme/widgets", "d1");
        let ticket = created(&f);
        assert_eq!(
            apply_member_event(Some(&ticket), &f.ctx()),
            MemberDecision::AlreadyApplied
        );
    }

    #[test]
    fn a_second_repository_keeps_the_expiry_and_posts_one_message() {
        let ticket = created(&Fixture::new(MemberAction::Added, "acme/widgets", "d1"));
        let f = Fixture::new(MemberAction::Added, "acme/apps", "d2").at("2026-07-01T00:00:00Z");
        let u = updated(&ticket, &f);
        assert_eq!(u.transition, Transition::Updated);
        assert_eq!(u.fields.expires_on, Some(d("2027-05-12")));
        assert_eq!(u.fields.repositories.len(), 2);
        assert_eq!(u.fields.repositories[0].full_name, "acme/apps");
        assert!(u.message.unwrap().ends_with("[cls:d2]"));
        assert_eq!(u.fields.state.deliveries, vec!["d1", "d2"]);
    }

    #[test]
    fn an_edit_updates_the_permission_and_names_old_and_new() {
        let ticket = created(&Fixture::new(MemberAction::Added, "acme/widgets", "d1"));
        let mut f = Fixture::new(MemberAction::Edited, "acme/widgets", "d2");
        f.event.permission = Some("admin".into());
        f.event.previous_permission = Some("write".into());
        let u = updated(&ticket, &f);
        assert_eq!(u.fields.repositories[0].permission, "admin");
        assert_eq!(
            u.fields.repositories[0].added_by, "alice",
            "the adder of the grant is kept"
        );
        assert!(
            u.message
                .unwrap()
                .contains("changed from write to admin in acme/widgets by 'alice'")
        );
    }

    #[test]
    fn removing_the_last_repository_closes_the_ticket() {
        let ticket = created(&Fixture::new(MemberAction::Added, "acme/widgets", "d1"));
        let f = Fixture::new(MemberAction::Removed, "acme/widgets", "d2");
        let u = updated(&ticket, &f);
        assert_eq!(u.transition, Transition::Closed);
        assert_eq!(u.fields.state.access, Access::Removed);
        assert_eq!(u.fields.state.reason, Some(RemovalReason::Github));
        assert!(
            u.message
                .unwrap()
                .contains("No repositories left; access closed.")
        );
    }

    #[test]
    fn a_removal_on_an_empty_or_unreadable_repository_list_keeps_the_ticket_open_and_asks_a_human()
    {
        let mut ticket = created(&Fixture::new(MemberAction::Added, "acme/widgets", "d1"));
        ticket.repositories.clear();
        let u = updated(
            &ticket,
            &Fixture::new(MemberAction::Removed, "acme/widgets", "d2"),
        );
        assert_eq!(u.transition, Transition::Updated);
        assert_eq!(u.fields.state.access, Access::Granted);
        assert_eq!(u.fields.state.reason, None);
        assert_eq!(
            u.needs_attention,
            Some(AttentionReason::RepositoriesUnreadable)
        );
        assert!(!u.message.unwrap().contains("access closed"));
        ticket.repositories = vec![RepoGrant::parse_line("see the old spreadsheet").unwrap()];
        let u = updated(
            &ticket,
            &Fixture::new(MemberAction::Removed, "acme/widgets", "d3"),
        );
        assert_eq!(u.fields.state.access, Access::Granted);
        assert_eq!(
            u.needs_attention,
            Some(AttentionReason::RepositoriesUnreadable)
        );
    }

    #[test]
    fn a_removal_of_an_unlisted_repository_from_a_readable_list_is_a_plain_update() {
        let ticket = created(&Fixture::new(MemberAction::Added, "acme/widgets", "d1"));
        let u = updated(
            &ticket,
            &Fixture::new(MemberAction::Removed, "acme/other", "d2"),
        );
        assert_eq!(u.transition, Transition::Updated);
        assert_eq!(u.fields.state.access, Access::Granted);
        assert_eq!(u.needs_attention, None);
        assert_eq!(u.fields.repositories.len(), 1);
    }

    #[test]
    fn a_readd_with_an_unresolved_adder_keeps_the_owner_and_the_adder() {
        let ticket = created(&Fixture::new(MemberAction::Added, "acme/widgets", "d1"));
        let closed = updated(
            &ticket,
            &Fixture::new(MemberAction::Removed, "acme/widgets", "d2"),
        )
        .fields;
        let f = Fixture::new(MemberAction::Added, "acme/apps", "d3");
        let mut ctx = f.ctx();
        ctx.adder = None;
        let MemberDecision::Update(u) = apply_member_event(Some(&closed), &ctx) else {
            panic!()
        };
        assert_eq!(u.transition, Transition::Reopened);
        assert!(!u.set_owner, "the existing owner stays");
        assert_eq!(u.fields.added_by.as_deref(), Some("alice"));
        assert!(
            u.fields.repositories[0]
                .to_line()
                .contains("added by unknown")
        );
    }

    #[test]
    fn removing_one_of_two_repositories_keeps_access() {
        let ticket = created(&Fixture::new(MemberAction::Added, "acme/widgets", "d1"));
        let ticket = updated(
            &ticket,
            &Fixture::new(MemberAction::Added, "acme/apps", "d2"),
        )
        .fields;
        let u = updated(
            &ticket,
            &Fixture::new(MemberAction::Removed, "acme/apps", "d3"),
        );
        assert_eq!(u.transition, Transition::Updated);
        assert_eq!(u.fields.state.access, Access::Granted);
        assert!(!u.message.unwrap().contains("access closed"));
    }

    #[test]
    fn a_removal_without_a_ticket_is_ignored() {
        let f = Fixture::new(MemberAction::Removed, "acme/widgets", "d1");
        assert_eq!(
            apply_member_event(None, &f.ctx()),
            MemberDecision::Ignore(IgnoreReason::RemovedWithoutTicket)
        );
    }

    #[test]
    fn a_removal_echo_on_a_closed_ticket_is_silent() {
        let ticket = created(&Fixture::new(MemberAction::Added, "acme/widgets", "d1"));
        let mut closed = updated(
            &ticket,
            &Fixture::new(MemberAction::Removed, "acme/widgets", "d2"),
        )
        .fields;
        assert_eq!(
            apply_member_event(
                Some(&closed),
                &Fixture::new(MemberAction::Removed, "acme/widgets", "d3").ctx()
            ),
            MemberDecision::Ignore(IgnoreReason::NothingToRemove)
        );
        closed
            .repositories
            .push(RepoGrant::parse_line("acme/x: read").unwrap());
        let u = updated(
            &closed,
            &Fixture::new(MemberAction::Removed, "acme/x", "d4"),
        );
        assert_eq!((u.transition, u.message), (Transition::Silent, None));
    }

    #[test]
    fn a_readd_reopens_with_a_new_expiry_and_cleared_reminders() {
        let ticket = created(&Fixture::new(MemberAction::Added, "acme/widgets", "d1"));
        let mut closed = updated(
            &ticket,
            &Fixture::new(MemberAction::Removed, "acme/widgets", "d2"),
        )
        .fields;
        closed.state.notified = Some(crate::ticket::Notified {
            for_date: d("2027-05-12"),
            days: vec![21],
        });
        let f = Fixture::new(MemberAction::Added, "acme/apps", "d3").at("2026-09-01T08:00:00Z");
        let u = updated(&closed, &f);
        assert_eq!(u.transition, Transition::Reopened);
        assert!(u.set_owner);
        assert!(
            !u.alert_readded_after_removal,
            "removed by a person, not by CLS"
        );
        assert_eq!(u.fields.expires_on, Some(d("2027-09-01")));
        assert_eq!(u.fields.state.notified, None);
        assert_eq!(u.fields.state.access, Access::Granted);
        assert_eq!(u.fields.repositories.len(), 1);
    }

    #[test]
    fn a_readd_soon_after_a_cls_expiry_alerts() {
        let mut ticket = created(&Fixture::new(MemberAction::Added, "acme/widgets", "d1"));
        ticket.state.access = Access::Removed;
        ticket.state.reason = Some(RemovalReason::Expired);
        ticket.state.removed_on = Some(d("2026-05-10"));
        assert!(
            updated(
                &ticket,
                &Fixture::new(MemberAction::Added, "acme/apps", "d2")
            )
            .alert_readded_after_removal
        );
        ticket.state.removed_on = Some(d("2026-05-01"));
        assert!(
            !updated(
                &ticket,
                &Fixture::new(MemberAction::Added, "acme/apps", "d3")
            )
            .alert_readded_after_removal
        );
    }

    #[test]
    fn an_edit_without_a_ticket_creates_one_with_the_sender_as_adder() {
        let mut f = Fixture::new(MemberAction::Edited, "acme/widgets", "d1");
        f.event.sender.as_mut().unwrap().login = "repo-admin".into();
        assert_eq!(created(&f).added_by.as_deref(), Some("repo-admin"));
    }

    #[test]
    fn a_login_change_and_a_legacy_ticket_are_upgraded_on_write() {
        let legacy = TicketFields {
            github_login: Some("old-name".into()),
            expires_on: Some(d("2026-12-01")),
            repositories: vec![
                RepoGrant::parse_line("acme/widgets: write (added by bob 2025-12-01)").unwrap(),
            ],
            ..TicketFields::default()
        };
        let u = updated(
            &legacy,
            &Fixture::new(MemberAction::Added, "acme/apps", "d1"),
        );
        assert_eq!(u.fields.github_login.as_deref(), Some("octocat"));
        assert_eq!(u.fields.github_user_id, Some(42));
        assert_eq!(u.fields.github_org.as_deref(), Some("acme"));
        assert_eq!(
            u.fields.expires_on,
            Some(d("2026-12-01")),
            "expiry unchanged"
        );
        assert_eq!(u.fields.state.granted_on, Some(d("2025-12-01")));
        assert!(u.fields.has_state);
    }
}
