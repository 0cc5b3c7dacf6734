//! Webex wire models, spelled as the API spells them.

use std::fmt;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

use secrets::fingerprint;

/// An OAuth client: id and secret.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// The client id (not secret).
    pub client_id: String,
    /// The client secret.
    pub client_secret: SecretString,
}

impl ClientCredentials {
    /// The client with these values (empty where absent; the secret's validation catches that earlier).
    pub fn of(client_id: Option<&String>, client_secret: Option<&SecretString>) -> Self {
        Self {
            client_id: client_id.cloned().unwrap_or_default(),
            client_secret: client_secret.cloned().unwrap_or_default(),
        }
    }

    /// The form fields `client_id` and `client_secret` of a token request.
    pub(crate) fn form_fields(&self) -> [(&'static str, String); 2] {
        [
            ("client_id", self.client_id.clone()),
            (
                "client_secret",
                self.client_secret.expose_secret().to_owned(),
            ),
        ]
    }
}

/// The authorization-code grant of `byods setup-oauth`: the code, the redirect URI it was issued for and
/// the PKCE verifier.
pub struct CodeGrant {
    /// The authorization code from the callback.
    pub code: SecretString,
    /// The redirect URI, exactly as in the authorisation request.
    pub redirect_uri: String,
    /// The PKCE verifier.
    pub code_verifier: SecretString,
}

/// The answer of `POST /access_token` and `POST /applications/{id}/token`.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: SecretString,
    /// Access-token lifetime in seconds.
    #[serde(default)]
    pub expires_in: Option<i64>,
    /// The refresh token, when the response carries one.
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
    /// Refresh-token lifetime in seconds.
    #[serde(default)]
    pub refresh_token_expires_in: Option<i64>,
    /// Usually `Bearer`.
    #[serde(default)]
    pub token_type: Option<String>,
}

/// The body of `POST /applications/{appId}/token`.
#[derive(Clone)]
pub struct MintRequest {
    /// Service-app client id.
    pub client_id: String,
    /// Service-app client secret.
    pub client_secret: SecretString,
    /// The organisation the token is for.
    pub target_org_id: String,
}

impl fmt::Debug for MintRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MintRequest")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("target_org_id", &self.target_org_id)
            .finish()
    }
}

/// A BYODS data source as returned by `GET`/`PUT /dataSources/{id}`. Nulls and missing fields are tolerated.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSource {
    /// Data source id.
    #[serde(default)]
    pub id: Option<String>,
    /// `active` or `disabled`.
    #[serde(default)]
    pub status: Option<String>,
    /// Schema id.
    #[serde(default)]
    pub schema_id: Option<String>,
    /// Endpoint URL.
    #[serde(default)]
    pub url: Option<String>,
    /// JWT audience.
    #[serde(default)]
    pub audience: Option<String>,
    /// JWT subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// Current nonce (never logged in full).
    #[serde(default)]
    pub nonce: Option<String>,
    /// Token lifetime in minutes (a JSON number).
    #[serde(default)]
    pub token_lifetime_minutes: Option<f64>,
    /// The data-source token (never logged or stored).
    #[serde(default)]
    pub jws_token: Option<SecretString>,
    /// Undocumented but observed expiry of `jwsToken`.
    #[serde(default)]
    pub token_expiry_time: Option<String>,
    /// Error message shown for disabled sources.
    #[serde(default)]
    pub error_message: Option<String>,
}

impl fmt::Debug for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataSource")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("schema_id", &self.schema_id)
            .field("url", &self.url)
            .field("audience", &self.audience)
            .field("subject", &self.subject)
            .field("nonce_fp", &self.nonce.as_deref().map(fingerprint))
            .field("token_lifetime_minutes", &self.token_lifetime_minutes)
            .field("jws_token", &self.jws_token.as_ref().map(|_| "[REDACTED]"))
            .field("token_expiry_time", &self.token_expiry_time)
            .finish()
    }
}

impl DataSource {
    /// The parsed `tokenExpiryTime`.
    pub fn token_expiry(&self) -> Option<DateTime<Utc>> {
        self.token_expiry_time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    /// True when the status is `active` (case-insensitive).
    pub fn is_active(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("active"))
    }
}

/// The body of `PUT /dataSources/{id}`. Retries resend the same value, nonce included.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateDataSource {
    /// Unchanged schema id.
    pub schema_id: String,
    /// Unchanged URL.
    pub url: String,
    /// Unchanged audience.
    pub audience: String,
    /// Unchanged subject.
    pub subject: String,
    /// A fresh nonce.
    pub nonce: String,
    /// Token lifetime, 1–1440.
    pub token_lifetime_minutes: u32,
    /// Always `active`.
    pub status: String,
}

impl UpdateDataSource {
    /// The body as JSON with the nonce masked, for dry-run output.
    pub fn masked_json(&self) -> serde_json::Value {
        serde_json::json!({
            "schemaId": self.schema_id,
            "url": self.url,
            "audience": self.audience,
            "subject": self.subject,
            "nonce": format!("<fp {}>", fingerprint(&self.nonce)),
            "tokenLifetimeMinutes": self.token_lifetime_minutes,
            "status": self.status,
        })
    }
}

impl fmt::Debug for UpdateDataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UpdateDataSource({})", self.masked_json())
    }
}

/// The decoded payload of a `jwsToken` (no signature check), with the claims BYODS uses.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct JwsClaims {
    /// Audience.
    #[serde(default)]
    pub aud: Option<String>,
    /// Subject.
    #[serde(default)]
    pub sub: Option<String>,
    /// Issuer.
    #[serde(default)]
    pub iss: Option<String>,
    /// Issued at (epoch seconds).
    #[serde(default)]
    pub iat: Option<i64>,
    /// Expiry (epoch seconds).
    #[serde(default)]
    pub exp: Option<i64>,
    /// Data source URL.
    #[serde(default, rename = "com.cisco.datasource.url")]
    pub url: Option<String>,
    /// Schema id.
    #[serde(default, rename = "com.cisco.datasource.schema.uuid")]
    pub schema_uuid: Option<String>,
    /// Organisation id.
    #[serde(default, rename = "com.cisco.org.uuid")]
    pub org_uuid: Option<String>,
}

impl JwsClaims {
    /// Decodes the payload segment of a compact JWS. `None` when it is not one.
    pub fn decode(jws: &str) -> Option<Self> {
        use base64::Engine as _;
        let payload = jws.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The `exp` claim as a time.
    pub fn expiry(&self) -> Option<DateTime<Utc>> {
        self.exp.and_then(|e| DateTime::from_timestamp(e, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_decoded_from_the_payload_of_the_spec_example() {
        let jws = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJNeUFwcDIiLCJzdWIiOiJNeUFwcHNQdXJwb3NlMiIsImlzcyI6Imh0dHBzOlwvXC9pZGJyb2tlci53ZWJleC5jb21cL2lkYiIsImV4cCI6MTcyOTIyMDUxNSwiY29tLmNpc2NvLmRhdGFzb3VyY2UudXJsIjoiaHR0cHM6XC9cL3NjaGlmZmVydC5tZVwvZHMyIiwiY29tLmNpc2NvLmRhdGFzb3VyY2Uuc2NoZW1hLnV1aWQiOiI3OGVmYzc3NS1kY2NiLTQ1Y2EtOWFjZi05ODlhNGE1OWY3ODgiLCJpYXQiOjE3MjkyMTMzMTUsImNvbS5jaXNjby5vcmcudXVpZCI6ImNlODYxZmJhLTZlMmYtNDlmOS05YTg0LWIzNTQwMDhmYWM5ZSIsImp0aSI6IjEyMzQ1NiJ9.sig";
        let c = JwsClaims::decode(jws).unwrap();
        assert_eq!(c.aud.as_deref(), Some("MyApp2"));
        assert_eq!(c.sub.as_deref(), Some("MyAppsPurpose2"));
        assert_eq!(c.exp, Some(1_729_220_515));
        assert_eq!(c.url.as_deref(), Some("https://schiffert.me/ds2"));
        assert_eq!(
            c.schema_uuid.as_deref(),
            Some("78efc775-dccb-45ca-9acf-989a4a59f788")
        );
        assert!(JwsClaims::decode("not-a-jws").is_none());
    }

    #[test]
    fn debug_output_of_a_data_source_hides_the_token_and_the_nonce() {
        let ds = DataSource {
            id: Some("ds-1".into()),
            nonce: Some("nonce-value-123".into()),
            jws_token: Some("eyJ.secret.jws".into()),
            ..DataSource::default()
        };
        let text = format!("{ds:?}");
        assert!(!text.contains("nonce-value-123"));
        assert!(!text.contains("eyJ.secret.jws"));
        assert!(text.contains("[REDACTED]"));
    }
}

/// The answer of `PUT /dataSources/{id}`: the updated data source and the tracking id of the response.
#[derive(Debug, Clone)]
pub struct Updated {
    /// The data source as Webex returned it.
    pub data_source: DataSource,
    /// The response's `TrackingID` (ours when Webex sent none).
    pub tracking_id: String,
}
