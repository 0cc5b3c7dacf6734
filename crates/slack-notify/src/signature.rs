//! Slack request signatures (v0): HMAC-SHA256 over `v0:{timestamp}:{raw body}`, checked in constant time
//! against up to two signing secrets, with a 300-second window against an injected clock
//! (CLS-2 in `docs/requirements/cls.md`; `docs/security.md`, 2.1).

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use lambda_kit::Clock;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Header carrying `v0=<64 hex>`.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// Header carrying the Unix timestamp (seconds).
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// Largest allowed distance between the request timestamp and now.
pub const MAX_SKEW_SECS: i64 = 300;
/// Default body cap (Slack interaction payloads are far smaller).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// Why a request was rejected. Carries no header value, secret or body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The body is larger than the cap; nothing was hashed.
    #[error("request body exceeds {max} bytes")]
    BodyTooLarge {
        /// The cap in bytes.
        max: usize,
    },
    /// `X-Slack-Signature` or `X-Slack-Request-Timestamp` is missing.
    #[error("Slack signature headers missing")]
    MissingHeaders,
    /// The timestamp is not an integer.
    #[error("Slack request timestamp is not an integer")]
    BadTimestamp,
    /// The timestamp is more than 300 s from now.
    #[error("Slack request timestamp is outside the 300 s window")]
    Stale,
    /// The signature is malformed or matches no configured secret.
    #[error("Slack signature does not match")]
    Mismatch,
}

impl SignatureError {
    /// A short stable name for logs and the `WebhookRejected{reason}` metric.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::MissingHeaders => "missing_headers",
            Self::BadTimestamp => "bad_timestamp",
            Self::Stale => "stale",
            Self::Mismatch => "signature_mismatch",
        }
    }
}

/// Verifies Slack request signatures with the current and, during rotation, the previous signing secret.
#[derive(Clone)]
pub struct SignatureVerifier {
    secrets: Vec<SecretString>,
    max_body_bytes: usize,
}

impl fmt::Debug for SignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureVerifier")
            .field(
                "secrets",
                &format_args!("[REDACTED; {}]", self.secrets.len()),
            )
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl SignatureVerifier {
    /// A verifier for `current` and optionally `previous` (rotation). Blank secrets are ignored.
    pub fn new(current: SecretString, previous: Option<SecretString>) -> Self {
        let secrets = std::iter::once(current)
            .chain(previous)
            .filter(|s| !s.expose_secret().is_empty())
            .collect();
        Self {
            secrets,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Changes the body cap (checked before anything is hashed).
    #[must_use]
    pub fn with_max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// Verifies a request from its two header values and the raw body (base64-decoded already when API
    /// Gateway set `isBase64Encoded`). Order of checks: body size, headers present, timestamp integer,
    /// window, signature.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        clock: &dyn Clock,
    ) -> Result<(), SignatureError> {
        if body.len() > self.max_body_bytes {
            return Err(SignatureError::BodyTooLarge {
                max: self.max_body_bytes,
            });
        }
        let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
            return Err(SignatureError::MissingHeaders);
        };
        let timestamp = timestamp.trim();
        let ts: i64 = timestamp
            .parse()
            .map_err(|_| SignatureError::BadTimestamp)?;
        let now = clock.now().timestamp();
        if now.abs_diff(ts) > MAX_SKEW_SECS.unsigned_abs() {
            return Err(SignatureError::Stale);
        }
        let tag = signature
            .trim()
            .strip_prefix("v0=")
            // Slack compares the lower-case hex text: `V0=`, upper-case digits or any other spelling of the
            // same bytes is a different signature.
            .filter(|h| h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .and_then(|h| hex::decode(h).ok())
            .ok_or(SignatureError::Mismatch)?;
        let matched = self.secrets.iter().any(|secret| {
            mac(secret, timestamp, body)
                .map(|m| m.verify_slice(&tag).is_ok())
                .unwrap_or(false)
        });
        if matched {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// [`Self::verify`] reading the two headers from a header map (names are case-insensitive).
    pub fn verify_headers(
        &self,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
        clock: &dyn Clock,
    ) -> Result<(), SignatureError> {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        self.verify(get(TIMESTAMP_HEADER), get(SIGNATURE_HEADER), body, clock)
    }
}

fn mac(secret: &SecretString, timestamp: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()).ok()?;
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    Some(mac)
}

/// The `X-Slack-Signature` value for a body, as Slack computes it (`v0=` + 64 hex). For tests and tools.
pub fn sign(secret: &SecretString, timestamp: &str, body: &[u8]) -> String {
    match mac(secret, timestamp, body) {
        Some(m) => format!("v0={}", hex::encode(m.finalize().into_bytes())),
        // HMAC accepts keys of any length, so this branch is unreachable in practice.
        None => String::from("v0="),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_kit::FixedClock;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const EXPECTED: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    fn clock_at(secs: i64) -> FixedClock {
        FixedClock::new(chrono::DateTime::from_timestamp(secs, 0).unwrap())
    }

    #[test]
    fn signs_slacks_published_vector() {
        assert_eq!(sign(&secret(SECRET), TS, BODY.as_bytes()), EXPECTED);
    }

    #[test]
    fn accepts_slacks_published_vector_within_the_window() {
        let v = SignatureVerifier::new(secret(SECRET), None);
        let clock = clock_at(1_531_420_618 + 299);
        assert_eq!(
            v.verify(Some(TS), Some(EXPECTED), BODY.as_bytes(), &clock),
            Ok(())
        );
    }

    #[test]
    fn rejects_a_timestamp_more_than_300_seconds_old() {
        let v = SignatureVerifier::new(secret(SECRET), None);
        let clock = clock_at(1_531_420_618 + 301);
        assert_eq!(
            v.verify(Some(TS), Some(EXPECTED), BODY.as_bytes(), &clock),
            Err(SignatureError::Stale)
        );
        let early = clock_at(1_531_420_618 - 301);
        assert_eq!(
            v.verify(Some(TS), Some(EXPECTED), BODY.as_bytes(), &early),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn accepts_the_previous_secret_during_rotation() {
        let v = SignatureVerifier::new(secret("new-secret"), Some(secret(SECRET)));
        let clock = clock_at(1_531_420_618);
        assert_eq!(
            v.verify(Some(TS), Some(EXPECTED), BODY.as_bytes(), &clock),
            Ok(())
        );
        let only_new = SignatureVerifier::new(secret("new-secret"), None);
        assert_eq!(
            only_new.verify(Some(TS), Some(EXPECTED), BODY.as_bytes(), &clock),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_a_tampered_body_missing_headers_and_bad_timestamps() {
        let v = SignatureVerifier::new(secret(SECRET), None);
        let clock = clock_at(1_531_420_618);
        let tampered = format!("{BODY}x");
        assert_eq!(
            v.verify(Some(TS), Some(EXPECTED), tampered.as_bytes(), &clock),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            v.verify(None, Some(EXPECTED), BODY.as_bytes(), &clock),
            Err(SignatureError::MissingHeaders)
        );
        assert_eq!(
            v.verify(Some(TS), None, BODY.as_bytes(), &clock),
            Err(SignatureError::MissingHeaders)
        );
        assert_eq!(
            v.verify(Some("12ab"), Some(EXPECTED), BODY.as_bytes(), &clock),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            v.verify(Some(TS), Some("v0=zz"), BODY.as_bytes(), &clock),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            v.verify(Some(TS), Some(&EXPECTED[3..]), BODY.as_bytes(), &clock),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn checks_the_body_size_before_anything_else() {
        let v = SignatureVerifier::new(secret(SECRET), None).with_max_body_bytes(10);
        let clock = clock_at(0);
        assert_eq!(
            v.verify(None, None, BODY.as_bytes(), &clock),
            Err(SignatureError::BodyTooLarge { max: 10 })
        );
    }

    #[test]
    fn reads_the_headers_case_insensitively() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("X-Slack-Request-Timestamp", TS.parse().unwrap());
        headers.insert("X-Slack-Signature", EXPECTED.parse().unwrap());
        let v = SignatureVerifier::new(secret(SECRET), None);
        assert_eq!(
            v.verify_headers(&headers, BODY.as_bytes(), &clock_at(1_531_420_618)),
            Ok(())
        );
    }

    #[test]
    fn debug_output_hides_the_secrets() {
        let v = SignatureVerifier::new(secret(SECRET), None);
        assert!(!format!("{v:?}").contains(SECRET));
    }
}
