//! Finding the team and the user: the configured or cached id, else the team listing; the exact e-mail
//! lookup, else the user search. Listings go through `spoke_client::paging`, which follows `total` (a
//! short page is not the last one while `total` says more exist).

use std::sync::atomic::{AtomicU32, Ordering};

use futures::StreamExt;
use spoke_client::paging::{self, ListRoute};
use spoke_client::{SpokeApi, SpokeError, Team, TeamQuery, User, UserQuery};

use super::classify::{CallError, Stage};
use super::{Found, MAX_SEARCH_PAGES, MAX_TEAM_PAGES, SpokeRun, SpokeSettings, Step, is_closed};
use crate::outcome::{AlertKind, Decision};

const TEAMS: ListRoute = ListRoute {
    operation: "list teams",
    route: "/teams",
};
const USERS: ListRoute = ListRoute {
    operation: "list users",
    route: "/users",
};

/// True when the object carries everything the decision needs (`settings` and agents); list answers
/// may leave them out. The model cannot tell an absent `agentList` from an empty one: empty is re-read.
fn is_complete(team: &Team) -> bool {
    team.settings.is_some() && !team.agent_list.is_empty()
}

fn team_name(team: &Team) -> &str {
    team.name.as_deref().unwrap_or_default().trim()
}

fn has_email(user: &User, wanted: &str) -> bool {
    user.email
        .as_deref()
        .is_some_and(|e| e.trim().to_lowercase() == wanted)
}

fn ids<'t, T: 't>(items: impl IntoIterator<Item = &'t T>, id: impl Fn(&T) -> &str) -> String {
    items.into_iter().map(id).collect::<Vec<_>>().join(", ")
}

impl SpokeRun<'_> {
    /// The team named `name`: by configured or cached id (a 404 falls back to the listing), else by
    /// listing every team and matching the name case-insensitively (an exact-case match wins).
    pub(super) async fn resolve_team(&mut self, name: &str) -> Step<Found<Team>> {
        let SpokeSettings {
            config, cache, now, ..
        } = self.settings;
        let spoke = self.spoke;
        let known = config
            .configured_team_id(name)
            .map(spoke_client::TeamId::new)
            .or_else(|| cache.get(name, now));
        if let Some(id) = known {
            match self
                .call(Stage::Read("GET team"), spoke.get_team(&id))
                .await?
            {
                Some(team) if is_closed(&team) => {
                    return Ok(Found::No(Decision::permanent(
                        AlertKind::TeamClosed,
                        format!("team {} is closed", team.id),
                    )));
                }
                Some(team) => {
                    cache.put(name, &team.id, now);
                    return Ok(Found::Yes(team));
                }
                None => {
                    tracing::warn!(team_id = %id, "configured or cached team id not found; listing teams");
                    cache.remove(name);
                }
            }
        }
        let teams = self.list_teams().await?;
        let matches: Vec<&Team> = teams.iter().filter(|t| t.has_name(name)).collect();
        let open: Vec<&Team> = matches.iter().copied().filter(|t| !is_closed(t)).collect();
        let chosen = match open.as_slice() {
            [] if matches.is_empty() => {
                return Ok(Found::No(Decision::permanent(
                    AlertKind::TeamNotFound,
                    format!("no team of {} scanned has that name", teams.len()),
                )));
            }
            [] => {
                return Ok(Found::No(Decision::permanent(
                    AlertKind::TeamClosed,
                    format!(
                        "only closed teams have that name: {}",
                        ids(matches.iter().copied(), |t| t.id.as_str())
                    ),
                )));
            }
            [one] => *one,
            several => {
                let exact: Vec<&&Team> = several
                    .iter()
                    .filter(|t| team_name(t) == name.trim())
                    .collect();
                match exact.as_slice() {
                    [one] => **one,
                    _ => {
                        return Ok(Found::No(Decision::permanent(
                            AlertKind::TeamAmbiguous,
                            format!(
                                "candidate team ids: {}",
                                ids(several.iter().copied(), |t| t.id.as_str())
                            ),
                        )));
                    }
                }
            }
        };
        cache.put(name, &chosen.id, now);
        if is_complete(chosen) {
            return Ok(Found::Yes(chosen.clone()));
        }
        match self
            .call(Stage::Read("GET team"), spoke.get_team(&chosen.id))
            .await?
        {
            Some(team) => Ok(Found::Yes(team)),
            None => Ok(Found::No(Decision::permanent(
                AlertKind::TeamNotFound,
                format!("team {} was listed but could not be read", chosen.id),
            ))),
        }
    }

    /// Every team, through the client's pager (100 a page, at most [`MAX_TEAM_PAGES`] pages).
    async fn list_teams(&mut self) -> Step<Vec<Team>> {
        let spoke: &dyn SpokeApi = self.spoke;
        let pages = AtomicU32::new(0);
        let query = TeamQuery::default();
        let listing = paging::collect_all(MAX_TEAM_PAGES, TEAMS, &query, |q| {
            pages.fetch_add(1, Ordering::Relaxed);
            async move { spoke.list_teams(&q).await }
        });
        let result = self
            .within_deadline(Stage::Read("list teams"), listing)
            .await;
        self.calls += pages.load(Ordering::Relaxed);
        result
    }

    /// The one user with e-mail `email`: the exact lookup (accepted only when its e-mail matches), else
    /// the search, keeping exact e-mail matches from at most [`MAX_SEARCH_PAGES`] pages.
    pub(super) async fn resolve_user(&mut self, email: &str) -> Step<Found<User>> {
        let wanted = email.trim().to_lowercase();
        let spoke: &dyn SpokeApi = self.spoke;
        let exact_note = match self
            .call(
                Stage::Read("GET user by e-mail"),
                spoke.user_by_email(email),
            )
            .await
        {
            Ok(Some(user)) if has_email(&user, &wanted) => return Ok(Found::Yes(user)),
            Ok(Some(user)) => format!("exact lookup returned user {} with another e-mail", user.id),
            Ok(None) => "exact lookup found nothing".to_owned(),
            Err((_, CallError::Spoke(e))) if matches!(e.status(), Some(400 | 405)) => {
                format!(
                    "exact lookup unsupported (HTTP {})",
                    e.status().unwrap_or_default()
                )
            }
            Err(e) => return Err(e),
        };
        let pages = AtomicU32::new(0);
        let search = async {
            let query = UserQuery::search(email);
            let users = paging::stream(MAX_SEARCH_PAGES, USERS, query, |q| {
                pages.fetch_add(1, Ordering::Relaxed);
                async move { spoke.list_users(&q).await }
            });
            futures::pin_mut!(users);
            let (mut found, mut seen) = (Vec::new(), 0_usize);
            while let Some(user) = users.next().await {
                match user {
                    Ok(user) => {
                        seen += 1;
                        if has_email(&user, &wanted) {
                            found.push(user);
                        }
                    }
                    Err(SpokeError::TooManyPages { .. }) => break,
                    Err(e) => return Err(e),
                }
            }
            Ok((found, seen))
        };
        let result = self
            .within_deadline(Stage::Read("search users"), search)
            .await;
        self.calls += pages.load(Ordering::Relaxed);
        let (mut found, seen) = result?;
        match found.len() {
            1 => Ok(Found::Yes(found.remove(0))),
            0 => Ok(Found::No(Decision::permanent(
                AlertKind::UserNotFound,
                format!(
                    "{exact_note}; search fallback returned {seen} users, none with that exact e-mail"
                ),
            ))),
            _ => Ok(Found::No(Decision::permanent(
                AlertKind::UserAmbiguous,
                format!(
                    "{exact_note}; search fallback found several users with that e-mail: {}",
                    ids(&found, |u| u.id.as_str())
                ),
            ))),
        }
    }
}
