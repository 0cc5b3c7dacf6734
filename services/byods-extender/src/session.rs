//! One working session against the secret and Webex: read the secret, keep the integration alive, get the
//! service-app token, and handle data sources. The Lambda sweep and every CLI command are built from it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use secrets::SecretsError;
use serde::Serialize;
use tracing::{error, info, warn};

use crate::config::{ExtendMode, NonceFormat};
use crate::credentials::Credentials;
use crate::deps::{Deps, PendingWrite};
use crate::error::{Failure, FailureClass};
use crate::redact::fingerprint;
use crate::webex::{CallCtx, DataSource, JwsClaims, MintRequest, UpdateDataSource, WebexError};

/// The exact log text of a re-auth failure: the original sample's metric filter matches its first words.
pub const REAUTH_LOG_TEXT: &str = "OAuth refresh token expired — run `byods setup-oauth`";

/// What happened to one data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new token was issued and its expiry moved later.
    Extended,
    /// Outside the extension window.
    SkippedNotDue,
    /// Not active; never PUT.
    SkippedDisabled,
    /// Due, but this is a dry run.
    WouldExtend,
    /// Failed; see `errorClass`.
    Failed,
}

impl Outcome {
    /// The log/summary spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Extended => "extended",
            Self::SkippedNotDue => "skipped_not_due",
            Self::SkippedDisabled => "skipped_disabled",
            Self::WouldExtend => "would_extend",
            Self::Failed => "failed",
        }
    }
}

/// The result for one data source (an entry of the §2 summary).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSourceResult {
    /// Data source id.
    pub id: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Expiry before this run, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Expiry after the update, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_expires_at: Option<DateTime<Utc>>,
    /// Fingerprint of the nonce sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce_fp: Option<String>,
    /// Failure class, when failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<String>,
    /// Webex tracking id of the failing response, when failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_id: Option<String>,
    /// A warning such as `expiry_unverified`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// The PUT body with the nonce masked (dry runs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_body: Option<serde_json::Value>,
}

impl DataSourceResult {
    fn new(id: &str, outcome: Outcome) -> Self {
        Self {
            id: id.to_owned(),
            outcome,
            expires_at: None,
            new_expires_at: None,
            nonce_fp: None,
            error_class: None,
            tracking_id: None,
            warning: None,
            planned_body: None,
        }
    }

    pub(crate) fn failed(id: &str) -> Self {
        Self::new(id, Outcome::Failed)
    }

    /// The expiry that now applies (new if extended, else old).
    pub fn current_expiry(&self) -> Option<DateTime<Utc>> {
        self.new_expires_at.or(self.expires_at)
    }
}

/// How to treat one data source.
#[derive(Debug, Clone, Copy)]
pub struct ProcessOptions {
    /// Extend even when not due.
    pub force: bool,
    /// No PUT.
    pub dry_run: bool,
    /// Lifetime to request (`None`: configured value, else the source's, else 1440).
    pub lifetime_minutes: Option<u32>,
}

struct State {
    creds: Credentials,
    version_id: Option<String>,
    integration_refreshed: bool,
    service_app_source: Option<&'static str>,
}

/// A session: the secret as read, the tokens in use and the failures seen. See the module docs.
pub struct Session<'d> {
    deps: &'d Deps,
    ctx: CallCtx,
    state: tokio::sync::Mutex<State>,
    failures: Mutex<Vec<Failure>>,
    write_failures: AtomicU64,
    oauth_failures: AtomicU64,
}

/// An optional time for a log field: RFC 3339, or empty.
fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Maps a Secrets Manager read error to its class.
fn read_failure(secret_id: &str, e: &SecretsError) -> Failure {
    let class = match e {
        SecretsError::Malformed { .. } => FailureClass::ConfigInvalid,
        _ => FailureClass::SecretReadFailed,
    };
    Failure::new(class, format!("reading secret {secret_id} failed: {e}"))
}

fn webex_failure(class: FailureClass, what: &str, e: &WebexError) -> Failure {
    let detail = match e {
        WebexError::Api { message, .. } if !message.is_empty() => format!(" ({message})"),
        _ => String::new(),
    };
    let mut f = Failure::new(class, format!("{what}: {e}{detail}"));
    f.http_status = e.status();
    f.tracking_id = e.tracking_id().map(str::to_owned);
    f
}

/// The class of a Webex error that no step-specific rule covers.
fn generic_class(e: &WebexError) -> FailureClass {
    match e {
        WebexError::RateLimited { .. } => FailureClass::RateLimited,
        WebexError::Timeout { .. } => FailureClass::Timeout,
        WebexError::Deadline { .. } => FailureClass::DeadlineExceeded,
        WebexError::Upstream { .. } | WebexError::Transport { .. } | WebexError::Decode { .. } => {
            FailureClass::Upstream
        }
        WebexError::Api { status: 404, .. } => FailureClass::DataSourceNotFound,
        _ => FailureClass::WebexRejected,
    }
}

fn new_nonce(format: NonceFormat, current: Option<&str>) -> String {
    loop {
        let nonce = match format {
            NonceFormat::Uuid => uuid::Uuid::new_v4().to_string(),
            NonceFormat::Hex32 => uuid::Uuid::new_v4().simple().to_string(),
        };
        if current != Some(nonce.as_str()) {
            return nonce;
        }
    }
}

/// Builds the PUT body from the GET and, where fields are missing, the token's claims (`byods.md` §2.6.4).
pub fn build_update(
    ds: &DataSource,
    claims: Option<&JwsClaims>,
    lifetime_minutes: Option<u32>,
    nonce: String,
) -> Result<UpdateDataSource, Vec<&'static str>> {
    let pick = |top: &Option<String>, claim: Option<&Option<String>>| {
        top.clone()
            .filter(|s| !s.is_empty())
            .or_else(|| claim.and_then(|c| c.clone()).filter(|s| !s.is_empty()))
    };
    let audience = pick(&ds.audience, claims.map(|c| &c.aud));
    let subject = pick(&ds.subject, claims.map(|c| &c.sub));
    let url = pick(&ds.url, claims.map(|c| &c.url));
    let schema_id = pick(&ds.schema_id, claims.map(|c| &c.schema_uuid));
    let mut missing = Vec::new();
    for (name, v) in [
        ("audience", &audience),
        ("subject", &subject),
        ("url", &url),
        ("schemaId", &schema_id),
    ] {
        if v.is_none() {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        return Err(missing);
    }
    let current = ds
        .token_lifetime_minutes
        .filter(|m| (1.0..=1440.0).contains(m))
        .map(|m| m.round() as u32);
    Ok(UpdateDataSource {
        schema_id: schema_id.unwrap_or_default(),
        url: url.unwrap_or_default(),
        audience: audience.unwrap_or_default(),
        subject: subject.unwrap_or_default(),
        nonce,
        token_lifetime_minutes: lifetime_minutes.or(current).unwrap_or(1440),
        status: "active".to_owned(),
    })
}

/// The expiry of a data source's token: `tokenExpiryTime`, else the JWS `exp`.
pub fn data_source_expiry(ds: &DataSource) -> Option<DateTime<Utc>> {
    ds.token_expiry().or_else(|| {
        ds.jws_token
            .as_ref()
            .and_then(|t| JwsClaims::decode(t.expose_secret()))
            .and_then(|c| c.expiry())
    })
}

impl<'d> Session<'d> {
    /// Opens a session: writes any pending credentials first, then does a fresh read of the secret,
    /// normalises aliases and validates the required keys.
    pub async fn open(deps: &'d Deps, ctx: CallCtx) -> Result<Self, Failure> {
        let secret_id = deps.config.secret_id.as_str();
        if let Some(pending) = deps.take_pending() {
            match crate::deps::write_credentials(deps, &pending.credentials, &pending.request_token)
                .await
            {
                Ok((version, _)) => {
                    info!(event = "secret_written", secret_id, secret_version_id = %version, reason = "pending", "pending credentials written")
                }
                Err(e) => {
                    warn!(event = "secret_write_failed", secret_id, error = %e, "pending credentials still not written");
                    deps.set_pending(pending);
                }
            }
        }
        let fresh = deps
            .secrets
            .get_fresh(secret_id)
            .await
            .map_err(|e| read_failure(secret_id, &e))?;
        let mut creds = Credentials::from_value(&fresh.value).map_err(|e| {
            Failure::new(
                FailureClass::ConfigInvalid,
                format!("secret {secret_id}: {e}"),
            )
        })?;
        for key in &creds.alias_conflicts {
            warn!(event = "secret_alias_conflict", secret_id, key = %key, "both a canonical key and an alias are set; the canonical value wins");
        }
        if !creds.aliases_used.is_empty() {
            info!(event = "secret_aliases_used", secret_id, keys = %creds.aliases_used.join(","), "legacy key names read; the next write migrates them");
        }
        if let Some(pending) = deps.peek_pending() {
            creds = pending.credentials.merged_with_fresh(&creds);
        }
        let bad = creds.invalid_keys();
        if !bad.is_empty() {
            return Err(Failure::new(
                FailureClass::ConfigInvalid,
                format!(
                    "secret {secret_id} lacks or has placeholder values for: {}",
                    bad.join(", ")
                ),
            ));
        }
        Ok(Self {
            deps,
            ctx,
            state: tokio::sync::Mutex::new(State {
                creds,
                version_id: fresh.version_id.clone(),
                integration_refreshed: false,
                service_app_source: None,
            }),
            failures: Mutex::new(Vec::new()),
            write_failures: AtomicU64::new(0),
            oauth_failures: AtomicU64::new(0),
        })
    }

    /// The call context (tracking ids, deadline, retry counters).
    pub fn ctx(&self) -> &CallCtx {
        &self.ctx
    }

    /// A copy of the credentials in use.
    pub async fn credentials(&self) -> Credentials {
        self.state.lock().await.creds.clone()
    }

    /// Where the service-app token came from: `cache`, `refresh` or `mint`.
    pub async fn service_app_source(&self) -> Option<&'static str> {
        self.state.lock().await.service_app_source
    }

    /// `OAuthRefreshFailures` of this session.
    pub fn oauth_failures(&self) -> u64 {
        self.oauth_failures.load(Ordering::Relaxed)
    }

    /// `SecretWriteFailures` of this session.
    pub fn write_failures(&self) -> u64 {
        self.write_failures.load(Ordering::Relaxed)
    }

    /// Failures recorded so far.
    pub fn failures(&self) -> Vec<Failure> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn record_failure(&self, failure: Failure) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(failure);
    }

    fn now(&self) -> DateTime<Utc> {
        self.deps.clock.now()
    }

    /// Saves the credentials at once (`byods.md` §3.3). A failure keeps them as a pending write, to be
    /// retried at the end of the sweep and at the start of the next invocation.
    async fn persist(&self, st: &mut State, reason: &'static str) {
        let secret_id = self.deps.config.secret_id.as_str();
        let request_token = uuid::Uuid::new_v4().to_string();
        match crate::deps::write_credentials(self.deps, &st.creds, &request_token).await {
            Ok((version, merged)) => {
                info!(event = "secret_written", secret_id, secret_version_id = %version, reason, "credentials saved");
                st.version_id = Some(version);
                st.creds = merged;
                self.deps.clear_pending();
            }
            Err(e) => {
                warn!(event = "secret_write_failed", secret_id, reason, error = %e, "saving credentials failed; kept in memory and retried at the end of the sweep");
                self.deps.set_pending(PendingWrite {
                    credentials: st.creds.clone(),
                    request_token,
                });
            }
        }
    }

    /// Retries a pending write. Records `SecretWriteFailed` when it still fails.
    pub async fn flush_pending(&self) {
        let Some(pending) = self.deps.take_pending() else {
            return;
        };
        let secret_id = self.deps.config.secret_id.as_str();
        match crate::deps::write_credentials(
            self.deps,
            &pending.credentials,
            &pending.request_token,
        )
        .await
        {
            Ok((version, _)) => {
                info!(event = "secret_written", secret_id, secret_version_id = %version, reason = "retry", "pending credentials saved");
                self.state.lock().await.version_id = Some(version);
            }
            Err(e) => {
                error!(event = "secret_write_failed", secret_id, error_class = "SecretWriteFailed", error = %e, "saving rotated credentials failed; they are kept in memory for the next invocation");
                self.write_failures.fetch_add(1, Ordering::Relaxed);
                self.record_failure(Failure::new(
                    FailureClass::SecretWriteFailed,
                    format!("PutSecretValue on {secret_id} failed: {e}"),
                ));
                self.deps.set_pending(pending);
            }
        }
    }

    /// Step 3: refreshes the integration token when it is unknown or within the refresh threshold, at
    /// most once per 24 h.
    pub async fn keep_integration_alive(&self) -> Result<(), Failure> {
        let mut st = self.state.lock().await;
        let now = self.now();
        let tokens = &st.creds.token_manager.tokens;
        let due = match tokens.access_token_expires_at {
            None => true,
            Some(exp) => exp - now < self.deps.config.integration_refresh_before,
        } || tokens.access_token.is_none();
        let recently = tokens.stamp.is_some_and(|t| {
            now - t < chrono::Duration::hours(24) && tokens.access_token.is_some()
        });
        if due && !recently {
            match self.refresh_integration(&mut st, "keep_alive").await {
                Err(f)
                    if f.class.is_transient()
                        && st
                            .creds
                            .token_manager
                            .tokens
                            .usable_access_token(now, self.deps.config.token_safety_margin)
                            .is_some() =>
                {
                    // The current token still works: extend the sources now, refresh on the next run.
                    warn!(event = "integration_refresh_deferred", error_class = f.class.as_str(), http_status = f.http_status.unwrap_or(0), webex_tracking_id = f.tracking_id.as_deref().unwrap_or(""), error = %f.message, "integration keep-alive failed transiently; the current token is still valid");
                }
                other => other?,
            }
        }
        Ok(())
    }

    async fn refresh_integration(
        &self,
        st: &mut State,
        reason: &'static str,
    ) -> Result<(), Failure> {
        let client = st.creds.token_manager.client();
        let refresh = st
            .creds
            .token_manager
            .tokens
            .refresh_token
            .clone()
            .unwrap_or_default();
        match self
            .deps
            .webex
            .refresh_access_token(&self.ctx, &client, &refresh)
            .await
        {
            Ok(resp) => {
                let now = self.now();
                let old_fp = fingerprint(refresh.expose_secret());
                st.creds.token_manager.tokens.apply(&resp, now);
                st.integration_refreshed = true;
                let rotated = resp
                    .refresh_token
                    .as_ref()
                    .is_some_and(|r| fingerprint(r.expose_secret()) != old_fp);
                info!(
                    event = "integration_refreshed",
                    reason,
                    rotated,
                    expires_at = %when(st.creds.token_manager.tokens.access_token_expires_at),
                    refresh_expires_at = %when(st.creds.token_manager.tokens.refresh_token_expires_at),
                    "integration token refreshed"
                );
                self.persist(st, "integration_refreshed").await;
                Ok(())
            }
            Err(e) => {
                let reauth = e.oauth_code() == Some("invalid_grant") || e.is_status(401);
                if reauth {
                    self.oauth_failures.store(1, Ordering::Relaxed);
                    error!(
                        event = "reauth_required",
                        error_class = "ReauthRequired",
                        http_status = e.status().unwrap_or(0),
                        webex_tracking_id = e.tracking_id().unwrap_or(""),
                        "{REAUTH_LOG_TEXT}"
                    );
                    return Err(webex_failure(
                        FailureClass::ReauthRequired,
                        REAUTH_LOG_TEXT,
                        &e,
                    ));
                }
                let class = if e.oauth_code() == Some("invalid_client") {
                    FailureClass::ConfigInvalid
                } else {
                    generic_class(&e)
                };
                Err(webex_failure(class, "integration token refresh failed", &e))
            }
        }
    }

    /// Refreshes the integration token now, whatever its expiry (`byods doctor`).
    pub async fn force_integration_refresh(&self) -> Result<(), Failure> {
        let mut st = self.state.lock().await;
        self.refresh_integration(&mut st, "forced").await
    }

    /// Mints a new service-app token now, bypassing cache and refresh (`byods doctor`).
    pub async fn mint_service_token(&self) -> Result<(), Failure> {
        let mut st = self.state.lock().await;
        self.mint(&mut st).await.map(|_| ())
    }

    /// Writes the secret back unchanged apart from canonical keys, adding a version (`status --check-write`).
    pub async fn write_back(&self) -> Result<String, Failure> {
        let st = self.state.lock().await;
        let token = uuid::Uuid::new_v4().to_string();
        crate::deps::write_credentials(self.deps, &st.creds, &token)
            .await
            .map(|(version, _)| version)
            .map_err(|e| {
                self.write_failures.fetch_add(1, Ordering::Relaxed);
                Failure::new(
                    FailureClass::SecretWriteFailed,
                    format!(
                        "PutSecretValue on {} failed: {e}",
                        self.deps.config.secret_id
                    ),
                )
            })
    }

    /// Step 4: the service-app token, from the cache, a refresh or a mint.
    pub async fn service_token(&self) -> Result<SecretString, Failure> {
        let mut st = self.state.lock().await;
        self.obtain_service_token(&mut st, true).await
    }

    /// After a 401 with `failed`: a new service-app token (unless another task already got one).
    async fn renew_service_token(&self, failed: &SecretString) -> Result<SecretString, Failure> {
        let mut st = self.state.lock().await;
        let current = st.creds.service_app.tokens.access_token.clone();
        if let Some(current) = current
            && current.expose_secret() != failed.expose_secret()
        {
            return Ok(current);
        }
        st.creds.service_app.tokens.access_token = None;
        st.creds.service_app.tokens.access_token_expires_at = None;
        self.obtain_service_token(&mut st, false).await
    }

    async fn obtain_service_token(
        &self,
        st: &mut State,
        allow_cache: bool,
    ) -> Result<SecretString, Failure> {
        let now = self.now();
        let margin = self.deps.config.token_safety_margin;
        if allow_cache && let Some(t) = st.creds.service_app.tokens.usable_access_token(now, margin)
        {
            let t = t.clone();
            if st.service_app_source.is_some() {
                return Ok(t);
            }
            st.service_app_source = Some("cache");
            info!(event = "service_app_token_obtained", source = "cache", expires_at = %when(st.creds.service_app.tokens.access_token_expires_at), "service-app token from cache");
            return Ok(t);
        }
        if self.deps.config.service_app_refresh
            && st.creds.service_app.tokens.has_live_refresh_token(now)
        {
            let client = crate::webex::ClientCredentials {
                client_id: st.creds.service_app.client_id.clone().unwrap_or_default(),
                client_secret: st
                    .creds
                    .service_app
                    .client_secret
                    .clone()
                    .unwrap_or_default(),
            };
            let refresh = st
                .creds
                .service_app
                .tokens
                .refresh_token
                .clone()
                .unwrap_or_default();
            match self
                .deps
                .webex
                .refresh_access_token(&self.ctx, &client, &refresh)
                .await
            {
                Ok(resp) => {
                    st.creds.service_app.tokens.apply(&resp, self.now());
                    st.service_app_source = Some("refresh");
                    info!(event = "service_app_token_obtained", source = "refresh", expires_at = %when(st.creds.service_app.tokens.access_token_expires_at), "service-app token refreshed");
                    let token = resp.access_token.clone();
                    self.persist(st, "service_app_refreshed").await;
                    return Ok(token);
                }
                Err(e) => {
                    warn!(event = "service_app_refresh_failed", http_status = e.status().unwrap_or(0), webex_tracking_id = e.tracking_id().unwrap_or(""), error = %e, "service-app refresh failed; minting a new token");
                }
            }
        }
        self.mint(st).await
    }

    async fn mint(&self, st: &mut State) -> Result<SecretString, Failure> {
        let margin = self.deps.config.token_safety_margin;
        if st
            .creds
            .token_manager
            .tokens
            .usable_access_token(self.now(), margin)
            .is_none()
        {
            self.refresh_integration(st, "mint_needs_token").await?;
        }
        let app_id = st.creds.service_app.effective_app_id().unwrap_or_default();
        let request = MintRequest {
            client_id: st.creds.service_app.client_id.clone().unwrap_or_default(),
            client_secret: st
                .creds
                .service_app
                .client_secret
                .clone()
                .unwrap_or_default(),
            target_org_id: st
                .creds
                .service_app
                .target_org_id
                .clone()
                .unwrap_or_default(),
        };
        let mut retried = false;
        loop {
            let bearer = st
                .creds
                .token_manager
                .tokens
                .access_token
                .clone()
                .unwrap_or_default();
            match self
                .deps
                .webex
                .mint_service_app_token(&self.ctx, &app_id, &bearer, &request)
                .await
            {
                Ok(resp) => {
                    st.creds.service_app.tokens.apply(&resp, self.now());
                    st.service_app_source = Some("mint");
                    info!(event = "service_app_token_obtained", source = "mint", expires_at = %when(st.creds.service_app.tokens.access_token_expires_at), "service-app token minted");
                    let token = resp.access_token.clone();
                    self.persist(st, "service_app_minted").await;
                    return Ok(token);
                }
                Err(e) if e.is_status(401) => {
                    if retried || st.integration_refreshed {
                        return Err(webex_failure(
                            FailureClass::IntegrationScopeMissing,
                            "minting the service-app token got 401 with a fresh integration token (scope spark:applications_token missing?)",
                            &e,
                        ));
                    }
                    retried = true;
                    self.refresh_integration(st, "mint_401").await?;
                }
                Err(e) if e.is_status(403) => {
                    return Err(webex_failure(
                        FailureClass::ServiceAppNotAuthorized,
                        "minting the service-app token got 403: a Full Admin must authorise the app in Control Hub",
                        &e,
                    ));
                }
                Err(e) if e.is_status(400) || e.is_status(404) => {
                    return Err(webex_failure(
                        FailureClass::ConfigInvalid,
                        "minting the service-app token was rejected (check appId, clientId and targetOrgId)",
                        &e,
                    ));
                }
                Err(e) => {
                    return Err(webex_failure(
                        generic_class(&e),
                        "minting the service-app token failed",
                        &e,
                    ));
                }
            }
        }
    }

    /// Step 5: the data sources to handle: the given ids, else the configured ones, else all listed.
    pub async fn data_source_ids(
        &self,
        requested: Option<&[String]>,
    ) -> Result<Vec<String>, Failure> {
        if let Some(ids) = requested.filter(|i| !i.is_empty()) {
            return Ok(ids.to_vec());
        }
        if !self.deps.config.data_source_ids.is_empty() {
            return Ok(self.deps.config.data_source_ids.clone());
        }
        let list = self.list_data_sources().await?;
        Ok(list.into_iter().filter_map(|d| d.id).collect())
    }

    /// `GET /dataSources` with the service-app token (one renewal on 401).
    pub async fn list_data_sources(&self) -> Result<Vec<DataSource>, Failure> {
        let token = self.service_token().await?;
        let result = match self.deps.webex.list_data_sources(&self.ctx, &token).await {
            Err(e) if e.is_status(401) => {
                let token = self.renew_service_token(&token).await?;
                self.deps.webex.list_data_sources(&self.ctx, &token).await
            }
            other => other,
        };
        result.map_err(|e| webex_failure(generic_class(&e), "listing data sources failed", &e))
    }

    /// `GET /dataSources/{id}` with the service-app token (one renewal on 401).
    pub async fn get_data_source(&self, id: &str) -> Result<DataSource, Failure> {
        let token = self.service_token().await?;
        let result = match self.deps.webex.get_data_source(&self.ctx, &token, id).await {
            Err(e) if e.is_status(401) => {
                let token = self.renew_service_token(&token).await?;
                self.deps.webex.get_data_source(&self.ctx, &token, id).await
            }
            other => other,
        };
        result.map_err(|e| {
            webex_failure(generic_class(&e), "reading the data source failed", &e)
                .for_data_source(id)
        })
    }

    /// Step 6 for one data source. Failures are recorded and returned as a `failed` result; they never stop
    /// the other sources.
    pub async fn process(&self, id: &str, opts: ProcessOptions) -> DataSourceResult {
        let started = std::time::Instant::now();
        let result = match self.try_process(id, opts).await {
            Ok(r) => r,
            Err((failure, expires_at)) => {
                let failure = if failure.data_source_id.is_some() {
                    failure
                } else {
                    failure.for_data_source(id)
                };
                error!(
                    event = "data_source_failed",
                    data_source_id = id,
                    outcome = "failed",
                    error_class = failure.class.as_str(),
                    http_status = failure.http_status.unwrap_or(0),
                    webex_tracking_id = failure.tracking_id.as_deref().unwrap_or(""),
                    error = %failure.message,
                    "data source failed"
                );
                let mut r = DataSourceResult::new(id, Outcome::Failed);
                r.expires_at = expires_at;
                r.error_class = Some(failure.class.as_str().to_owned());
                r.tracking_id = failure.tracking_id.clone();
                self.record_failure(failure);
                return r;
            }
        };
        let now = self.now();
        let minutes_left = result.current_expiry().map(|e| (e - now).num_minutes());
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result.outcome {
            Outcome::Extended => info!(
                event = "data_source_extended",
                data_source_id = id,
                outcome = "extended",
                expires_at = %when(result.expires_at),
                new_expires_at = %when(result.new_expires_at),
                minutes_left,
                nonce_fp = result.nonce_fp.as_deref().unwrap_or(""),
                warning = result.warning.as_deref().unwrap_or(""),
                duration_ms,
                "data source extended"
            ),
            outcome => info!(
                event = "data_source_skipped",
                data_source_id = id,
                outcome = outcome.as_str(),
                expires_at = %when(result.expires_at),
                minutes_left,
                duration_ms,
                "data source not extended"
            ),
        }
        result
    }

    async fn try_process(
        &self,
        id: &str,
        opts: ProcessOptions,
    ) -> Result<DataSourceResult, (Failure, Option<DateTime<Utc>>)> {
        let ds = self.get_data_source(id).await.map_err(|f| (f, None))?;
        let now = self.now();
        let claims = ds
            .jws_token
            .as_ref()
            .and_then(|t| JwsClaims::decode(t.expose_secret()));
        let expires_at = data_source_expiry(&ds);
        if !ds.is_active() {
            let mut r = DataSourceResult::new(id, Outcome::SkippedDisabled);
            r.expires_at = expires_at;
            return Ok(r);
        }
        let window = self.deps.config.extend_window;
        let windowed = !opts.force && self.deps.config.extend_mode == ExtendMode::Window;
        if windowed && expires_at.is_some_and(|e| e - now > window) {
            let mut r = DataSourceResult::new(id, Outcome::SkippedNotDue);
            r.expires_at = expires_at;
            return Ok(r);
        }
        let nonce = new_nonce(self.deps.config.nonce_format, ds.nonce.as_deref());
        let lifetime = opts
            .lifetime_minutes
            .or(self.deps.config.token_lifetime_minutes);
        let body = build_update(&ds, claims.as_ref(), lifetime, nonce).map_err(|missing| {
            (
                Failure::new(
                    FailureClass::DataSourceInvalid,
                    format!("cannot build the update: missing {}", missing.join(", ")),
                ),
                expires_at,
            )
        })?;
        let nonce_fp = fingerprint(&body.nonce);
        if opts.dry_run {
            let mut r = DataSourceResult::new(id, Outcome::WouldExtend);
            r.expires_at = expires_at;
            r.nonce_fp = Some(nonce_fp);
            r.planned_body = Some(body.masked_json());
            return Ok(r);
        }
        let token = self.service_token().await.map_err(|f| (f, expires_at))?;
        let answer = match self
            .deps
            .webex
            .update_data_source(&self.ctx, &token, id, &body)
            .await
        {
            Err(e) if e.is_status(401) => {
                let token = self
                    .renew_service_token(&token)
                    .await
                    .map_err(|f| (f, expires_at))?;
                self.deps
                    .webex
                    .update_data_source(&self.ctx, &token, id, &body)
                    .await
            }
            other => other,
        };
        let updated = answer.map_err(|e| {
            let class = match &e {
                WebexError::Api { status: 404, .. } => FailureClass::DataSourceNotFound,
                WebexError::Api { .. } => FailureClass::WebexRejected,
                other => generic_class(other),
            };
            (
                webex_failure(class, "updating the data source failed", &e),
                expires_at,
            )
        })?;
        let new_expires_at = data_source_expiry(&updated);
        let mut r = DataSourceResult::new(id, Outcome::Extended);
        r.expires_at = expires_at;
        r.new_expires_at = new_expires_at;
        r.nonce_fp = Some(nonce_fp);
        match (expires_at, new_expires_at) {
            (Some(old), Some(new)) if new <= old => {
                return Err((
                    Failure::new(
                        FailureClass::ExtensionNotEffective,
                        format!("the update did not move the expiry (still {new})"),
                    ),
                    expires_at,
                ));
            }
            (_, None) => r.warning = Some("expiry_unverified".to_owned()),
            _ => {}
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds() -> DataSource {
        DataSource {
            id: Some("ds-1".into()),
            status: Some("active".into()),
            schema_id: Some("schema".into()),
            url: Some("https://dap.example.com/ds1".into()),
            audience: Some("aud".into()),
            subject: Some("sub".into()),
            nonce: Some("old".into()),
            token_lifetime_minutes: Some(60.0),
            ..DataSource::default()
        }
    }

    #[test]
    fn the_update_keeps_the_fields_and_uses_the_configured_lifetime() {
        let body = build_update(&ds(), None, Some(1440), "n".into()).unwrap();
        assert_eq!(body.audience, "aud");
        assert_eq!(body.token_lifetime_minutes, 1440);
        assert_eq!(body.status, "active");
        let body = build_update(&ds(), None, None, "n".into()).unwrap();
        assert_eq!(body.token_lifetime_minutes, 60);
    }

    #[test]
    fn missing_fields_fall_back_to_claims_and_are_never_invented() {
        let mut d = ds();
        d.audience = None;
        d.subject = None;
        let claims = JwsClaims {
            aud: Some("claim-aud".into()),
            sub: Some("claim-sub".into()),
            ..JwsClaims::default()
        };
        let body = build_update(&d, Some(&claims), None, "n".into()).unwrap();
        assert_eq!(body.audience, "claim-aud");
        assert_eq!(body.subject, "claim-sub");
        assert_eq!(
            build_update(&d, None, None, "n".into()).unwrap_err(),
            vec!["audience", "subject"]
        );
    }

    #[test]
    fn a_fresh_nonce_differs_from_the_current_one() {
        let n = new_nonce(NonceFormat::Uuid, Some("x"));
        assert_eq!(n.len(), 36);
        let h = new_nonce(NonceFormat::Hex32, None);
        assert_eq!(h.len(), 32);
        assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
