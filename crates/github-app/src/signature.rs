//! Webhook signature verification (`X-Hub-Signature-256`: HMAC-SHA256 of the raw body, lower-case hex, `sha256=` prefix; CLS-1 in docs/requirements/cls.md).

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The header carrying the SHA-256 signature of a delivery.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

const PREFIX: &str = "sha256=";

/// Why a delivery's signature was refused. Never carries the header value or the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header.
    #[error("signature header missing")]
    Missing,
    /// The header is not `sha256=` followed by 64 hex characters.
    #[error("signature header malformed")]
    Malformed,
    /// No configured secret produces this signature.
    #[error("signature matches no configured webhook secret")]
    Mismatch,
    /// No webhook secret is configured, so nothing can match.
    #[error("no webhook secret configured")]
    NoSecrets,
}

/// Verifies `X-Hub-Signature-256` over the raw body bytes against every secret in `secrets` (current and
/// previous during rotation). The comparison is constant time (`hmac`'s `verify_slice`).
///
/// `raw_body` must be the exact bytes GitHub sent (base64-decoded when API Gateway says `isBase64Encoded`),
/// never a re-serialised JSON value.
pub fn verify_webhook_signature(
    secrets: &[SecretString],
    header: Option<&str>,
    raw_body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let expected = parse_signature(header)?;
    if secrets.is_empty() {
        return Err(SignatureError::NoSecrets);
    }
    let mut matched = false;
    // Every secret is tried, so the time taken does not reveal which one matched.
    for secret in secrets {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
            continue;
        };
        mac.update(raw_body);
        matched |= mac.verify_slice(&expected).is_ok();
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Computes the `X-Hub-Signature-256` value (`sha256=` + 64 lower-case hex) for `raw_body`. Used by tests
/// and fakes that sign deliveries.
pub fn sign_webhook_body(secret: &SecretString, raw_body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(raw_body);
    format!("{PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

fn parse_signature(header: &str) -> Result<[u8; 32], SignatureError> {
    let hex_part = header
        .trim()
        .strip_prefix(PREFIX)
        .ok_or(SignatureError::Malformed)?;
    if hex_part.len() != 64
        || !hex_part
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(SignatureError::Malformed);
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out).map_err(|_| SignatureError::Malformed)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_SECRET: &str = "It's a Secret to Everybody";
    const VECTOR_BODY: &[u8] = b"Hello, World!";
    const VECTOR_SIG: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn secrets(list: &[&str]) -> Vec<SecretString> {
        list.iter().map(|s| SecretString::from(*s)).collect()
    }

    #[test]
    fn accepts_githubs_published_test_vector() {
        assert_eq!(
            verify_webhook_signature(&secrets(&[VECTOR_SECRET]), Some(VECTOR_SIG), VECTOR_BODY),
            Ok(())
        );
    }

    #[test]
    fn signing_reproduces_the_published_vector() {
        assert_eq!(
            sign_webhook_body(&SecretString::from(VECTOR_SECRET), VECTOR_BODY),
            VECTOR_SIG
        );
    }

    #[test]
    fn accepts_the_previous_secret_during_rotation() {
        let s = secrets(&["new-secret", VECTOR_SECRET]);
        assert_eq!(
            verify_webhook_signature(&s, Some(VECTOR_SIG), VECTOR_BODY),
            Ok(())
        );
    }

    #[test]
    fn rejects_a_body_changed_by_one_byte() {
        assert_eq!(
            verify_webhook_signature(
                &secrets(&[VECTOR_SECRET]),
                Some(VECTOR_SIG),
                b"Hello, World?"
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_a_signature_changed_by_one_character() {
        let tampered = VECTOR_SIG.replace("757107", "757108");
        assert_eq!(
            verify_webhook_signature(&secrets(&[VECTOR_SECRET]), Some(&tampered), VECTOR_BODY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_a_wrong_secret() {
        assert_eq!(
            verify_webhook_signature(&secrets(&["other"]), Some(VECTOR_SIG), VECTOR_BODY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_a_missing_header() {
        assert_eq!(
            verify_webhook_signature(&secrets(&[VECTOR_SECRET]), None, VECTOR_BODY),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn rejects_malformed_values() {
        let hex = VECTOR_SIG.trim_start_matches(PREFIX);
        let cases = [
            hex.to_owned(),                     // no prefix
            format!("sha1={hex}"),              // wrong algorithm
            format!("sha256={}", &hex[..62]),   // short
            format!("sha256={hex}00"),          // long
            format!("sha256={}zz", &hex[..62]), // non-hex
            "sha256=".to_owned(),               // empty
            VECTOR_SIG
                .to_ascii_uppercase()
                .replace("SHA256=", "sha256="), // upper-case hex
        ];
        for case in cases {
            assert_eq!(
                verify_webhook_signature(&secrets(&[VECTOR_SECRET]), Some(&case), VECTOR_BODY),
                Err(SignatureError::Malformed),
                "{case}"
            );
        }
    }

    #[test]
    fn rejects_everything_when_no_secret_is_configured() {
        assert_eq!(
            verify_webhook_signature(&[], Some(VECTOR_SIG), VECTOR_BODY),
            Err(SignatureError::NoSecrets)
        );
    }
}
