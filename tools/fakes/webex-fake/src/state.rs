//! The fake's state: clients, tokens, authorization codes, data sources and behaviour switches.

use std::collections::HashMap;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use fake_kit::fingerprint;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Behaviour switches (README, "Behaviour"). Every field may be set in the seed's `settings` or through
/// `POST /__fake/settings`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Integration access-token lifetime (seconds).
    pub access_token_expires_in: i64,
    /// Refresh-token lifetime (seconds), for both kinds of client.
    pub refresh_token_expires_in: i64,
    /// Service-app access-token lifetime (seconds).
    pub service_app_expires_in: i64,
    /// Rotation mode: a refresh issues a new refresh token and invalidates the old one.
    pub rotation: bool,
    /// Omit mode: refresh responses leave `refresh_token` out.
    pub omit_refresh_token: bool,
    /// Status for an expired/revoked refresh token: 400 (`invalid_grant`, default) or 401.
    pub refresh_error_status: u16,
    /// Leave `tokenExpiryTime` out of data-source responses.
    pub omit_token_expiry_time: bool,
    /// Leave top-level `audience`/`subject` out of data-source responses.
    pub omit_audience_subject: bool,
    /// `approve` (default), `access_denied` or `wrong_state`.
    pub authorize_mode: String,
    /// Data sources per page of `GET /dataSources` when the call names no `max` (default 100).
    pub list_page_size: usize,
    /// Answer `PUT /dataSources/{id}` without `jwsToken` and `tokenExpiryTime`, as the OpenAPI's example
    /// shows (default false: the answer carries both, as the vendor's sample code expects).
    pub put_answer_without_token: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            access_token_expires_in: 1_209_599,
            refresh_token_expires_in: 7_775_999,
            service_app_expires_in: 3600,
            rotation: false,
            omit_refresh_token: false,
            refresh_error_status: 400,
            omit_token_expiry_time: false,
            omit_audience_subject: false,
            authorize_mode: "approve".to_owned(),
            list_page_size: 100,
            put_answer_without_token: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ClientKind {
    Integration,
    ServiceApp,
}

#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) kind: ClientKind,
    pub(crate) app_id: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) authorized_orgs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) client_id: String,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) revoked: bool,
    pub(crate) scopes: Vec<String>,
    pub(crate) org_id: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) challenge: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct DataSourceRec {
    pub(crate) id: String,
    pub(crate) status: String,
    pub(crate) schema_id: String,
    pub(crate) url: String,
    pub(crate) audience: String,
    pub(crate) subject: String,
    pub(crate) nonce: String,
    pub(crate) used_nonces: Vec<String>,
    pub(crate) token_lifetime_minutes: u32,
    pub(crate) jws_token: String,
    pub(crate) token_expiry: DateTime<Utc>,
    pub(crate) error_message: Option<String>,
    pub(crate) org_id: String,
    pub(crate) application_id: String,
    pub(crate) updates: u64,
}

/// The whole state.
#[derive(Debug, Clone)]
pub(crate) struct Data {
    pub(crate) settings: Settings,
    pub(crate) clients: Vec<Client>,
    pub(crate) tokens: HashMap<String, Token>,
    pub(crate) codes: HashMap<String, Code>,
    pub(crate) data_sources: Vec<DataSourceRec>,
}

pub(crate) fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The derived app id: padded base64 of `ciscospark://us/APPLICATION/<clientId>`.
pub fn derive_app_id(client_id: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(format!("ciscospark://us/APPLICATION/{client_id}"))
}

/// BASE64URL(SHA256(verifier)).
pub(crate) fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()).as_slice())
}

fn strs(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// An absolute time from `<key>` (RFC 3339) or a relative one from `<relKey>` (seconds/minutes from now).
fn when(
    v: &Value,
    abs: &str,
    rel: &str,
    unit_secs: i64,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if let Some(t) = v.get(abs).and_then(Value::as_str) {
        return DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| t.with_timezone(&Utc));
    }
    v.get(rel)
        .and_then(Value::as_i64)
        .map(|n| now + Duration::seconds(n * unit_secs))
}

impl fake_kit::SeededState for Data {
    fn from_seed(seed: &Value, now: DateTime<Utc>) -> Result<Self, String> {
        Data::from_seed(seed, now)
    }

    fn state_json(&self, now: DateTime<Utc>) -> Value {
        Data::state_json(self, now)
    }
}

impl Data {
    pub(crate) fn from_seed(seed: &Value, now: DateTime<Utc>) -> Result<Self, String> {
        let settings: Settings = match seed.get("settings") {
            Some(s) => serde_json::from_value(s.clone()).map_err(|e| format!("settings: {e}"))?,
            None => Settings::default(),
        };
        let mut clients = Vec::new();
        for i in seed
            .get("integrations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            clients.push(Client {
                client_id: text(i, "clientId").ok_or("integration without clientId")?,
                client_secret: text(i, "clientSecret").ok_or("integration without clientSecret")?,
                kind: ClientKind::Integration,
                app_id: None,
                scopes: {
                    let s = strs(i.get("scopes"));
                    if s.is_empty() {
                        vec!["spark:applications_token".to_owned()]
                    } else {
                        s
                    }
                },
                authorized_orgs: Vec::new(),
            });
        }
        for a in seed
            .get("serviceApps")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let client_id = text(a, "clientId").ok_or("service app without clientId")?;
            clients.push(Client {
                app_id: Some(text(a, "appId").unwrap_or_else(|| derive_app_id(&client_id))),
                client_secret: text(a, "clientSecret").ok_or("service app without clientSecret")?,
                client_id,
                kind: ClientKind::ServiceApp,
                scopes: {
                    let s = strs(a.get("scopes"));
                    if s.is_empty() {
                        vec![
                            crate::data_sources::READ.to_owned(),
                            crate::data_sources::WRITE.to_owned(),
                        ]
                    } else {
                        s
                    }
                },
                authorized_orgs: strs(a.get("authorizedOrgs")),
            });
        }
        let mut tokens = HashMap::new();
        for t in seed
            .get("tokens")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let value = text(t, "token").ok_or("token without token")?;
            let client_id = text(t, "clientId").ok_or("token without clientId")?;
            let client = clients
                .iter()
                .find(|c| c.client_id == client_id)
                .ok_or_else(|| format!("token for unknown client {client_id}"))?;
            let kind = match t.get("kind").and_then(Value::as_str) {
                Some("access") => TokenKind::Access,
                Some("refresh") => TokenKind::Refresh,
                _ => return Err("token kind must be access or refresh".to_owned()),
            };
            tokens.insert(
                value,
                Token {
                    kind,
                    expires_at: when(t, "expiresAt", "expiresInSecs", 1, now)
                        .unwrap_or(now + Duration::days(90)),
                    revoked: t.get("revoked").and_then(Value::as_bool).unwrap_or(false),
                    scopes: {
                        let s = strs(t.get("scopes"));
                        if s.is_empty() {
                            client.scopes.clone()
                        } else {
                            s
                        }
                    },
                    org_id: text(t, "orgId"),
                    client_id,
                },
            );
        }
        let default_app = clients
            .iter()
            .find(|c| c.kind == ClientKind::ServiceApp)
            .map(|c| c.client_id.clone())
            .unwrap_or_default();
        let mut data_sources = Vec::new();
        for d in seed
            .get("dataSources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let lifetime = d
                .get("tokenLifetimeMinutes")
                .and_then(Value::as_u64)
                .and_then(|m| u32::try_from(m).ok())
                .unwrap_or(1440);
            let mut rec = DataSourceRec {
                id: text(d, "id").ok_or("data source without id")?,
                status: text(d, "status").unwrap_or_else(|| "active".to_owned()),
                schema_id: text(d, "schemaId")
                    .unwrap_or_else(|| "78efc775-dccb-45ca-9acf-989a4a59f788".to_owned()),
                url: text(d, "url").ok_or("data source without url")?,
                audience: text(d, "audience").unwrap_or_else(|| "MedDocVirtualAgent".to_owned()),
                subject: text(d, "subject").unwrap_or_else(|| "callAudioData".to_owned()),
                nonce: text(d, "nonce").unwrap_or_else(|| random_token("n")),
                used_nonces: Vec::new(),
                token_lifetime_minutes: lifetime,
                jws_token: String::new(),
                token_expiry: when(d, "tokenExpiryTime", "tokenExpiresInMinutes", 60, now)
                    .unwrap_or(now + Duration::minutes(i64::from(lifetime))),
                error_message: text(d, "errorMessage"),
                org_id: text(d, "orgId")
                    .unwrap_or_else(|| "ce861fba-6e2f-49f9-9a84-b354008fac9e".to_owned()),
                application_id: text(d, "applicationId").unwrap_or_else(|| default_app.clone()),
                updates: 0,
            };
            let iat = rec.token_expiry - Duration::minutes(i64::from(lifetime));
            rec.jws_token = match text(d, "jwsToken") {
                Some(given) => given,
                None => mint_jws(&rec, iat),
            };
            data_sources.push(rec);
        }
        Ok(Self {
            settings,
            clients,
            tokens,
            codes: HashMap::new(),
            data_sources,
        })
    }

    pub(crate) fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    pub(crate) fn issue(
        &mut self,
        kind: TokenKind,
        client_id: &str,
        lifetime_secs: i64,
        scopes: Vec<String>,
        org_id: Option<String>,
        now: DateTime<Utc>,
    ) -> String {
        let value = random_token(match kind {
            TokenKind::Access => "fake_at_",
            TokenKind::Refresh => "fake_rt_",
        });
        self.tokens.insert(
            value.clone(),
            Token {
                kind,
                client_id: client_id.to_owned(),
                expires_at: now + Duration::seconds(lifetime_secs),
                revoked: false,
                scopes,
                org_id,
            },
        );
        value
    }

    /// The live token of `kind`, if `value` is one.
    pub(crate) fn live(&self, value: &str, kind: TokenKind, now: DateTime<Utc>) -> Option<&Token> {
        self.tokens
            .get(value)
            .filter(|t| t.kind == kind && !t.revoked && t.expires_at > now)
    }

    pub(crate) fn state_json(&self, now: DateTime<Utc>) -> Value {
        let mut tokens: Vec<Value> = self
            .tokens
            .iter()
            .map(|(v, t)| {
                json!({
                    "fp": fingerprint(v), "kind": t.kind, "clientId": t.client_id,
                    "expiresAt": t.expires_at.to_rfc3339(), "revoked": t.revoked,
                    "live": !t.revoked && t.expires_at > now, "orgId": t.org_id,
                })
            })
            .collect();
        tokens.sort_by_key(|t| t["expiresAt"].as_str().map(str::to_owned));
        json!({
            "now": now.to_rfc3339(),
            "settings": self.settings,
            "clients": self.clients.iter().map(|c| json!({
                "clientId": c.client_id, "clientSecret": "[REDACTED]", "kind": c.kind,
                "appId": c.app_id, "scopes": c.scopes, "authorizedOrgs": c.authorized_orgs,
            })).collect::<Vec<_>>(),
            "tokens": tokens,
            "pendingCodes": self.codes.len(),
            "dataSources": self.data_sources.iter().map(|d| json!({
                "id": d.id, "status": d.status, "url": d.url, "audience": d.audience, "subject": d.subject,
                "nonceFp": fingerprint(&d.nonce), "jwsToken": "[REDACTED]", "tokenLifetimeMinutes": d.token_lifetime_minutes,
                "tokenExpiryTime": d.token_expiry.to_rfc3339(), "updates": d.updates,
            })).collect::<Vec<_>>(),
        })
    }
}

/// A compact JWS with the BYODS claims and a dummy signature.
pub(crate) fn mint_jws(d: &DataSourceRec, iat: DateTime<Utc>) -> String {
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let header = json!({"kid": "webex-fake", "typ": "JWT", "alg": "RS256"});
    let exp = iat + Duration::minutes(i64::from(d.token_lifetime_minutes));
    let claims = json!({
        "aud": d.audience,
        "sub": d.subject,
        "iss": "https://idbroker.webex.com/idb",
        "iat": iat.timestamp(),
        "exp": exp.timestamp(),
        "jti": random_token("jti"),
        "com.cisco.datasource.url": d.url,
        "com.cisco.datasource.schema.uuid": d.schema_id,
        "com.cisco.org.uuid": d.org_id,
    });
    format!(
        "{}.{}.{}",
        b64(&header),
        b64(&claims),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("webex-fake-signature")
    )
}
