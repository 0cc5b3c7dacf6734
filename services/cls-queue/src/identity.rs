//! The `http` identity source (README, "Secrets", `cls/identity`): `GET {url}/github/{login}` with a bearer token,
//! answering `{"email": "...", "employee": true}`; 404 = unknown.

use cls_core::identity::{IdentityDirectory, IdentityError};
use cls_core::settings::{HttpIdentitySettings, IdentityEntry};
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// [`IdentityDirectory`] over HTTP.
pub struct HttpDirectory {
    http: reqwest::Client,
    base: Url,
    token: Option<SecretString>,
}

impl HttpDirectory {
    /// A directory at `settings.url` (`https://` unless loopback).
    pub fn new(http: reqwest::Client, settings: &HttpIdentitySettings) -> Result<Self, String> {
        let raw = settings
            .url
            .as_deref()
            .ok_or("identity http.url is missing")?;
        let base = lambda_kit::config::check_base_url(raw)
            .map_err(|e| format!("identity http.url: {e}"))?;
        Ok(Self {
            http,
            base,
            token: settings.token.clone(),
        })
    }
}

impl IdentityDirectory for HttpDirectory {
    fn lookup<'a>(
        &'a self,
        login: &'a str,
    ) -> BoxFuture<'a, Result<Option<IdentityEntry>, IdentityError>> {
        Box::pin(async move {
            let fail = |reason: String| IdentityError { reason };
            let mut url = self.base.clone();
            url.path_segments_mut()
                .map_err(|()| fail("base URL cannot take a path".into()))?
                .pop_if_empty()
                .extend(["github", login]);
            let mut request = self.http.get(url);
            if let Some(token) = &self.token {
                let mut value = reqwest::header::HeaderValue::from_str(&format!(
                    "Bearer {}",
                    token.expose_secret()
                ))
                .map_err(|_| fail("token is not a valid header value".into()))?;
                value.set_sensitive(true);
                request = request.header(reqwest::header::AUTHORIZATION, value);
            }
            let response = request
                .send()
                .await
                .map_err(|e| fail(e.without_url().to_string()))?;
            match response.status().as_u16() {
                200 => response
                    .json::<IdentityEntry>()
                    .await
                    .map(Some)
                    .map_err(|_| fail("answer is not an identity object".into())),
                404 => Ok(None),
                status => Err(fail(format!("HTTP {status}"))),
            }
        })
    }
}
