//! The Spoke half of the decision table (README, "Behaviour", from "team not found" on): resolve the team and
//! the user, check membership, decide by the current delegation, PATCH and verify. Domain code over
//! `spoke_client::SpokeApi`; the handler supplies the client for the current key.

mod cache;
mod classify;
mod resolve;

use std::future::Future;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use spoke_client::{
    Delegation, DelegationStrategy, SpokeApi, SpokeError, Team, TeamId, TeamPatch, UserId,
};

pub use cache::TeamCache;
use classify::{CallError, Stage, classify, describe};

use crate::config::{Config, StrategyPolicy};
use crate::event::Handoff;
use crate::outcome::{AlertKind, Decision, Facts, HandoffResult};

/// Safety cap on pages when listing teams (100 teams a page).
pub const MAX_TEAM_PAGES: u32 = 50;
/// At most this many pages of user search results are read.
pub const MAX_SEARCH_PAGES: u32 = 5;

/// The exact PATCH body this service sends, for the dry-run log line (the client sends the same
/// [`TeamPatch::assign_specific_user`]).
pub fn patch_body(user_id: &UserId) -> Value {
    json!(TeamPatch::assign_specific_user(user_id.clone()))
}

/// The outcome of the Spoke steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpokeOutcome {
    /// A row from "team not found" to "Spoke unavailable" matched.
    Decided(Decision),
    /// Spoke refused the API key: re-read the secret and try once more (`spoke_auth` when it fails again).
    InvalidApiKey {
        /// What had been learnt before the refusal.
        facts: Facts,
    },
}

/// Everything the Spoke steps need besides the client.
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

/// Runs the Spoke steps for one handoff and counts the calls (pages) made.
pub struct SpokeRun<'a> {
    spoke: &'a dyn SpokeApi,
    settings: SpokeSettings<'a>,
    calls: u32,
    facts: Facts,
}

type Step<T> = Result<T, (Stage, CallError)>;

/// A lookup that either found its object or decided the handoff.
enum Found<T> {
    Yes(T),
    No(Decision),
}

fn is_closed(team: &Team) -> bool {
    team.status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("CLOSED"))
}

fn is_specific_user(delegation: Option<&Delegation>, user: &UserId) -> bool {
    delegation.is_some_and(|d| {
        d.strategy == Some(DelegationStrategy::SpecificUser)
            && d.specific_user.as_ref() == Some(user)
    })
}

impl<'a> SpokeRun<'a> {
    /// A run over `spoke`.
    pub fn new(spoke: &'a dyn SpokeApi, settings: SpokeSettings<'a>) -> Self {
        Self {
            spoke,
            settings,
            calls: 0,
            facts: Facts::default(),
        }
    }

    /// Spoke calls made so far (each page of a listing counts).
    pub fn calls(&self) -> u32 {
        self.calls
    }

    /// Applies `handoff`.
    pub async fn apply(&mut self, handoff: &Handoff) -> SpokeOutcome {
        match self.steps(handoff).await {
            Ok(decision) => SpokeOutcome::Decided(decision.with_facts(self.facts.clone())),
            Err((_, failure)) if failure.is_invalid_key() => SpokeOutcome::InvalidApiKey {
                facts: self.facts.clone(),
            },
            Err((stage, failure)) => {
                SpokeOutcome::Decided(classify(stage, &failure).with_facts(self.facts.clone()))
            }
        }
    }

    /// `fut` cut off at the Spoke deadline.
    async fn within_deadline<T>(
        &self,
        stage: Stage,
        fut: impl Future<Output = Result<T, SpokeError>>,
    ) -> Step<T> {
        let result = match self.settings.deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, fut).await {
                Ok(result) => result.map_err(CallError::Spoke),
                Err(_) => Err(CallError::Deadline),
            },
            None => fut.await.map_err(CallError::Spoke),
        };
        result.map_err(|e| (stage, e))
    }

    /// One Spoke call, counted and cut off at the deadline.
    async fn call<T>(
        &mut self,
        stage: Stage,
        fut: impl Future<Output = Result<T, SpokeError>>,
    ) -> Step<T> {
        self.calls += 1;
        self.within_deadline(stage, fut).await
    }

    async fn steps(&mut self, handoff: &Handoff) -> Step<Decision> {
        let team = match self.resolve_team(&handoff.spoke_team).await? {
            Found::Yes(team) => team,
            Found::No(decision) => return Ok(decision),
        };
        let name = team.name.clone().unwrap_or_default();
        self.facts.team_id = Some(team.id.clone());
        self.facts.team_link = Some(crate::alert::team_link(
            &self.settings.config.spoke_org,
            team.permalink.as_deref(),
            team.slug.as_deref(),
            &name,
        ));
        self.facts.team_name = Some(name);
        tracing::Span::current().record("team_id", team.id.as_str());
        let user = match self.resolve_user(&handoff.email).await? {
            Found::Yes(user) => user,
            Found::No(decision) => return Ok(decision),
        };
        self.facts.user_id = Some(user.id.clone());
        let Some(agent) = team.agent(&user.id) else {
            return Ok(Decision::permanent(
                AlertKind::NotTeamMember,
                format!("user {} is not an agent of team {}", user.id, team.id),
            ));
        };
        if let Some(status) = agent
            .status
            .as_ref()
            .filter(|s| !s.as_str().eq_ignore_ascii_case("AVAILABLE"))
        {
            tracing::info!(agent_status = status.as_str(), user_id = %user.id, "on-call agent is not available in Spoke; assigning anyway");
        }
        let delegation = team.delegation();
        self.facts.previous_strategy = delegation
            .and_then(|d| d.strategy.as_ref())
            .map(|s| s.as_str().to_owned());
        self.facts.previous_user_id = delegation.and_then(|d| d.specific_user.clone());
        if is_specific_user(delegation, &user.id) {
            return Ok(Decision::new(HandoffResult::Noop, "already_assigned"));
        }
        if let Some(strategy) = delegation
            .and_then(|d| d.strategy.as_ref())
            .filter(|s| **s != DelegationStrategy::SpecificUser)
        {
            let strategy = strategy.as_str();
            if self.settings.config.strategy_policy == StrategyPolicy::Respect {
                tracing::info!(previous_strategy = strategy, team_id = %team.id, "team uses another assignment strategy; respected");
                return Ok(Decision::new(HandoffResult::Skipped, "strategy_respected"));
            }
            tracing::info!(previous_strategy = strategy, team_id = %team.id, "team uses another assignment strategy; overridden by policy");
        }
        if team.auto_delegation() == Some(false) {
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
        self.patch_and_verify(&team.id, &user.id).await
    }

    /// PATCHes the delegation and checks the echoed one (or reads the team once more when the answer has
    /// none).
    async fn patch_and_verify(&mut self, team: &TeamId, user: &UserId) -> Step<Decision> {
        let spoke = self.spoke;
        let patch = TeamPatch::assign_specific_user(user.clone());
        let updated = self
            .call(Stage::Patch, spoke.update_team(team, &patch))
            .await?;
        let read_back;
        let returned = match updated.delegation() {
            Some(d) => Some(d),
            None => {
                read_back = self.call(Stage::Verify, spoke.get_team(team)).await?;
                read_back.as_ref().and_then(Team::delegation)
            }
        };
        if is_specific_user(returned, user) {
            Ok(Decision::new(HandoffResult::Updated, "updated"))
        } else {
            Ok(Decision::retryable(
                AlertKind::UpdateNotApplied,
                format!(
                    "expected SPECIFIC_USER → {user}, Spoke returned {}",
                    describe(returned)
                ),
            ))
        }
    }
}
