//! Installation tokens: minted with the App JWT, cached per installation until shortly before they expire,
//! dropped when GitHub refuses them.

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use tracing::debug;

use super::transport::{Retry, decode, status_error};
use super::{GithubClient, OrgEntry};
use crate::auth::{AccessTokenResponse, CachedToken};
use crate::error::GithubError;

impl GithubClient {
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

    pub(super) async fn token_for(&self, entry: OrgEntry) -> Result<SecretString, GithubError> {
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

    pub(super) async fn drop_token(&self, installation_id: u64, used: &SecretString) {
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

    pub(super) fn jwt(&self, app_id: u64) -> Result<SecretString, GithubError> {
        let key = self
            .inner
            .apps
            .get(&app_id)
            .ok_or(GithubError::InvalidKey { app_id })?;
        key.jwt(self.inner.clock.now())
    }
}
