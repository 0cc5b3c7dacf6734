//! The JSON shapes of the CLS secrets (docs/architecture.md, "CLS secrets"). Unknown keys are ignored; every
//! credential is a `SecretString` (prints `[REDACTED]`). `validate()` names the first bad key. Plain data: the
//! loaders that read these from Secrets Manager (and fall back to the old layout) live in `cls-wiring`.
//!
//! Layout: `cls/github` (App material), `cls/webhook` (webhook and Slack signing secrets, read by
//! `cls-webhook` only), `cls/slack` (bot token), `cls/alerts` (IT alert webhook URL), `cls/spoke`,
//! `cls/identity`.

use std::collections::{BTreeMap, HashSet};

use lambda_kit::config::ConfigReader;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::activity::ActivitySourceKind;
use crate::ticket::FieldIds;

/// A secret's content is unusable. Names the secret and the key, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret {secret}: {key} {reason}")]
pub struct SettingsError {
    /// Which secret (`cls/github`, …, by role).
    pub secret: &'static str,
    /// The key at fault, e.g. `fields.repositories`.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

fn err(secret: &'static str, key: impl Into<String>, reason: &str) -> SettingsError {
    SettingsError {
        secret,
        key: key.into(),
        reason: reason.to_owned(),
    }
}

/// The org's default ticket owner, used when the adder cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DefaultOwner {
    /// GitHub login.
    pub github_login: String,
    /// Spoke user id.
    pub spoke_user_id: String,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
}

/// One managed organisation (`cls/github` → `orgs[]`).
#[derive(Debug, Clone, Deserialize)]
pub struct OrgSettings {
    /// Org login.
    pub org: String,
    /// Org numeric id.
    pub org_id: u64,
    /// GitHub App id.
    pub app_id: u64,
    /// App installation id in this org.
    pub installation_id: u64,
    /// App private key, PEM or base64 of PEM (not needed by the webhook).
    #[serde(default)]
    pub private_key_pem: Option<SecretString>,
    /// Deprecated (old layout): webhook secrets now live in `cls/webhook` ([`WebhookSettings`]); read only
    /// by `cls_wiring::load_webhook_settings`'s fallback.
    #[serde(default)]
    pub webhook_secrets: Vec<SecretString>,
    /// Default owner.
    pub default_owner: DefaultOwner,
    /// `audit_log` (default), `repo_events` or `off`.
    #[serde(default)]
    pub activity_source: Option<String>,
    /// Skip employees flagged by the identity directory.
    #[serde(default)]
    pub skip_employees: bool,
}

/// The `cls/github` secret.
#[derive(Debug, Clone, Deserialize)]
pub struct GithubSettings {
    /// Managed organisations.
    pub orgs: Vec<OrgSettings>,
    /// Org whose legacy tickets (no user id / org fields) match by login.
    #[serde(default)]
    pub legacy_org: Option<String>,
}

const GITHUB: &str = "github";

impl GithubSettings {
    /// At least one org; org logins and ids unique; each org has a default owner. With `need_webhook_secrets`
    /// every org must carry at least one webhook secret; with `need_private_keys`, a private key.
    pub fn validate(
        &self,
        need_webhook_secrets: bool,
        need_private_keys: bool,
    ) -> Result<(), SettingsError> {
        if self.orgs.is_empty() {
            return Err(err(GITHUB, "orgs", "must list at least one organisation"));
        }
        let mut ids = HashSet::new();
        let mut logins = HashSet::new();
        for (i, org) in self.orgs.iter().enumerate() {
            if org.org.trim().is_empty() {
                return Err(err(GITHUB, format!("orgs[{i}].org"), "is empty"));
            }
            if !ids.insert(org.org_id) {
                return Err(err(GITHUB, format!("orgs[{i}].org_id"), "is not unique"));
            }
            if !logins.insert(org.org.to_lowercase()) {
                return Err(err(GITHUB, format!("orgs[{i}].org"), "is not unique"));
            }
            if org.default_owner.spoke_user_id.trim().is_empty() {
                return Err(err(
                    GITHUB,
                    format!("orgs[{i}].default_owner.spoke_user_id"),
                    "is empty",
                ));
            }
            if need_webhook_secrets && org.webhook_secrets.is_empty() {
                return Err(err(
                    GITHUB,
                    format!("orgs[{i}].webhook_secrets"),
                    "must hold at least one secret",
                ));
            }
            if need_private_keys && org.private_key_pem.is_none() {
                return Err(err(
                    GITHUB,
                    format!("orgs[{i}].private_key_pem"),
                    "is missing",
                ));
            }
        }
        Ok(())
    }

    /// The org with login `login` (case-insensitive).
    pub fn org(&self, login: &str) -> Option<&OrgSettings> {
        self.orgs.iter().find(|o| o.org.eq_ignore_ascii_case(login))
    }

    /// Every org's `activity_source` is unset, `audit_log`, `repo_events` or `off` (what the sweep reads).
    pub fn validate_activity_sources(&self) -> Result<(), SettingsError> {
        for (i, org) in self.orgs.iter().enumerate() {
            if ActivitySourceKind::parse(org.activity_source.as_deref()).is_none() {
                return Err(err(
                    GITHUB,
                    format!("orgs[{i}].activity_source"),
                    "must be audit_log, repo_events or off",
                ));
            }
        }
        Ok(())
    }

    /// The activity source configured for `org` (unset or unknown org = `audit_log`).
    pub fn activity_kind(&self, org: &str) -> ActivitySourceKind {
        self.org(org)
            .and_then(|o| ActivitySourceKind::parse(o.activity_source.as_deref()))
            .unwrap_or_default()
    }
}

/// The `cls/slack` secret.
#[derive(Debug, Clone, Deserialize)]
pub struct SlackSettings {
    /// Bot token `xoxb-…`.
    #[serde(default)]
    pub bot_token: Option<SecretString>,
    /// Deprecated (old layout): request signing secrets now live in `cls/webhook`
    /// ([`WebhookSettings::slack_signing_secrets`]); read only by `cls_wiring::load_webhook_settings`'s fallback.
    #[serde(default)]
    pub signing_secrets: Vec<SecretString>,
    /// Deprecated (old layout): the alert URL now lives in `cls/alerts` ([`AlertSettings`]); read only by
    /// [`SlackSettings::legacy_alert_settings`].
    #[serde(default)]
    pub alert_webhook_url: Option<SecretString>,
    /// Channel for reminders that cannot be sent as DMs.
    #[serde(default)]
    pub fallback_channel_id: Option<String>,
    /// Slack ids allowed to extend any access.
    #[serde(default)]
    pub admin_user_ids: Vec<String>,
}

impl SlackSettings {
    /// The old layout's alert settings: `alert_webhook_url` of this `cls/slack` secret, validated; a missing
    /// URL is named.
    pub fn legacy_alert_settings(self) -> Result<AlertSettings, SettingsError> {
        let alert_webhook_url = self
            .alert_webhook_url
            .ok_or_else(|| err("slack", "alert_webhook_url", "is missing"))?;
        let settings = AlertSettings { alert_webhook_url };
        settings.validate()?;
        Ok(settings)
    }
}

/// Tag ids (`cls/spoke` → `tags`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct TagIds {
    /// `access granted`.
    #[serde(default)]
    pub access_granted: String,
    /// `access removed`.
    #[serde(default)]
    pub access_removed: String,
    /// `cls-expired`.
    #[serde(default)]
    pub expired: String,
    /// `cls-inactive`.
    #[serde(default)]
    pub inactive: String,
    /// `cls-needs-attention`.
    #[serde(default)]
    pub needs_attention: String,
}

/// The `cls/spoke` secret.
#[derive(Debug, Clone, Deserialize)]
pub struct SpokeSettings {
    /// API key (header `Api-Key`).
    pub api_key: SecretString,
    /// The service user's id; resolved via `GET /whoami` when null.
    #[serde(default)]
    pub service_user_id: Option<String>,
    /// CLS team id.
    #[serde(default)]
    pub team_id: String,
    /// "Collaborator Access" request type id.
    #[serde(default)]
    pub request_type_id: String,
    /// Web base URL for ticket links.
    #[serde(default)]
    pub web_base_url: Option<String>,
    /// `filter` for request listings; omitted when null.
    #[serde(default)]
    pub list_filter: Option<String>,
    /// Form field UUIDs.
    #[serde(default)]
    pub fields: FieldIds,
    /// Tag ids.
    #[serde(default)]
    pub tags: TagIds,
}

const SPOKE: &str = "spoke";

impl SpokeSettings {
    /// Team, request type, all eight field ids and all five tag ids present (CLS-35).
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.team_id.trim().is_empty() {
            return Err(err(SPOKE, "team_id", "is missing"));
        }
        if self.request_type_id.trim().is_empty() {
            return Err(err(SPOKE, "request_type_id", "is missing"));
        }
        if let Some(key) = self.fields.first_missing() {
            return Err(err(SPOKE, format!("fields.{}", key.as_str()), "is missing"));
        }
        let tags = [
            ("access_granted", &self.tags.access_granted),
            ("access_removed", &self.tags.access_removed),
            ("expired", &self.tags.expired),
            ("inactive", &self.tags.inactive),
            ("needs_attention", &self.tags.needs_attention),
        ];
        if let Some((key, _)) = tags.iter().find(|(_, v)| v.trim().is_empty()) {
            return Err(err(SPOKE, format!("tags.{key}"), "is missing"));
        }
        Ok(())
    }
}

/// One person in the static identity directory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct IdentityEntry {
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// An employee (skipped when the org sets `skip_employees`).
    #[serde(default)]
    pub employee: bool,
}

/// The `http` identity source: `GET {url}/github/{login}` with a bearer token.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HttpIdentitySettings {
    /// Base URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Bearer token.
    #[serde(default)]
    pub token: Option<SecretString>,
}

/// The `cls/identity` secret.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IdentitySettings {
    /// `static` (default) or `http`.
    #[serde(default)]
    pub source: Option<String>,
    /// GitHub login → identity (the `static` source).
    #[serde(default)]
    pub users: BTreeMap<String, IdentityEntry>,
    /// The `http` source.
    #[serde(default)]
    pub http: Option<HttpIdentitySettings>,
}

impl IdentitySettings {
    /// True when the secret selects the `http` source.
    pub fn is_http(&self) -> bool {
        self.source
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("http"))
    }

    /// The `http` source needs a URL.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.is_http()
            && self
                .http
                .as_ref()
                .and_then(|h| h.url.as_deref())
                .is_none_or(|u| u.trim().is_empty())
        {
            return Err(err("identity", "http.url", "is missing for source http"));
        }
        Ok(())
    }

    /// The entry for `login`, case-insensitive.
    pub fn lookup(&self, login: &str) -> Option<&IdentityEntry> {
        self.users
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(login))
            .map(|(_, v)| v)
    }
}

/// Default id of the `cls/github` secret (`CLS_GITHUB_SECRET_ID`).
pub const DEFAULT_GITHUB_SECRET_ID: &str = "cls/github";
/// Default id of the `cls/webhook` secret (`CLS_WEBHOOK_SECRET_ID`).
pub const DEFAULT_WEBHOOK_SECRET_ID: &str = "cls/webhook";
/// Default id of the `cls/slack` secret (`CLS_SLACK_SECRET_ID`).
pub const DEFAULT_SLACK_SECRET_ID: &str = "cls/slack";
/// Default id of the `cls/alerts` secret (`CLS_ALERTS_SECRET_ID`).
pub const DEFAULT_ALERTS_SECRET_ID: &str = "cls/alerts";
/// Default id of the `cls/spoke` secret (`CLS_SPOKE_SECRET_ID`).
pub const DEFAULT_SPOKE_SECRET_ID: &str = "cls/spoke";
/// Default id of the `cls/identity` secret (`CLS_IDENTITY_SECRET_ID`).
pub const DEFAULT_IDENTITY_SECRET_ID: &str = "cls/identity";

/// The ids (names or ARNs) of the CLS secrets, each from its variable with its default. A binary keeps the
/// whole set and reads only the secrets its IAM grants (docs/architecture.md, "CLS secrets").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretIds {
    /// `CLS_GITHUB_SECRET_ID` (default `cls/github`): App material.
    pub github: String,
    /// `CLS_WEBHOOK_SECRET_ID` (default `cls/webhook`): webhook and Slack signing secrets.
    pub webhook: String,
    /// `CLS_SLACK_SECRET_ID` (default `cls/slack`): bot token, fallback channel, admins.
    pub slack: String,
    /// `CLS_ALERTS_SECRET_ID` (default `cls/alerts`): the IT alert webhook URL.
    pub alerts: String,
    /// `CLS_SPOKE_SECRET_ID` (default `cls/spoke`).
    pub spoke: String,
    /// `CLS_IDENTITY_SECRET_ID` (default `cls/identity`).
    pub identity: String,
}

impl Default for SecretIds {
    fn default() -> Self {
        Self {
            github: DEFAULT_GITHUB_SECRET_ID.to_owned(),
            webhook: DEFAULT_WEBHOOK_SECRET_ID.to_owned(),
            slack: DEFAULT_SLACK_SECRET_ID.to_owned(),
            alerts: DEFAULT_ALERTS_SECRET_ID.to_owned(),
            spoke: DEFAULT_SPOKE_SECRET_ID.to_owned(),
            identity: DEFAULT_IDENTITY_SECRET_ID.to_owned(),
        }
    }
}

impl SecretIds {
    /// Reads the six `CLS_*_SECRET_ID` variables from a config reader; unset or blank means the default.
    pub fn from_reader<F: Fn(&str) -> Option<String>>(env: &ConfigReader<F>) -> Self {
        let id = |var: &str, default: &str| env.optional(var).unwrap_or_else(|| default.to_owned());
        Self {
            github: id("CLS_GITHUB_SECRET_ID", DEFAULT_GITHUB_SECRET_ID),
            webhook: id("CLS_WEBHOOK_SECRET_ID", DEFAULT_WEBHOOK_SECRET_ID),
            slack: id("CLS_SLACK_SECRET_ID", DEFAULT_SLACK_SECRET_ID),
            alerts: id("CLS_ALERTS_SECRET_ID", DEFAULT_ALERTS_SECRET_ID),
            spoke: id("CLS_SPOKE_SECRET_ID", DEFAULT_SPOKE_SECRET_ID),
            identity: id("CLS_IDENTITY_SECRET_ID", DEFAULT_IDENTITY_SECRET_ID),
        }
    }

    /// [`Self::from_reader`] over a lookup function (the process environment, or a map in tests).
    pub fn from_lookup<F: Fn(&str) -> Option<String>>(lookup: F) -> Self {
        Self::from_reader(&ConfigReader::new(lookup))
    }
}

/// One organisation as the webhook sees it (`cls/webhook` → `orgs[]`).
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookOrg {
    /// Org login (a fallback match only: logins change, ids do not).
    pub org: String,
    /// Org numeric id (`organization.id`), the key deliveries are matched by.
    pub org_id: u64,
    /// The GitHub App configured for this org; its webhook secrets are the only ones accepted for it.
    pub app_id: u64,
    /// The App's webhook secrets: current and, during rotation, previous.
    #[serde(default)]
    pub webhook_secrets: Vec<SecretString>,
}

/// The `cls/webhook` secret: everything `cls-webhook` needs, and nothing else.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookSettings {
    /// Managed organisations.
    pub orgs: Vec<WebhookOrg>,
    /// Slack request signing secrets (current, previous). Empty means every Slack request is refused.
    #[serde(default)]
    pub slack_signing_secrets: Vec<SecretString>,
}

const WEBHOOK: &str = "webhook";

impl WebhookSettings {
    /// At least one org; org ids and logins unique; every org holds at least one non-empty webhook secret.
    /// Orgs of one App each list that App's secrets; a delivery is accepted for an org only with a secret of
    /// its own entry, so a half-edited rotation refuses that org's deliveries instead of all of them.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.orgs.is_empty() {
            return Err(err(WEBHOOK, "orgs", "must list at least one organisation"));
        }
        let mut ids = HashSet::new();
        let mut logins = HashSet::new();
        for (i, org) in self.orgs.iter().enumerate() {
            if org.org.trim().is_empty() {
                return Err(err(WEBHOOK, format!("orgs[{i}].org"), "is empty"));
            }
            if !ids.insert(org.org_id) {
                return Err(err(WEBHOOK, format!("orgs[{i}].org_id"), "is not unique"));
            }
            if !logins.insert(org.org.to_lowercase()) {
                return Err(err(WEBHOOK, format!("orgs[{i}].org"), "is not unique"));
            }
            if org.webhook_secrets.is_empty()
                || org
                    .webhook_secrets
                    .iter()
                    .any(|s| s.expose_secret().is_empty())
            {
                return Err(err(
                    WEBHOOK,
                    format!("orgs[{i}].webhook_secrets"),
                    "must hold at least one secret and no empty one",
                ));
            }
        }
        Ok(())
    }

    /// The org with numeric id `org_id`.
    pub fn org_by_id(&self, org_id: u64) -> Option<&WebhookOrg> {
        self.orgs.iter().find(|o| o.org_id == org_id)
    }

    /// The org with login `login` (case-insensitive).
    pub fn org_by_login(&self, login: &str) -> Option<&WebhookOrg> {
        self.orgs.iter().find(|o| o.org.eq_ignore_ascii_case(login))
    }
}

/// The `cls/alerts` secret.
#[derive(Debug, Clone, Deserialize)]
pub struct AlertSettings {
    /// Incoming-webhook URL of the IT alerts channel (a credential: the path is the key).
    pub alert_webhook_url: SecretString,
}

impl AlertSettings {
    /// The URL is an `http(s)://` URL.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let url = self.alert_webhook_url.expose_secret();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(err("alerts", "alert_webhook_url", "is not an http(s) URL"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spoke_json() -> serde_json::Value {
        serde_json::json!({
            "api_key": "key-123", "service_user_id": null, "team_id": "t", "request_type_id": "rt",
            "fields": {"expires_on": "u0", "github_login": "u1", "github_user_id": "u2", "github_org": "u3",
                       "collaborator_email": "u4", "repositories": "u5", "added_by": "u6", "cls_state": "u7"},
            "tags": {"access_granted": "g", "access_removed": "r", "expired": "e", "inactive": "i",
                     "needs_attention": "n"},
            "unknown": true
        })
    }

    #[test]
    fn a_complete_spoke_secret_validates_and_hides_the_key() {
        let s: SpokeSettings = serde_json::from_value(spoke_json()).unwrap();
        assert!(s.validate().is_ok());
        assert!(!format!("{s:?}").contains("key-123"));
    }

    #[test]
    fn a_missing_field_or_tag_id_is_named() {
        let mut v = spoke_json();
        v["fields"].as_object_mut().unwrap().remove("added_by");
        let s: SpokeSettings = serde_json::from_value(v).unwrap();
        assert_eq!(s.validate().unwrap_err().key, "fields.added_by");
        let mut v = spoke_json();
        v["tags"]["needs_attention"] = "".into();
        let s: SpokeSettings = serde_json::from_value(v).unwrap();
        let e = s.validate().unwrap_err();
        assert_eq!(e.key, "tags.needs_attention");
        assert!(e.to_string().contains("tags.needs_attention"));
    }

    #[test]
    fn github_orgs_must_be_unique_and_carry_webhook_secrets() {
        let org = |name: &str, id: u64, secrets: &[&str]| {
            serde_json::json!({"org": name, "org_id": id, "app_id": 1, "installation_id": 2,
                "webhook_secrets": secrets, "private_key_pem": "-----BEGIN-----",
                "default_owner": {"github_login": "it", "spoke_user_id": "u"}})
        };
        let ok: GithubSettings = serde_json::from_value(
            serde_json::json!({"orgs": [org("acme", 1, &["s"]), org("beta", 2, &["t"])]}),
        )
        .unwrap();
        assert!(ok.validate(true, true).is_ok());
        assert_eq!(ok.org("ACME").unwrap().org_id, 1);
        assert!(!format!("{ok:?}").contains("BEGIN"));
        let dup: GithubSettings = serde_json::from_value(
            serde_json::json!({"orgs": [org("acme", 1, &["s"]), org("beta", 1, &["t"])]}),
        )
        .unwrap();
        assert_eq!(
            dup.validate(false, false).unwrap_err().key,
            "orgs[1].org_id"
        );
        let none: GithubSettings =
            serde_json::from_value(serde_json::json!({"orgs": [org("acme", 1, &[])]})).unwrap();
        assert_eq!(
            none.validate(true, false).unwrap_err().key,
            "orgs[0].webhook_secrets"
        );
        assert!(none.validate(false, false).is_ok());
    }

    #[test]
    fn the_identity_directory_matches_logins_case_insensitively() {
        let id: IdentitySettings = serde_json::from_value(
            serde_json::json!({"source": "static", "users": {"Alice": {"email": "alice@example.com", "employee": true}}}),
        )
        .unwrap();
        assert!(id.lookup("alice").unwrap().employee);
        assert!(id.lookup("bob").is_none());
    }

    fn webhook_org(name: &str, id: u64, app: u64, secrets: &[&str]) -> serde_json::Value {
        serde_json::json!({"org": name, "org_id": id, "app_id": app, "webhook_secrets": secrets})
    }

    #[test]
    fn secret_ids_default_to_the_cls_names_and_follow_their_variables() {
        let ids = SecretIds::from_lookup(|_| None);
        assert_eq!(ids, SecretIds::default());
        assert_eq!(
            (ids.webhook.as_str(), ids.alerts.as_str()),
            ("cls/webhook", "cls/alerts")
        );
        let ids = SecretIds::from_lookup(|name| match name {
            "CLS_WEBHOOK_SECRET_ID" => Some("stage/webhook".to_owned()),
            "CLS_ALERTS_SECRET_ID" => Some("stage/alerts".to_owned()),
            "CLS_GITHUB_SECRET_ID" => Some("  ".to_owned()),
            _ => None,
        });
        assert_eq!(
            (ids.webhook.as_str(), ids.alerts.as_str()),
            ("stage/webhook", "stage/alerts")
        );
        assert_eq!(ids.github, "cls/github", "blank means the default");
    }

    #[test]
    fn webhook_settings_refuse_duplicate_orgs_and_missing_secrets() {
        let parse = |orgs: Vec<serde_json::Value>| -> WebhookSettings {
            serde_json::from_value(serde_json::json!({"orgs": orgs})).unwrap()
        };
        assert!(
            parse(vec![
                webhook_org("acme", 1, 10, &["a"]),
                webhook_org("beta", 2, 20, &["b"])
            ])
            .validate()
            .is_ok()
        );
        assert!(
            parse(vec![
                webhook_org("acme", 1, 10, &["a"]),
                webhook_org("beta", 2, 10, &["a"])
            ])
            .validate()
            .is_ok(),
            "two orgs of one App share its secret"
        );
        let key = |orgs| parse(orgs).validate().unwrap_err().key;
        assert_eq!(key(vec![]), "orgs");
        assert_eq!(
            key(vec![
                webhook_org("acme", 1, 10, &["a"]),
                webhook_org("beta", 1, 20, &["b"])
            ]),
            "orgs[1].org_id"
        );
        assert_eq!(
            key(vec![
                webhook_org("acme", 1, 10, &["a"]),
                webhook_org("ACME", 2, 20, &["b"])
            ]),
            "orgs[1].org"
        );
        assert_eq!(
            key(vec![webhook_org("acme", 1, 10, &[])]),
            "orgs[0].webhook_secrets"
        );
        assert_eq!(
            key(vec![webhook_org("acme", 1, 10, &[""])]),
            "orgs[0].webhook_secrets"
        );
        assert!(
            parse(vec![
                webhook_org("acme", 1, 10, &["a", "old"]),
                webhook_org("beta", 2, 10, &["a"])
            ])
            .validate()
            .is_ok(),
            "a rotation half-way through one App's orgs does not stop the others"
        );
    }
}
