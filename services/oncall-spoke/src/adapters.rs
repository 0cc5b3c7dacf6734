//! Adapters from the domain ports to the real clients: `spoke-client`, `slack-notify`, `secrets`, and a file
//! secret for local runs.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_kit::Clock;
use lambda_kit::http::{RetryPolicy, rate_limit_jitter};
use lambda_kit::metrics::MetricSink;
use secrecy::SecretString;
use serde_json::Value;
use spoke_client::{
    SpokeApi, SpokeClient, SpokeError, Team, TeamId, TeamPatch, TeamQuery, User, UserId, UserQuery,
};

use crate::config::{Config, SecretLocation};
use crate::handler::Deps;
use crate::ports::{
    Agent, Delegation, Page, PostFailure, SecretReadError, SecretSource, SpokeConnector,
    SpokeDirectory, SpokeFailure, SpokeTeam, SpokeUser, WebhookPoster,
};

/// The `User-Agent` of every outbound call.
pub const USER_AGENT: &str = concat!("oncall-spoke/", env!("CARGO_PKG_VERSION"));

/// Builds [`SpokeClient`]s over one shared HTTP pool, one per API key and deadline.
///
/// Retries (spec-api §8.2) are driven here, with the shared [`RetryPolicy`], around single-attempt client
/// calls: the client does not report how many retries a successful call needed, and the summary line and the
/// `SpokeRetries` metric must (spec §7, ONC-19).
#[derive(Clone)]
pub struct SpokeClientConnector {
    http: reqwest::Client,
    base_url: String,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
}

impl std::fmt::Debug for SpokeClientConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpokeClientConnector")
            .field("base_url", &self.base_url)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl SpokeClientConnector {
    /// A connector for `base_url` over `http`.
    pub fn new(http: reqwest::Client, base_url: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            http,
            base_url: base_url.to_owned(),
            clock,
            policy: RetryPolicy::default(),
        }
    }

    /// Replaces the retry policy (default: 4 attempts, 250 ms base, 4 s cap, 15 s maximum rate-limit wait).
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }
}

impl SpokeConnector for SpokeClientConnector {
    fn connect(
        &self,
        api_key: SecretString,
        deadline: Option<tokio::time::Instant>,
    ) -> Arc<dyn SpokeDirectory> {
        let built = SpokeClient::builder(self.http.clone(), api_key)
            .base_url(self.base_url.clone())
            .user_agent(USER_AGENT)
            .clock(self.clock.clone())
            .retry_policy(RetryPolicy {
                max_attempts: 1,
                ..self.policy
            })
            .build();
        match built {
            Ok(client) => {
                let client = match deadline {
                    Some(d) => client.with_deadline(d),
                    None => client,
                };
                Arc::new(ClientDirectory {
                    client,
                    policy: self.policy,
                    deadline,
                    retries: AtomicU32::new(0),
                })
            }
            Err(e) => {
                tracing::error!(error = %e, "the Spoke client could not be built");
                Arc::new(BrokenDirectory {
                    failure: match e {
                        spoke_client::BuildError::ApiKey => SpokeFailure::InvalidApiKey,
                        _ => SpokeFailure::Rejected {
                            status: None,
                            code: None,
                            message: Some("the Spoke client could not be built".to_owned()),
                        },
                    },
                })
            }
        }
    }
}

struct ClientDirectory {
    client: SpokeClient,
    policy: RetryPolicy,
    deadline: Option<tokio::time::Instant>,
    retries: AtomicU32,
}

impl ClientDirectory {
    /// Runs `op` with the retry policy: transient failures are retried with full-jitter backoff, 429 after
    /// the server's `Retry-After`/reset plus jitter, unless the wait exceeds the maximum rate-limit wait or the
    /// deadline.
    async fn retrying<T, F, Fut>(&self, mut op: F) -> Result<T, SpokeFailure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SpokeError>>,
    {
        let mut attempt = 1;
        loop {
            let error = match op().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            if !error.is_transient() || !self.policy.may_retry(attempt) {
                return Err(failure(&error, attempt));
            }
            let wait = match &error {
                SpokeError::RateLimited { .. } => match error.retry_after() {
                    Some(asked) if asked > self.policy.max_rate_limit_wait => {
                        return Err(failure(&error, attempt));
                    }
                    Some(asked) => asked + rate_limit_jitter(),
                    None => self.policy.backoff(attempt),
                },
                _ => self.policy.backoff(attempt),
            };
            if self
                .deadline
                .is_some_and(|d| tokio::time::Instant::now() + wait >= d)
            {
                return Err(failure(&error, attempt));
            }
            tracing::warn!(
                upstream = "spoke",
                route = error.route(),
                error_kind = error.kind(),
                http_status = error.status(),
                attempt,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "retrying Spoke call"
            );
            self.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

fn failure(error: &SpokeError, attempts: u32) -> SpokeFailure {
    match error {
        SpokeError::InvalidApiKey { .. } => SpokeFailure::InvalidApiKey,
        SpokeError::NotFound { .. } => SpokeFailure::NotFound,
        e if e.is_transient() => SpokeFailure::Unavailable {
            kind: match (e, e.status(), e.retry_after()) {
                (SpokeError::RateLimited { .. }, _, Some(wait)) => {
                    format!("rate limited (reset in {} s)", wait.as_secs())
                }
                (_, Some(status), _) => format!("HTTP {status}"),
                (e, None, _) => e.kind().to_owned(),
            },
            attempts,
        },
        e => SpokeFailure::Rejected {
            status: e.status(),
            code: e.spoke_code(),
            message: e
                .spoke_message()
                .map(str::to_owned)
                .or_else(|| Some(e.kind().to_owned())),
        },
    }
}

fn team(t: Team) -> SpokeTeam {
    let delegation = t
        .delegation()
        .map(|d| Delegation {
            strategy: d.strategy.as_ref().map(|s| s.as_str().to_owned()),
            specific_user: d.specific_user.as_ref().map(|u| u.as_str().to_owned()),
        })
        .filter(|d| d.strategy.is_some() || d.specific_user.is_some());
    let agents: Vec<Agent> = t
        .agent_list
        .iter()
        .filter_map(|a| {
            a.user_id().map(|id| Agent {
                user_id: id.as_str().to_owned(),
                status: a.status.as_ref().map(|s| s.as_str().to_owned()),
            })
        })
        .collect();
    SpokeTeam {
        id: t.id.as_str().to_owned(),
        name: t.name.clone().unwrap_or_default(),
        slug: t.slug.clone(),
        status: t.status.clone(),
        permalink: t.permalink.clone(),
        has_settings: t.settings.is_some(),
        auto_delegation: t.auto_delegation(),
        delegation,
        // The model cannot tell an absent `agentList` from an empty one; an empty list is re-read by id.
        agents: (!agents.is_empty()).then_some(agents),
    }
}

fn user(u: User) -> SpokeUser {
    SpokeUser {
        id: u.id.as_str().to_owned(),
        email: u.email,
        display_name: u.display_name,
    }
}

fn page_limit(limit: u64) -> u32 {
    u32::try_from(limit.min(100)).unwrap_or(100)
}

impl SpokeDirectory for ClientDirectory {
    fn team<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SpokeTeam>, SpokeFailure>> {
        async move {
            let id = TeamId::new(id);
            self.retrying(|| self.client.get_team(&id))
                .await
                .map(|t| t.map(team))
        }
        .boxed()
    }

    fn teams_page(
        &self,
        start: u64,
        limit: u64,
    ) -> BoxFuture<'_, Result<Page<SpokeTeam>, SpokeFailure>> {
        async move {
            let query = TeamQuery {
                start: Some(start),
                limit: Some(page_limit(limit)),
                ..TeamQuery::default()
            };
            let page = self.retrying(|| self.client.list_teams(&query)).await?;
            Ok(Page {
                received: page.received,
                total: page.total,
                items: page.results.into_iter().map(team).collect(),
            })
        }
        .boxed()
    }

    fn user_by_email<'a>(
        &'a self,
        email: &'a str,
    ) -> BoxFuture<'a, Result<Option<SpokeUser>, SpokeFailure>> {
        async move {
            match self.retrying(|| self.client.user_by_email(email)).await {
                Ok(found) => Ok(found.map(user)),
                Err(SpokeFailure::Rejected {
                    status: Some(status @ (400 | 405)),
                    ..
                }) => Err(SpokeFailure::Unsupported { status }),
                Err(other) => Err(other),
            }
        }
        .boxed()
    }

    fn search_users<'a>(
        &'a self,
        query: &'a str,
        start: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<Page<SpokeUser>, SpokeFailure>> {
        async move {
            let query = UserQuery {
                start: Some(start),
                limit: Some(page_limit(limit)),
                ..UserQuery::search(query)
            };
            let page = self.retrying(|| self.client.list_users(&query)).await?;
            Ok(Page {
                received: page.received,
                total: page.total,
                items: page.results.into_iter().map(user).collect(),
            })
        }
        .boxed()
    }

    fn set_specific_user<'a>(
        &'a self,
        team_id: &'a str,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<SpokeTeam, SpokeFailure>> {
        async move {
            let id = TeamId::new(team_id);
            let patch = TeamPatch::assign_specific_user(UserId::new(user_id));
            self.retrying(|| self.client.update_team(&id, &patch))
                .await
                .map(team)
        }
        .boxed()
    }

    fn retries(&self) -> u32 {
        self.retries.load(Ordering::Relaxed)
    }
}

struct BrokenDirectory {
    failure: SpokeFailure,
}

impl BrokenDirectory {
    fn fail<'a, T: Send + 'a>(&'a self) -> BoxFuture<'a, Result<T, SpokeFailure>> {
        let failure = self.failure.clone();
        async move { Err(failure) }.boxed()
    }
}

impl SpokeDirectory for BrokenDirectory {
    fn team<'a>(&'a self, _id: &'a str) -> BoxFuture<'a, Result<Option<SpokeTeam>, SpokeFailure>> {
        self.fail()
    }
    fn teams_page(
        &self,
        _start: u64,
        _limit: u64,
    ) -> BoxFuture<'_, Result<Page<SpokeTeam>, SpokeFailure>> {
        self.fail()
    }
    fn user_by_email<'a>(
        &'a self,
        _email: &'a str,
    ) -> BoxFuture<'a, Result<Option<SpokeUser>, SpokeFailure>> {
        self.fail()
    }
    fn search_users<'a>(
        &'a self,
        _query: &'a str,
        _start: u64,
        _limit: u64,
    ) -> BoxFuture<'a, Result<Page<SpokeUser>, SpokeFailure>> {
        self.fail()
    }
    fn set_specific_user<'a>(
        &'a self,
        _team_id: &'a str,
        _user_id: &'a str,
    ) -> BoxFuture<'a, Result<SpokeTeam, SpokeFailure>> {
        self.fail()
    }
    fn retries(&self) -> u32 {
        0
    }
}

/// Posts alerts through `slack-notify`'s incoming-webhook client, with one retry (spec §5.1: a 429 honours
/// `Retry-After` once; a 5xx is retried once).
#[derive(Clone, Debug)]
pub struct SlackWebhookPoster {
    client: slack_notify::WebhookClient,
}

impl SlackWebhookPoster {
    /// A poster over `http` with one retry.
    pub fn new(http: reqwest::Client, clock: Arc<dyn Clock>) -> Self {
        let policy = RetryPolicy {
            max_attempts: 2,
            ..RetryPolicy::default()
        };
        Self {
            client: slack_notify::WebhookClient::new(http)
                .with_retry_policy(policy)
                .with_clock(clock),
        }
    }
}

impl WebhookPoster for SlackWebhookPoster {
    fn post<'a>(
        &'a self,
        url: &'a SecretString,
        payload: &'a Value,
    ) -> BoxFuture<'a, Result<(), PostFailure>> {
        async move {
            let message: slack_notify::Message =
                serde_json::from_value(payload.clone()).map_err(|_| PostFailure {
                    transient: false,
                    reason: "invalid_message".to_owned(),
                })?;
            self.client
                .post(url, &message)
                .await
                .map_err(|e| PostFailure {
                    transient: e.is_transient(),
                    reason: e.kind().to_owned(),
                })
        }
        .boxed()
    }
}

/// The secret from a [`secrets::SecretStore`] (Secrets Manager, or `MemorySecretStore` in tests).
#[derive(Clone)]
pub struct StoreSecretSource {
    store: Arc<dyn secrets::SecretStore>,
    id: String,
}

impl std::fmt::Debug for StoreSecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSecretSource")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl StoreSecretSource {
    /// Reads secret `id` from `store`.
    pub fn new(store: Arc<dyn secrets::SecretStore>, id: &str) -> Self {
        Self {
            store,
            id: id.to_owned(),
        }
    }
}

impl SecretSource for StoreSecretSource {
    fn read(&self, fresh: bool) -> BoxFuture<'_, Result<Value, SecretReadError>> {
        async move {
            let value = if fresh {
                self.store.get_fresh(&self.id).await.map(|v| v.value)
            } else {
                self.store.get_value(&self.id).await
            };
            value.map(|v| (*v).clone()).map_err(|e| SecretReadError {
                reason: e.to_string(),
            })
        }
        .boxed()
    }
}

/// The secret JSON from a local file (`ONCALL_SECRET_FILE`, local runs only). Read on every cache miss.
#[derive(Debug, Clone)]
pub struct FileSecretSource {
    path: PathBuf,
}

impl FileSecretSource {
    /// Reads `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl SecretSource for FileSecretSource {
    fn read(&self, _fresh: bool) -> BoxFuture<'_, Result<Value, SecretReadError>> {
        async move {
            let text = std::fs::read_to_string(&self.path).map_err(|e| SecretReadError {
                reason: format!("cannot read the secret file: {}", e.kind()),
            })?;
            serde_json::from_str(&text).map_err(|_| SecretReadError {
                reason: "the secret file is not JSON".to_owned(),
            })
        }
        .boxed()
    }
}

/// Errors of [`build_deps`].
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `ONCALL_SECRET_ID` is configured but no secret store was given.
    #[error("ONCALL_SECRET_ID is set but no secret store was provided")]
    NoSecretStore,
}

/// Wires the production adapters: Spoke and Slack over one shared `http` pool, and the secret from `store`
/// (`ONCALL_SECRET_ID`) or from the file (`ONCALL_SECRET_FILE`, `store` unused).
pub fn build_deps(
    config: Config,
    http: reqwest::Client,
    store: Option<Arc<dyn secrets::SecretStore>>,
    clock: Arc<dyn Clock>,
    metrics: Arc<dyn MetricSink>,
) -> Result<Deps, BuildError> {
    let secrets: Arc<dyn SecretSource> = match &config.secret {
        SecretLocation::SecretsManager(id) => Arc::new(StoreSecretSource::new(
            store.ok_or(BuildError::NoSecretStore)?,
            id,
        )),
        SecretLocation::File(path) => Arc::new(FileSecretSource::new(path.clone())),
    };
    let spoke = Arc::new(SpokeClientConnector::new(
        http.clone(),
        config.spoke_base_url.as_str(),
        clock.clone(),
    ));
    let slack = Arc::new(SlackWebhookPoster::new(http, clock.clone()));
    Ok(Deps::new(config, spoke, slack, secrets, clock, metrics))
}
