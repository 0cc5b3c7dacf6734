//! The Spoke half of the decision table (spec §4 steps 2–7, §5.1 rows 10–20, §5.4): resolve the team and the
//! user, check membership, decide by the current delegation, PATCH and verify. Pure domain code over the
//! [`SpokeDirectory`] port.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde_json::{Value, json};

use crate::config::{Config, StrategyPolicy};
use crate::event::Handoff;
use crate::outcome::{AlertKind, Decision, Facts, HandoffResult};
use crate::ports::{Delegation, SPECIFIC_USER, SpokeDirectory, SpokeFailure, SpokeTeam, SpokeUser};

/// Page size of every list call (never more than 100).
pub const PAGE_SIZE: u64 = 100;
/// Safety cap on pages when listing teams.
pub const MAX_TEAM_PAGES: u32 = 50;
/// At most this many pages of user search results are read.
pub const MAX_SEARCH_PAGES: u32 = 5;

/// The exact PATCH body this service sends (spec §4 step 6).
pub fn patch_body(user_id: &str) -> Value {
    json!({"settings": {"delegation": {"strategy": SPECIFIC_USER, "specificUser": user_id}}})
}

/// Spoke team name → id, for `ONCALL_TEAM_CACHE_TTL_SECS`, shared by the invocations of one environment.
#[derive(Debug)]
pub struct TeamCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (String, DateTime<Utc>)>>,
}

/// The cache never holds more entries than this; expired entries are purged first, then everything.
const TEAM_CACHE_CAP: usize = 1000;

impl TeamCache {
    /// An empty cache whose entries live for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn key(name: &str) -> String {
        name.trim().to_lowercase()
    }

    /// The cached id for `name`, unless expired.
    pub fn get(&self, name: &str, now: DateTime<Utc>) -> Option<String> {
        let entries = self.lock();
        let (id, stored) = entries.get(&Self::key(name))?;
        let age = now
            .signed_duration_since(*stored)
            .to_std()
            .unwrap_or_default();
        (age < self.ttl).then(|| id.clone())
    }

    /// Remembers `id` for `name`.
    pub fn put(&self, name: &str, id: &str, now: DateTime<Utc>) {
        let mut entries = self.lock();
        if entries.len() >= TEAM_CACHE_CAP {
            let ttl = self.ttl;
            entries.retain(|_, (_, at)| {
                now.signed_duration_since(*at).to_std().unwrap_or_default() < ttl
            });
            if entries.len() >= TEAM_CACHE_CAP {
                entries.clear();
            }
        }
        entries.insert(Self::key(name), (id.to_owned(), now));
    }

    /// Forgets `name` (its id answered 404).
    pub fn remove(&self, name: &str) {
        self.lock().remove(&Self::key(name));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, DateTime<Utc>)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The outcome of the Spoke steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpokeOutcome {
    /// A row of 10–19 matched.
    Decided(Decision),
    /// Spoke refused the API key: refresh the secret and try once more (row 20 when it fails again).
    InvalidApiKey {
        /// What had been learnt before the refusal.
        facts: Facts,
    },
}

/// Everything the Spoke steps need besides the directory.
#[derive(Debug, Clone, Copy)]
pub struct SpokeSettings<'a> {
    /// The service configuration.
    pub config: &'a Config,
    /// The team-id cache of this environment.
    pub cache: &'a TeamCache,
    /// The current time (for the cache).
    pub now: DateTime<Utc>,
    /// All Spoke calls must end before this instant.
    pub deadline: Option<tokio::time::Instant>,
}

/// Runs the Spoke steps for one handoff and counts the calls made.
pub struct SpokeRun<'a> {
    dir: &'a dyn SpokeDirectory,
    settings: SpokeSettings<'a>,
    calls: u32,
    facts: Facts,
}

/// Where a Spoke call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Read(&'static str),
    Patch,
    Verify,
}

type Step<T> = Result<T, (Stage, SpokeFailure)>;

enum Found<T> {
    Yes(T),
    No(Decision),
}

impl<'a> SpokeRun<'a> {
    /// A run over `dir`.
    pub fn new(dir: &'a dyn SpokeDirectory, settings: SpokeSettings<'a>) -> Self {
        Self {
            dir,
            settings,
            calls: 0,
            facts: Facts::default(),
        }
    }

    /// Spoke calls made so far.
    pub fn calls(&self) -> u32 {
        self.calls
    }

    /// Applies `handoff` (rows 10–20).
    pub async fn apply(&mut self, handoff: &Handoff) -> SpokeOutcome {
        match self.steps(handoff).await {
            Ok(decision) => SpokeOutcome::Decided(decision.with_facts(self.facts.clone())),
            Err((_, SpokeFailure::InvalidApiKey)) => SpokeOutcome::InvalidApiKey {
                facts: self.facts.clone(),
            },
            Err((stage, failure)) => {
                SpokeOutcome::Decided(classify(stage, &failure).with_facts(self.facts.clone()))
            }
        }
    }

    async fn call<T>(
        &mut self,
        stage: Stage,
        fut: BoxFuture<'_, Result<T, SpokeFailure>>,
    ) -> Step<T> {
        self.calls += 1;
        let result = match self.settings.deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, fut)
                .await
                .unwrap_or_else(|_| {
                    Err(SpokeFailure::Unavailable {
                        kind: "deadline reached".to_owned(),
                        attempts: 1,
                    })
                }),
            None => fut.await,
        };
        result.map_err(|e| (stage, e))
    }

    async fn steps(&mut self, handoff: &Handoff) -> Step<Decision> {
        let team = match self.resolve_team(&handoff.spoke_team).await? {
            Found::Yes(team) => team,
            Found::No(decision) => return Ok(decision),
        };
        self.facts.team_id = Some(team.id.clone());
        self.facts.team_name = Some(team.name.clone());
        self.facts.team_link = Some(crate::alert::team_link(
            &self.settings.config.spoke_org,
            team.permalink.as_deref(),
            team.slug.as_deref(),
            &team.name,
        ));
        tracing::Span::current().record("team_id", team.id.as_str());
        let user = match self.resolve_user(&handoff.email).await? {
            Found::Yes(user) => user,
            Found::No(decision) => return Ok(decision),
        };
        self.facts.user_id = Some(user.id.clone());
        let Some(agent) = team.agents.iter().flatten().find(|a| a.user_id == user.id) else {
            return Ok(Decision::permanent(
                AlertKind::NotTeamMember,
                format!("user {} is not an agent of team {}", user.id, team.id),
            ));
        };
        if agent
            .status
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case("AVAILABLE"))
        {
            tracing::info!(agent_status = agent.status.as_deref().unwrap_or_default(), user_id = %user.id, "on-call agent is not available in Spoke; assigning anyway");
        }
        let delegation = team.delegation.clone().unwrap_or_default();
        self.facts.previous_strategy = delegation.strategy.clone();
        self.facts.previous_user_id = delegation.specific_user.clone();
        if delegation.is_specific_user(&user.id) {
            return Ok(Decision::new(HandoffResult::Noop, "already_assigned"));
        }
        if let Some(strategy) = delegation
            .strategy
            .as_deref()
            .filter(|s| *s != SPECIFIC_USER)
        {
            if self.settings.config.strategy_policy == StrategyPolicy::Respect {
                tracing::info!(previous_strategy = strategy, team_id = %team.id, "team uses another assignment strategy; respected");
                return Ok(Decision::new(HandoffResult::Skipped, "strategy_respected"));
            }
            tracing::info!(previous_strategy = strategy, team_id = %team.id, "team uses another assignment strategy; overridden by policy");
        }
        if team.auto_delegation == Some(false) {
            tracing::warn!(team_id = %team.id, "AUTO_DELEGATION is off for the team: requests will not be auto-assigned until it is turned on");
        }
        if self.settings.config.dry_run {
            tracing::info!(
                dry_run = true,
                team_id = %team.id,
                patch_body = %patch_body(&user.id),
                "dry run: would PATCH the team delegation"
            );
            return Ok(Decision::new(HandoffResult::DryRun, "would_update"));
        }
        let updated = self
            .call(Stage::Patch, self.dir.set_specific_user(&team.id, &user.id))
            .await?;
        let returned = match updated.delegation {
            Some(d) => d,
            None => {
                let again = self.call(Stage::Verify, self.dir.team(&team.id)).await?;
                again.and_then(|t| t.delegation).unwrap_or_default()
            }
        };
        if returned.is_specific_user(&user.id) {
            Ok(Decision::new(HandoffResult::Updated, "updated"))
        } else {
            Ok(Decision::retryable(
                AlertKind::UpdateNotApplied,
                format!(
                    "expected SPECIFIC_USER → {}, Spoke returned {}",
                    user.id,
                    describe(&returned)
                ),
            ))
        }
    }

    async fn resolve_team(&mut self, name: &str) -> Step<Found<SpokeTeam>> {
        let SpokeSettings {
            config, cache, now, ..
        } = self.settings;
        let known = config
            .configured_team_id(name)
            .map(str::to_owned)
            .or_else(|| cache.get(name, now));
        if let Some(id) = known {
            match self
                .call(Stage::Read("GET team"), self.dir.team(&id))
                .await?
            {
                Some(team) if team.is_closed() => {
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
        let wanted = name.trim().to_lowercase();
        let matches: Vec<&SpokeTeam> = teams
            .iter()
            .filter(|t| t.name.trim().to_lowercase() == wanted)
            .collect();
        let open: Vec<&SpokeTeam> = matches.iter().copied().filter(|t| !t.is_closed()).collect();
        let chosen = match open.as_slice() {
            [] if matches.is_empty() => {
                return Ok(Found::No(Decision::permanent(
                    AlertKind::TeamNotFound,
                    format!("no team of {} scanned has that name", teams.len()),
                )));
            }
            [] => {
                let ids: Vec<&str> = matches.iter().map(|t| t.id.as_str()).collect();
                return Ok(Found::No(Decision::permanent(
                    AlertKind::TeamClosed,
                    format!("only closed teams have that name: {}", ids.join(", ")),
                )));
            }
            [one] => *one,
            several => {
                let exact: Vec<&&SpokeTeam> = several
                    .iter()
                    .filter(|t| t.name.trim() == name.trim())
                    .collect();
                match exact.as_slice() {
                    [one] => **one,
                    _ => {
                        let ids: Vec<&str> = several.iter().map(|t| t.id.as_str()).collect();
                        return Ok(Found::No(Decision::permanent(
                            AlertKind::TeamAmbiguous,
                            format!("candidate team ids: {}", ids.join(", ")),
                        )));
                    }
                }
            }
        };
        cache.put(name, &chosen.id, now);
        if chosen.is_complete() {
            return Ok(Found::Yes(chosen.clone()));
        }
        match self
            .call(Stage::Read("GET team"), self.dir.team(&chosen.id))
            .await?
        {
            Some(team) => Ok(Found::Yes(team)),
            None => Ok(Found::No(Decision::permanent(
                AlertKind::TeamNotFound,
                format!("team {} was listed but could not be read", chosen.id),
            ))),
        }
    }

    async fn list_teams(&mut self) -> Step<Vec<SpokeTeam>> {
        let mut all: Vec<SpokeTeam> = Vec::new();
        let mut start = 0;
        for _ in 0..MAX_TEAM_PAGES {
            let page = self
                .call(
                    Stage::Read("list teams"),
                    self.dir.teams_page(start, PAGE_SIZE),
                )
                .await?;
            let received = page.received;
            for team in page.items {
                if !all.iter().any(|t| t.id == team.id) {
                    all.push(team);
                }
            }
            start += received;
            if received == 0
                || received < PAGE_SIZE
                || page.total.is_some_and(|total| start >= total)
            {
                return Ok(all);
            }
        }
        Err((
            Stage::Read("list teams"),
            SpokeFailure::Rejected {
                status: None,
                code: None,
                message: Some(format!("more than {MAX_TEAM_PAGES} pages of teams")),
            },
        ))
    }

    async fn resolve_user(&mut self, email: &str) -> Step<Found<SpokeUser>> {
        let wanted = email.trim().to_lowercase();
        let exact_note = match self
            .call(
                Stage::Read("GET user by e-mail"),
                self.dir.user_by_email(email),
            )
            .await
        {
            Ok(Some(user))
                if user
                    .email
                    .as_deref()
                    .is_some_and(|e| e.trim().to_lowercase() == wanted) =>
            {
                return Ok(Found::Yes(user));
            }
            Ok(Some(user)) => format!("exact lookup returned user {} with another e-mail", user.id),
            Ok(None) => "exact lookup found nothing".to_owned(),
            Err((_, SpokeFailure::Unsupported { status })) => {
                format!("exact lookup unsupported (HTTP {status})")
            }
            Err(e) => return Err(e),
        };
        let mut found: Vec<SpokeUser> = Vec::new();
        let mut seen = 0u64;
        let mut start = 0;
        for _ in 0..MAX_SEARCH_PAGES {
            let page = self
                .call(
                    Stage::Read("search users"),
                    self.dir.search_users(email, start, PAGE_SIZE),
                )
                .await?;
            let received = page.received;
            seen += received;
            for user in page.items {
                let exact = user
                    .email
                    .as_deref()
                    .is_some_and(|e| e.trim().to_lowercase() == wanted);
                if exact && !found.iter().any(|u| u.id == user.id) {
                    found.push(user);
                }
            }
            start += received;
            if received == 0
                || received < PAGE_SIZE
                || page.total.is_some_and(|total| start >= total)
            {
                break;
            }
        }
        match found.len() {
            1 => Ok(Found::Yes(found.remove(0))),
            0 => Ok(Found::No(Decision::permanent(
                AlertKind::UserNotFound,
                format!(
                    "{exact_note}; search fallback returned {seen} users, none with that exact e-mail"
                ),
            ))),
            _ => {
                let ids: Vec<&str> = found.iter().map(|u| u.id.as_str()).collect();
                Ok(Found::No(Decision::permanent(
                    AlertKind::UserAmbiguous,
                    format!(
                        "{exact_note}; search fallback found several users with that e-mail: {}",
                        ids.join(", ")
                    ),
                )))
            }
        }
    }
}

fn describe(d: &Delegation) -> String {
    match (&d.strategy, &d.specific_user) {
        (None, None) => "no delegation".to_owned(),
        (s, u) => format!(
            "{} → {}",
            s.as_deref().unwrap_or("(no strategy)"),
            u.as_deref().unwrap_or("(no user)")
        ),
    }
}

/// Maps a failed Spoke call to its row of the decision table.
fn classify(stage: Stage, failure: &SpokeFailure) -> Decision {
    match (stage, failure) {
        (_, SpokeFailure::Unavailable { kind, attempts }) => Decision::retryable(
            AlertKind::SpokeUnavailable,
            format!("{}: {kind} after {attempts} attempt(s)", stage_name(stage)),
        ),
        (
            Stage::Patch,
            SpokeFailure::Rejected {
                status,
                code,
                message,
            },
        ) => {
            let mut detail = format!(
                "PATCH answered HTTP {}, Spoke code {}: {}",
                status.map_or_else(|| "?".to_owned(), |s| s.to_string()),
                code.map_or_else(|| "none".to_owned(), |c| c.to_string()),
                message.as_deref().unwrap_or("no message")
            );
            if *status == Some(403) {
                detail.push_str("; add the service account to the team");
            }
            Decision::permanent(AlertKind::UpdateRejected, detail)
        }
        (Stage::Patch, SpokeFailure::NotFound) => Decision::permanent(
            AlertKind::UpdateRejected,
            "PATCH answered HTTP 404: the team no longer exists",
        ),
        (Stage::Patch, SpokeFailure::Unsupported { status }) => Decision::permanent(
            AlertKind::UpdateRejected,
            format!("PATCH answered HTTP {status}"),
        ),
        // A read that Spoke refuses for a reason other than the key (or a bad response) is operational:
        // fail so the platform retries and the alarm fires.
        (stage, other) => Decision::retryable(
            AlertKind::SpokeUnavailable,
            format!("{}: {other}", stage_name(stage)),
        ),
    }
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Read(name) => name,
        Stage::Patch => "PATCH team",
        Stage::Verify => "GET team after PATCH",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::testing::{MemorySpoke, PatchMode, team, user};

    fn config(extra: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> =
            [("ONCALL_SECRET_ID", "s"), ("ONCALL_SPOKE_ORG", "example")]
                .iter()
                .chain(extra)
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
        Config::from_lookup(move |k| map.get(k).cloned()).unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-08-04T20:40:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn handoff(team: &str, email: &str) -> Handoff {
        Handoff {
            spoke_team: team.into(),
            email: email.into(),
        }
    }

    async fn run(
        spoke: &MemorySpoke,
        config: &Config,
        cache: &TeamCache,
        h: &Handoff,
    ) -> SpokeOutcome {
        let settings = SpokeSettings {
            config,
            cache,
            now: now(),
            deadline: None,
        };
        SpokeRun::new(spoke, settings).apply(h).await
    }

    fn decided(outcome: SpokeOutcome) -> Decision {
        match outcome {
            SpokeOutcome::Decided(d) => d,
            other => panic!("expected a decision, got {other:?}"),
        }
    }

    fn summary(d: &Decision) -> (HandoffResult, &str, Option<&str>) {
        (d.result, d.reason, d.alert.as_ref().map(|a| a.kind.code()))
    }

    #[tokio::test]
    async fn the_baseline_handoff_patches_the_team_with_exactly_the_delegation() {
        let spoke = MemorySpoke::baseline();
        let cache = TeamCache::new(Duration::from_secs(3600));
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("IT", "alice@example.com"),
            )
            .await,
        );
        assert_eq!(summary(&d), (HandoffResult::Updated, "updated", None));
        assert_eq!(
            spoke.patches(),
            vec![("team-it".to_owned(), patch_body("user-alice"))]
        );
        assert_eq!(d.facts.previous_strategy.as_deref(), Some("SPECIFIC_USER"));
        assert_eq!(d.facts.previous_user_id.as_deref(), Some("user-bob"));
        let again = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("IT", "alice@example.com"),
            )
            .await,
        );
        assert_eq!(
            summary(&again),
            (HandoffResult::Noop, "already_assigned", None)
        );
        assert_eq!(spoke.patches().len(), 1);
    }

    #[tokio::test]
    async fn team_names_match_case_insensitively_and_the_id_is_cached() {
        let spoke = MemorySpoke::baseline();
        let cache = TeamCache::new(Duration::from_secs(3600));
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff(" it ", "alice@example.com"),
            )
            .await,
        );
        assert_eq!(d.result, HandoffResult::Updated);
        assert_eq!(cache.get("IT", now()).as_deref(), Some("team-it"));
        spoke.clear_calls();
        decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("IT", "alice@example.com"),
            )
            .await,
        );
        assert!(!spoke.calls().iter().any(|c| c.starts_with("teams_page")));
    }

    #[tokio::test]
    async fn an_exact_case_match_wins_over_other_case_insensitive_matches() {
        let spoke = MemorySpoke::baseline();
        spoke.add_team(team("team-it-lower", "it", &["user-alice"], None));
        let cache = TeamCache::new(Duration::from_secs(3600));
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("IT", "alice@example.com"),
            )
            .await,
        );
        assert_eq!(d.facts.team_id.as_deref(), Some("team-it"));
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &TeamCache::new(Duration::ZERO),
                &handoff("It", "alice@example.com"),
            )
            .await,
        );
        assert_eq!(
            summary(&d),
            (
                HandoffResult::PermanentError,
                "team_ambiguous",
                Some("team_ambiguous")
            )
        );
    }

    #[tokio::test]
    async fn teams_are_paged_at_one_hundred_until_the_wanted_team_appears() {
        let spoke = MemorySpoke::baseline();
        spoke.replace_teams_with_filler(150, 120);
        let cache = TeamCache::new(Duration::from_secs(3600));
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("IT", "alice@example.com"),
            )
            .await,
        );
        assert_eq!(d.result, HandoffResult::Updated);
        let pages: Vec<String> = spoke
            .calls()
            .into_iter()
            .filter(|c| c.starts_with("teams_page"))
            .collect();
        assert_eq!(pages, vec!["teams_page 0 100", "teams_page 100 100"]);
    }

    #[tokio::test]
    async fn a_configured_id_skips_the_listing_and_a_stale_one_falls_back_to_it() {
        let spoke = MemorySpoke::baseline();
        let cache = TeamCache::new(Duration::from_secs(3600));
        let good = config(&[("ONCALL_TEAM_IDS", r#"{"IT": "team-it"}"#)]);
        decided(run(&spoke, &good, &cache, &handoff("IT", "alice@example.com")).await);
        assert!(!spoke.calls().iter().any(|c| c.starts_with("teams_page")));
        let stale = config(&[("ONCALL_TEAM_IDS", r#"{"IT": "team-gone"}"#)]);
        spoke.clear_calls();
        let d = decided(
            run(
                &spoke,
                &stale,
                &TeamCache::new(Duration::from_secs(60)),
                &handoff("IT", "alice@example.com"),
            )
            .await,
        );
        assert_eq!(d.result, HandoffResult::Noop);
        assert!(spoke.calls().iter().any(|c| c.starts_with("teams_page")));
    }

    #[tokio::test]
    async fn unknown_and_closed_teams_are_permanent_errors() {
        let spoke = MemorySpoke::baseline();
        let mut closed = team("team-old", "Old", &["user-alice"], None);
        closed.status = Some("CLOSED".into());
        spoke.add_team(closed);
        let cache = TeamCache::new(Duration::from_secs(3600));
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("Nope", "alice@example.com"),
            )
            .await,
        );
        assert_eq!(
            summary(&d),
            (
                HandoffResult::PermanentError,
                "team_not_found",
                Some("team_not_found")
            )
        );
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("Old", "alice@example.com"),
            )
            .await,
        );
        assert_eq!(
            summary(&d),
            (
                HandoffResult::PermanentError,
                "team_closed",
                Some("team_closed")
            )
        );
        assert!(spoke.patches().is_empty());
    }

    #[tokio::test]
    async fn the_search_fallback_keeps_only_exact_email_matches() {
        let spoke = MemorySpoke::baseline();
        spoke.set_email_lookup_supported(false);
        spoke.add_user(user("user-joann", "joann@example.com", "Joann"));
        spoke.add_user(user("user-ann", "ann@example.com", "Ann Example"));
        spoke.add_agent("team-it", "user-ann");
        let cache = TeamCache::new(Duration::from_secs(3600));
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("IT", "ANN@example.com"),
            )
            .await,
        );
        assert_eq!(d.facts.user_id.as_deref(), Some("user-ann"));
        assert_eq!(d.result, HandoffResult::Updated);
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("IT", "nobody@example.com"),
            )
            .await,
        );
        assert_eq!(
            summary(&d),
            (
                HandoffResult::PermanentError,
                "user_not_found",
                Some("user_not_found")
            )
        );
        spoke.add_user(user("user-ann-2", "Ann@Example.com", "Ann Again"));
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("IT", "ann@example.com"),
            )
            .await,
        );
        assert_eq!(
            summary(&d),
            (
                HandoffResult::PermanentError,
                "user_ambiguous",
                Some("user_ambiguous")
            )
        );
    }

    #[tokio::test]
    async fn a_user_outside_the_team_is_not_assigned() {
        let spoke = MemorySpoke::baseline();
        let cache = TeamCache::new(Duration::from_secs(3600));
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("IT", "carol@example.com"),
            )
            .await,
        );
        assert_eq!(
            summary(&d),
            (
                HandoffResult::PermanentError,
                "not_team_member",
                Some("not_team_member")
            )
        );
        assert!(spoke.patches().is_empty());
    }

    #[tokio::test]
    async fn other_strategies_are_respected_or_overridden_by_policy() {
        let spoke = MemorySpoke::baseline();
        let cache = TeamCache::new(Duration::from_secs(3600));
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("Security", "alice@example.com"),
            )
            .await,
        );
        assert_eq!(
            summary(&d),
            (HandoffResult::Skipped, "strategy_respected", None)
        );
        assert!(spoke.patches().is_empty());
        let over = config(&[("ONCALL_STRATEGY_POLICY", "override")]);
        let d = decided(
            run(
                &spoke,
                &over,
                &cache,
                &handoff("Security", "alice@example.com"),
            )
            .await,
        );
        assert_eq!(d.result, HandoffResult::Updated);
        assert_eq!(d.facts.previous_strategy.as_deref(), Some("ROUND_ROBIN"));
        assert_eq!(
            spoke.patches(),
            vec![("team-sec".to_owned(), patch_body("user-alice"))]
        );
    }

    #[tokio::test]
    async fn a_dry_run_reads_but_never_patches() {
        let spoke = MemorySpoke::baseline();
        let cache = TeamCache::new(Duration::from_secs(3600));
        let dry = config(&[("ONCALL_DRY_RUN", "true")]);
        let d = decided(run(&spoke, &dry, &cache, &handoff("IT", "alice@example.com")).await);
        assert_eq!(summary(&d), (HandoffResult::DryRun, "would_update", None));
        assert!(spoke.patches().is_empty());
        assert!(!spoke.calls().is_empty());
    }

    #[tokio::test]
    async fn patch_refusals_and_unapplied_changes_map_to_their_rows() {
        let cache = TeamCache::new(Duration::from_secs(3600));
        let spoke = MemorySpoke::baseline();
        spoke.set_patch_mode(PatchMode::Fail(SpokeFailure::Rejected {
            status: Some(403),
            code: Some(99001),
            message: Some("Forbidden".into()),
        }));
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("IT", "alice@example.com"),
            )
            .await,
        );
        assert_eq!(
            summary(&d),
            (
                HandoffResult::PermanentError,
                "update_rejected",
                Some("update_rejected")
            )
        );
        assert!(
            d.alert
                .unwrap()
                .detail
                .contains("add the service account to the team")
        );

        spoke.set_patch_mode(PatchMode::Ignore);
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("IT", "alice@example.com"),
            )
            .await,
        );
        assert_eq!(
            summary(&d),
            (
                HandoffResult::RetryableError,
                "update_not_applied",
                Some("update_not_applied")
            )
        );

        spoke.set_patch_mode(PatchMode::ApplyWithoutEcho);
        spoke.clear_calls();
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("IT", "alice@example.com"),
            )
            .await,
        );
        assert_eq!(d.result, HandoffResult::Updated);
        assert_eq!(
            spoke
                .calls()
                .iter()
                .filter(|c| c.starts_with("team "))
                .count(),
            2,
            "{:?}",
            spoke.calls()
        );
    }

    #[tokio::test]
    async fn transient_failures_are_retryable_and_an_invalid_key_asks_for_a_refresh() {
        let cache = TeamCache::new(Duration::from_secs(3600));
        let spoke = MemorySpoke::baseline();
        spoke.fail_everything(Some(SpokeFailure::Unavailable {
            kind: "http 503".into(),
            attempts: 4,
        }));
        let d = decided(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("IT", "alice@example.com"),
            )
            .await,
        );
        assert_eq!(
            summary(&d),
            (
                HandoffResult::RetryableError,
                "spoke_unavailable",
                Some("spoke_unavailable")
            )
        );
        spoke.fail_everything(Some(SpokeFailure::InvalidApiKey));
        assert!(matches!(
            run(
                &spoke,
                &config(&[]),
                &cache,
                &handoff("IT", "alice@example.com")
            )
            .await,
            SpokeOutcome::InvalidApiKey { .. }
        ));
    }

    #[tokio::test]
    async fn the_deadline_turns_a_hanging_spoke_into_a_retryable_failure() {
        let spoke = MemorySpoke::baseline();
        spoke.hang(true);
        let cache = TeamCache::new(Duration::from_secs(3600));
        let cfg = config(&[]);
        let settings = SpokeSettings {
            config: &cfg,
            cache: &cache,
            now: now(),
            deadline: Some(tokio::time::Instant::now() + Duration::from_millis(50)),
        };
        let outcome = SpokeRun::new(&spoke, settings)
            .apply(&handoff("IT", "alice@example.com"))
            .await;
        let d = decided(outcome);
        assert_eq!(d.reason, "spoke_unavailable");
        assert!(d.alert.unwrap().detail.contains("deadline"));
    }
}
