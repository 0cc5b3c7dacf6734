//! The one fingerprint of a secret value, for logs (re-exported as `secrets::fingerprint`).

use sha2::{Digest, Sha256};

/// The first 8 hex digits of the SHA-256 of `value`: safe to log, enough to tell two values apart.
pub fn fingerprint(value: &str) -> String {
    hex::encode(&Sha256::digest(value.as_bytes())[..4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_eight_hex_digits_of_sha256_and_distinguish_values() {
        assert_eq!(fingerprint("abc"), "ba7816bf");
        assert_ne!(fingerprint("a"), fingerprint("b"));
    }
}
