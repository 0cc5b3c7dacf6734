//! Organisation, repository and user endpoints.

use super::auth::*;
use super::*;

pub(super) async fn check_member(
    State(s): State<Shared>,
    Path((org, username)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let world = s.world();
    let org = permitted_org(&world, &headers, s.kit.now(), &org, MEMBERS_READ)?;
    if org.membership_hidden {
        let location = format!("/orgs/{}/public_members/{username}", org.login);
        let mut resp = StatusCode::FOUND.into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            resp.headers_mut().insert("location", v);
        }
        return Ok(resp);
    }
    Ok(match world.user_by_login(&username) {
        Some(u) if org.is_member(u.id) => StatusCode::NO_CONTENT.into_response(),
        _ => error(
            StatusCode::NOT_FOUND,
            "User does not exist or is not a member of the organization",
        ),
    })
}

pub(super) async fn remove_outside(
    State(s): State<Shared>,
    Path((org, username)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let mut world = s.world();
    permitted_org(&world, &headers, s.kit.now(), &org, MEMBERS_WRITE)?;
    let Some(user_id) = world.user_by_login(&username).map(|u| u.id) else {
        return Ok(not_found());
    };
    let Some(org) = world.org_mut(&org) else {
        return Ok(not_found());
    };
    if org.is_member(user_id) {
        return Ok(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "You cannot specify an organization member to remove as an outside collaborator.",
        ));
    }
    let mut removed = false;
    for repo in &mut org.repos {
        let before = repo.collaborators.len();
        repo.collaborators.retain(|c| c.user_id != user_id);
        removed |= repo.collaborators.len() != before;
        repo.invitations.retain(|i| i.invitee != user_id);
    }
    Ok(if removed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found()
    })
}

pub(super) async fn list_outside(
    State(s): State<Shared>,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let world = s.world();
    let org = permitted_org(&world, &headers, s.kit.now(), &org, MEMBERS_READ_LIST)?;
    let items = org
        .outside_collaborators()
        .into_iter()
        .filter_map(|id| world.users.get(&id).map(crate::state::User::simple_json))
        .collect();
    Ok(paginate(items, &query, &uri, &headers))
}

pub(super) async fn list_repos(
    State(s): State<Shared>,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let world = s.world();
    let org = permitted_org(&world, &headers, s.kit.now(), &org, METADATA_READ)?;
    let items = org.repos.iter().map(|r| org.repo_json(r)).collect();
    Ok(paginate(items, &query, &uri, &headers))
}

pub(super) async fn list_collaborators(
    State(s): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let world = s.world();
    let org = permitted_org(&world, &headers, s.kit.now(), &owner, METADATA_READ)?;
    let Some(repo) = org.repo(&repo) else {
        return Ok(not_found());
    };
    let affiliation = query.get("affiliation").map_or("all", String::as_str);
    let items = repo
        .collaborators
        .iter()
        .filter(|c| affiliation != "outside" || !org.is_member(c.user_id))
        .filter_map(|c| {
            let mut v = world.users.get(&c.user_id)?.simple_json();
            v["role_name"] = json!(c.role_name);
            v["permissions"] = permission_flags(&c.role_name);
            Some(v)
        })
        .collect();
    Ok(paginate(items, &query, &uri, &headers))
}

pub(super) async fn permission(
    State(s): State<Shared>,
    Path((owner, repo, username)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let world = s.world();
    let org = permitted_org(&world, &headers, s.kit.now(), &owner, METADATA_READ)?;
    let Some(repo) = org.repo(&repo) else {
        return Ok(not_found());
    };
    let Some(user) = world.user_by_login(&username) else {
        return Ok(error(
            StatusCode::NOT_FOUND,
            &format!("{username} is not a user"),
        ));
    };
    let role = repo
        .collaborators
        .iter()
        .find(|c| c.user_id == user.id)
        .map(|c| c.role_name.clone())
        .or_else(|| org.is_member(user.id).then(|| "read".to_owned()));
    let (permission, role_name) = match &role {
        Some(r) => (legacy_permission(r), r.as_str()),
        None => ("none", "none"),
    };
    let mut u = user.simple_json();
    u["role_name"] = json!(role_name);
    u["permissions"] = match &role {
        Some(r) => permission_flags(r),
        None => {
            json!({"pull": false, "triage": false, "push": false, "maintain": false, "admin": false})
        }
    };
    Ok(Json(json!({"permission": permission, "role_name": role_name, "user": u})).into_response())
}

pub(super) async fn list_invitations(
    State(s): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let world = s.world();
    let org = permitted_org(&world, &headers, s.kit.now(), &owner, ADMINISTRATION_READ)?;
    let Some(repo) = org.repo(&repo) else {
        return Ok(not_found());
    };
    let items = repo
        .invitations
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "repository": org.repo_json(repo),
                "invitee": world.users.get(&i.invitee).map(crate::state::User::simple_json),
                "inviter": i.inviter.and_then(|x| world.users.get(&x)).map(crate::state::User::simple_json),
                "permissions": i.permissions,
                "created_at": i.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "expired": false,
            })
        })
        .collect();
    Ok(paginate(items, &query, &uri, &headers))
}

/// Repository events, newest first (`created_at`), paginated; public events need only metadata read.
pub(super) async fn list_repo_events(
    State(s): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let world = s.world();
    let org = permitted_org(&world, &headers, s.kit.now(), &owner, REPO_EVENTS_READ)?;
    let Some(repo) = org.repo(&repo) else {
        return Ok(not_found());
    };
    let mut items = repo.events.clone();
    items.sort_by(|a, b| {
        let at = |e: &Value| {
            e.get("created_at")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        at(b).cmp(&at(a))
    });
    Ok(paginate(items, &query, &uri, &headers))
}

pub(super) async fn user_by_id(
    State(s): State<Shared>,
    Path(account_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    if let Err(r) = installation_auth(&world, &headers, s.kit.now()) {
        return r.into_response();
    }
    let user = account_id
        .parse::<u64>()
        .ok()
        .and_then(|id| world.users.get(&id));
    match user {
        Some(u) => Json(u.full_json()).into_response(),
        None => not_found(),
    }
}

pub(super) async fn user_by_login(
    State(s): State<Shared>,
    Path(username): Path<String>,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    if let Err(r) = installation_auth(&world, &headers, s.kit.now()) {
        return r.into_response();
    }
    match world.user_by_login(&username) {
        Some(u) => Json(u.full_json()).into_response(),
        None => not_found(),
    }
}

/// Audit log (Enterprise Cloud only; 404 otherwise). `phrase` supports `action:`, `repo:`, `user:`,
/// `actor:` and `created:>=YYYY-MM-DD` terms; events are returned newest first.
pub(super) async fn audit_log(
    State(s): State<Shared>,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let world = s.world();
    let org = permitted_org(&world, &headers, s.kit.now(), &org, ORG_ADMINISTRATION_READ)?;
    if !org.enterprise {
        return Ok(not_found());
    }
    let phrase = query.get("phrase").cloned().unwrap_or_default();
    let mut items: Vec<Value> = org
        .audit_log
        .iter()
        .filter(|e| phrase_matches(&phrase, e))
        .cloned()
        .collect();
    items.sort_by_key(|e| std::cmp::Reverse(event_millis(e)));
    Ok(paginate(items, &query, &uri, &headers))
}

pub(super) fn event_millis(e: &Value) -> i64 {
    e.get("@timestamp")
        .and_then(Value::as_i64)
        .or_else(|| e.get("created_at").and_then(Value::as_i64))
        .unwrap_or(0)
}

pub(super) fn phrase_matches(phrase: &str, event: &Value) -> bool {
    phrase.split_whitespace().all(|term| {
        let Some((key, value)) = term.split_once(':') else {
            return true;
        };
        let field = |name: &str| {
            event
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        match key {
            "action" => field("action") == value,
            "repo" => field("repo").eq_ignore_ascii_case(value),
            "user" => {
                field("user").eq_ignore_ascii_case(value)
                    || field("invitee").eq_ignore_ascii_case(value)
            }
            "actor" => field("actor").eq_ignore_ascii_case(value),
            "created" => {
                let Some(date) = value.strip_prefix(">=") else {
                    return true;
                };
                match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
                    Ok(d) => {
                        let start = d
                            .and_hms_opt(0, 0, 0)
                            .map(|t| t.and_utc().timestamp_millis())
                            .unwrap_or(0);
                        event_millis(event) >= start
                    }
                    Err(_) => true,
                }
            }
            _ => true,
        }
    })
}
