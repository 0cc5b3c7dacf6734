//! Where the incoming-webhook URL comes from: fixed, or a key of a secret read through
//! [`secrets::SecretStore`] on every alert (so its TTL cache decides when a rotated URL is picked up).

use std::sync::Arc;

use futures::future::BoxFuture;
use secrecy::SecretString;
use secrets::{SecretField, SecretStore};

/// The webhook URL could not be had. Names the secret and keys, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlUnavailable {
    /// Why (`secret cls/alerts: not found`, `secret s has none of webhookUrl, webhook_url`).
    pub reason: String,
    /// A later read may succeed (a Secrets Manager outage or throttling).
    pub transient: bool,
}

/// Gives the incoming-webhook URL an alert is posted to. Called once per alert that is not suppressed.
pub trait WebhookUrlSource: Send + Sync {
    /// The URL to post to now.
    fn webhook_url(&self) -> BoxFuture<'_, Result<SecretString, UrlUnavailable>>;
}

/// One URL, fixed at start-up.
pub struct FixedUrl(SecretString);

impl FixedUrl {
    /// Posts to `url`.
    pub fn new(url: SecretString) -> Self {
        Self(url)
    }
}

impl WebhookUrlSource for FixedUrl {
    fn webhook_url(&self) -> BoxFuture<'_, Result<SecretString, UrlUnavailable>> {
        Box::pin(std::future::ready(Ok(self.0.clone())))
    }
}

/// The first of `keys` present as a string in the JSON secret `secret_id` ([`secrets::SecretField`]), read
/// through the store on every alert: the store's TTL cache decides when a rotated URL is picked up.
pub struct SecretUrl(SecretField);

impl SecretUrl {
    /// The URL under the first of `keys` (e.g. `["webhookUrl", "webhook_url"]`) of secret `secret_id`.
    pub fn new(store: Arc<dyn SecretStore>, secret_id: &str, keys: &[&str]) -> Self {
        Self(SecretField::any_of(store, secret_id, keys))
    }
}

impl WebhookUrlSource for SecretUrl {
    fn webhook_url(&self) -> BoxFuture<'_, Result<SecretString, UrlUnavailable>> {
        Box::pin(async move {
            self.0.read(false).await.map_err(|e| UrlUnavailable {
                reason: lambda_kit::error::chain(&e),
                transient: e.is_transient(),
            })
        })
    }
}
