//! The tokens of a session: the integration keep-alive and the service-app token (cache, refresh, mint).

use std::sync::atomic::Ordering;

use secrecy::{ExposeSecret, SecretString};
use secrets::fingerprint;
use tracing::{error, info, warn};

use super::{REAUTH_LOG_TEXT, Session, State, generic_class, webex_failure, when};
use crate::credentials::TokenSet;
use crate::error::{Failure, FailureClass};
use crate::webex::{ClientCredentials, TokenResponse, WebexError};

impl Session<'_> {
    /// `POST /access_token` with the refresh token of `tokens` for `client`.
    async fn refresh_tokens(
        &self,
        client: &ClientCredentials,
        tokens: &TokenSet,
    ) -> Result<TokenResponse, WebexError> {
        let refresh = tokens.refresh_token.clone().unwrap_or_default();
        self.deps
            .webex
            .refresh_access_token(&self.ctx, client, &refresh)
            .await
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
                    // The current token still works: extend the sources now, but report the failure so
                    // that the run fails (and alarms) instead of hiding a keep-alive that does not work.
                    warn!(event = "integration_refresh_deferred", error_class = f.class.as_str(), http_status = f.http_status.unwrap_or(0), webex_tracking_id = f.tracking_id.as_deref().unwrap_or(""), error = %f.message, "integration keep-alive failed transiently; the current token still works, the run goes on and reports the failure");
                    self.record_failure(f);
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
        let old_fp = st
            .creds
            .token_manager
            .tokens
            .refresh_token
            .as_ref()
            .map(|r| fingerprint(r.expose_secret()));
        match self
            .refresh_tokens(&client, &st.creds.token_manager.tokens)
            .await
        {
            Ok(resp) => {
                let now = self.now();
                st.creds.token_manager.tokens.apply(&resp, now);
                st.integration_refreshed = true;
                let rotated = resp
                    .refresh_token
                    .as_ref()
                    .is_some_and(|r| Some(fingerprint(r.expose_secret())) != old_fp);
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

    /// Step 4: the service-app token, from the cache, a refresh or a mint.
    pub async fn service_token(&self) -> Result<SecretString, Failure> {
        let mut st = self.state.lock().await;
        self.obtain_service_token(&mut st, true).await
    }

    /// After a 401 with `failed`: a new service-app token (unless another task already got one).
    pub(super) async fn renew_service_token(
        &self,
        failed: &SecretString,
    ) -> Result<SecretString, Failure> {
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
            let client = st.creds.service_app.client();
            match self
                .refresh_tokens(&client, &st.creds.service_app.tokens)
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
                // Only a refused refresh token (400 `invalid_grant`, 401) is a reason to mint a new one.
                Err(e) if e.is_status(400) || e.is_status(401) => {
                    warn!(event = "service_app_refresh_failed", http_status = e.status().unwrap_or(0), webex_tracking_id = e.tracking_id().unwrap_or(""), error = %e, "service-app refresh token refused; minting a new token");
                }
                Err(e) => {
                    return Err(webex_failure(
                        generic_class(&e),
                        "refreshing the service-app token failed",
                        &e,
                    ));
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
        let request = st.creds.service_app.mint_request();
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
}
