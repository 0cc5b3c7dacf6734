//! The one loader of the CLS secrets' per-function layout (docs/architecture.md, "CLS secrets"). For one
//! release the old layout is still accepted: [`load_webhook_settings`] builds the webhook settings from
//! `cls/github` + `cls/slack` when `cls/webhook` does not exist, and [`load_alert_settings`] takes
//! `alert_webhook_url` from `cls/slack` when `cls/alerts` does not exist, each with one warning
//! `outcome="legacy_secret_layout"` per process naming the secret ids.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use cls_core::settings::{
    AlertSettings, SettingsError, SlackSettings, WebhookOrg, WebhookSettings,
};
use secrets::{SecretStore, SecretStoreExt, SecretsError};
use serde::Deserialize;

/// A CLS setting could not be loaded: the secret was unreadable, or its content is invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsLoadError {
    /// Secrets Manager failed (or the secret does not parse as the expected JSON).
    #[error("reading a CLS secret failed")]
    Secret(#[from] SecretsError),
    /// The secret parsed but a value is missing or wrong.
    #[error("a CLS secret is invalid")]
    Invalid(#[from] SettingsError),
}

impl SettingsLoadError {
    /// True when a later attempt may succeed (a Secrets Manager outage or throttling).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Secret(e) if e.is_transient())
    }
}

impl lambda_kit::Classify for SettingsLoadError {
    fn class(&self) -> lambda_kit::ErrorClass {
        match self {
            Self::Secret(e) => e.class(),
            Self::Invalid(_) => lambda_kit::ErrorClass::Permanent,
        }
    }
}

/// The old `cls/github` as far as the webhook fallback reads it (org, org_id, app_id, webhook_secrets).
#[derive(Deserialize)]
struct LegacyGithubOrgs {
    orgs: Vec<WebhookOrg>,
}

/// Logs the `legacy_secret_layout` warning once per process for `missing` (ids only, never values).
fn warn_legacy_layout(missing: &str, read_instead: &str) {
    static WARNED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let first = WARNED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(missing.to_owned());
    if first {
        tracing::warn!(
            outcome = "legacy_secret_layout",
            missing_secret_id = %missing,
            read_instead = %read_instead,
            "secret of the per-function layout not found; the old layout is read (supported for one release)"
        );
    }
}

/// The webhook's settings: `cls/webhook` (`webhook_id`), or, when that secret does not exist, built from the
/// old layout's `cls/github` (`legacy_github_id`: `orgs[].org`, `org_id`, `app_id`, `webhook_secrets`) and
/// `cls/slack` (`legacy_slack_id`: `signing_secrets`; optional), with one `legacy_secret_layout` warning.
/// Reads go through the store's TTL cache, so calling this per request picks up rotations. Validated.
pub async fn load_webhook_settings(
    store: &dyn SecretStore,
    webhook_id: &str,
    legacy_github_id: &str,
    legacy_slack_id: &str,
) -> Result<WebhookSettings, SettingsLoadError> {
    let settings = match store.get_json::<WebhookSettings>(webhook_id).await {
        Ok(settings) => settings,
        Err(SecretsError::NotFound { .. }) => {
            warn_legacy_layout(
                webhook_id,
                &format!("{legacy_github_id}, {legacy_slack_id}"),
            );
            let github: LegacyGithubOrgs = store.get_json(legacy_github_id).await?;
            let slack_signing_secrets = match store.get_json::<SlackSettings>(legacy_slack_id).await
            {
                Ok(slack) => slack.signing_secrets,
                Err(SecretsError::NotFound { .. }) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            WebhookSettings {
                orgs: github.orgs,
                slack_signing_secrets,
            }
        }
        Err(e) => return Err(e.into()),
    };
    settings.validate()?;
    Ok(settings)
}

/// The IT alert settings: `cls/alerts` (`alerts_id`), or, when that secret does not exist, `alert_webhook_url`
/// of the old layout's `cls/slack` (`legacy_slack_id`), with one `legacy_secret_layout` warning. Validated;
/// a legacy secret without the URL is [`SettingsError`] on `alert_webhook_url`.
pub async fn load_alert_settings(
    store: &dyn SecretStore,
    alerts_id: &str,
    legacy_slack_id: &str,
) -> Result<AlertSettings, SettingsLoadError> {
    match store.get_json::<AlertSettings>(alerts_id).await {
        Ok(settings) => {
            settings.validate()?;
            Ok(settings)
        }
        Err(SecretsError::NotFound { .. }) => {
            warn_legacy_layout(alerts_id, legacy_slack_id);
            legacy_alert_settings(store, legacy_slack_id).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `alert_webhook_url` of an old-layout `cls/slack` secret (no warning: for callers configured with the old
/// layout only). Validated.
pub async fn legacy_alert_settings(
    store: &dyn SecretStore,
    slack_id: &str,
) -> Result<AlertSettings, SettingsLoadError> {
    let slack: SlackSettings = store.get_json(slack_id).await?;
    Ok(slack.legacy_alert_settings()?)
}

#[cfg(test)]
mod tests {
    use secrecy::{ExposeSecret, SecretString};

    use super::*;

    fn webhook_org(name: &str, id: u64, app: u64, secrets: &[&str]) -> serde_json::Value {
        serde_json::json!({"org": name, "org_id": id, "app_id": app, "webhook_secrets": secrets})
    }

    fn exposed(secrets: &[SecretString]) -> Vec<&str> {
        secrets.iter().map(ExposeSecret::expose_secret).collect()
    }

    fn legacy_github() -> serde_json::Value {
        serde_json::json!({"orgs": [
            {"org": "acme", "org_id": 1, "app_id": 10, "installation_id": 2, "private_key_pem": "-----BEGIN-----",
             "webhook_secrets": ["old-hook-secret"], "default_owner": {"github_login": "it", "spoke_user_id": "u"}}
        ], "legacy_org": "acme"})
    }

    #[tokio::test]
    async fn the_new_webhook_secret_is_read_and_the_old_ones_are_not() {
        let store = secrets::MemorySecretStore::with(
            "t1/webhook",
            serde_json::json!({"orgs": [webhook_org("acme", 1, 10, &["hook-1", "hook-0"])],
                               "slack_signing_secrets": ["sign-1"]}),
        );
        store.insert("t1/github", legacy_github());
        let s = load_webhook_settings(&store, "t1/webhook", "t1/github", "t1/slack")
            .await
            .unwrap();
        assert_eq!(exposed(&s.orgs[0].webhook_secrets), ["hook-1", "hook-0"]);
        assert_eq!(exposed(&s.slack_signing_secrets), ["sign-1"]);
        assert_eq!(s.org_by_id(1).unwrap().app_id, 10);
        assert_eq!(s.org_by_login("ACME").unwrap().org_id, 1);
        assert!(s.org_by_id(2).is_none());
        assert_eq!(store.reads(), 1, "only cls/webhook was read");
        let debug = format!("{s:?}");
        assert!(!debug.contains("hook-1") && !debug.contains("sign-1"));
    }

    #[tokio::test]
    async fn without_the_webhook_secret_the_old_layout_is_used_with_one_warning_naming_the_ids() {
        let capture = lambda_kit::tracing_init::capture_logs();
        let store = secrets::MemorySecretStore::with("t2/github", legacy_github());
        store.insert(
            "t2/slack",
            serde_json::json!({"bot_token": "xoxb-1", "signing_secrets": ["old-sign"],
                               "alert_webhook_url": "https://hooks.slack.com/services/T/B/old"}),
        );
        for _ in 0..2 {
            let s = load_webhook_settings(&store, "t2/webhook", "t2/github", "t2/slack")
                .await
                .unwrap();
            assert_eq!(s.orgs.len(), 1);
            assert_eq!(
                (s.orgs[0].org.as_str(), s.orgs[0].org_id, s.orgs[0].app_id),
                ("acme", 1, 10)
            );
            assert_eq!(exposed(&s.orgs[0].webhook_secrets), ["old-hook-secret"]);
            assert_eq!(exposed(&s.slack_signing_secrets), ["old-sign"]);
        }
        let logs = capture.contents();
        let warnings: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains("legacy_secret_layout") && l.contains("t2/webhook"))
            .collect();
        assert_eq!(warnings.len(), 1, "{logs}");
        assert!(warnings[0].contains("t2/github") && warnings[0].contains("t2/slack"));
        capture
            .assert_absent(&["old-hook-secret", "old-sign", "xoxb-1"])
            .unwrap();
    }

    #[tokio::test]
    async fn the_old_layout_without_a_slack_secret_still_serves_github_deliveries() {
        let store = secrets::MemorySecretStore::with("t3/github", legacy_github());
        let s = load_webhook_settings(&store, "t3/webhook", "t3/github", "t3/slack")
            .await
            .unwrap();
        assert!(s.slack_signing_secrets.is_empty());
        let missing = secrets::MemorySecretStore::new();
        let e = load_webhook_settings(&missing, "t3/webhook", "t3/github", "t3/slack")
            .await
            .unwrap_err();
        assert!(
            matches!(e, SettingsLoadError::Secret(SecretsError::NotFound { ref id }) if id == "t3/github")
        );
    }

    #[tokio::test]
    async fn a_malformed_webhook_secret_is_an_error_not_a_fallback() {
        let store =
            secrets::MemorySecretStore::with("t4/webhook", serde_json::json!({"orgs": "nope"}));
        store.insert("t4/github", legacy_github());
        let e = load_webhook_settings(&store, "t4/webhook", "t4/github", "t4/slack")
            .await
            .unwrap_err();
        assert!(matches!(
            e,
            SettingsLoadError::Secret(SecretsError::Malformed { .. })
        ));
        assert_eq!(
            lambda_kit::Classify::class(&e),
            lambda_kit::ErrorClass::Permanent
        );
    }

    #[tokio::test]
    async fn alert_settings_come_from_cls_alerts_else_from_the_old_slack_secret() {
        let store = secrets::MemorySecretStore::with(
            "t5/alerts",
            serde_json::json!({"alert_webhook_url": "https://hooks.slack.com/services/T/B/new"}),
        );
        store.insert(
            "t5/slack",
            serde_json::json!({"alert_webhook_url": "https://hooks.slack.com/services/T/B/old"}),
        );
        let a = load_alert_settings(&store, "t5/alerts", "t5/slack")
            .await
            .unwrap();
        assert_eq!(
            a.alert_webhook_url.expose_secret(),
            "https://hooks.slack.com/services/T/B/new"
        );
        assert!(!format!("{a:?}").contains("hooks.slack.com"));
        let capture = lambda_kit::tracing_init::capture_logs();
        let a = load_alert_settings(&store, "t5/alerts-missing", "t5/slack")
            .await
            .unwrap();
        assert_eq!(
            a.alert_webhook_url.expose_secret(),
            "https://hooks.slack.com/services/T/B/old"
        );
        assert!(
            capture
                .contents()
                .lines()
                .any(|l| l.contains("legacy_secret_layout")
                    && l.contains("t5/alerts-missing")
                    && l.contains("t5/slack"))
        );
    }

    #[tokio::test]
    async fn missing_or_invalid_alert_urls_are_named() {
        let store =
            secrets::MemorySecretStore::with("t6/slack", serde_json::json!({"bot_token": "x"}));
        store.insert(
            "t6/alerts",
            serde_json::json!({"alert_webhook_url": "ftp://nope"}),
        );
        let e = load_alert_settings(&store, "t6/none", "t6/slack")
            .await
            .unwrap_err();
        assert!(matches!(e, SettingsLoadError::Invalid(ref s) if s.key == "alert_webhook_url"));
        let e = load_alert_settings(&store, "t6/alerts", "t6/slack")
            .await
            .unwrap_err();
        assert!(matches!(e, SettingsLoadError::Invalid(ref s) if s.key == "alert_webhook_url"));
        let e = load_alert_settings(&store, "t6/none", "t6/none-either")
            .await
            .unwrap_err();
        assert!(matches!(
            e,
            SettingsLoadError::Secret(SecretsError::NotFound { .. })
        ));
        assert!(!e.is_transient());
    }
}
