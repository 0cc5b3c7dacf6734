//! Fingerprints: the only form in which a secret value may appear in output (`byods.md` §3.3).

use sha2::{Digest, Sha256};

/// The first 8 hex characters of the SHA-256 of `value`.
pub fn fingerprint(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    let mut hex = hex::encode(digest.as_slice());
    hex.truncate(8);
    hex
}

/// Shortens an upstream error text so that it is safe and small enough to log.
pub(crate) fn sanitise(text: &str) -> String {
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_eight_hex_characters_of_sha256() {
        assert_eq!(fingerprint("abc"), "ba7816bf");
        assert_eq!(fingerprint("abc").len(), 8);
    }
}
