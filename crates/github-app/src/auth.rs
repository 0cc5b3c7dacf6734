//! App credentials, the App JWT (RS256) and the installation-token cache (see the crate README).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::GithubError;

/// How long before `expires_at` a cached installation token stops being used.
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::minutes(5);
/// `iat` is back-dated by this much to tolerate clock drift.
pub const JWT_BACKDATE: Duration = Duration::seconds(60);
/// The App JWT lifetime (GitHub allows at most 10 minutes).
pub const JWT_LIFETIME: Duration = Duration::minutes(9);

/// One GitHub App's credentials (from the `cls/github` secret, docs/operations/deploy.md).
#[derive(Clone)]
pub struct AppCredentials {
    /// The App id (`iss` of the JWT; `X-GitHub-Hook-Installation-Target-ID` of deliveries).
    pub app_id: u64,
    /// The App private key, PEM (PKCS#1 or PKCS#8) or base64 of the PEM.
    pub private_key_pem: SecretString,
    /// Webhook secrets, current first, then the previous one during rotation.
    pub webhook_secrets: Vec<SecretString>,
}

impl fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCredentials")
            .field("app_id", &self.app_id)
            .field("private_key_pem", &"[REDACTED]")
            .field(
                "webhook_secrets",
                &format_args!("[{} REDACTED]", self.webhook_secrets.len()),
            )
            .finish()
    }
}

impl AppCredentials {
    /// Parses the private key: an RSA key, PEM (PKCS#1 or PKCS#8) or base64 of the PEM.
    pub(crate) fn signing_key(&self) -> Result<RsaKeyPair, GithubError> {
        let invalid = || GithubError::InvalidKey {
            app_id: self.app_id,
        };
        let raw = self.private_key_pem.expose_secret().trim();
        let pem: Vec<u8> = if raw.starts_with("-----BEGIN") {
            raw.as_bytes().to_vec()
        } else {
            let compact: String = raw.split_whitespace().collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|_| invalid())?
        };
        match PrivateKeyDer::from_pem_slice(&pem).map_err(|_| invalid())? {
            PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
            PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
            _ => return Err(invalid()),
        }
        .map_err(|_| invalid())
    }
}

/// The claims of an App JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppJwtClaims {
    /// Issued at (epoch seconds), now − 60 s.
    pub iat: i64,
    /// Expiry (epoch seconds), now + 9 min.
    pub exp: i64,
    /// The App id, as a string.
    pub iss: String,
}

impl AppJwtClaims {
    /// Claims for an App JWT minted at `now`.
    pub fn at(app_id: u64, now: DateTime<Utc>) -> Self {
        Self {
            iat: (now - JWT_BACKDATE).timestamp(),
            exp: (now + JWT_LIFETIME).timestamp(),
            iss: app_id.to_string(),
        }
    }
}

/// A parsed App key, ready to sign JWTs.
#[derive(Clone)]
pub(crate) struct AppKey {
    pub(crate) app_id: u64,
    key: Arc<RsaKeyPair>,
}

impl fmt::Debug for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppKey")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl AppKey {
    pub(crate) fn new(creds: &AppCredentials) -> Result<Self, GithubError> {
        Ok(Self {
            app_id: creds.app_id,
            key: Arc::new(creds.signing_key()?),
        })
    }

    /// Signs an RS256 App JWT valid from now − 60 s to now + 9 min.
    pub(crate) fn jwt(&self, now: DateTime<Utc>) -> Result<SecretString, GithubError> {
        let invalid = || GithubError::InvalidKey {
            app_id: self.app_id,
        };
        let claims =
            serde_json::to_vec(&AppJwtClaims::at(self.app_id, now)).map_err(|_| invalid())?;
        let mut jwt = format!(
            "{}.{}",
            base64url(JWT_HEADER.as_bytes()),
            base64url(&claims)
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                jwt.as_bytes(),
                &mut signature,
            )
            .map_err(|_| invalid())?;
        jwt.push('.');
        jwt.push_str(&base64url(&signature));
        Ok(SecretString::from(jwt))
    }
}

/// The JOSE header of every App JWT: RS256 (RSASSA-PKCS1-v1_5 with SHA-256), as GitHub requires.
const JWT_HEADER: &str = r#"{"alg":"RS256","typ":"JWT"}"#;

fn base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Mints an App JWT for `creds` at `now` (for callers that talk to App endpoints themselves, and tests).
pub fn app_jwt(creds: &AppCredentials, now: DateTime<Utc>) -> Result<SecretString, GithubError> {
    AppKey::new(creds)?.jwt(now)
}

/// A cached installation token.
#[derive(Clone)]
pub(crate) struct CachedToken {
    pub(crate) token: SecretString,
    pub(crate) expires_at: DateTime<Utc>,
}

impl CachedToken {
    pub(crate) fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at - TOKEN_REFRESH_MARGIN
    }
}

/// Installation tokens keyed by installation id.
#[derive(Default)]
pub(crate) struct TokenCache {
    pub(crate) tokens: HashMap<u64, CachedToken>,
}

/// The body of a 201 from the access-token endpoint.
#[derive(Deserialize)]
pub(crate) struct AccessTokenResponse {
    pub(crate) token: SecretString,
    pub(crate) expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_backdated_one_minute_and_last_nine() {
        let now = DateTime::parse_from_rfc3339("2026-05-12T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = AppJwtClaims::at(102441, now);
        assert_eq!(c.iat, now.timestamp() - 60);
        assert_eq!(c.exp, now.timestamp() + 540);
        assert_eq!(c.iss, "102441");
    }

    #[test]
    fn debug_output_redacts_the_key_and_secrets() {
        let creds = AppCredentials {
            app_id: 7,
            private_key_pem: SecretString::from("-----BEGIN RSA PRIVATE KEY-----\nsecretstuff"),
            webhook_secrets: vec![SecretString::from("hook-secret")],
        };
        let shown = format!("{creds:?}");
        assert!(
            !shown.contains("secretstuff") && !shown.contains("hook-secret"),
            "{shown}"
        );
        assert!(shown.contains("app_id: 7"));
    }

    #[test]
    fn a_garbage_key_is_reported_without_its_content() {
        let creds = AppCredentials {
            app_id: 7,
            private_key_pem: SecretString::from("not a key"),
            webhook_secrets: vec![],
        };
        let err = app_jwt(&creds, DateTime::UNIX_EPOCH).unwrap_err();
        assert!(matches!(err, GithubError::InvalidKey { app_id: 7 }));
        assert!(!err.to_string().contains("not a key"));
    }

    #[test]
    fn a_token_is_stale_five_minutes_before_expiry() {
        let exp = DateTime::parse_from_rfc3339("2026-05-12T13:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let t = CachedToken {
            token: SecretString::from("t"),
            expires_at: exp,
        };
        assert!(t.is_fresh(exp - Duration::minutes(6)));
        assert!(!t.is_fresh(exp - Duration::minutes(5)));
    }
}
