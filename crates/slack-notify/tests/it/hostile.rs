//! Hostile input (issue 14): property tests of the Slack v0 request signature. Arbitrary headers and bodies
//! never panic; `verify(sign(x))` holds for the current and the previous secret; every single-byte change of
//! the body, the signature or the timestamp is refused; an oversized body is refused before anything else.

use lambda_kit::FixedClock;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed};
use secrecy::SecretString;
use slack_notify::{SignatureError, SignatureVerifier, sign};

/// The clock of every case, and its Unix time.
const NOW: &str = "2026-05-12T14:03:20Z";
const NOW_SECS: i64 = 1_778_594_600;

/// Few, reproducible cases: the suite runs on every CI build.
fn config() -> Config {
    Config {
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(14),
        ..Config::with_cases(256)
    }
}

fn clock() -> FixedClock {
    FixedClock::at(NOW).unwrap()
}

/// `text` with the byte at `at` replaced by a different one (lossily back to text, as a header would be).
fn changed(text: &[u8], at: &Index, delta: u8) -> Vec<u8> {
    let mut out = text.to_vec();
    let i = at.index(out.len());
    out[i] = out[i].wrapping_add(delta);
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_headers_and_bodies_never_panic_and_never_verify(
        timestamp in proptest::option::of(".{0,24}"),
        signature in proptest::option::of("(v0=)?[0-9a-fA-F]{0,70}|.{0,80}"),
        body in proptest::collection::vec(any::<u8>(), 0..512),
        secret in "[ -~]{1,40}",
    ) {
        let verifier = SignatureVerifier::new(SecretString::from(secret), None);
        let result = verifier.verify(timestamp.as_deref(), signature.as_deref(), &body, &clock());
        prop_assert!(result.is_err());
    }

    #[test]
    fn a_signed_request_verifies_and_every_single_byte_change_is_refused(
        body in proptest::collection::vec(any::<u8>(), 1..512),
        current in "[ -~]{1,40}",
        previous in "[ -~]{1,40}",
        use_previous in any::<bool>(),
        skew in -300i64..=300,
        at in any::<Index>(),
        delta in 1u8..=255,
    ) {
        let current = SecretString::from(current);
        let previous = SecretString::from(previous);
        let signer = if use_previous { previous.clone() } else { current.clone() };
        let verifier = SignatureVerifier::new(current, Some(previous));
        let timestamp = (NOW_SECS + skew).to_string();
        let signature = sign(&signer, &timestamp, &body);
        let verify = |ts: &[u8], sig: &[u8], body: &[u8]| {
            let ts = String::from_utf8_lossy(ts);
            let sig = String::from_utf8_lossy(sig);
            verifier.verify(Some(&ts), Some(&sig), body, &clock())
        };
        prop_assert_eq!(verify(timestamp.as_bytes(), signature.as_bytes(), &body), Ok(()));
        prop_assert_eq!(
            verify(timestamp.as_bytes(), signature.as_bytes(), &changed(&body, &at, delta)),
            Err(SignatureError::Mismatch)
        );
        let sig = changed(signature.as_bytes(), &at, delta);
        prop_assert!(verify(timestamp.as_bytes(), &sig, &body).is_err(),
            "signature {} verified", String::from_utf8_lossy(&sig));
        let ts = changed(timestamp.as_bytes(), &at, delta);
        prop_assert!(verify(&ts, signature.as_bytes(), &body).is_err(),
            "timestamp {} verified", String::from_utf8_lossy(&ts));
    }

    #[test]
    fn an_oversized_body_is_refused_whatever_the_headers(
        extra in 1usize..64,
        timestamp in proptest::option::of(".{0,24}"),
        signature in proptest::option::of(".{0,80}"),
    ) {
        let cap = 256;
        let verifier = SignatureVerifier::new(SecretString::from("s".to_owned()), None)
            .with_max_body_bytes(cap);
        let body = vec![b'a'; cap + extra];
        prop_assert_eq!(
            verifier.verify(timestamp.as_deref(), signature.as_deref(), &body, &clock()),
            Err(SignatureError::BodyTooLarge { max: cap })
        );
    }
}

/// Every position of the signature and of the timestamp, replaced by every other byte value: all refused
/// (exhaustive, so a single accepted variant such as an upper-cased hex digit cannot slip through).
#[test]
fn every_single_byte_change_of_the_signature_or_timestamp_is_refused() {
    let secret = SecretString::from("8f742231b10e8888abcd99yyyzzz85a5".to_owned());
    let verifier = SignatureVerifier::new(secret.clone(), None);
    let timestamp = NOW_SECS.to_string();
    let body = b"payload=%7B%22type%22%3A%22block_actions%22%7D";
    let signature = sign(&secret, &timestamp, body);
    let clock = clock();
    assert_eq!(
        verifier.verify(Some(&timestamp), Some(&signature), body, &clock),
        Ok(())
    );
    for (field, original) in [("signature", &signature), ("timestamp", &timestamp)] {
        for i in 0..original.len() {
            for delta in 1..=255u8 {
                let mut bytes = original.as_bytes().to_vec();
                bytes[i] = bytes[i].wrapping_add(delta);
                let Ok(text) = String::from_utf8(bytes) else {
                    continue; // not a header value a request can carry as text
                };
                let (ts, sig) = if field == "signature" {
                    (timestamp.as_str(), text.as_str())
                } else {
                    (text.as_str(), signature.as_str())
                };
                assert!(
                    verifier.verify(Some(ts), Some(sig), body, &clock).is_err(),
                    "{field} changed at byte {i} to {text:?} verified"
                );
            }
        }
    }
}
