//! The authorization-code flow of `byods setup-oauth` (README, "Set-up"): random `state`, PKCE S256, and a
//! loopback listener on 127.0.0.1 that receives the browser's redirect.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::response::Html;
use axum::routing::get;
use base64::Engine as _;
use rand::Rng as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use url::Url;

/// Why the authorization step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The user (or Webex) denied access.
    #[error("authorization was denied ({0})")]
    Denied(String),
    /// The callback's `state` did not match.
    #[error("the callback's state does not match this request")]
    StateMismatch,
    /// The callback carried no code.
    #[error("the callback carried no authorization code")]
    MissingCode,
    /// No callback arrived in time.
    #[error("no callback arrived within {0:?}")]
    Timeout(Duration),
    /// The redirect URI cannot be served on loopback.
    #[error("the redirect URI cannot be served: {0}")]
    BadRedirect(String),
    /// The listener could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}: {reason}")]
    Bind {
        /// Port.
        port: u16,
        /// The OS error.
        reason: String,
    },
}

/// A PKCE verifier (64 characters) and its S256 challenge.
pub struct Pkce {
    /// The verifier; sent only in the token request.
    pub verifier: SecretString,
    /// `BASE64URL(SHA256(verifier))`.
    pub challenge: String,
}

fn random_b64(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rng().fill(bytes.as_mut_slice());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A random `state`: 32 bytes, base64url.
pub fn new_state() -> SecretString {
    SecretString::from(random_b64(32))
}

/// A random PKCE pair: a 64-character verifier (48 random bytes, base64url) and its S256 challenge.
pub fn new_pkce() -> Pkce {
    let verifier = random_b64(48);
    let challenge = s256(&verifier);
    Pkce {
        verifier: SecretString::from(verifier),
        challenge,
    }
}

/// The S256 PKCE challenge of `verifier`.
pub fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()).as_slice())
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `GET /authorize` URL the browser opens.
pub fn authorize_url(
    base: &Url,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    state: &SecretString,
    challenge: &str,
) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.push("authorize");
    }
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", scope)
        .append_pair("state", state.expose_secret())
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    url
}

/// A bound loopback listener waiting for one callback.
pub struct CallbackListener {
    listener: tokio::net::TcpListener,
    path: String,
}

impl CallbackListener {
    /// Binds 127.0.0.1 on the port of `redirect_uri` (which must be `http` on `localhost`/loopback).
    pub async fn bind(redirect_uri: &str) -> Result<Self, OAuthError> {
        let url = Url::parse(redirect_uri).map_err(|e| OAuthError::BadRedirect(e.to_string()))?;
        if url.scheme() != "http" || !lambda_kit::config::is_loopback(&url) {
            return Err(OAuthError::BadRedirect(
                "must be http://localhost:<port>/… or http://127.0.0.1:<port>/…".to_owned(),
            ));
        }
        let port = url.port_or_known_default().unwrap_or(80);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| OAuthError::Bind {
                port,
                reason: e.to_string(),
            })?;
        Ok(Self {
            listener,
            path: url.path().to_owned(),
        })
    }

    /// Serves until one request reaches the callback path, then checks `error`, `state` (constant time)
    /// and returns the code. The browser page only says the window can be closed.
    pub async fn wait(
        self,
        expected_state: &SecretString,
        timeout: Duration,
    ) -> Result<SecretString, OAuthError> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<HashMap<String, String>>(1);
        let app = Router::new().route(
            &self.path,
            get(move |Query(query): Query<HashMap<String, String>>| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(query).await;
                    Html("<html><body><p>byods: you can close this window.</p></body></html>")
                }
            }),
        );
        let listener = self.listener;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let received = tokio::time::timeout(timeout, rx.recv()).await;
        server.abort();
        let query = match received {
            Ok(Some(q)) => q,
            _ => return Err(OAuthError::Timeout(timeout)),
        };
        if let Some(error) = query.get("error") {
            return Err(OAuthError::Denied(crate::webex::sanitise(error)));
        }
        let state_ok = query.get("state").is_some_and(|s| {
            constant_time_eq(s.as_bytes(), expected_state.expose_secret().as_bytes())
        });
        if !state_ok {
            return Err(OAuthError::StateMismatch);
        }
        query
            .get("code")
            .filter(|c| !c.is_empty())
            .map(|c| SecretString::from(c.clone()))
            .ok_or(OAuthError::MissingCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s256_challenge_matches_the_rfc_7636_example() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn state_and_verifier_are_random_and_well_formed() {
        let a = new_pkce();
        let b = new_pkce();
        assert_eq!(a.verifier.expose_secret().len(), 64);
        assert_ne!(a.verifier.expose_secret(), b.verifier.expose_secret());
        assert_ne!(new_state().expose_secret(), new_state().expose_secret());
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn the_authorize_url_carries_every_parameter() {
        let base = Url::parse("https://webexapis.com/v1").unwrap();
        let url = authorize_url(
            &base,
            "C1",
            "http://localhost:3000/callback",
            "spark:applications_token",
            &SecretString::from("st"),
            "ch",
        );
        assert_eq!(url.path(), "/v1/authorize");
        let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["redirect_uri"], "http://localhost:3000/callback");
        assert_eq!(q["state"], "st");
    }
}
