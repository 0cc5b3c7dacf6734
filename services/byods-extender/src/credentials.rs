//! The credentials secret (README, "Secret" and "Migrating from the original sample"): parsing with the
//! original sample's aliases, validation, canonical write-back that keeps unknown keys, and the merge used
//! when the secret changed under us.

use std::fmt;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use crate::webex::{ClientCredentials, MintRequest, TokenResponse};

/// One group of OAuth tokens with their expiries and the time they were obtained.
#[derive(Clone, Default)]
pub struct TokenSet {
    /// Access token.
    pub access_token: Option<SecretString>,
    /// When the access token expires.
    pub access_token_expires_at: Option<DateTime<Utc>>,
    /// Refresh token.
    pub refresh_token: Option<SecretString>,
    /// When the refresh token expires.
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// `refreshedAt` (token manager) or `obtainedAt` (service app).
    pub stamp: Option<DateTime<Utc>>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |s: &Option<SecretString>| s.as_ref().map(|_| "[REDACTED]");
        f.debug_struct("TokenSet")
            .field("access_token", &redact(&self.access_token))
            .field("access_token_expires_at", &self.access_token_expires_at)
            .field("refresh_token", &redact(&self.refresh_token))
            .field("refresh_token_expires_at", &self.refresh_token_expires_at)
            .field("stamp", &self.stamp)
            .finish()
    }
}

impl TokenSet {
    /// Applies a token response received at `now`: the refresh token and its expiry are replaced only
    /// when the response carries them.
    pub fn apply(&mut self, response: &TokenResponse, now: DateTime<Utc>) {
        self.access_token = Some(response.access_token.clone());
        self.access_token_expires_at = response
            .expires_in
            .map(|s| now + chrono::Duration::seconds(s));
        if let Some(rt) = &response.refresh_token {
            self.refresh_token = Some(rt.clone());
            self.refresh_token_expires_at = response
                .refresh_token_expires_in
                .map(|s| now + chrono::Duration::seconds(s));
        } else if let Some(s) = response.refresh_token_expires_in {
            self.refresh_token_expires_at = Some(now + chrono::Duration::seconds(s));
        }
        self.stamp = Some(now);
    }

    /// The access token when it has more than `margin` left.
    pub fn usable_access_token(
        &self,
        now: DateTime<Utc>,
        margin: chrono::Duration,
    ) -> Option<&SecretString> {
        match (&self.access_token, self.access_token_expires_at) {
            (Some(t), Some(exp)) if exp - now > margin => Some(t),
            _ => None,
        }
    }

    /// True when the refresh token exists and is not known to be expired.
    pub fn has_live_refresh_token(&self, now: DateTime<Utc>) -> bool {
        self.refresh_token.is_some() && self.refresh_token_expires_at.is_none_or(|e| e > now)
    }

    fn is_newer_than(&self, other: &Self) -> bool {
        match (self.stamp, other.stamp) {
            (Some(a), Some(b)) => a > b,
            (Some(_), None) => true,
            _ => false,
        }
    }
}

/// The service app (`serviceApp` in the secret).
#[derive(Clone, Debug, Default)]
pub struct ServiceApp {
    /// `appId`; derived from the client id when absent.
    pub app_id: Option<String>,
    /// `clientId`.
    pub client_id: Option<String>,
    /// `clientSecret`.
    pub client_secret: Option<SecretString>,
    /// `targetOrgId`.
    pub target_org_id: Option<String>,
    /// Cached service-app tokens.
    pub tokens: TokenSet,
}

impl ServiceApp {
    /// The body of `POST /applications/{appId}/token`.
    pub fn mint_request(&self) -> MintRequest {
        MintRequest {
            client_id: self.client_id.clone().unwrap_or_default(),
            client_secret: self.client_secret.clone().unwrap_or_default(),
            target_org_id: self.target_org_id.clone().unwrap_or_default(),
        }
    }

    /// `appId`, or the derived form: padded base64 of `ciscospark://us/APPLICATION/<clientId>`.
    pub fn effective_app_id(&self) -> Option<String> {
        use base64::Engine as _;
        self.app_id.clone().or_else(|| {
            self.client_id.as_ref().map(|c| {
                base64::engine::general_purpose::STANDARD
                    .encode(format!("ciscospark://us/APPLICATION/{c}"))
            })
        })
    }

    /// The OAuth client (for refreshing the service-app token).
    pub fn client(&self) -> ClientCredentials {
        ClientCredentials::of(self.client_id.as_ref(), self.client_secret.as_ref())
    }
}

/// The token-manager integration (`tokenManager` in the secret).
#[derive(Clone, Debug, Default)]
pub struct TokenManager {
    /// `clientId` (aliases `oauthClientId`, `integration.clientId`).
    pub client_id: Option<String>,
    /// `clientSecret` (aliases `oauthClientSecret`, `integration.clientSecret`).
    pub client_secret: Option<SecretString>,
    /// Tokens; `accessToken` alias `personalAccessToken`, `refreshToken` aliases `oauthRefreshToken`,
    /// `integration.refreshToken`.
    pub tokens: TokenSet,
}

impl TokenManager {
    /// The OAuth client, once validated.
    pub fn client(&self) -> ClientCredentials {
        ClientCredentials::of(self.client_id.as_ref(), self.client_secret.as_ref())
    }
}

/// The parsed secret.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// `serviceApp`.
    pub service_app: ServiceApp,
    /// `tokenManager`.
    pub token_manager: TokenManager,
    /// Alias keys that were read (key names only), for logs and `status`.
    pub aliases_used: Vec<String>,
    /// Keys present both canonically and as an alias (the canonical value won).
    pub alias_conflicts: Vec<String>,
}

/// The secret is not a JSON object of the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the credentials secret is malformed: {0}")]
pub struct MalformedSecret(pub String);

const TM_ALIASES: &[(&str, &[&str])] = &[
    ("accessToken", &["personalAccessToken"]),
    ("clientId", &["oauthClientId", "integration.clientId"]),
    (
        "clientSecret",
        &["oauthClientSecret", "integration.clientSecret"],
    ),
    (
        "refreshToken",
        &["oauthRefreshToken", "integration.refreshToken"],
    ),
];

fn lookup<'a>(obj: &'a Map<String, Value>, dotted: &str) -> Option<&'a Value> {
    let mut parts = dotted.split('.');
    let first = obj.get(parts.next()?)?;
    parts.try_fold(first, |v, p| v.get(p))
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|s| !s.trim().is_empty())
}

fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// True for an empty value or a template placeholder (`YOUR_…_HERE`, `<…>`).
pub fn is_placeholder(v: &str) -> bool {
    let u = v.trim().to_ascii_uppercase();
    u.is_empty()
        || (u.starts_with("YOUR_") && u.ends_with("_HERE"))
        || u.starts_with("<") && u.ends_with(">")
}

impl Credentials {
    /// Parses the secret JSON, accepting the aliases of the README's migration table (canonical keys win).
    pub fn from_value(value: &Value) -> Result<Self, MalformedSecret> {
        let root = value
            .as_object()
            .ok_or_else(|| MalformedSecret("the secret is not a JSON object".to_owned()))?;
        let empty = Map::new();
        let sa = root
            .get("serviceApp")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let tm = root
            .get("tokenManager")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut creds = Self::default();
        let mut tm_value = |canonical: &str| -> Option<String> {
            let direct = text(tm.get(canonical));
            let (_, aliases) = TM_ALIASES.iter().find(|(c, _)| *c == canonical)?;
            let mut alias_value = None;
            for alias in *aliases {
                let hit = text(lookup(tm, alias)).or_else(|| text(lookup(root, alias)));
                if hit.is_some() {
                    let key = format!("tokenManager.{alias}");
                    if direct.is_some() {
                        creds.alias_conflicts.push(key);
                    } else {
                        creds.aliases_used.push(key);
                    }
                    if alias_value.is_none() {
                        alias_value = hit;
                    }
                }
            }
            direct.or(alias_value)
        };
        let tm_access = tm_value("accessToken");
        let tm_client_id = tm_value("clientId");
        let tm_client_secret = tm_value("clientSecret");
        let tm_refresh = tm_value("refreshToken");
        creds.token_manager = TokenManager {
            client_id: tm_client_id,
            client_secret: tm_client_secret.map(SecretString::from),
            tokens: TokenSet {
                access_token: tm_access.map(SecretString::from),
                access_token_expires_at: time(tm.get("accessTokenExpiresAt")),
                refresh_token: tm_refresh.map(SecretString::from),
                refresh_token_expires_at: time(tm.get("refreshTokenExpiresAt")),
                stamp: time(tm.get("refreshedAt")),
            },
        };
        creds.service_app = ServiceApp {
            app_id: text(sa.get("appId")),
            client_id: text(sa.get("clientId")),
            client_secret: text(sa.get("clientSecret")).map(SecretString::from),
            target_org_id: text(sa.get("targetOrgId")),
            tokens: TokenSet {
                access_token: text(sa.get("accessToken")).map(SecretString::from),
                access_token_expires_at: time(sa.get("accessTokenExpiresAt")),
                refresh_token: text(sa.get("refreshToken")).map(SecretString::from),
                refresh_token_expires_at: time(sa.get("refreshTokenExpiresAt")),
                stamp: time(sa.get("obtainedAt")),
            },
        };
        Ok(creds)
    }

    /// The required keys that are missing, empty or placeholders (`YOUR_…_HERE`); key names only.
    pub fn invalid_keys(&self) -> Vec<&'static str> {
        let sa = &self.service_app;
        let tm = &self.token_manager;
        let checks: [(&'static str, Option<&str>); 6] = [
            ("serviceApp.clientId", sa.client_id.as_deref()),
            (
                "serviceApp.clientSecret",
                sa.client_secret.as_ref().map(|s| s.expose_secret()),
            ),
            ("serviceApp.targetOrgId", sa.target_org_id.as_deref()),
            ("tokenManager.clientId", tm.client_id.as_deref()),
            (
                "tokenManager.clientSecret",
                tm.client_secret.as_ref().map(|s| s.expose_secret()),
            ),
            (
                "tokenManager.refreshToken",
                tm.tokens.refresh_token.as_ref().map(|s| s.expose_secret()),
            ),
        ];
        let mut bad: Vec<&'static str> = checks
            .into_iter()
            .filter(|(_, v)| v.is_none_or(is_placeholder))
            .map(|(k, _)| k)
            .collect();
        if sa.app_id.as_deref().is_some_and(is_placeholder) {
            bad.push("serviceApp.appId");
        }
        bad
    }

    /// Writes these credentials into `base` (the secret as last read), in canonical form: canonical keys
    /// set, migrated aliases dropped, unknown keys kept, `schemaVersion` 2 (README, "Secret").
    pub fn write_into(&self, base: &Value) -> Value {
        let mut root = base.as_object().cloned().unwrap_or_default();
        let mut sa = root
            .get("serviceApp")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut tm = root
            .get("tokenManager")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let put = |obj: &mut Map<String, Value>, key: &str, v: Option<String>| match v {
            Some(v) => {
                obj.insert(key.to_owned(), Value::String(v));
            }
            None => {
                obj.remove(key);
            }
        };
        let secret = |s: &Option<SecretString>| s.as_ref().map(|s| s.expose_secret().to_owned());
        let stamp = |t: Option<DateTime<Utc>>| {
            t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        };

        let s = &self.service_app;
        put(&mut sa, "appId", s.app_id.clone());
        put(&mut sa, "clientId", s.client_id.clone());
        put(&mut sa, "clientSecret", secret(&s.client_secret));
        put(&mut sa, "targetOrgId", s.target_org_id.clone());
        let put_tokens = |obj: &mut Map<String, Value>, t: &TokenSet, stamp_key: &str| {
            put(obj, "accessToken", secret(&t.access_token));
            put(
                obj,
                "accessTokenExpiresAt",
                stamp(t.access_token_expires_at),
            );
            put(obj, "refreshToken", secret(&t.refresh_token));
            put(
                obj,
                "refreshTokenExpiresAt",
                stamp(t.refresh_token_expires_at),
            );
            put(obj, stamp_key, stamp(t.stamp));
        };
        put_tokens(&mut sa, &s.tokens, "obtainedAt");

        let t = &self.token_manager;
        for (_, aliases) in TM_ALIASES {
            for alias in *aliases {
                if !alias.contains('.') {
                    tm.remove(*alias);
                }
            }
        }
        if let Some(Value::Object(integration)) = tm.get_mut("integration") {
            for k in ["clientId", "clientSecret", "refreshToken"] {
                integration.remove(k);
            }
            if integration.is_empty() {
                tm.remove("integration");
            }
        }
        put(&mut tm, "clientId", t.client_id.clone());
        put(&mut tm, "clientSecret", secret(&t.client_secret));
        put_tokens(&mut tm, &t.tokens, "refreshedAt");

        if let Some(Value::Object(integration)) = root.get_mut("integration") {
            for k in ["clientId", "clientSecret", "refreshToken"] {
                integration.remove(k);
            }
            if integration.is_empty() {
                root.remove("integration");
            }
        }
        root.insert("schemaVersion".to_owned(), json!(2));
        root.insert("serviceApp".to_owned(), Value::Object(sa));
        root.insert("tokenManager".to_owned(), Value::Object(tm));
        Value::Object(root)
    }

    /// Merges our credentials with a copy of the secret that a concurrent writer changed since we read it:
    /// its static values win (ours fill only what it lacks), each token group comes from the side with the
    /// later `refreshedAt`/`obtainedAt`, and the integration's client id and secret travel with its
    /// tokens (a refresh token is only good with the client it was issued to). When the secret has not
    /// changed since our read there is nothing to merge: see [`Credentials::to_write`].
    pub fn merged_with_fresh(&self, fresh: &Self) -> Self {
        let mut out = fresh.clone();
        let sa = &mut out.service_app;
        fill(&mut sa.app_id, &self.service_app.app_id);
        fill(&mut sa.client_id, &self.service_app.client_id);
        fill(&mut sa.client_secret, &self.service_app.client_secret);
        fill(&mut sa.target_org_id, &self.service_app.target_org_id);
        if self
            .service_app
            .tokens
            .is_newer_than(&fresh.service_app.tokens)
        {
            sa.tokens = self.service_app.tokens.clone();
        }
        let tm = &mut out.token_manager;
        let ours_newer = self
            .token_manager
            .tokens
            .is_newer_than(&fresh.token_manager.tokens)
            || fresh.token_manager.tokens.refresh_token.is_none();
        if ours_newer {
            tm.tokens = self.token_manager.tokens.clone();
            if self.token_manager.client_id.is_some() {
                tm.client_id.clone_from(&self.token_manager.client_id);
            }
            if self.token_manager.client_secret.is_some() {
                tm.client_secret
                    .clone_from(&self.token_manager.client_secret);
            }
        }
        fill(&mut tm.client_id, &self.token_manager.client_id);
        fill(&mut tm.client_secret, &self.token_manager.client_secret);
        out
    }

    /// What to write over `fresh` (the secret as re-read right before the write, at `fresh_version`) when
    /// ours were derived from `base_version`: ours unchanged when nobody wrote in between (so an operator's
    /// new client id or secret replaces the stored one, placeholders included), else
    /// [`Credentials::merged_with_fresh`].
    pub fn to_write(
        &self,
        fresh: &Self,
        base_version: Option<&str>,
        fresh_version: Option<&str>,
    ) -> Self {
        if base_version.is_some() && base_version == fresh_version {
            self.clone()
        } else {
            self.merged_with_fresh(fresh)
        }
    }

    /// Every secret value these credentials hold (for leak assertions in tests and the CLI).
    pub fn secret_values(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |s: &Option<SecretString>| {
            if let Some(s) = s {
                out.push(s.expose_secret().to_owned());
            }
        };
        push(&self.service_app.client_secret);
        push(&self.service_app.tokens.access_token);
        push(&self.service_app.tokens.refresh_token);
        push(&self.token_manager.client_secret);
        push(&self.token_manager.tokens.access_token);
        push(&self.token_manager.tokens.refresh_token);
        out
    }
}

/// Takes `ours` where the fresher copy has no value.
fn fill<T: Clone>(fresh: &mut Option<T>, ours: &Option<T>) {
    if fresh.is_none() {
        fresh.clone_from(ours);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_shaped() -> Value {
        json!({
            "serviceApp": {"appId": "app", "clientId": "sa-client", "clientSecret": "sa-secret", "targetOrgId": "org"},
            "tokenManager": {"personalAccessToken": "pat", "oauthClientId": "tm-client",
                             "oauthClientSecret": "tm-secret", "oauthRefreshToken": "tm-refresh"},
            "note": "kept"
        })
    }

    #[test]
    fn the_seed_shaped_secret_parses_through_its_aliases() {
        let c = Credentials::from_value(&seed_shaped()).unwrap();
        assert!(c.invalid_keys().is_empty());
        assert_eq!(c.token_manager.client_id.as_deref(), Some("tm-client"));
        assert_eq!(
            secret_of(&c, |c| &c.token_manager.tokens.refresh_token),
            "tm-refresh"
        );
        assert_eq!(c.aliases_used.len(), 4);
    }

    #[test]
    fn write_back_migrates_to_canonical_keys_and_keeps_unknown_ones() {
        let original = seed_shaped();
        let c = Credentials::from_value(&original).unwrap();
        let written = c.write_into(&original);
        assert_eq!(written["schemaVersion"], 2);
        assert_eq!(written["note"], "kept");
        assert_eq!(written["tokenManager"]["refreshToken"], "tm-refresh");
        assert_eq!(written["tokenManager"]["accessToken"], "pat");
        assert!(written["tokenManager"].get("oauthRefreshToken").is_none());
        assert!(written["tokenManager"].get("personalAccessToken").is_none());
        let again = Credentials::from_value(&written).unwrap();
        assert!(again.aliases_used.is_empty());
    }

    #[test]
    fn the_canonical_key_wins_over_an_alias() {
        let mut v = seed_shaped();
        v["tokenManager"]["refreshToken"] = json!("canonical");
        let c = Credentials::from_value(&v).unwrap();
        assert_eq!(
            secret_of(&c, |c| &c.token_manager.tokens.refresh_token),
            "canonical"
        );
        assert_eq!(c.alias_conflicts, vec!["tokenManager.oauthRefreshToken"]);
    }

    #[test]
    fn placeholders_and_missing_keys_are_invalid() {
        let mut v = seed_shaped();
        v["serviceApp"]["clientSecret"] = json!("YOUR_CLIENT_SECRET_HERE");
        v["tokenManager"]
            .as_object_mut()
            .unwrap()
            .remove("oauthRefreshToken");
        let c = Credentials::from_value(&v).unwrap();
        assert_eq!(
            c.invalid_keys(),
            vec!["serviceApp.clientSecret", "tokenManager.refreshToken"]
        );
    }

    #[test]
    fn the_app_id_is_derived_from_the_client_id() {
        let app = ServiceApp {
            client_id: Some("C1".into()),
            ..ServiceApp::default()
        };
        assert_eq!(
            app.effective_app_id().unwrap(),
            "Y2lzY29zcGFyazovL3VzL0FQUExJQ0FUSU9OL0Mx"
        );
    }

    #[test]
    fn the_merge_keeps_external_static_changes_and_the_newer_token_group() {
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut ours = Credentials::from_value(&seed_shaped()).unwrap();
        ours.token_manager.tokens.refresh_token = Some("ours-new".into());
        ours.token_manager.tokens.stamp = Some(t0 + chrono::Duration::hours(1));
        let mut fresh = Credentials::from_value(&seed_shaped()).unwrap();
        fresh.service_app.target_org_id = Some("org-2".into());
        fresh.token_manager.tokens.stamp = Some(t0);
        fresh.service_app.tokens.access_token = Some("theirs-sa".into());
        fresh.service_app.tokens.stamp = Some(t0);
        let merged = ours.merged_with_fresh(&fresh);
        assert_eq!(merged.service_app.target_org_id.as_deref(), Some("org-2"));
        assert_eq!(
            merged
                .token_manager
                .tokens
                .refresh_token
                .as_ref()
                .unwrap()
                .expose_secret(),
            "ours-new"
        );
        assert_eq!(
            merged
                .service_app
                .tokens
                .access_token
                .as_ref()
                .unwrap()
                .expose_secret(),
            "theirs-sa"
        );
    }

    fn secret_of(c: &Credentials, pick: fn(&Credentials) -> &Option<SecretString>) -> String {
        pick(c).as_ref().unwrap().expose_secret().to_owned()
    }

    #[test]
    fn without_a_concurrent_write_our_integration_client_replaces_the_stored_one() {
        let mut stored = Credentials::from_value(&seed_shaped()).unwrap();
        stored.token_manager.client_secret = Some("YOUR_CLIENT_SECRET_HERE".into());
        let mut ours = stored.clone();
        ours.token_manager.client_id = Some("tm-client-new".into());
        ours.token_manager.client_secret = Some("tm-secret-new".into());
        ours.token_manager.tokens.refresh_token = Some("tm-refresh-new".into());

        let written = ours.to_write(&stored, Some("v1"), Some("v1"));

        assert_eq!(
            written.token_manager.client_id.as_deref(),
            Some("tm-client-new")
        );
        assert_eq!(
            secret_of(&written, |c| &c.token_manager.client_secret),
            "tm-secret-new"
        );
        assert_eq!(
            secret_of(&written, |c| &c.token_manager.tokens.refresh_token),
            "tm-refresh-new"
        );
    }

    #[test]
    fn after_a_concurrent_write_its_values_stay_and_the_integration_client_travels_with_newer_tokens()
     {
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut read = Credentials::from_value(&seed_shaped()).unwrap();
        read.token_manager.tokens.stamp = Some(t0);
        let mut ours = read.clone();
        ours.token_manager.client_id = Some("tm-client-new".into());
        ours.token_manager.client_secret = Some("tm-secret-new".into());
        ours.token_manager.tokens.refresh_token = Some("tm-refresh-new".into());
        ours.token_manager.tokens.stamp = Some(t0 + chrono::Duration::hours(2));
        let mut theirs = read.clone();
        theirs.service_app.client_secret = Some("sa-secret-rotated".into());

        let written = ours.to_write(&theirs, Some("v1"), Some("v2"));

        assert_eq!(
            secret_of(&written, |c| &c.service_app.client_secret),
            "sa-secret-rotated",
            "the concurrent writer's value stays"
        );
        assert_eq!(
            written.token_manager.client_id.as_deref(),
            Some("tm-client-new")
        );
        assert_eq!(
            secret_of(&written, |c| &c.token_manager.client_secret),
            "tm-secret-new",
            "the refresh token is stored with the client it belongs to"
        );

        theirs.token_manager.tokens.stamp = Some(t0 + chrono::Duration::hours(3));
        let written = ours.to_write(&theirs, Some("v1"), Some("v2"));
        assert_eq!(
            written.token_manager.client_id.as_deref(),
            Some("tm-client")
        );
        assert_eq!(
            secret_of(&written, |c| &c.token_manager.tokens.refresh_token),
            "tm-refresh",
            "their newer tokens win, with their client"
        );
    }

    #[test]
    fn debug_output_is_redacted() {
        let c = Credentials::from_value(&seed_shaped()).unwrap();
        let text = format!("{c:?}");
        for s in c.secret_values() {
            assert!(!text.contains(&s), "{s} leaked");
        }
        assert!(text.contains("REDACTED"));
    }
}
