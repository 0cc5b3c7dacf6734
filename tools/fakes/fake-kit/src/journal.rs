//! The request journal.

use serde::Serialize;

/// One API call received by a fake.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// Sequence number, from 1, in arrival order.
    pub seq: u64,
    /// Fake-clock time of arrival (RFC 3339).
    pub at: String,
    /// HTTP method.
    pub method: String,
    /// Request path as the fake's router saw it (without the devstack mount prefix).
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Request headers, lower-cased; credential values replaced by `[REDACTED]`.
    pub headers: serde_json::Map<String, serde_json::Value>,
    /// Request body as text (lossy UTF-8, at most 64 KiB).
    pub body: String,
    /// Status returned (0 when the connection was dropped).
    pub status: u16,
    /// Whether a fault rule matched this call.
    pub faulted: bool,
}

impl JournalEntry {
    /// The body parsed as JSON, if it is JSON.
    pub fn json_body(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// A header value (name lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.as_str())
    }
}

/// The first 8 hex digits of the SHA-256 of `secret`: how a fake's state shows a token or key, enough to tell two
/// apart without revealing either. (The fakes never depend on the project's client crates, so this is not
/// `secrets::fingerprint`, though it computes the same value.)
pub fn fingerprint(secret: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(secret.as_bytes());
    hex::encode(&digest[..4])
}

/// Header names whose values are never journaled.
pub(crate) fn is_credential_header(name: &str) -> bool {
    matches!(
        name,
        "authorization" | "api-key" | "cookie" | "x-api-key" | "proxy-authorization"
    )
}
