//! In-memory ports for the unit tests of the domain and the handler.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::handoff::patch_body;
use crate::ports::{
    Agent, Delegation, Page, PostFailure, SecretReadError, SecretSource, SpokeConnector,
    SpokeDirectory, SpokeFailure, SpokeTeam, SpokeUser, WebhookPoster,
};

/// A team with `agents` and an optional delegation.
pub(crate) fn team(
    id: &str,
    name: &str,
    agents: &[&str],
    delegation: Option<Delegation>,
) -> SpokeTeam {
    SpokeTeam {
        id: id.into(),
        name: name.into(),
        slug: Some(name.to_lowercase().replace(' ', "-")),
        status: Some("ACTIVE".into()),
        permalink: Some(format!(
            "https://example.askspoke.com/teams/{}",
            name.to_lowercase()
        )),
        has_settings: true,
        delegation,
        auto_delegation: Some(true),
        agents: Some(
            agents
                .iter()
                .map(|a| Agent {
                    user_id: (*a).into(),
                    status: Some("AVAILABLE".into()),
                })
                .collect(),
        ),
    }
}

/// A user.
pub(crate) fn user(id: &str, email: &str, name: &str) -> SpokeUser {
    SpokeUser {
        id: id.into(),
        email: Some(email.into()),
        display_name: Some(name.into()),
    }
}

fn specific(user: &str) -> Option<Delegation> {
    Some(Delegation {
        strategy: Some("SPECIFIC_USER".into()),
        specific_user: Some(user.into()),
    })
}

/// How the in-memory Spoke answers a PATCH.
#[derive(Debug, Clone)]
pub(crate) enum PatchMode {
    /// Apply and echo the team.
    Apply,
    /// Apply but answer without `settings.delegation`.
    ApplyWithoutEcho,
    /// Answer with the unchanged team.
    Ignore,
    /// Fail.
    Fail(SpokeFailure),
}

#[derive(Debug)]
struct State {
    teams: Vec<SpokeTeam>,
    users: Vec<SpokeUser>,
    email_lookup: bool,
    patch_mode: PatchMode,
    fail: Option<SpokeFailure>,
    hang: bool,
    calls: Vec<String>,
    patches: Vec<(String, Value)>,
    keys_seen: Vec<String>,
    valid_key: Option<String>,
}

/// An in-memory Spoke seeded like the spec's baseline.
#[derive(Debug, Clone)]
pub(crate) struct MemorySpoke {
    state: Arc<Mutex<State>>,
    key: Option<String>,
}

impl MemorySpoke {
    /// Users svc, alice, bob, carol; teams IT (svc, alice, bob; SPECIFIC_USER → bob), Security (ROUND_ROBIN),
    /// Design (without the service account).
    pub(crate) fn baseline() -> Self {
        let users = vec![
            user(
                "user-svc",
                "oncall-bot@example.com",
                "oncall-spoke api-user",
            ),
            user("user-alice", "alice@example.com", "Alice Example"),
            user("user-bob", "bob@example.com", "Bob Example"),
            user("user-carol", "carol@example.com", "Carol Example"),
        ];
        let teams = vec![
            team(
                "team-it",
                "IT",
                &["user-svc", "user-alice", "user-bob"],
                specific("user-bob"),
            ),
            team(
                "team-sec",
                "Security",
                &["user-svc", "user-alice"],
                Some(Delegation {
                    strategy: Some("ROUND_ROBIN".into()),
                    specific_user: None,
                }),
            ),
            team(
                "team-design",
                "Design",
                &["user-alice"],
                specific("user-alice"),
            ),
        ];
        Self {
            state: Arc::new(Mutex::new(State {
                teams,
                users,
                email_lookup: true,
                patch_mode: PatchMode::Apply,
                fail: None,
                hang: false,
                calls: Vec::new(),
                patches: Vec::new(),
                keys_seen: Vec::new(),
                valid_key: None,
            })),
            key: None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    pub(crate) fn add_team(&self, team: SpokeTeam) {
        self.lock().teams.push(team);
    }

    pub(crate) fn add_user(&self, user: SpokeUser) {
        self.lock().users.push(user);
    }

    pub(crate) fn add_agent(&self, team_id: &str, user_id: &str) {
        let mut s = self.lock();
        let team = s.teams.iter_mut().find(|t| t.id == team_id).unwrap();
        team.agents.get_or_insert_with(Vec::new).push(Agent {
            user_id: user_id.into(),
            status: Some("AWAY".into()),
        });
    }

    /// `n` teams named `Filler NNN`, with IT at index `it_at` (lists omit agents and settings).
    pub(crate) fn replace_teams_with_filler(&self, n: usize, it_at: usize) {
        let mut s = self.lock();
        let it = s.teams.iter().find(|t| t.id == "team-it").cloned().unwrap();
        let mut teams: Vec<SpokeTeam> = (0..n)
            .map(|i| {
                team(
                    &format!("team-{i:03}"),
                    &format!("Filler {i:03}"),
                    &[],
                    None,
                )
            })
            .collect();
        teams.insert(it_at, it);
        s.teams = teams;
    }

    pub(crate) fn set_email_lookup_supported(&self, yes: bool) {
        self.lock().email_lookup = yes;
    }

    pub(crate) fn set_patch_mode(&self, mode: PatchMode) {
        self.lock().patch_mode = mode;
    }

    pub(crate) fn fail_everything(&self, failure: Option<SpokeFailure>) {
        self.lock().fail = failure;
    }

    pub(crate) fn hang(&self, yes: bool) {
        self.lock().hang = yes;
    }

    /// Only this key is accepted (others get InvalidApiKey).
    pub(crate) fn require_key(&self, key: &str) {
        self.lock().valid_key = Some(key.into());
    }

    pub(crate) fn patches(&self) -> Vec<(String, Value)> {
        self.lock().patches.clone()
    }

    pub(crate) fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    pub(crate) fn keys_seen(&self) -> Vec<String> {
        self.lock().keys_seen.clone()
    }

    pub(crate) fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    pub(crate) fn delegation_of(&self, team_id: &str) -> Option<Delegation> {
        self.lock()
            .teams
            .iter()
            .find(|t| t.id == team_id)
            .and_then(|t| t.delegation.clone())
    }

    fn begin(&self, call: String) -> Result<bool, SpokeFailure> {
        let mut s = self.lock();
        s.calls.push(call);
        if let (Some(valid), Some(key)) = (&s.valid_key, &self.key)
            && valid != key
        {
            return Err(SpokeFailure::InvalidApiKey);
        }
        if let Some(f) = s.fail.clone() {
            return Err(f);
        }
        Ok(s.hang)
    }

    fn answer<'a, T: Send + 'a>(
        &'a self,
        call: String,
        f: impl FnOnce(&mut State) -> Result<T, SpokeFailure> + Send + 'a,
    ) -> BoxFuture<'a, Result<T, SpokeFailure>> {
        async move {
            if self.begin(call)? {
                futures::future::pending::<()>().await;
            }
            let mut s = self.lock();
            f(&mut s)
        }
        .boxed()
    }
}

fn listed(team: &SpokeTeam) -> SpokeTeam {
    SpokeTeam {
        agents: None,
        has_settings: false,
        delegation: None,
        ..team.clone()
    }
}

impl SpokeDirectory for MemorySpoke {
    fn team<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SpokeTeam>, SpokeFailure>> {
        self.answer(format!("team {id}"), move |s| {
            Ok(s.teams.iter().find(|t| t.id == id).cloned())
        })
    }

    fn teams_page(
        &self,
        start: u64,
        limit: u64,
    ) -> BoxFuture<'_, Result<Page<SpokeTeam>, SpokeFailure>> {
        self.answer(format!("teams_page {start} {limit}"), move |s| {
            let items: Vec<SpokeTeam> = s
                .teams
                .iter()
                .skip(usize::try_from(start).unwrap())
                .take(usize::try_from(limit).unwrap())
                .map(listed)
                .collect();
            Ok(Page {
                received: items.len() as u64,
                items,
                total: Some(s.teams.len() as u64),
            })
        })
    }

    fn user_by_email<'a>(
        &'a self,
        email: &'a str,
    ) -> BoxFuture<'a, Result<Option<SpokeUser>, SpokeFailure>> {
        self.answer(format!("user_by_email {email}"), move |s| {
            if !s.email_lookup {
                return Err(SpokeFailure::Unsupported { status: 405 });
            }
            Ok(s.users
                .iter()
                .find(|u| {
                    u.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
                })
                .cloned())
        })
    }

    fn search_users<'a>(
        &'a self,
        query: &'a str,
        start: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<Page<SpokeUser>, SpokeFailure>> {
        self.answer(format!("search_users {query} {start} {limit}"), move |s| {
            let q = query.to_lowercase();
            let all: Vec<SpokeUser> = s
                .users
                .iter()
                .filter(|u| {
                    u.email
                        .as_deref()
                        .is_some_and(|e| e.to_lowercase().contains(&q))
                })
                .cloned()
                .collect();
            let total = Some(all.len() as u64);
            let items: Vec<SpokeUser> = all
                .into_iter()
                .skip(usize::try_from(start).unwrap())
                .take(usize::try_from(limit).unwrap())
                .collect();
            Ok(Page {
                total,
                received: items.len() as u64,
                items,
            })
        })
    }

    fn set_specific_user<'a>(
        &'a self,
        team_id: &'a str,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<SpokeTeam, SpokeFailure>> {
        self.answer(format!("patch {team_id}"), move |s| {
            let mode = s.patch_mode.clone();
            if let PatchMode::Fail(f) = mode {
                return Err(f);
            }
            s.patches.push((team_id.to_owned(), patch_body(user_id)));
            let team = s
                .teams
                .iter_mut()
                .find(|t| t.id == team_id)
                .ok_or(SpokeFailure::NotFound)?;
            match mode {
                PatchMode::Ignore => Ok(team.clone()),
                PatchMode::Apply | PatchMode::ApplyWithoutEcho => {
                    team.delegation = specific(user_id);
                    let mut echoed = team.clone();
                    if matches!(mode, PatchMode::ApplyWithoutEcho) {
                        echoed.delegation = None;
                    }
                    Ok(echoed)
                }
                PatchMode::Fail(_) => unreachable!(),
            }
        })
    }

    fn retries(&self) -> u32 {
        0
    }
}

impl SpokeConnector for MemorySpoke {
    fn connect(
        &self,
        api_key: SecretString,
        _deadline: Option<tokio::time::Instant>,
    ) -> Arc<dyn SpokeDirectory> {
        self.lock()
            .keys_seen
            .push(api_key.expose_secret().to_owned());
        Arc::new(Self {
            state: self.state.clone(),
            key: Some(api_key.expose_secret().to_owned()),
        })
    }
}

/// Records webhook posts; can be told to fail.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemorySlack {
    posts: Arc<Mutex<Vec<(String, Value)>>>,
    failures: Arc<Mutex<HashMap<String, PostFailure>>>,
}

impl MemorySlack {
    /// Every post: (url, payload).
    pub(crate) fn posts(&self) -> Vec<(String, Value)> {
        self.posts.lock().unwrap().clone()
    }

    /// Posts to `url` fail with `failure` (`None` heals).
    pub(crate) fn fail(&self, url: &str, failure: Option<PostFailure>) {
        let mut f = self.failures.lock().unwrap();
        match failure {
            Some(failure) => f.insert(url.to_owned(), failure),
            None => f.remove(url),
        };
    }
}

impl WebhookPoster for MemorySlack {
    fn post<'a>(
        &'a self,
        url: &'a SecretString,
        payload: &'a Value,
    ) -> BoxFuture<'a, Result<(), PostFailure>> {
        async move {
            let url = url.expose_secret().to_owned();
            if let Some(f) = self.failures.lock().unwrap().get(&url).cloned() {
                return Err(f);
            }
            self.posts.lock().unwrap().push((url, payload.clone()));
            Ok(())
        }
        .boxed()
    }
}

/// A secret source that counts reads and can rotate.
#[derive(Debug, Clone)]
pub(crate) struct MemorySecret {
    values: Arc<Mutex<Vec<Value>>>,
    reads: Arc<Mutex<Vec<bool>>>,
}

impl MemorySecret {
    /// Serves `value` on every read.
    pub(crate) fn new(value: Value) -> Self {
        Self {
            values: Arc::new(Mutex::new(vec![value])),
            reads: Arc::default(),
        }
    }

    /// The next reads return `value`.
    pub(crate) fn rotate(&self, value: Value) {
        *self.values.lock().unwrap() = vec![value];
    }

    /// Reads so far (`true` = fresh).
    pub(crate) fn reads(&self) -> Vec<bool> {
        self.reads.lock().unwrap().clone()
    }
}

impl SecretSource for MemorySecret {
    fn read(&self, fresh: bool) -> BoxFuture<'_, Result<Value, SecretReadError>> {
        async move {
            self.reads.lock().unwrap().push(fresh);
            self.values
                .lock()
                .unwrap()
                .first()
                .cloned()
                .ok_or(SecretReadError {
                    reason: "no value".into(),
                })
        }
        .boxed()
    }
}
