//! The service's JSON secret (README, "Secret"): the Spoke API key and the Slack webhook routes, parsed into
//! redacted types. Caching is the `secrets` crate's (`ONCALL_SECRET_TTL_SECS`).

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use secrets::{SecretStore, fingerprint};
use serde_json::Value;

/// Why the secret could not be read or is invalid. Never carries a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret unavailable: {reason}")]
pub struct SecretReadError {
    /// What went wrong, without the value.
    pub reason: String,
}

/// Prints `[REDACTED]` in the `Debug` output of types that hold credentials.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

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
}

/// Reads and parses the secret `id` from `store`: from the store's TTL cache, or straight from Secrets
/// Manager when `fresh` (after Spoke refused the cached key). Errors never contain a value.
pub async fn load(
    store: &dyn SecretStore,
    id: &str,
    it_channel: &str,
    fresh: bool,
) -> Result<OncallSecret, SecretReadError> {
    let value = if fresh {
        store.get_fresh(id).await.map(|v| v.value)
    } else {
        store.get_value(id).await
    }
    .map_err(|e| SecretReadError {
        reason: e.to_string(),
    })?;
    let secret = OncallSecret::parse(&value, it_channel)?;
    tracing::debug!(
        spoke_key_sha256 = %fingerprint(secret.spoke_api_key.expose_secret()),
        fresh,
        "secret loaded"
    );
    Ok(secret)
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
