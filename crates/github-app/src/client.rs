//! The GitHub REST client: one private `execute` helper that sets headers, applies auth, retries and
//! classifies; endpoint methods on top.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use lambda_kit::Clock;
use lambda_kit::http::{RetryPolicy, rate_limit_jitter, retry_after};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, LINK, USER_AGENT};
use reqwest::{Method, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tracing::{debug, warn};
use url::Url;

use crate::api::GithubApi;
use crate::auth::{AccessTokenResponse, AppCredentials, AppKey, CachedToken, TokenCache};
use crate::error::GithubError;
use crate::models::{
    AuditEvent, Collaborator, CollaboratorPermission, HookDelivery, Installation, Membership,
    RemovalOutcome, RepoEvent, RepoInvitation, Repository, User,
};

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

#[derive(Debug, Clone, Copy)]
enum Auth {
    /// An installation token for this organisation's installation.
    Installation(OrgEntry),
    /// An App JWT.
    Jwt(u64),
}

/// Whether 5xx, timeouts and transport errors may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    Safe,
    Never,
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

    /// A valid installation token for `org`'s installation: the cached one until 5 minutes before its
    /// expiry, else a freshly minted one (`POST /app/installations/{id}/access_tokens`).
    pub async fn installation_token(&self, org: &str) -> Result<SecretString, GithubError> {
        let entry = self.org(org)?;
        self.token_for(entry).await
    }

    /// Drops every cached installation token.
    pub async fn clear_token_cache(&self) {
        self.inner.tokens.lock().await.tokens.clear();
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

    /// A GET whose 404 means "absent" (`Ok(None)`), not an error.
    async fn get_optional<T: DeserializeOwned>(
        &self,
        op: &'static str,
        auth: Auth,
        url: Url,
    ) -> Result<Option<T>, GithubError> {
        let resp = self
            .execute(op, Method::GET, url, auth, Retry::Safe)
            .await?;
        match resp.status() {
            StatusCode::OK => decode(op, resp).await.map(Some),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(status_error(op, resp).await),
        }
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.inner.base.clone();
        let joined = format!("{}{}", self.inner.base.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url
    }

    async fn token_for(&self, entry: OrgEntry) -> Result<SecretString, GithubError> {
        let mut cache = self.inner.tokens.lock().await;
        let now = self.inner.clock.now();
        if let Some(cached) = cache.tokens.get(&entry.installation_id)
            && cached.is_fresh(now)
        {
            return Ok(cached.token.clone());
        }
        let fresh = self.mint_token(entry).await?;
        let token = fresh.token.clone();
        cache.tokens.insert(entry.installation_id, fresh);
        Ok(token)
    }

    async fn drop_token(&self, installation_id: u64, used: &SecretString) {
        let mut cache = self.inner.tokens.lock().await;
        let same = cache
            .tokens
            .get(&installation_id)
            .is_some_and(|c| c.token.expose_secret() == used.expose_secret());
        if same {
            cache.tokens.remove(&installation_id);
        }
    }

    async fn mint_token(&self, entry: OrgEntry) -> Result<CachedToken, GithubError> {
        const OP: &str = "POST /app/installations/{installation_id}/access_tokens";
        let url = self.url(&format!(
            "/app/installations/{}/access_tokens",
            entry.installation_id
        ));
        let jwt = self.jwt(entry.app_id)?;
        // Minting a token changes nothing on GitHub, so it is safe to retry.
        let resp = self
            .send_with_retries(OP, &Method::POST, &url, &jwt, Retry::Safe)
            .await?;
        match resp.status() {
            StatusCode::CREATED | StatusCode::OK => {
                let body: AccessTokenResponse = decode(OP, resp).await?;
                debug!(
                    installation_id = entry.installation_id,
                    expires_at = %body.expires_at,
                    "installation token minted"
                );
                Ok(CachedToken {
                    token: body.token,
                    expires_at: body.expires_at,
                })
            }
            _ => Err(status_error(OP, resp).await),
        }
    }

    fn jwt(&self, app_id: u64) -> Result<SecretString, GithubError> {
        let key = self
            .inner
            .apps
            .get(&app_id)
            .ok_or(GithubError::InvalidKey { app_id })?;
        key.jwt(self.inner.clock.now())
    }

    /// Sends one logical request with auth: an installation token (a 401 drops it and the call is repeated
    /// once with a fresh token) or an App JWT. Returns the response for every status the caller must
    /// interpret; errors for exhausted retries and for 401.
    async fn execute(
        &self,
        op: &'static str,
        method: Method,
        url: Url,
        auth: Auth,
        retry: Retry,
    ) -> Result<Response, GithubError> {
        match auth {
            Auth::Jwt(app_id) => {
                let jwt = self.jwt(app_id)?;
                let resp = self
                    .send_with_retries(op, &method, &url, &jwt, retry)
                    .await?;
                if resp.status() == StatusCode::UNAUTHORIZED {
                    return Err(GithubError::Unauthorized { operation: op });
                }
                Ok(resp)
            }
            Auth::Installation(entry) => {
                let mut refreshed = false;
                loop {
                    let token = self.token_for(entry).await?;
                    let resp = self
                        .send_with_retries(op, &method, &url, &token, retry)
                        .await?;
                    if resp.status() == StatusCode::FORBIDDEN {
                        // A token carries the permissions of its mint: after the App gains a permission (or
                        // the installation is unsuspended) the next attempt must use a fresh token.
                        self.drop_token(entry.installation_id, &token).await;
                    }
                    if resp.status() != StatusCode::UNAUTHORIZED {
                        return Ok(resp);
                    }
                    self.drop_token(entry.installation_id, &token).await;
                    if refreshed {
                        return Err(GithubError::Unauthorized { operation: op });
                    }
                    refreshed = true;
                    debug!(
                        operation = op,
                        "installation token refused; refreshing once"
                    );
                }
            }
        }
    }

    /// One request with headers and a fixed credential, with bounded retries of timeouts, transport
    /// errors and 5xx (when `retry` allows) and bounded rate-limit waits.
    async fn send_with_retries(
        &self,
        op: &'static str,
        method: &Method,
        url: &Url,
        credential: &SecretString,
        retry: Retry,
    ) -> Result<Response, GithubError> {
        let policy = self.inner.retry;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut bearer =
                HeaderValue::from_str(&format!("Bearer {}", credential.expose_secret()))
                    .map_err(|_| GithubError::Unauthorized { operation: op })?;
            bearer.set_sensitive(true);
            let result = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .header(ACCEPT, ACCEPT_GITHUB_JSON)
                .header("x-github-api-version", API_VERSION)
                .header(USER_AGENT, self.inner.user_agent.clone())
                .header(AUTHORIZATION, bearer)
                .send()
                .await;
            let resp = match result {
                Ok(resp) => resp,
                Err(e) => {
                    let timeout = e.is_timeout();
                    warn!(
                        operation = op,
                        attempt,
                        timeout,
                        upstream = "github",
                        "GitHub request failed"
                    );
                    if retry == Retry::Safe && policy.may_retry(attempt) {
                        tokio::time::sleep(policy.backoff(attempt)).await;
                        continue;
                    }
                    return Err(if timeout {
                        GithubError::Timeout { operation: op }
                    } else {
                        GithubError::Transport {
                            operation: op,
                            source: e.without_url(),
                        }
                    });
                }
            };
            let status = resp.status();
            debug!(
                operation = op,
                http_status = status.as_u16(),
                attempt,
                upstream = "github",
                "GitHub answered"
            );

            if is_rate_limited(status, resp.headers()) {
                let wait = retry_after(resp.headers(), self.inner.clock.now());
                let bounded = wait.unwrap_or_else(|| policy.backoff(attempt));
                warn!(
                    operation = op,
                    http_status = status.as_u16(),
                    attempt,
                    wait_ms = u64::try_from(bounded.as_millis()).unwrap_or(u64::MAX),
                    upstream = "github",
                    "GitHub rate limit"
                );
                // A rate-limited request was not processed, so even a POST may be repeated.
                if policy.may_retry(attempt) && bounded <= policy.max_rate_limit_wait {
                    tokio::time::sleep(bounded + rate_limit_jitter()).await;
                    continue;
                }
                return Err(GithubError::RateLimited {
                    operation: op,
                    retry_after: wait,
                });
            }

            if status.is_server_error() && retry == Retry::Safe && policy.may_retry(attempt) {
                tokio::time::sleep(policy.backoff(attempt)).await;
                continue;
            }
            return Ok(resp);
        }
    }

    async fn get_all<T: DeserializeOwned>(
        &self,
        op: &'static str,
        org: &str,
        first: Url,
        max_pages: u32,
    ) -> Result<Vec<T>, GithubError> {
        let entry = self.org(org)?;
        self.paginate(op, first, Auth::Installation(entry), max_pages)
            .await
    }

    async fn paginate<T: DeserializeOwned>(
        &self,
        op: &'static str,
        first: Url,
        auth: Auth,
        max_pages: u32,
    ) -> Result<Vec<T>, GithubError> {
        let mut items = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(url) = next.take() {
            if pages >= max_pages {
                break;
            }
            pages += 1;
            let resp = self
                .execute(op, Method::GET, url, auth, Retry::Safe)
                .await?;
            if resp.status() != StatusCode::OK {
                return Err(status_error(op, resp).await);
            }
            next = match next_link(resp.headers()) {
                Some(link) => Some(self.checked_link(op, &link)?),
                None => None,
            };
            let page: Vec<T> = decode(op, resp).await?;
            items.extend(page);
        }
        Ok(items)
    }

    /// A `Link` target must stay on the configured API (same scheme, host, port and path prefix), so that a
    /// token is never sent elsewhere.
    fn checked_link(&self, op: &'static str, link: &str) -> Result<Url, GithubError> {
        let url = Url::parse(link).map_err(|_| GithubError::Pagination {
            operation: op,
            reason: "not a URL",
        })?;
        let base = &self.inner.base;
        let same_origin = url.scheme() == base.scheme()
            && url.host_str() == base.host_str()
            && url.port_or_known_default() == base.port_or_known_default()
            && url.path().starts_with(base.path().trim_end_matches('/'));
        if same_origin {
            Ok(url)
        } else {
            Err(GithubError::Pagination {
                operation: op,
                reason: "link leaves the configured API",
            })
        }
    }

    /// See [`GithubApi::membership`].
    pub async fn check_membership(
        &self,
        org: &str,
        username: &str,
    ) -> Result<Membership, GithubError> {
        const OP: &str = "GET /orgs/{org}/members/{username}";
        let entry = self.org(org)?;
        let url = self.url(&format!("/orgs/{}/members/{}", seg(org), seg(username)));
        let resp = self
            .execute(OP, Method::GET, url, Auth::Installation(entry), Retry::Safe)
            .await?;
        match resp.status() {
            StatusCode::NO_CONTENT => Ok(Membership::Member),
            StatusCode::NOT_FOUND => Ok(Membership::NotMember),
            StatusCode::FOUND => Err(GithubError::MembershipHidden { operation: OP }),
            _ => Err(status_error(OP, resp).await),
        }
    }

    /// See [`GithubApi::user_by_id`].
    pub async fn get_user_by_id(
        &self,
        org: &str,
        account_id: u64,
    ) -> Result<Option<User>, GithubError> {
        const OP: &str = "GET /user/{account_id}";
        let entry = self.org(org)?;
        let url = self.url(&format!("/user/{account_id}"));
        self.get_optional(OP, Auth::Installation(entry), url).await
    }

    /// See [`GithubApi::remove_outside_collaborator`].
    pub async fn delete_outside_collaborator(
        &self,
        org: &str,
        username: &str,
    ) -> Result<RemovalOutcome, GithubError> {
        const OP: &str = crate::error::REMOVE_OUTSIDE_COLLABORATOR;
        let entry = self.org(org)?;
        let url = self.url(&format!(
            "/orgs/{}/outside_collaborators/{}",
            seg(org),
            seg(username)
        ));
        // DELETE is idempotent: a retry after a lost answer sees 404, which means "already gone".
        let resp = self
            .execute(
                OP,
                Method::DELETE,
                url,
                Auth::Installation(entry),
                Retry::Safe,
            )
            .await?;
        match resp.status() {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(RemovalOutcome::Removed),
            StatusCode::NOT_FOUND => Ok(RemovalOutcome::AlreadyGone),
            StatusCode::UNPROCESSABLE_ENTITY => Ok(RemovalOutcome::IsOrgMember),
            _ => Err(status_error(OP, resp).await),
        }
    }

    /// See [`GithubApi::outside_collaborators`].
    pub async fn list_outside_collaborators(&self, org: &str) -> Result<Vec<User>, GithubError> {
        const OP: &str = "GET /orgs/{org}/outside_collaborators";
        let mut url = self.url(&format!("/orgs/{}/outside_collaborators", seg(org)));
        url.query_pairs_mut()
            .append_pair("filter", "all")
            .append_pair("per_page", "100");
        self.get_all(OP, org, url, MAX_PAGES).await
    }

    /// See [`GithubApi::org_repos`].
    pub async fn list_org_repos(&self, org: &str) -> Result<Vec<Repository>, GithubError> {
        const OP: &str = "GET /orgs/{org}/repos";
        let mut url = self.url(&format!("/orgs/{}/repos", seg(org)));
        url.query_pairs_mut().append_pair("per_page", "100");
        self.get_all(OP, org, url, MAX_PAGES).await
    }

    /// See [`GithubApi::repo_outside_collaborators`].
    pub async fn list_repo_outside_collaborators(
        &self,
        org: &str,
        repo: &str,
    ) -> Result<Vec<Collaborator>, GithubError> {
        const OP: &str = "GET /repos/{owner}/{repo}/collaborators";
        let mut url = self.url(&format!("/repos/{}/{}/collaborators", seg(org), seg(repo)));
        url.query_pairs_mut()
            .append_pair("affiliation", "outside")
            .append_pair("per_page", "100");
        self.get_all(OP, org, url, MAX_PAGES).await
    }

    /// See [`GithubApi::repo_invitations`].
    pub async fn list_repo_invitations(
        &self,
        org: &str,
        repo: &str,
    ) -> Result<Vec<RepoInvitation>, GithubError> {
        const OP: &str = "GET /repos/{owner}/{repo}/invitations";
        let mut url = self.url(&format!("/repos/{}/{}/invitations", seg(org), seg(repo)));
        url.query_pairs_mut().append_pair("per_page", "100");
        self.get_all(OP, org, url, MAX_PAGES).await
    }

    /// See [`GithubApi::collaborator_permission`].
    pub async fn get_collaborator_permission(
        &self,
        org: &str,
        repo: &str,
        username: &str,
    ) -> Result<Option<CollaboratorPermission>, GithubError> {
        const OP: &str = "GET /repos/{owner}/{repo}/collaborators/{username}/permission";
        let entry = self.org(org)?;
        let url = self.url(&format!(
            "/repos/{}/{}/collaborators/{}/permission",
            seg(org),
            seg(repo),
            seg(username)
        ));
        self.get_optional(OP, Auth::Installation(entry), url).await
    }

    /// See [`GithubApi::repo_events`].
    pub async fn list_repo_events(
        &self,
        org: &str,
        repo: &str,
        max_pages: u32,
    ) -> Result<Option<Vec<RepoEvent>>, GithubError> {
        const OP: &str = "GET /repos/{owner}/{repo}/events";
        let mut url = self.url(&format!("/repos/{}/{}/events", seg(org), seg(repo)));
        url.query_pairs_mut().append_pair("per_page", "100");
        match self.get_all(OP, org, url, max_pages).await {
            Ok(events) => Ok(Some(events)),
            Err(GithubError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// See [`GithubApi::audit_log`].
    pub async fn query_audit_log(
        &self,
        org: &str,
        phrase: &str,
        max_pages: u32,
    ) -> Result<Option<Vec<AuditEvent>>, GithubError> {
        const OP: &str = crate::error::AUDIT_LOG;
        let mut url = self.url(&format!("/orgs/{}/audit-log", seg(org)));
        url.query_pairs_mut()
            .append_pair("phrase", phrase)
            .append_pair("include", "all")
            .append_pair("order", "desc")
            .append_pair("per_page", "100");
        match self.get_all(OP, org, url, max_pages).await {
            Ok(events) => Ok(Some(events)),
            Err(GithubError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// See [`GithubApi::hook_deliveries`].
    pub async fn list_hook_deliveries(
        &self,
        org: &str,
        max_pages: u32,
    ) -> Result<Vec<HookDelivery>, GithubError> {
        const OP: &str = "GET /app/hook/deliveries";
        let entry = self.org(org)?;
        let mut url = self.url("/app/hook/deliveries");
        url.query_pairs_mut().append_pair("per_page", "100");
        self.paginate(OP, url, Auth::Jwt(entry.app_id), max_pages)
            .await
    }

    /// See [`GithubApi::redeliver`].
    pub async fn redeliver_delivery(&self, org: &str, delivery_id: u64) -> Result<(), GithubError> {
        const OP: &str = "POST /app/hook/deliveries/{delivery_id}/attempts";
        let entry = self.org(org)?;
        let url = self.url(&format!("/app/hook/deliveries/{delivery_id}/attempts"));
        let resp = self
            .execute(OP, Method::POST, url, Auth::Jwt(entry.app_id), Retry::Never)
            .await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(status_error(OP, resp).await)
        }
    }

    /// See [`GithubApi::installation`].
    pub async fn get_org_installation(
        &self,
        org: &str,
    ) -> Result<Option<Installation>, GithubError> {
        const OP: &str = "GET /orgs/{org}/installation";
        let entry = self.org(org)?;
        let url = self.url(&format!("/orgs/{}/installation", seg(org)));
        self.get_optional(OP, Auth::Jwt(entry.app_id), url).await
    }
}

impl GithubApi for GithubClient {
    fn installation<'a>(
        &'a self,
        org: &'a str,
    ) -> BoxFuture<'a, Result<Option<Installation>, GithubError>> {
        Box::pin(self.get_org_installation(org))
    }

    fn membership<'a>(
        &'a self,
        org: &'a str,
        username: &'a str,
    ) -> BoxFuture<'a, Result<Membership, GithubError>> {
        Box::pin(self.check_membership(org, username))
    }

    fn user_by_id<'a>(
        &'a self,
        org: &'a str,
        account_id: u64,
    ) -> BoxFuture<'a, Result<Option<User>, GithubError>> {
        Box::pin(self.get_user_by_id(org, account_id))
    }

    fn remove_outside_collaborator<'a>(
        &'a self,
        org: &'a str,
        username: &'a str,
    ) -> BoxFuture<'a, Result<RemovalOutcome, GithubError>> {
        Box::pin(self.delete_outside_collaborator(org, username))
    }

    fn outside_collaborators<'a>(
        &'a self,
        org: &'a str,
    ) -> BoxFuture<'a, Result<Vec<User>, GithubError>> {
        Box::pin(self.list_outside_collaborators(org))
    }

    fn org_repos<'a>(
        &'a self,
        org: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Repository>, GithubError>> {
        Box::pin(self.list_org_repos(org))
    }

    fn repo_outside_collaborators<'a>(
        &'a self,
        org: &'a str,
        repo: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Collaborator>, GithubError>> {
        Box::pin(self.list_repo_outside_collaborators(org, repo))
    }

    fn repo_invitations<'a>(
        &'a self,
        org: &'a str,
        repo: &'a str,
    ) -> BoxFuture<'a, Result<Vec<RepoInvitation>, GithubError>> {
        Box::pin(self.list_repo_invitations(org, repo))
    }

    fn collaborator_permission<'a>(
        &'a self,
        org: &'a str,
        repo: &'a str,
        username: &'a str,
    ) -> BoxFuture<'a, Result<Option<CollaboratorPermission>, GithubError>> {
        Box::pin(self.get_collaborator_permission(org, repo, username))
    }

    fn audit_log<'a>(
        &'a self,
        org: &'a str,
        phrase: &'a str,
        max_pages: u32,
    ) -> BoxFuture<'a, Result<Option<Vec<AuditEvent>>, GithubError>> {
        Box::pin(self.query_audit_log(org, phrase, max_pages))
    }

    fn repo_events<'a>(
        &'a self,
        org: &'a str,
        repo: &'a str,
        max_pages: u32,
    ) -> BoxFuture<'a, Result<Option<Vec<RepoEvent>>, GithubError>> {
        Box::pin(self.list_repo_events(org, repo, max_pages))
    }

    fn hook_deliveries<'a>(
        &'a self,
        org: &'a str,
        max_pages: u32,
    ) -> BoxFuture<'a, Result<Vec<HookDelivery>, GithubError>> {
        Box::pin(self.list_hook_deliveries(org, max_pages))
    }

    fn redeliver<'a>(
        &'a self,
        org: &'a str,
        delivery_id: u64,
    ) -> BoxFuture<'a, Result<(), GithubError>> {
        Box::pin(self.redeliver_delivery(org, delivery_id))
    }
}

/// One path segment, percent-encoded.
fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A 429, or a 403 with `x-ratelimit-remaining: 0` or a `retry-after` header.
fn is_rate_limited(status: StatusCode, headers: &HeaderMap) -> bool {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return true;
    }
    if status != StatusCode::FORBIDDEN {
        return false;
    }
    let remaining_zero = headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0");
    remaining_zero || headers.contains_key("retry-after")
}

/// The `rel="next"` target of the `Link` header(s), if any.
fn next_link(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(LINK) {
        let Ok(value) = value.to_str() else { continue };
        for part in value.split(',') {
            let mut pieces = part.split(';');
            let target = pieces.next()?.trim();
            let is_next = pieces.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            if is_next {
                return target
                    .strip_prefix('<')
                    .and_then(|t| t.strip_suffix('>'))
                    .map(str::to_owned);
            }
        }
    }
    None
}

async fn decode<T: DeserializeOwned>(op: &'static str, resp: Response) -> Result<T, GithubError> {
    let bytes = resp.bytes().await.map_err(|e| GithubError::Transport {
        operation: op,
        source: e.without_url(),
    })?;
    serde_json::from_slice(&bytes).map_err(|source| GithubError::Decode {
        operation: op,
        source,
    })
}

/// Maps a status the caller did not expect to an error, keeping GitHub's short `message`.
async fn status_error(op: &'static str, resp: Response) -> GithubError {
    let status = resp.status();
    let message = resp.json::<serde_json::Value>().await.ok().and_then(|v| {
        v.get("message")
            .and_then(|m| m.as_str())
            .map(|m| m.chars().take(200).collect())
    });
    match status {
        StatusCode::UNAUTHORIZED => GithubError::Unauthorized { operation: op },
        StatusCode::FORBIDDEN => GithubError::Forbidden {
            operation: op,
            message,
        },
        StatusCode::NOT_FOUND => GithubError::NotFound { operation: op },
        _ => GithubError::Api {
            operation: op,
            status: status.as_u16(),
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn finds_the_next_link_among_several_relations() {
        let h = headers(&[(
            "link",
            r#"<https://api.github.com/x?page=3>; rel="next", <https://api.github.com/x?page=9>; rel="last""#,
        )]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/x?page=3")
        );
        let h = headers(&[("link", r#"<https://api.github.com/x?page=1>; rel="prev""#)]);
        assert_eq!(next_link(&h), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn only_403_and_429_with_limit_signs_are_rate_limits() {
        let zero = headers(&[("x-ratelimit-remaining", "0")]);
        let some = headers(&[("x-ratelimit-remaining", "12")]);
        let after = headers(&[("retry-after", "5")]);
        assert!(is_rate_limited(StatusCode::FORBIDDEN, &zero));
        assert!(is_rate_limited(StatusCode::TOO_MANY_REQUESTS, &after));
        assert!(is_rate_limited(StatusCode::FORBIDDEN, &after));
        assert!(!is_rate_limited(StatusCode::FORBIDDEN, &some));
        assert!(is_rate_limited(
            StatusCode::TOO_MANY_REQUESTS,
            &HeaderMap::new()
        ));
        assert!(!is_rate_limited(StatusCode::FORBIDDEN, &HeaderMap::new()));
        assert!(!is_rate_limited(StatusCode::INTERNAL_SERVER_ERROR, &zero));
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(seg("octo cat/x"), "octo%20cat%2Fx");
        assert_eq!(seg("octocat"), "octocat");
    }
}
