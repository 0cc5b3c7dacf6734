//! The service's JSON secret (spec §3): the Spoke API key and the Slack webhook routes, parsed into
//! redacted types and cached for `ONCALL_SECRET_TTL_SECS`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::ports::{Redacted, SecretReadError, SecretSource};

/// The parsed secret. `Debug` never prints a value.
#[derive(Clone)]
pub struct OncallSecret {
    /// `spokeApiKey`.
    pub spoke_api_key: SecretString,
    /// `slack.defaultWebhookUrl`, posted to with a `channel` field.
    pub default_webhook: Option<SecretString>,
    /// `slack.channelWebhooks`: normalised channel name → webhook bound to that channel.
    pub channel_webhooks: BTreeMap<String, SecretString>,
}

impl fmt::Debug for OncallSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OncallSecret")
            .field("spoke_api_key", &Redacted)
            .field(
                "spoke_api_key_sha256",
                &fingerprint(self.spoke_api_key.expose_secret()),
            )
            .field(
                "default_webhook",
                &self.default_webhook.as_ref().map(|_| Redacted),
            )
            .field(
                "channels",
                &self.channel_webhooks.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// How an alert reaches a channel.
#[derive(Clone)]
pub enum Route {
    /// A webhook bound to the channel: post without `channel`.
    Own(SecretString),
    /// The default webhook: post with `channel`.
    Default(SecretString),
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Own(_) => f.write_str("Own([REDACTED])"),
            Self::Default(_) => f.write_str("Default([REDACTED])"),
        }
    }
}

impl Route {
    /// The webhook URL.
    pub fn url(&self) -> &SecretString {
        match self {
            Self::Own(url) | Self::Default(url) => url,
        }
    }

    /// `webhook` or `default`, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Own(_) => "channel_webhook",
            Self::Default(_) => "default_webhook",
        }
    }
}

/// Channel names compare without the leading `#`, trimmed and case-insensitively.
pub fn normalise_channel(channel: &str) -> String {
    channel.trim().trim_start_matches('#').to_lowercase()
}

/// The first 8 hex digits of the SHA-256 of `value`: how credentials are referred to in logs.
pub fn fingerprint(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    hex::encode(&digest[..4])
}

impl OncallSecret {
    /// Parses the secret JSON. The IT channel must be routable. Errors never contain values.
    pub fn parse(value: &Value, it_channel: &str) -> Result<Self, SecretReadError> {
        let invalid = |reason: &str| SecretReadError {
            reason: format!("invalid secret: {reason}"),
        };
        let key = value
            .get("spokeApiKey")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| invalid("`spokeApiKey` is missing or empty"))?;
        let slack = value.get("slack").and_then(Value::as_object);
        let default_webhook = match slack.and_then(|s| s.get("defaultWebhookUrl")) {
            None | Some(Value::Null) => None,
            Some(Value::String(url)) if url.trim().is_empty() => None,
            Some(Value::String(url)) => Some(SecretString::from(url.trim().to_owned())),
            Some(_) => return Err(invalid("`slack.defaultWebhookUrl` is not a string")),
        };
        let mut channel_webhooks = BTreeMap::new();
        match slack.and_then(|s| s.get("channelWebhooks")) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (channel, url) in map {
                    let url = url
                        .as_str()
                        .map(str::trim)
                        .filter(|u| !u.is_empty())
                        .ok_or_else(|| {
                            invalid("a `slack.channelWebhooks` entry is not a non-empty string")
                        })?;
                    channel_webhooks.insert(
                        normalise_channel(channel),
                        SecretString::from(url.to_owned()),
                    );
                }
            }
            Some(_) => return Err(invalid("`slack.channelWebhooks` is not an object")),
        }
        let secret = Self {
            spoke_api_key: SecretString::from(key.to_owned()),
            default_webhook,
            channel_webhooks,
        };
        if secret.route(it_channel).is_none() {
            return Err(invalid(
                "no Slack route for the IT channel (channelWebhooks entry or defaultWebhookUrl)",
            ));
        }
        Ok(secret)
    }

    /// How to reach `channel`, or `None` when it is undeliverable.
    pub fn route(&self, channel: &str) -> Option<Route> {
        self.channel_webhooks
            .get(&normalise_channel(channel))
            .map(|url| Route::Own(url.clone()))
            .or_else(|| self.default_webhook.clone().map(Route::Default))
    }

    /// Every credential in the secret, for redaction of error text.
    pub fn credentials(&self) -> Vec<&str> {
        let mut all = vec![self.spoke_api_key.expose_secret()];
        all.extend(self.default_webhook.iter().map(ExposeSecret::expose_secret));
        all.extend(
            self.channel_webhooks
                .values()
                .map(ExposeSecret::expose_secret),
        );
        all
    }
}

/// A TTL cache of the parsed secret over a [`SecretSource`], kept for the life of the execution environment.
pub struct SecretCache {
    source: Arc<dyn SecretSource>,
    ttl: Duration,
    it_channel: String,
    cached: Mutex<Option<(Arc<OncallSecret>, DateTime<Utc>)>>,
}

impl fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SecretCache {
    /// A cache over `source`.
    pub fn new(source: Arc<dyn SecretSource>, ttl: Duration, it_channel: &str) -> Self {
        Self {
            source,
            ttl,
            it_channel: it_channel.to_owned(),
            cached: Mutex::new(None),
        }
    }

    /// The secret, read from the source only when the cached copy is older than the TTL.
    pub async fn get(&self, now: DateTime<Utc>) -> Result<Arc<OncallSecret>, SecretReadError> {
        if let Some((secret, read_at)) = self.lock().clone() {
            let age = now.signed_duration_since(read_at);
            if age >= chrono::Duration::zero() && age.to_std().is_ok_and(|a| a < self.ttl) {
                return Ok(secret);
            }
        }
        self.load(false, now).await
    }

    /// Re-reads the secret from the source, bypassing every cache (after Spoke refused the key).
    pub async fn refresh(&self, now: DateTime<Utc>) -> Result<Arc<OncallSecret>, SecretReadError> {
        self.load(true, now).await
    }

    async fn load(
        &self,
        fresh: bool,
        now: DateTime<Utc>,
    ) -> Result<Arc<OncallSecret>, SecretReadError> {
        let value = self.source.read(fresh).await?;
        let secret = Arc::new(OncallSecret::parse(&value, &self.it_channel)?);
        tracing::debug!(
            spoke_key_sha256 = %fingerprint(secret.spoke_api_key.expose_secret()),
            fresh,
            "secret loaded"
        );
        *self.lock() = Some((secret.clone(), now));
        Ok(secret)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Arc<OncallSecret>, DateTime<Utc>)>> {
        self.cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn secret_json() -> Value {
        json!({
            "spokeApiKey": "key-123",
            "slack": {
                "defaultWebhookUrl": "https://hooks.slack.com/services/T/B0/default",
                "channelWebhooks": {"#alerts_it": "https://hooks.slack.com/services/T/B1/it"}
            }
        })
    }

    #[test]
    fn channels_with_their_own_webhook_win_over_the_default() {
        let s = OncallSecret::parse(&secret_json(), "#alerts_it").unwrap();
        assert!(
            matches!(s.route("#ALERTS_IT"), Some(Route::Own(u)) if u.expose_secret().ends_with("/it"))
        );
        assert!(
            matches!(s.route("#it-team"), Some(Route::Default(u)) if u.expose_secret().ends_with("/default"))
        );
    }

    #[test]
    fn without_a_default_webhook_other_channels_are_undeliverable() {
        let mut v = secret_json();
        v["slack"]
            .as_object_mut()
            .unwrap()
            .remove("defaultWebhookUrl");
        let s = OncallSecret::parse(&v, "#alerts_it").unwrap();
        assert!(s.route("#it-team").is_none());
    }

    #[test]
    fn a_secret_without_a_route_for_it_or_without_a_key_is_invalid_and_says_nothing_secret() {
        let mut no_route = secret_json();
        no_route["slack"] =
            json!({"channelWebhooks": {"#other": "https://hooks.slack.com/services/T/B9/x"}});
        let mut no_key = secret_json();
        no_key["spokeApiKey"] = json!("");
        for v in [no_route, no_key] {
            let err = OncallSecret::parse(&v, "#alerts_it").unwrap_err();
            assert!(!err.to_string().contains("hooks.slack.com"), "{err}");
        }
    }

    #[test]
    fn debug_output_is_redacted() {
        let s = OncallSecret::parse(&secret_json(), "#alerts_it").unwrap();
        let debug = format!("{s:?} {:?}", s.route("#alerts_it"));
        assert!(!debug.contains("key-123"));
        assert!(!debug.contains("hooks.slack.com"));
        assert!(debug.contains(&fingerprint("key-123")));
    }
}
