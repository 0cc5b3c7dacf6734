//! `import` handling (README, `import`; from `cls-admin backfill`): a collaborator without a ticket gets one;
//! an existing ticket only has its missing fields filled (legacy adoption), never its expiry changed.
//! The command id is recorded in `cls_state.deliveries` (in the create call itself), so a second run
//! creates and changes nothing.

use chrono::{Duration, NaiveDate};
use cls_core::dates::one_year_after;
use cls_core::envelope::ImportMsg;
use cls_core::settings::OrgSettings;
use cls_core::ticket::{Access, ClsState, RepoGrant, UNKNOWN_ADDER};
use cls_core::{Envelope, FoundTicket, TicketFields, messages};
use github_app::Membership;
use spoke_client::{NewRequest, PrivacyLevel, RequestTypeId, TeamId};

use crate::deps::Deps;
use crate::error::{Failure, RecordError};
use crate::lifecycle::{self, on_ticket};
use crate::member::{Outcome, adder_owner, answers, sync_access_tags};
use crate::slack::email_of_login;

/// An imported expiry is never earlier than this many days from today, so reminders precede removal.
pub const MIN_IMPORT_DAYS: i64 = 30;

/// The expiry of an imported collaborator: the given date, else `added_at` + 1 year, else today + 1 year;
/// never earlier than today + [`MIN_IMPORT_DAYS`].
pub fn import_expiry(msg: &ImportMsg, today: NaiveDate) -> NaiveDate {
    msg.expires_on
        .or_else(|| msg.added_at.map(one_year_after))
        .unwrap_or_else(|| one_year_after(today))
        .max(today + Duration::days(MIN_IMPORT_DAYS))
}

fn grants(msg: &ImportMsg) -> Vec<RepoGrant> {
    let adder = msg.added_by.as_deref().unwrap_or(UNKNOWN_ADDER);
    msg.repositories
        .iter()
        .map(|r| RepoGrant {
            full_name: r.full_name.clone(),
            permission: r.permission.clone(),
            added_by: adder.to_owned(),
            added_on: msg.added_at,
        })
        .collect()
}

/// Applies one import.
pub async fn process(env: &Envelope, msg: &ImportMsg, deps: &Deps) -> Result<Outcome, Failure> {
    let Some(org) = deps.settings.github.org(&env.org.login) else {
        deps.count("UnknownOrg", &[]);
        return Err(RecordError::Refused(
            "the import names an organisation that is not configured",
        )
        .into());
    };
    if deps
        .github
        .membership(&org.org, &env.collaborator.login)
        .await?
        == Membership::Member
    {
        deps.count("IgnoredOrgMember", &[]);
        return Ok("ignored_org_member");
    }
    let email = email_of_login(&env.collaborator.login, deps).await?;
    match lifecycle::find(deps, env).await? {
        None => create(env, msg, org, email, deps).await,
        Some(ticket) => fill_missing(env, msg, &ticket, email, deps).await,
    }
}

async fn create(
    env: &Envelope,
    msg: &ImportMsg,
    org: &OrgSettings,
    email: Option<String>,
    deps: &Deps,
) -> Result<Outcome, Failure> {
    let today = deps.today();
    let expires_on = import_expiry(msg, today);
    let key = env.dedup_id();
    let mut state = ClsState {
        uid: Some(env.collaborator.id),
        granted_on: Some(msg.added_at.unwrap_or(today)),
        expires_on: Some(expires_on),
        ..ClsState::default()
    };
    state.record(&key);
    let mut fields = TicketFields {
        expires_on: Some(expires_on),
        github_login: Some(env.collaborator.login.clone()),
        github_user_id: Some(env.collaborator.id),
        github_org: Some(org.org.clone()),
        collaborator_email: email,
        repositories: Vec::new(),
        added_by: Some(
            msg.added_by
                .clone()
                .unwrap_or_else(|| UNKNOWN_ADDER.to_owned()),
        ),
        state,
        has_state: true,
    };
    for grant in grants(msg) {
        fields.upsert_repo(grant);
    }
    let spoke = &deps.settings.spoke;
    let repos = fields
        .repositories
        .iter()
        .map(|g| format!("{}: {}", g.full_name, g.permission))
        .collect::<Vec<_>>()
        .join(", ");
    let body = messages::import_body(
        &env.collaborator.login,
        if repos.is_empty() {
            "no listed repository"
        } else {
            &repos
        },
        msg.added_by.as_deref().unwrap_or(UNKNOWN_ADDER),
        msg.source.as_str(),
        expires_on,
    );
    let owner = adder_owner(msg.added_by.as_deref(), org, deps)
        .await?
        .unwrap_or_else(|| spoke_client::UserId::new(&org.default_owner.spoke_user_id));
    let mut request = NewRequest::new(
        messages::subject(&env.collaborator.login, &org.org),
        deps.service_user().await?,
    )
    .body(body)
    .owner(owner)
    .team(TeamId::new(&spoke.team_id))
    .privacy(PrivacyLevel::Private)
    .request_type(RequestTypeId::new(&spoke.request_type_id));
    for (field, value) in answers(&fields, deps) {
        request = request.answer(field, value);
    }
    // An unknown outcome is retried: the retry's lookup finds the ticket by the recorded command id (the
    // newest-tickets scan covers search lag) and changes nothing.
    let created = deps.spoke().create_request(&request).await?;
    sync_access_tags(&created, Access::Granted, &spoke.tags, deps)
        .await
        .map_err(|e| on_ticket(&created)(e.into()))?;
    lifecycle::note(
        deps,
        &created.id,
        &messages::imported(msg.source.as_str(), &key),
    )
    .await;
    deps.count("TicketCreated", &[]);
    tracing::info!(ticket_id = %created.id, outcome = "ticket_created", source = msg.source.as_str(), "collaborator imported");
    Ok("created")
}

async fn fill_missing(
    env: &Envelope,
    msg: &ImportMsg,
    ticket: &FoundTicket,
    email: Option<String>,
    deps: &Deps,
) -> Result<Outcome, Failure> {
    let key = env.dedup_id();
    if ticket.fields.state.has_applied(&key) {
        deps.count("DuplicateDeliverySkipped", &[]);
        return Ok("duplicate_command");
    }
    let mut fields = ticket.fields.clone();
    let mut filled: Vec<&str> = Vec::new();
    if fields.github_login.is_none() {
        fields.github_login = Some(env.collaborator.login.clone());
        filled.push("github_login");
    }
    if fields.github_user_id.is_none() {
        fields.github_user_id = Some(env.collaborator.id);
        filled.push("github_user_id");
    }
    if fields.github_org.is_none() {
        fields.github_org = Some(env.org.login.clone());
        filled.push("github_org");
    }
    if fields.collaborator_email.is_none() && email.is_some() {
        fields.collaborator_email = email;
        filled.push("collaborator_email");
    }
    if fields.repositories.is_empty() && !msg.repositories.is_empty() {
        for grant in grants(msg) {
            fields.upsert_repo(grant);
        }
        filled.push("repositories");
    }
    if fields
        .added_by
        .as_deref()
        .is_none_or(|a| a == UNKNOWN_ADDER)
        && let Some(adder) = &msg.added_by
    {
        fields.added_by = Some(adder.clone());
        filled.push("added_by");
    }
    if fields.expires_on.is_none() {
        let expires_on = import_expiry(msg, deps.today());
        fields.expires_on = Some(expires_on);
        fields.state.expires_on = Some(expires_on);
        filled.push("expires_on");
    }
    if !fields.has_state {
        fields.state.uid = Some(env.collaborator.id);
        fields.state.granted_on = fields.state.granted_on.or(msg.added_at);
        fields.has_state = true;
        filled.push("cls_state");
    }
    if filled.is_empty() {
        return Ok("nothing_to_do");
    }
    fields.state.record(&key);
    lifecycle::save(deps, &ticket.request, &fields, None)
        .await
        .map_err(on_ticket(&ticket.request))?;
    let text = messages::import_filled(msg.source.as_str(), &filled, &key);
    lifecycle::note(deps, &ticket.request.id, &text).await;
    deps.count("TicketUpdated", &[]);
    Ok("filled")
}

#[cfg(test)]
mod tests {
    use cls_core::ImportSource;
    use cls_core::dates::parse_date;

    use super::*;

    fn msg(expires_on: Option<&str>, added_at: Option<&str>) -> ImportMsg {
        ImportMsg {
            command_id: "import-1".into(),
            source: ImportSource::Csv,
            repositories: vec![],
            added_by: None,
            added_at: added_at.and_then(parse_date),
            expires_on: expires_on.and_then(parse_date),
        }
    }

    #[test]
    fn an_imported_expiry_is_never_earlier_than_thirty_days_from_today() {
        let today = parse_date("2026-12-03").unwrap();
        assert_eq!(
            import_expiry(&msg(Some("2027-03-01"), None), today),
            parse_date("2027-03-01").unwrap()
        );
        assert_eq!(
            import_expiry(&msg(None, Some("2026-02-01")), today),
            parse_date("2027-02-01").unwrap()
        );
        assert_eq!(
            import_expiry(&msg(None, Some("2025-06-01")), today),
            parse_date("2027-01-02").unwrap()
        );
        assert_eq!(
            import_expiry(&msg(Some("2026-12-01"), None), today),
            parse_date("2027-01-02").unwrap()
        );
        assert_eq!(
            import_expiry(&msg(None, None), today),
            parse_date("2027-12-03").unwrap()
        );
    }
}
