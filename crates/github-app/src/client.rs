//! The GitHub REST client: its settings, its builder and the per-organisation installation table. The
//! request core (auth, retries, rate limits, pagination, status mapping) is in `transport`, the installation
//! token cache in `tokens`, and the endpoint methods with the [`crate::GithubApi`] implementation in
//! `endpoints`.

mod endpoints;
mod tokens;
mod transport;

use std::collections::HashMap;
use std::sync::Arc;

use lambda_kit::Clock;
use lambda_kit::http::RetryPolicy;
use reqwest::header::HeaderValue;
use tokio::sync::Mutex;
use url::Url;

use crate::auth::{AppCredentials, AppKey, TokenCache};
use crate::error::GithubError;

/// `Accept` sent on every request.
pub const ACCEPT_GITHUB_JSON: &str = "application/vnd.github+json";
/// `X-GitHub-Api-Version` sent on every request.
pub const API_VERSION: &str = "2022-11-28";
/// The default `User-Agent`.
pub const DEFAULT_USER_AGENT: &str = concat!("cls-github-app/", env!("CARGO_PKG_VERSION"));
/// Upper bound on pages followed by the "every page" listings (100 items per page).
pub const MAX_PAGES: u32 = 500;

/// The App installation serving one organisation.
#[derive(Debug, Clone)]
pub struct OrgInstallation {
    /// Organisation login (matched case-insensitively).
    pub org: String,
    /// Installation id of the App in that organisation.
    pub installation_id: u64,
    /// The App's credentials.
    pub app: AppCredentials,
}

#[derive(Debug, Clone, Copy)]
struct OrgEntry {
    installation_id: u64,
    app_id: u64,
}

/// Builds a [`GithubClient`].
pub struct GithubClientBuilder {
    base_url: String,
    clock: Arc<dyn Clock>,
    http: Option<reqwest::Client>,
    retry: RetryPolicy,
    user_agent: String,
    orgs: Vec<OrgInstallation>,
}

impl GithubClientBuilder {
    /// Uses this `reqwest::Client` (one per process) instead of `lambda_kit::http::http_client`. It must not
    /// follow redirects: a 302 from the membership check is an answer.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Overrides the retry policy (tests use tiny backoffs).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Overrides the `User-Agent` (default [`DEFAULT_USER_AGENT`]).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Adds the installation serving `org`.
    pub fn installation(
        mut self,
        org: impl Into<String>,
        installation_id: u64,
        app: AppCredentials,
    ) -> Self {
        self.orgs.push(OrgInstallation {
            org: org.into(),
            installation_id,
            app,
        });
        self
    }

    /// Adds several installations.
    pub fn installations(mut self, orgs: impl IntoIterator<Item = OrgInstallation>) -> Self {
        self.orgs.extend(orgs);
        self
    }

    /// Validates the base URL (https unless loopback) and parses every App key.
    pub fn build(self) -> Result<GithubClient, GithubError> {
        let base =
            lambda_kit::config::check_base_url(&self.base_url).map_err(GithubError::Config)?;
        let user_agent = HeaderValue::from_str(&self.user_agent).map_err(|_| {
            GithubError::Config("user agent is not a valid header value".to_owned())
        })?;
        let http = match self.http {
            Some(http) => http,
            None => lambda_kit::http::http_client(&self.user_agent)
                .map_err(|_| GithubError::Config("could not build the HTTP client".to_owned()))?,
        };
        let mut orgs = HashMap::new();
        let mut apps = HashMap::new();
        for o in self.orgs {
            if let std::collections::hash_map::Entry::Vacant(slot) = apps.entry(o.app.app_id) {
                slot.insert(AppKey::new(&o.app)?);
            }
            orgs.insert(
                o.org.to_ascii_lowercase(),
                OrgEntry {
                    installation_id: o.installation_id,
                    app_id: o.app.app_id,
                },
            );
        }
        Ok(GithubClient {
            inner: Arc::new(Inner {
                http,
                base,
                clock: self.clock,
                retry: self.retry,
                user_agent,
                orgs,
                apps,
                tokens: Mutex::new(TokenCache::default()),
            }),
        })
    }
}

/// The GitHub App REST client. Cheap to clone; build once per process.
#[derive(Clone)]
pub struct GithubClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GithubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubClient")
            .field("base_url", &self.inner.base.as_str())
            .field("orgs", &self.inner.orgs.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    user_agent: HeaderValue,
    orgs: HashMap<String, OrgEntry>,
    apps: HashMap<u64, AppKey>,
    tokens: Mutex<TokenCache>,
}

impl GithubClient {
    /// Starts a builder for the API at `base_url` (`https://api.github.com`, or a loopback fake).
    pub fn builder(base_url: impl Into<String>, clock: Arc<dyn Clock>) -> GithubClientBuilder {
        GithubClientBuilder {
            base_url: base_url.into(),
            clock,
            http: None,
            retry: RetryPolicy::default(),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            orgs: Vec::new(),
        }
    }

    /// The organisations this client has installations for (lower-cased).
    pub fn orgs(&self) -> Vec<String> {
        let mut orgs: Vec<String> = self.inner.orgs.keys().cloned().collect();
        orgs.sort();
        orgs
    }

    fn org(&self, org: &str) -> Result<OrgEntry, GithubError> {
        self.inner
            .orgs
            .get(&org.to_ascii_lowercase())
            .copied()
            .ok_or_else(|| GithubError::UnknownOrg {
                org: org.to_owned(),
            })
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.inner.base.clone();
        let joined = format!("{}{}", self.inner.base.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url
    }
}
